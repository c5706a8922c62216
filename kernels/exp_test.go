package kernels

import (
	"math"
	"testing"
)

func TestExp32(t *testing.T) {
	worst := 0.0
	for x := float32(-87); x < 88.7; x += 0.00731 {
		got := float64(Exp32(x))
		want := math.Exp(float64(x))
		rel := math.Abs(got-want) / want
		if rel > worst {
			worst = rel
		}
	}
	if worst > 3e-7 {
		t.Fatalf("Exp32 max relative error %.3g", worst)
	}
	if !math.IsInf(float64(Exp32(100)), 1) || Exp32(-100) != 0 || Exp32(0) != 1 {
		t.Fatal("Exp32 edge cases")
	}
	if nan := Exp32(float32(math.NaN())); nan == nan {
		t.Fatal("Exp32(NaN) is not NaN")
	}
}

func BenchmarkExp32(b *testing.B) {
	xs := make([]float32, 1024)
	for i := range xs {
		xs[i] = float32(i)/100 - 5
	}
	for b.Loop() {
		for i, x := range xs {
			xs[i] = Exp32(x) - 1
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(xs)), "ns/exp")
}

func TestVectorActivations(t *testing.T) {
	for _, im := range impls() {
		withImpl(t, im.avx512, im.avx2)
		for n := 0; n < 300; n++ {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(i%97)*0.9 - 44 + float32(n)*0.01
			}
			if n > 5 {
				x[1], x[2], x[3] = -200, 200, 0
			}
			e := append([]float32(nil), x...)
			ExpInPlace(e)
			g := append([]float32(nil), x...)
			QuickGELUInPlace(g)
			for i, v := range x {
				want := math.Exp(float64(v))
				if v < -87.3 {
					if e[i] > 1e-37 {
						t.Fatalf("%s exp(%v) = %v", im.name, v, e[i])
					}
				} else if v > 88.3 {
					if e[i] < 1e38 {
						t.Fatalf("%s exp(%v) = %v", im.name, v, e[i])
					}
				} else if math.Abs(float64(e[i])-want) > 3e-7*want {
					t.Fatalf("%s n=%d exp(%v) = %v, want %v", im.name, n, v, e[i], want)
				}
				wg := float64(v) / (1 + math.Exp(-1.702*float64(v)))
				if math.Abs(float64(g[i])-wg) > 1e-6*(1+math.Abs(wg)) {
					t.Fatalf("%s quickGELU(%v) = %v, want %v", im.name, v, g[i], wg)
				}
			}
		}
	}
}
