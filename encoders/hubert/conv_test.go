package hubert

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveConv is the direct definition of a grouped, padded 1-D convolution
// over channels-last input.
func naiveConv(x, w, b []float32, t, in, out, k, stride, pad, groups int) []float32 {
	to := (t+2*pad-k)/stride + 1
	ig, og := in/groups, out/groups
	y := make([]float32, to*out)
	for o := 0; o < to; o++ {
		for co := 0; co < out; co++ {
			g := co / og
			var s float64
			if b != nil {
				s = float64(b[co])
			}
			for ci := 0; ci < ig; ci++ {
				for kk := 0; kk < k; kk++ {
					p := o*stride - pad + kk
					if p < 0 || p >= t {
						continue
					}
					s += float64(w[(co*ig+ci)*k+kk]) * float64(x[p*in+g*ig+ci])
				}
			}
			y[o*out+co] = float32(s)
		}
	}
	return y
}

func TestConv1dMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ t, in, out, k, stride, pad, groups int }{
		{t: 50, in: 1, out: 8, k: 10, stride: 5},
		{t: 37, in: 6, out: 9, k: 3, stride: 2},
		{t: 20, in: 8, out: 8, k: 6, stride: 1, pad: 3, groups: 4},
		{t: 21, in: 12, out: 12, k: 5, stride: 1, pad: 2, groups: 3},
	} {
		if tc.groups == 0 {
			tc.groups = 1
		}
		x := make([]float32, tc.t*tc.in)
		w := make([]float32, tc.out*tc.in/tc.groups*tc.k)
		b := make([]float32, tc.out)
		for _, s := range [][]float32{x, w, b} {
			for i := range s {
				s[i] = float32(r.NormFloat64())
			}
		}
		c, err := newConv1d(w, b, tc.out, tc.in, tc.k, tc.stride, tc.pad, tc.groups)
		if err != nil {
			t.Fatal(err)
		}
		got, to := c.forward(x, tc.t)
		want := naiveConv(x, w, b, tc.t, tc.in, tc.out, tc.k, tc.stride, tc.pad, tc.groups)
		if to*tc.out != len(want) {
			t.Fatalf("%+v: %d frames, want %d values", tc, to, len(want))
		}
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-4 {
				t.Fatalf("%+v: value %d = %v, want %v", tc, i, got[i], want[i])
			}
		}
	}
}

func TestWeightNorm(t *testing.T) {
	const out, in, k = 3, 2, 4
	v := make([]float32, out*in*k)
	for i := range v {
		v[i] = float32(i%7) - 3
	}
	// dim 2: every kernel tap's slice has norm g[k].
	g2 := []float32{1, 2, 3, 4}
	w := weightNorm(g2, v, out, in, k, 2)
	for kk := 0; kk < k; kk++ {
		var s float64
		for o := 0; o < out*in; o++ {
			s += float64(w[o*k+kk]) * float64(w[o*k+kk])
		}
		if math.Abs(math.Sqrt(s)-float64(g2[kk])) > 1e-5 {
			t.Errorf("dim 2 tap %d: norm %v, want %v", kk, math.Sqrt(s), g2[kk])
		}
	}
	// dim 0: every output channel has norm g[o].
	g0 := []float32{0.5, 1.5, 2.5}
	w = weightNorm(g0, v, out, in, k, 0)
	for o := 0; o < out; o++ {
		var s float64
		for _, f := range w[o*in*k : (o+1)*in*k] {
			s += float64(f) * float64(f)
		}
		if math.Abs(math.Sqrt(s)-float64(g0[o])) > 1e-5 {
			t.Errorf("dim 0 channel %d: norm %v, want %v", o, math.Sqrt(s), g0[o])
		}
	}
}

func TestNormalize(t *testing.T) {
	x := []float32{1, 2, 3, 4}
	y := Normalize(x)
	var mean, vs float64
	for _, v := range y {
		mean += float64(v)
	}
	for _, v := range y {
		vs += float64(v) * float64(v)
	}
	if math.Abs(mean) > 1e-6 || math.Abs(vs/4-1) > 1e-5 {
		t.Errorf("mean %v var %v", mean/4, vs/4)
	}
	if x[0] != 1 {
		t.Error("Normalize modified its input")
	}
	if len(Normalize(nil)) != 0 {
		t.Error("Normalize(nil) not empty")
	}
}
