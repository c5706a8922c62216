package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"rosetta/internal/fixtures"
)

// build writes a safetensors file from name → (dtype, shape, bytes).
func build(t testing.TB, tensors map[string]Tensor) []byte {
	hdr := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var body []byte
	for name, tt := range tensors {
		hdr[name] = map[string]any{"dtype": tt.DType, "shape": tt.Shape, "data_offsets": []int{len(body), len(body) + len(tt.Data)}}
		body = append(body, tt.Data...)
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(out, h...)
	return append(out, body...)
}

func f32bytes(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func TestParseAndConvert(t *testing.T) {
	data := build(t, map[string]Tensor{
		"w":  {DType: "F32", Shape: []int{2, 2}, Data: f32bytes(1, -2, 3.5, 0)},
		"h":  {DType: "F16", Shape: []int{3}, Data: []byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00}}, // 1, -2, smallest subnormal
		"bf": {DType: "BF16", Shape: []int{1}, Data: []byte{0x80, 0x3f}},                        // 1
		"i":  {DType: "I64", Shape: []int{2}, Data: binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 7), math.MaxUint64)},
	})
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["format"] != "pt" || len(f.Names()) != 4 {
		t.Fatalf("metadata %v names %v", f.Metadata, f.Names())
	}
	w, _ := f.Tensor("w")
	v, err := w.Float32()
	if err != nil || v[1] != -2 || v[2] != 3.5 {
		t.Fatalf("F32: %v %v", v, err)
	}
	h, _ := f.Tensor("h")
	v, _ = h.Float32()
	if v[0] != 1 || v[1] != -2 || v[2] != float32(math.Ldexp(1, -24)) {
		t.Fatalf("F16: %v", v)
	}
	bf, _ := f.Tensor("bf")
	if v, _ := bf.Float32(); v[0] != 1 {
		t.Fatalf("BF16: %v", v)
	}
	it, _ := f.Tensor("i")
	if v, _ := it.Int64(); v[0] != 7 || v[1] != -1 {
		t.Fatalf("I64: %v", v)
	}
	if _, err := it.Float32(); !errors.Is(err, ErrDType) {
		t.Fatalf("I64 as float: %v", err)
	}
}

func TestMalformed(t *testing.T) {
	good := build(t, map[string]Tensor{"w": {DType: "F32", Shape: []int{2}, Data: f32bytes(1, 2)}})
	cases := map[string][]byte{
		"short":        good[:5],
		"header past":  append(binary.LittleEndian.AppendUint64(nil, 1<<20), '{', '}'),
		"bad json":     append(binary.LittleEndian.AppendUint64(nil, 3), '{', 'x', '}'),
		"truncated":    good[:len(good)-1],
		"size differs": build(t, map[string]Tensor{"w": {DType: "F32", Shape: []int{3}, Data: f32bytes(1, 2)}}),
		"bad dtype":    build(t, map[string]Tensor{"w": {DType: "Q4", Shape: []int{2}, Data: f32bytes(1, 2)}}),
		"neg shape":    build(t, map[string]Tensor{"w": {DType: "F32", Shape: []int{-2}, Data: f32bytes(1, 2)}}),
	}
	for name, data := range cases {
		if _, err := Parse(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestShardedCheckpoint(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.safetensors"), build(t, map[string]Tensor{"x": {DType: "F32", Shape: []int{1}, Data: f32bytes(4)}}), 0o644)
	os.WriteFile(filepath.Join(dir, "b.safetensors"), build(t, map[string]Tensor{"y": {DType: "F32", Shape: []int{2, 1}, Data: f32bytes(5, 6)}}), 0o644)
	idx := `{"metadata":{},"weight_map":{"x":"a.safetensors","y":"b.safetensors"}}`
	os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(idx), 0o644)
	c, err := OpenCheckpoint(filepath.Join(dir, "model.safetensors.index.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	y, shape, err := c.Float32("y", 2, -1)
	if err != nil || y[1] != 6 || shape[0] != 2 {
		t.Fatalf("y: %v %v %v", y, shape, err)
	}
	if _, _, err := c.Float32("y", 1, 2); !errors.Is(err, ErrShape) {
		t.Fatalf("wrong shape: %v", err)
	}
	if _, _, err := c.Float32("z"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}

func TestFixtureCheckpoints(t *testing.T) {
	dir := fixtures.Dir(t, "clip-vit")
	a, err := OpenCheckpoint(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenCheckpoint(filepath.Join(dir, "model.fp16.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if len(a.Names()) == 0 || len(a.Names()) != len(b.Names()) {
		t.Fatalf("%d vs %d tensors", len(a.Names()), len(b.Names()))
	}
	for _, n := range a.Names() {
		x, _, err := a.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		y, _, err := b.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		for i := range x {
			if x[i] != y[i] {
				t.Fatalf("%s[%d]: F32 %v, F16 %v (the fixture rounds weights to fp16)", n, i, x[i], y[i])
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(build(f, map[string]Tensor{"w": {DType: "F16", Shape: []int{2, 1}, Data: []byte{0, 0x3c, 0, 0}}}))
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		for _, n := range file.Names() {
			tt, _ := file.Tensor(n)
			if v, err := tt.Float32(); err == nil && len(v) != tt.Elements() {
				t.Fatalf("%s: %d values for %d elements", n, len(v), tt.Elements())
			}
			tt.Int64()
		}
	})
}
