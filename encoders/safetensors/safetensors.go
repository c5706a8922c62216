// Package safetensors reads checkpoints in the safetensors format: an
// 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the raw little-endian data. Files are
// memory-mapped where the OS allows; F32, F16 and BF16 tensors convert to
// float32 on request. Sharded checkpoints (model.safetensors.index.json
// with a weight_map) open as one Checkpoint.
package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"rosetta/kernels"
)

// Errors. Check them with errors.Is.
var (
	ErrFormat   = errors.New("safetensors: malformed file")
	ErrNotFound = errors.New("safetensors: tensor not found")
	ErrShape    = errors.New("safetensors: tensor has the wrong shape")
	ErrDType    = errors.New("safetensors: unsupported dtype")
)

// DType is a tensor element type as the header spells it.
type DType string

// Size returns the element size in bytes, or 0 for an unknown dtype.
func (d DType) Size() int {
	switch d {
	case "F64", "I64", "U64":
		return 8
	case "F32", "I32", "U32":
		return 4
	case "F16", "BF16", "I16", "U16":
		return 2
	case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2":
		return 1
	}
	return 0
}

// Tensor describes one tensor of a file. Data aliases the file's mapping
// and is valid until the File is closed.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// Elements is the product of the shape.
func (t Tensor) Elements() int {
	n := 1
	for _, s := range t.Shape {
		n *= s
	}
	return n
}

// File is one open .safetensors file. Safe for concurrent reads.
type File struct {
	path     string
	data     []byte
	unmap    func() error
	tensors  map[string]Tensor
	Metadata map[string]string
}

// maxHeader bounds the JSON header (the format's own limit is 100 MB).
const maxHeader = 100 << 20

// Open maps and parses path.
func Open(path string) (*File, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := parse(data)
	if err != nil {
		unmap()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.path, f.unmap = path, unmap
	return f, nil
}

// Parse reads a whole safetensors file held in memory (data is aliased).
func Parse(data []byte) (*File, error) {
	f, err := parse(data)
	if err != nil {
		return nil, err
	}
	f.unmap = func() error { return nil }
	return f, nil
}

type headerEntry struct {
	DType       DType   `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

func parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrFormat, len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > maxHeader || n > uint64(len(data)-8) {
		return nil, fmt.Errorf("%w: header length %d does not fit the %d-byte file", ErrFormat, n, len(data))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &raw); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	body := data[8+n:]
	f := &File{data: data, tensors: make(map[string]Tensor, len(raw))}
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("%w: __metadata__: %v", ErrFormat, err)
			}
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %v", ErrFormat, name, err)
		}
		size := e.DType.Size()
		if size == 0 {
			return nil, fmt.Errorf("%w: tensor %q has dtype %q", ErrDType, name, e.DType)
		}
		if len(e.DataOffsets) != 2 {
			return nil, fmt.Errorf("%w: tensor %q: data_offsets must have 2 entries", ErrFormat, name)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin || end > int64(len(body)) {
			return nil, fmt.Errorf("%w: tensor %q: data_offsets [%d, %d] outside the %d data bytes", ErrFormat, name, begin, end, len(body))
		}
		elems := int64(1)
		for _, s := range e.Shape {
			if s < 0 || (s > 0 && elems > math.MaxInt64/int64(s)/int64(size)) {
				return nil, fmt.Errorf("%w: tensor %q: bad shape %v", ErrFormat, name, e.Shape)
			}
			elems *= int64(s)
		}
		if elems*int64(size) != end-begin {
			return nil, fmt.Errorf("%w: tensor %q: shape %v of %s needs %d bytes, offsets give %d", ErrFormat, name, e.Shape, e.DType, elems*int64(size), end-begin)
		}
		f.tensors[name] = Tensor{Name: name, DType: e.DType, Shape: e.Shape, Data: body[begin:end:end]}
	}
	return f, nil
}

// Close unmaps the file. Tensors' Data must not be used afterwards.
func (f *File) Close() error { return f.unmap() }

// Names lists the tensors, sorted.
func (f *File) Names() []string {
	out := make([]string, 0, len(f.tensors))
	for n := range f.tensors {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Tensor returns a tensor's description.
func (f *File) Tensor(name string) (Tensor, bool) {
	t, ok := f.tensors[name]
	return t, ok
}

// Float32 converts a floating-point tensor to a new []float32.
func (t Tensor) Float32() ([]float32, error) {
	n := t.Elements()
	out := make([]float32, n)
	b := t.Data
	switch t.DType {
	case "F32":
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case "F16":
		h := make([]uint16, n)
		for i := range h {
			h[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
		kernels.DecodeF16(out, h)
	case "BF16":
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	case "F64":
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	default:
		return nil, fmt.Errorf("%w: tensor %q is %s, want a float type", ErrDType, t.Name, t.DType)
	}
	return out, nil
}

// Int64 converts an integer tensor to a new []int64.
func (t Tensor) Int64() ([]int64, error) {
	n := t.Elements()
	out := make([]int64, n)
	b := t.Data
	switch t.DType {
	case "I64":
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case "I32":
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case "I16":
		for i := range out {
			out[i] = int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case "I8":
		for i := range out {
			out[i] = int64(int8(b[i]))
		}
	case "U8", "BOOL":
		for i := range out {
			out[i] = int64(b[i])
		}
	default:
		return nil, fmt.Errorf("%w: tensor %q is %s, want an integer type", ErrDType, t.Name, t.DType)
	}
	return out, nil
}

// Checkpoint is one or more files seen as one set of tensors.
type Checkpoint struct {
	files []*File
	where map[string]*File
	// rnd, when set, makes this a stand-in with no files: Float32 returns
	// random values of the requested shape (see Random).
	rnd   *rand.Rand
	rndMu sync.Mutex
}

// Random returns a checkpoint without files that answers every Float32
// request (with a fully given shape) with N(0, 0.02²) values, plus 1 for
// normalisation scales, so full-size architectures can be built and timed
// when no weights can be downloaded. Has reports false for every name.
func Random(seed uint64) *Checkpoint {
	return &Checkpoint{where: map[string]*File{}, rnd: rand.New(rand.NewPCG(seed, 7))}
}

// OpenCheckpoint opens a .safetensors file, or a sharded checkpoint given
// its model.safetensors.index.json (shards resolved beside it).
func OpenCheckpoint(path string) (*Checkpoint, error) {
	c := &Checkpoint{where: map[string]*File{}}
	if strings.HasSuffix(path, ".json") {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("safetensors: %w", err)
		}
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(b, &idx); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrFormat, path, err)
		}
		if len(idx.WeightMap) == 0 {
			return nil, fmt.Errorf("%w: %s has no weight_map", ErrFormat, path)
		}
		shards := map[string]*File{}
		for name, shard := range idx.WeightMap {
			if filepath.Base(shard) != shard {
				c.Close()
				return nil, fmt.Errorf("%w: %s: shard %q must be a file name beside the index", ErrFormat, path, shard)
			}
			f, ok := shards[shard]
			if !ok {
				var err error
				if f, err = Open(filepath.Join(filepath.Dir(path), shard)); err != nil {
					c.Close()
					return nil, err
				}
				shards[shard] = f
				c.files = append(c.files, f)
			}
			if _, ok := f.tensors[name]; !ok {
				c.Close()
				return nil, fmt.Errorf("%w: %q is mapped to %s but not stored there", ErrNotFound, name, shard)
			}
			c.where[name] = f
		}
		return c, nil
	}
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	c.files = []*File{f}
	for n := range f.tensors {
		c.where[n] = f
	}
	return c, nil
}

// IsRandom reports whether c is a Random stand-in (loaders that choose
// between alternative tensor names take the plain name then).
func (c *Checkpoint) IsRandom() bool { return c.rnd != nil }

// Close closes every file.
func (c *Checkpoint) Close() error {
	var errs []error
	for _, f := range c.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// Names lists every tensor, sorted.
func (c *Checkpoint) Names() []string {
	out := make([]string, 0, len(c.where))
	for n := range c.where {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Has reports whether a tensor exists.
func (c *Checkpoint) Has(name string) bool { _, ok := c.where[name]; return ok }

// Tensor returns a tensor's description.
func (c *Checkpoint) Tensor(name string) (Tensor, error) {
	f, ok := c.where[name]
	if !ok {
		return Tensor{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return f.tensors[name], nil
}

// Float32 loads a tensor as float32, checking its shape when shape is
// given (a -1 entry matches any size). The error names the tensor, what
// was expected and what the checkpoint holds.
func (c *Checkpoint) Float32(name string, shape ...int) ([]float32, []int, error) {
	if c.rnd != nil {
		n := 1
		for _, s := range shape {
			if s < 0 {
				return nil, nil, fmt.Errorf("%w: random stand-in needs a full shape for %q", ErrShape, name)
			}
			n *= s
		}
		v := make([]float32, n)
		c.rndMu.Lock()
		for i := range v {
			v[i] = float32(c.rnd.NormFloat64() * 0.02)
		}
		c.rndMu.Unlock()
		low := strings.ToLower(name)
		if strings.HasSuffix(low, "weight") && (strings.Contains(low, "norm") || strings.Contains(low, "ln_")) || strings.HasSuffix(low, "running_var") {
			for i := range v {
				v[i]++
			}
		}
		return v, shape, nil
	}
	t, err := c.Tensor(name)
	if err != nil {
		return nil, nil, err
	}
	if shape != nil && !shapeMatches(t.Shape, shape) {
		return nil, t.Shape, fmt.Errorf("%w: %q is %v in the checkpoint, the config needs %v", ErrShape, name, t.Shape, shape)
	}
	v, err := t.Float32()
	return v, t.Shape, err
}

func shapeMatches(have, want []int) bool {
	if len(have) != len(want) {
		return false
	}
	for i := range have {
		if want[i] != -1 && have[i] != want[i] {
			return false
		}
	}
	return true
}
