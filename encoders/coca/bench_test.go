package coca

import (
	"context"
	"testing"
)

// The fixture model is tiny, so these measure per-call overheads and the
// decoding loop rather than full-size throughput.

func BenchmarkEncodeImage(b *testing.B) {
	f := load(b)
	px, shape := f.f32(b, "pixel_values")
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := f.model.EncodeImage(px, shape[0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*shape[0])/b.Elapsed().Seconds(), "images/s")
}

func BenchmarkGreedy(b *testing.B) {
	f := load(b)
	px, shape := f.f32(b, "pixel_values")
	per := len(px) / shape[0]
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.model.Greedy(context.Background(), px[:per], 1, 20); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "captions/s")
}
