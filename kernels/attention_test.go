package kernels

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveAttention is one head in float64: softmax(scale·q·kᵀ + mask)·v.
func naiveAttention(t, hd int, scale float32, q, k, v []float32, ld int, causal bool, keyValid []bool) []float64 {
	out := make([]float64, t*hd)
	for i := 0; i < t; i++ {
		s := make([]float64, t)
		m := math.Inf(-1)
		for j := 0; j < t; j++ {
			if (causal && j > i) || (keyValid != nil && !keyValid[j]) {
				s[j] = math.Inf(-1)
				continue
			}
			for p := 0; p < hd; p++ {
				s[j] += float64(scale*q[i*ld+p]) * float64(k[j*ld+p])
			}
			m = math.Max(m, s[j])
		}
		if math.IsInf(m, -1) {
			continue
		}
		var sum float64
		for j := range s {
			s[j] = math.Exp(s[j] - m)
			sum += s[j]
		}
		for j := range s {
			for p := 0; p < hd; p++ {
				out[i*hd+p] += s[j] / sum * float64(v[j*ld+p])
			}
		}
	}
	return out
}

func TestAttentionHead(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, im := range impls() {
		withImpl(t, im.avx512, im.avx2)
		var sc AttnScratch
		for _, sh := range [][2]int{{1, 1}, {5, 3}, {13, 64}, {50, 64}, {77, 64}, {33, 40}, {100, 17}, {256, 256}} {
			tt, hd := sh[0], sh[1]
			ld := 3*hd + 5
			q, k, v := randVec(r, tt*ld), randVec(r, tt*ld), randVec(r, tt*ld)
			valid := make([]bool, tt)
			for j := range valid {
				valid[j] = j%3 != 1
			}
			allMasked := make([]bool, tt)
			for _, mk := range []struct {
				causal bool
				valid  []bool
			}{{false, nil}, {true, nil}, {false, valid}, {true, valid}, {false, allMasked}} {
				name := fmt.Sprintf("%s/%dx%d/causal=%v/valid=%v", GemmImpl(), tt, hd, mk.causal, mk.valid != nil)
				want := naiveAttention(tt, hd, 0.125, q, k, v, ld, mk.causal, mk.valid)
				ldo := hd + 2
				out := randVec(r, tt*ldo)
				if err := AttentionHead(tt, hd, 0.125, q, k, v, ld, mk.causal, mk.valid, out, ldo, &sc); err != nil {
					t.Fatal(name, err)
				}
				for i := 0; i < tt; i++ {
					for p := 0; p < hd; p++ {
						if g, w := float64(out[i*ldo+p]), want[i*hd+p]; math.Abs(g-w) > 1e-5*(1+math.Abs(w)) {
							t.Fatalf("%s: out[%d,%d] = %v, want %v", name, i, p, g, w)
						}
					}
				}
			}
		}
	}
	var sc AttnScratch
	small := make([]float32, 10)
	for name, err := range map[string]error{
		"long":     AttentionHead(300, 8, 1, make([]float32, 2400), make([]float32, 2400), make([]float32, 2400), 8, false, nil, make([]float32, 2400), 8, &sc),
		"short q":  AttentionHead(4, 4, 1, small, make([]float32, 16), make([]float32, 16), 4, false, nil, make([]float32, 16), 4, &sc),
		"short o":  AttentionHead(2, 4, 1, small, small, small, 4, false, nil, small[:5], 4, &sc),
		"mask len": AttentionHead(2, 4, 1, small, small, small, 4, false, []bool{true}, small, 4, &sc),
	} {
		if !errors.Is(err, ErrBadShape) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
