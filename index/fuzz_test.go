package index

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"rosetta/internal/vecgen"
	"rosetta/kernels"
)

// fixCRC rewrites the trailing checksum so that a mutated file reaches the
// structural validation instead of stopping at the checksum.
func fixCRC(b []byte) {
	if len(b) < 4 {
		return
	}
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], castagnoli))
}

func seedFiles(f *testing.F) {
	for _, n := range []int{0, 1, 40, 41, 42} {
		set := vecgen.Sphere(n, 1, 4, uint64(n))
		st := StorageFloat32
		switch n {
		case 40:
			st = StorageFloat16
		case 41:
			st = StorageInt8 // trained at 20, float16 originals
		case 42:
			st = StorageRaBitQ
		}
		h, _ := NewHNSW(Config{Dim: 4, M: 2, EfConstruction: 8, Storage: st, TrainSize: 20})
		fl, _ := NewFlat(4, kernels.MetricDot)
		for i := 0; i < n; i++ {
			h.Add(uint64(i), vecgen.Row(set.Base, 4, i))
			fl.Add(uint64(i), vecgen.Row(set.Base, 4, i))
		}
		if n > 3 {
			h.Delete(2)
		}
		var b bytes.Buffer
		h.WriteTo(&b)
		f.Add(b.Bytes(), true)
		b.Reset()
		fl.WriteTo(&b)
		f.Add(b.Bytes(), true)
	}
}

// FuzzReadIndex feeds arbitrary bytes to both readers, with and without a
// valid checksum. Whatever loads must then search without panicking.
func FuzzReadIndex(f *testing.F) {
	seedFiles(f)
	f.Fuzz(func(t *testing.T, data []byte, fix bool) {
		if fix {
			data = bytes.Clone(data)
			fixCRC(data)
		}
		if h, err := ReadHNSW(bytes.NewReader(data)); err == nil {
			q := make([]float32, h.Dim())
			q[0] = 1
			h.Search(q, SearchOptions{K: 3})
			h.Add(1<<60, q)
			h.Delete(1)
		}
		if fl, err := ReadFlat(bytes.NewReader(data)); err == nil {
			q := make([]float32, fl.Dim())
			q[0] = 1
			fl.Search(q, SearchOptions{K: 3})
		}
	})
}
