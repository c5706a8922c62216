package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"rosetta/kernels"
)

func rnd(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// naiveAttention is single-sequence multi-head attention written plainly.
func naiveAttention(x []float32, t, d, h int, wq, wk, wv, wo []float32, mask Mask) []float32 {
	proj := func(in, w []float32) []float32 {
		out := make([]float32, t*d)
		for i := 0; i < t; i++ {
			for o := 0; o < d; o++ {
				var s float64
				for k := 0; k < d; k++ {
					s += float64(in[i*d+k]) * float64(w[o*d+k])
				}
				out[i*d+o] = float32(s)
			}
		}
		return out
	}
	q, k, v := proj(x, wq), proj(x, wk), proj(x, wv)
	hd := d / h
	ctx := make([]float32, t*d)
	for head := 0; head < h; head++ {
		for i := 0; i < t; i++ {
			sc := make([]float64, t)
			mx := math.Inf(-1)
			for j := 0; j < t; j++ {
				if (mask.Causal && j > i) || (mask.KeyValid != nil && !mask.KeyValid[j]) {
					sc[j] = math.Inf(-1)
					continue
				}
				var s float64
				for c := 0; c < hd; c++ {
					s += float64(q[i*d+head*hd+c]) * float64(k[j*d+head*hd+c])
				}
				sc[j] = s / math.Sqrt(float64(hd))
				mx = math.Max(mx, sc[j])
			}
			var sum float64
			for j := range sc {
				sc[j] = math.Exp(sc[j] - mx)
				sum += sc[j]
			}
			for c := 0; c < hd; c++ {
				var s float64
				for j := 0; j < t; j++ {
					s += sc[j] / sum * float64(v[j*d+head*hd+c])
				}
				ctx[i*d+head*hd+c] = float32(s)
			}
		}
	}
	return proj(ctx, wo)
}

func TestAttentionMasks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const tt, d, h = 9, 16, 4
	wq, wk, wv, wo := rnd(r, d*d), rnd(r, d*d), rnd(r, d*d), rnd(r, d*d)
	lin := func(w []float32) *Linear { l, _ := NewLinear(w, nil, d, d); return l }
	a := Attention{Dim: d, Heads: h, Q: lin(wq), K: lin(wk), V: lin(wv), Out: lin(wo)}
	a.Init()
	valid := []bool{true, true, true, false, true, true, false, false, true}
	for name, m := range map[string]Mask{"none": {}, "causal": {Causal: true}, "padding": {KeyValid: valid}, "both": {Causal: true, KeyValid: valid}} {
		x := rnd(r, 2*tt*d) // two sequences in one batch
		got := make([]float32, 2*tt*d)
		var scratch []float32
		a.Forward(x, 2, tt, func(int) Mask { return m }, got, &scratch)
		for s := 0; s < 2; s++ {
			want := naiveAttention(x[s*tt*d:(s+1)*tt*d], tt, d, h, wq, wk, wv, wo, m)
			for i := range want {
				if math.Abs(float64(got[s*tt*d+i]-want[i])) > 1e-3 {
					t.Fatalf("%s seq %d [%d]: %v want %v", name, s, i, got[s*tt*d+i], want[i])
				}
			}
		}
	}
}

func TestConv2dMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ in, out, k, stride, pad, h, w int }{{3, 5, 3, 2, 1, 9, 7}, {4, 6, 1, 1, 0, 5, 5}, {2, 3, 3, 1, 1, 6, 6}, {3, 4, 2, 2, 0, 8, 6}} {
		wt := rnd(r, c.out*c.in*c.k*c.k)
		bias := rnd(r, c.out)
		conv, err := NewConv2d(wt, bias, c.out, c.in, c.k, c.stride, c.pad)
		if err != nil {
			t.Fatal(err)
		}
		x := rnd(r, c.h*c.w*c.in) // HWC
		var cols []float32
		got, oh, ow := conv.Forward(x, c.h, c.w, &cols)
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				for o := 0; o < c.out; o++ {
					s := float64(bias[o])
					for ci := 0; ci < c.in; ci++ {
						for ky := 0; ky < c.k; ky++ {
							for kx := 0; kx < c.k; kx++ {
								iy, ix := oy*c.stride-c.pad+ky, ox*c.stride-c.pad+kx
								if iy < 0 || iy >= c.h || ix < 0 || ix >= c.w {
									continue
								}
								s += float64(wt[((o*c.in+ci)*c.k+ky)*c.k+kx]) * float64(x[(iy*c.w+ix)*c.in+ci])
							}
						}
					}
					if g := got[(oy*ow+ox)*c.out+o]; math.Abs(float64(g)-s) > 1e-4 {
						t.Fatalf("%+v out[%d,%d,%d] = %v want %v", c, oy, ox, o, g, s)
					}
				}
			}
		}
	}
}

func TestFoldBatchNorm(t *testing.T) {
	w := []float32{1, 2, 3, 4} // 2 outputs × 2 inputs
	fw, fb := FoldBatchNorm(w, []float32{0.5, -1}, []float32{2, 3}, []float32{0.1, 0.2}, []float32{1, -1}, []float32{4, 9}, 0)
	// out0 = 2*(x·w0 + 0.5 - 1)/2 + 0.1; out1 = 3*(x·w1 - 1 + 1)/3 + 0.2
	want := []float32{1, 2, 3, 4}
	for i := range want {
		if fw[i] != want[i] {
			t.Fatalf("weights %v", fw)
		}
	}
	if math.Abs(float64(fb[0]-(-0.4))) > 1e-6 || math.Abs(float64(fb[1]-0.2)) > 1e-6 {
		t.Fatalf("bias %v", fb)
	}
}

func TestSoftmaxFullyMaskedRow(t *testing.T) {
	inf := float32(math.Inf(-1))
	x := []float32{inf, inf, 1, 2}
	SoftmaxRows(x, 2, 2)
	if x[0] != 0 || x[1] != 0 || math.Abs(float64(x[2]+x[3]-1)) > 1e-6 {
		t.Fatalf("%v", x)
	}
}

// TestGELU: the vectorised GELU against float64 math.Erf, over the range
// activations reach and past it (erf saturates), at every block length.
func TestGELU(t *testing.T) {
	var x []float32
	for v := -12.0; v <= 12; v += 0.00137 {
		x = append(x, float32(v))
	}
	x = append(x, 0, -0, 1e-30, -1e-30, 40, -40, 1e6, -1e6)
	for _, n := range []int{len(x), 1, 7, 255, 256, 257} {
		got := append([]float32(nil), x[:n]...)
		GELU(got)
		for i, v := range x[:n] {
			want := 0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2))
			if d := math.Abs(float64(got[i]) - want); d > 4e-7*(1+math.Abs(float64(v))) {
				t.Fatalf("GELU(%v) = %v, want %v (off by %.3g)", v, got[i], want, d)
			}
		}
	}
}

// TestAttentionParallelHeads: heads long enough to run in parallel (one
// per thread) give exactly the outputs of running them one after another,
// with masks and several sequences.
func TestAttentionParallelHeads(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const tt, d, h, batch = 260, 64, 4, 2 // 260²·16 ≥ 1 M: parallel
	wq, wk, wv, wo := rnd(r, d*d), rnd(r, d*d), rnd(r, d*d), rnd(r, d*d)
	lin := func(w []float32) *Linear { l, _ := NewLinear(w, nil, d, d); return l }
	a := Attention{Dim: d, Heads: h, Q: lin(wq), K: lin(wk), V: lin(wv), Out: lin(wo)}
	a.Init()
	x := rnd(r, batch*tt*d)
	valid := make([]bool, tt)
	for i := range valid {
		valid[i] = i%7 != 3
	}
	mask := func(s int) Mask {
		if s == 0 {
			return Mask{Causal: true}
		}
		return Mask{KeyValid: valid}
	}
	run := func(threads int) []float32 {
		defer kernels.SetGemmThreads(kernels.SetGemmThreads(threads))
		y := make([]float32, len(x))
		var scratch []float32
		a.Forward(x, batch, tt, mask, y, &scratch)
		return y
	}
	one := run(1)
	for _, threads := range []int{2, 3, 8} {
		got := run(threads)
		for i := range got {
			if got[i] != one[i] {
				t.Fatalf("%d threads: y[%d] = %v, one thread %v", threads, i, got[i], one[i])
			}
		}
	}
}
