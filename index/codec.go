package index

import (
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
)

// File layout shared by both index kinds (all integers little-endian):
//
//	magic   [8]byte "RSTAIDX\x00"
//	version uint32  (fileVersion)
//	kind    uint8   (kindHNSW or kindFlat)
//	body    kind-specific, see persist.go and flat.go
//	crc     uint32  CRC-32C (Castagnoli) of every byte before it
const (
	fileMagic   = "RSTAIDX\x00"
	fileVersion = 1
	kindHNSW    = 1
	kindFlat    = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encoder writes little-endian values, checksumming and counting them. It
// streams: values collect in one 64 KiB buffer that is checksummed
// (incrementally) and written whenever it fills, so memory stays constant
// whatever the index size. The first error sticks; later writes do nothing.
type encoder struct {
	w   io.Writer
	crc hash.Hash32
	n   int64
	buf []byte
	err error
}

func newEncoder(w io.Writer, kind uint8) *encoder {
	e := &encoder{w: w, crc: crc32.New(castagnoli), buf: make([]byte, 0, 64<<10)}
	e.write([]byte(fileMagic))
	e.u32(fileVersion)
	e.u8(kind)
	return e
}

func (e *encoder) write(p []byte) {
	if e.err != nil {
		return
	}
	e.crc.Write(p)
	n, err := e.w.Write(p)
	e.n += int64(n)
	e.err = err
}

func (e *encoder) flush() {
	if len(e.buf) > 0 {
		e.write(e.buf)
		e.buf = e.buf[:0]
	}
}

func (e *encoder) room(n int) {
	if len(e.buf)+n > cap(e.buf) {
		e.flush()
	}
}

func (e *encoder) u8(v uint8)   { e.room(1); e.buf = append(e.buf, v) }
func (e *encoder) u32(v uint32) { e.room(4); e.buf = binary.LittleEndian.AppendUint32(e.buf, v) }
func (e *encoder) u64(v uint64) { e.room(8); e.buf = binary.LittleEndian.AppendUint64(e.buf, v) }
func (e *encoder) f64(v float64) {
	e.u64(math.Float64bits(v))
}

// zeros writes n zero bytes.
func (e *encoder) zeros(n int) {
	for n > 0 {
		if len(e.buf) == cap(e.buf) {
			e.flush()
		}
		k := min(n, cap(e.buf)-len(e.buf))
		e.buf = append(e.buf, make([]byte, k)...)
		n -= k
	}
}

func (e *encoder) u32s(v []uint32) {
	for _, x := range v {
		e.u32(x)
	}
}

func (e *encoder) u8s(v []uint8) {
	for len(v) > 0 {
		if len(e.buf) == cap(e.buf) {
			e.flush()
		}
		k := min(len(v), cap(e.buf)-len(e.buf))
		e.buf = append(e.buf, v[:k]...)
		v = v[k:]
	}
}

func (e *encoder) u16s(v []uint16) {
	for _, x := range v {
		e.room(2)
		e.buf = binary.LittleEndian.AppendUint16(e.buf, x)
	}
}

func (e *encoder) f32s(v []float32) {
	for _, x := range v {
		e.u32(math.Float32bits(x))
	}
}

func (e *encoder) u64s(v []uint64) {
	for _, x := range v {
		e.u64(x)
	}
}

// finish writes the checksum and returns the byte count and first error.
func (e *encoder) finish() (int64, error) {
	e.flush()
	if e.err != nil {
		return e.n, e.err
	}
	sum := e.crc.Sum32()
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], sum)
	n, err := e.w.Write(b[:])
	e.n += int64(n)
	return e.n, err
}

// decoder reads from a fully buffered, checksum-verified body. Every read
// is bounds-checked; the first failure sticks and later reads return zero.
type decoder struct {
	b   []byte
	off int
	err error
}

// openFile checks magic, version, kind and checksum of a whole file and
// returns a decoder positioned at the body.
func openFile(data []byte, wantKind uint8) (*decoder, error) {
	hdr := len(fileMagic) + 4 + 1
	if len(data) < hdr+4 {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the header", ErrCorrupt, len(data))
	}
	if string(data[:len(fileMagic)]) != fileMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return nil, fmt.Errorf("%w: checksum mismatch (stored %08x, computed %08x)", ErrCorrupt, sum, got)
	}
	v := binary.LittleEndian.Uint32(data[len(fileMagic):])
	if v != fileVersion {
		return nil, fmt.Errorf("%w: version %d (this build reads %d)", ErrVersion, v, fileVersion)
	}
	if k := data[len(fileMagic)+4]; k != wantKind {
		return nil, fmt.Errorf("%w: kind %d, want %d", ErrKind, k, wantKind)
	}
	return &decoder{b: body, off: hdr}, nil
}

func (d *decoder) need(n int) bool {
	if d.err != nil {
		return false
	}
	if n < 0 || len(d.b)-d.off < n {
		d.err = fmt.Errorf("%w: truncated at byte %d (need %d more)", ErrCorrupt, d.off, n)
		return false
	}
	return true
}

// fail records a validation error.
func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
}

func (d *decoder) u8() uint8 {
	if !d.need(1) {
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) u32() uint32 {
	if !d.need(4) {
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v
}

func (d *decoder) u64() uint64 {
	if !d.need(8) {
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v
}

func (d *decoder) f64() float64 { return math.Float64frombits(d.u64()) }

// count checks that n elements of size bytes each fit in what remains,
// before anything is allocated for them.
func (d *decoder) count(n uint64, size int) bool {
	if d.err != nil {
		return false
	}
	if n > uint64(len(d.b)-d.off)/uint64(size) {
		d.err = fmt.Errorf("%w: %d elements of %d bytes do not fit in the %d bytes left", ErrCorrupt, n, size, len(d.b)-d.off)
		return false
	}
	return true
}

func (d *decoder) u32s(dst []uint32) {
	if !d.count(uint64(len(dst)), 4) {
		return
	}
	for i := range dst {
		dst[i] = binary.LittleEndian.Uint32(d.b[d.off:])
		d.off += 4
	}
}

func (d *decoder) u8s(dst []uint8) {
	if !d.count(uint64(len(dst)), 1) {
		return
	}
	d.off += copy(dst, d.b[d.off:])
}

func (d *decoder) u16s(dst []uint16) {
	if !d.count(uint64(len(dst)), 2) {
		return
	}
	for i := range dst {
		dst[i] = binary.LittleEndian.Uint16(d.b[d.off:])
		d.off += 2
	}
}

func (d *decoder) f32s(dst []float32) {
	if !d.count(uint64(len(dst)), 4) {
		return
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(d.b[d.off:]))
		d.off += 4
	}
}

func (d *decoder) u64s(dst []uint64) {
	if !d.count(uint64(len(dst)), 8) {
		return
	}
	for i := range dst {
		dst[i] = binary.LittleEndian.Uint64(d.b[d.off:])
		d.off += 8
	}
}

func (d *decoder) done() error {
	if d.err == nil && d.off != len(d.b) {
		d.fail("%d trailing bytes", len(d.b)-d.off)
	}
	return d.err
}

// readAll buffers r; the checksum covers the whole file, so nothing is
// trusted before all of it is read.
func readAll(r io.Reader) ([]byte, int64, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, int64(len(data)), fmt.Errorf("index: read: %w", err)
	}
	return data, int64(len(data)), nil
}
