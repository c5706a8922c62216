package audio

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// fullKernelResample is the reference algorithm without tap skipping: every
// one of the 2·width+orig taps of every phase, as torchaudio evaluates them.
func fullKernelResample(x []float32, from, to int) []float32 {
	g := gcd(from, to)
	orig, nw := from/g, to/g
	k := newSincKernel(orig, nw)
	const (
		lw = float32(lowpassFilterWidth)
		pi = float32(math.Pi)
	)
	base := float32(k.baseFreq)
	scale := float32(k.baseFreq / float64(orig))
	kern := make([][]float32, nw)
	for i := range kern {
		kern[i] = make([]float32, k.taps)
		off := float32(-i) / float32(nw)
		for j := range kern[i] {
			t := off + float32(j-k.width)/float32(orig)
			t *= base
			t = max(-lw, min(lw, t))
			c := float32(math.Cos(float64(t * pi / lw / 2)))
			t *= pi
			v := float32(1)
			if t != 0 {
				v = float32(math.Sin(float64(t))) / t
			}
			kern[i][j] = v * (c * c * scale)
		}
	}
	// Pad by width left, width+orig right; stride-orig convolution.
	padded := make([]float32, k.width+len(x)+k.width+orig)
	copy(padded[k.width:], x)
	var out []float32
	for p := 0; p*orig+k.taps <= len(padded); p++ {
		for i := range nw {
			var s float64
			for j, w := range kern[i] {
				s += float64(w) * float64(padded[p*orig+j])
			}
			out = append(out, float32(s))
		}
	}
	n := int(math.Ceil(float64(nw) * float64(len(x)) / float64(orig)))
	return out[:n]
}

func TestResampleMatchesFullKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pairs := [][2]int{{22050, 16000}, {44100, 16000}, {16000, 44100}, {8000, 16000}, {16000, 8000},
		{48000, 16000}, {7, 3}, {3, 7}, {101, 97}, {97, 101}, {1, 2}, {2, 1}, {11025, 16000}}
	for _, pr := range pairs {
		for _, n := range []int{0, 1, 5, 37, 400} {
			t.Run(fmt.Sprintf("%d-%d-n%d", pr[0], pr[1], n), func(t *testing.T) {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(rng.NormFloat64() * 0.3)
				}
				got := Resample(x, pr[0], pr[1])
				want := fullKernelResample(x, pr[0], pr[1])
				if len(got) != len(want) {
					t.Fatalf("len %d, want %d", len(got), len(want))
				}
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-6 {
						t.Fatalf("sample %d: %v vs %v", i, got[i], want[i])
					}
				}
			})
		}
	}
}

func TestResampleEdges(t *testing.T) {
	x := []float32{0.1, -0.2, 0.3}
	if got := Resample(x, 16000, 16000); len(got) != 3 || &got[0] == &x[0] || got[1] != -0.2 {
		t.Fatalf("equal rates: %v", got)
	}
	if Resample(x, 0, 16000) != nil || Resample(x, 16000, -1) != nil {
		t.Fatal("invalid rate should give nil")
	}
	if got := Resample(nil, 44100, 16000); len(got) != 0 {
		t.Fatalf("empty input gave %d samples", len(got))
	}
	// Coprime large rates stay cheap: only the unclamped taps are built.
	y := Resample(make([]float32, 1000), 767999, 768000)
	if len(y) != 1001 {
		t.Fatalf("len %d", len(y))
	}
	// A DC signal stays near its level away from the edges.
	dc := make([]float32, 4000)
	for i := range dc {
		dc[i] = 0.5
	}
	r := Resample(dc, 44100, 16000)
	for i := 100; i < len(r)-100; i++ {
		if math.Abs(float64(r[i])-0.5) > 0.01 {
			t.Fatalf("dc sample %d = %v", i, r[i])
		}
	}
}

func BenchmarkResample44100To16000(b *testing.B) {
	x := make([]float32, 44100*10)
	for i := range x {
		x[i] = float32(math.Sin(float64(i) * 0.01))
	}
	b.ResetTimer()
	for b.Loop() {
		Resample(x, 44100, 16000)
	}
	b.ReportMetric(float64(b.N)*10/b.Elapsed().Seconds(), "audio-s/s")
}
