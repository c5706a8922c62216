package blip

import (
	"sync"
	"testing"
)

// TestConcurrentUse runs the ITM and the captioner from several goroutines
// at once (meaningful under -race) and checks every result is the same.
func TestConcurrentUse(t *testing.T) {
	m, g := loadITM(t)
	c, cg := loadCaptioner(t)
	px, shape := g.floats("pixel_values")
	cpx, cshape := cg.floats("pixel_values")
	ids, masks := g.ints("input_ids"), g.ints("attention_mask")
	per := len(cpx) / cshape[0]
	want, err := c.Greedy(cpx[:per], nil, 6)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			emb, err := m.ImageEmbeds(px, shape[0])
			if err == nil {
				_, err = m.ITMLogits(emb, ids, masks)
			}
			if err != nil {
				errs <- err
				return
			}
			got, err := c.Greedy(cpx[:per], nil, 6)
			if err != nil {
				errs <- err
				return
			}
			if !equalInts(got, want) {
				t.Errorf("concurrent greedy %v, want %v", got, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkImageEmbeds measures the image tower on the fixture's batch.
func BenchmarkImageEmbeds(b *testing.B) {
	m, g := loadITM(b)
	px, shape := g.floats("pixel_values")
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.ImageEmbeds(px, shape[0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*shape[0])/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkITMLogits measures the cross-attending text encoder.
func BenchmarkITMLogits(b *testing.B) {
	m, g := loadITM(b)
	px, shape := g.floats("pixel_values")
	ids, masks := g.ints("input_ids"), g.ints("attention_mask")
	emb, err := m.ImageEmbeds(px, shape[0])
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.ITMLogits(emb, ids, masks); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(ids))/b.Elapsed().Seconds(), "pairs/s")
}

// BenchmarkGreedy measures cached greedy decoding of 12 tokens.
func BenchmarkGreedy(b *testing.B) {
	c, g := loadCaptioner(b)
	px, shape := g.floats("pixel_values")
	emb, err := c.ImageEmbeds(px[:len(px)/shape[0]], 1)
	if err != nil {
		b.Fatal(err)
	}
	tokens := 0
	b.ResetTimer()
	for b.Loop() {
		out, err := c.GreedyFromEmbeds(emb, nil, 12)
		if err != nil {
			b.Fatal(err)
		}
		tokens += len(out) - 1
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}
