package whisper

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

func TestMelFiltersGolden(t *testing.T) {
	_, g := golden(t)
	fe, err := NewFrontend(400, 160, 80, 16000)
	if err != nil {
		t.Fatal(err)
	}
	w := fe.Filters()
	got := make([]float32, len(w))
	for i, v := range w {
		got[i] = float32(v)
	}
	checkClose(t, "mel_filters", got, g.f32["mel_filters"], 1e-6)
}

// TestFFTAgainstDFT checks the mixed-radix FFT against the direct sum on
// sizes with repeated, large and prime factors.
func TestFFTAgainstDFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{2, 3, 7, 12, 49, 64, 97, 400, 512} {
		f, err := NewFrontend(n, 1, 1, 16000)
		if err != nil {
			t.Fatal(err)
		}
		in := make([]complex128, n)
		for i := range in {
			in[i] = complex(rng.NormFloat64(), rng.NormFloat64())
		}
		out := make([]complex128, n)
		f.fft(out, in, n, 1, 1)
		var worst float64
		for k := 0; k < n; k++ {
			var want complex128
			for j, x := range in {
				s, c := math.Sincos(-2 * math.Pi * float64(j*k%n) / float64(n))
				want += x * complex(c, s)
			}
			worst = math.Max(worst, cmplx.Abs(out[k]-want))
		}
		if worst > 1e-9*float64(n) {
			t.Errorf("n=%d: max error %.3g", n, worst)
		}
	}
}
