package clip

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
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

// BenchmarkModelMemory reports the heap a loaded model keeps (after GC) and
// the process's peak resident set, for ViT-B/32 and RN50 shapes.
func BenchmarkModelMemory(b *testing.B) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		resnet []int
	}{{"ViT-B-32", ViTB32(), nil}, {"RN50", RN50(), RN50Layers}} {
		b.Run(tc.name, func(b *testing.B) {
			var m *Model
			for b.Loop() {
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				var err error
				m, err = NewRandom(tc.cfg, tc.resnet, 1)
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MB-kept")
			}
			b.ReportMetric(float64(vmHWM())/(1<<20), "MB-peak-RSS")
			runtime.KeepAlive(m)
		})
	}
}

// vmHWM is the process's peak resident set in bytes (Linux), or 0.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}
