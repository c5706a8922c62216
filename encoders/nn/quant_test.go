package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"rosetta/kernels"
)

// TestLinearQuantizeInt8: a quantised layer computes exactly what
// kernels.GemmInt8 gives for its weight (stored either way round), close
// to the float32 layer, and keeps no float32 weight.
func TestLinearQuantizeInt8(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const in, out, rows = 200, 70, 9
	w, b, x := rnd(r, out*in), rnd(r, out), rnd(r, rows*in)
	wt := make([]float32, in*out) // [in, out], as open_clip's projections
	for o := 0; o < out; o++ {
		for i := 0; i < in; i++ {
			wt[i*out+o] = w[o*in+i]
		}
	}
	p, err := kernels.PackInt8(true, in, out, w, in)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, rows*out)
	if err := kernels.GemmInt8(rows, x, in, p, b, want, out); err != nil {
		t.Fatal(err)
	}
	l1, err := NewLinear(w, b, out, in)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := NewLinearInOut(wt, b, in, out)
	if err != nil {
		t.Fatal(err)
	}
	f32 := make([]float32, rows*out)
	l1.Forward(x, rows, f32)
	for _, l := range []*Linear{l1, l2} {
		if err := QuantizeInt8(l, nil, l); err != nil { // nil skipped, twice a no-op
			t.Fatal(err)
		}
		if !l.Int8() || l.w != nil {
			t.Fatalf("after QuantizeInt8: int8 %v, float32 weight kept %v", l.Int8(), l.w != nil)
		}
		got := make([]float32, rows*out)
		l.Forward(x, rows, got)
		var dot, ng, nf float64
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("y[%d] = %v, GemmInt8 gives %v", i, got[i], want[i])
			}
			dot += float64(got[i]) * float64(f32[i])
			ng += float64(got[i]) * float64(got[i])
			nf += float64(f32[i]) * float64(f32[i])
		}
		if cos := dot / math.Sqrt(ng*nf); cos < 0.999 {
			t.Errorf("cosine to the float32 layer %.5f < 0.999", cos)
		}
	}
}
