package whisper

import (
	"math"
	"path/filepath"
	"sync"
	"testing"

	"rosetta/encoders/safetensors"
	"rosetta/internal/fixtures"
)

type goldenSet struct {
	f32 map[string][]float32
	i64 map[string][]int64
}

var (
	goldenOnce sync.Once
	goldenVal  goldenSet
	goldenErr  error
)

// golden reads golden.safetensors once per test binary.
func golden(t *testing.T) (string, goldenSet) {
	t.Helper()
	dir := fixtures.Dir(t, "whisper")
	goldenOnce.Do(func() {
		f, err := safetensors.Open(filepath.Join(dir, "golden.safetensors"))
		if err != nil {
			goldenErr = err
			return
		}
		defer f.Close()
		g := goldenSet{f32: map[string][]float32{}, i64: map[string][]int64{}}
		for _, n := range f.Names() {
			tn, _ := f.Tensor(n)
			if tn.DType == "I64" {
				v, err := tn.Int64()
				if err != nil {
					goldenErr = err
					return
				}
				g.i64[n] = v
				continue
			}
			v, err := tn.Float32()
			if err != nil {
				goldenErr = err
				return
			}
			g.f32[n] = v
		}
		goldenVal = g
	})
	if goldenErr != nil {
		t.Fatal(goldenErr)
	}
	return dir, goldenVal
}

// maxAbsDiff returns the largest |got-want|, failing on a length mismatch.
func maxAbsDiff(t *testing.T, name string, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	var m float64
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = math.Max(m, d)
	}
	return m
}

func checkClose(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	m := maxAbsDiff(t, name, got, want)
	t.Logf("%s: max abs error %.3g", name, m)
	if m > tol {
		t.Errorf("%s: max abs error %.3g > %g", name, m, tol)
	}
}
