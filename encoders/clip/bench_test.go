package clip

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"rosetta/kernels"
)

// Full-size architectures with random weights: openai/clip-vit-base-patch32
// (8.82 GFLOP per image, 5.96 per 77-token caption) and RN50.
// go test -run XXX -bench 'ViTB32|RN50' ./encoders/clip
func BenchmarkViTB32Image(b *testing.B) {
	m, err := NewRandom(ViTB32(), nil, 1)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, batch := range []int{1, 8} {
		px := make([]float32, batch*3*224*224)
		for i := range px {
			px[i] = float32(r.NormFloat64())
		}
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("batch=%d/threads=%d", batch, threads), func(b *testing.B) {
				old := kernels.SetGemmThreads(threads)
				defer kernels.SetGemmThreads(old)
				for b.Loop() {
					if _, err := m.Vision.Forward(px, batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*batch), "ms/image")
			})
		}
	}
}

func BenchmarkViTB32Text(b *testing.B) {
	m, err := NewRandom(ViTB32(), nil, 1)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int, 77)
	for i := range ids {
		ids[i] = 1000 + i
	}
	ids[76] = 49407
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			old := kernels.SetGemmThreads(threads)
			defer kernels.SetGemmThreads(old)
			for b.Loop() {
				if _, err := m.Text.Forward([][]int{ids}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/caption")
		})
	}
}

func BenchmarkRN50Image(b *testing.B) {
	m, err := NewRandom(RN50(), RN50Layers, 1)
	if err != nil {
		b.Fatal(err)
	}
	px := make([]float32, 3*224*224)
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			old := kernels.SetGemmThreads(threads)
			defer kernels.SetGemmThreads(old)
			for b.Loop() {
				if _, err := m.ResNet.Forward(px, 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/image")
		})
	}
}
