package blip

import (
	"math/rand/v2"
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
			if err == nil { // pooled scratch buffers, shared packed weights
				_, err = m.MatchText(emb, shape[0], ids[0], masks[0])
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

// BenchmarkMatchTextFullSize times a text → image re-rank of 50 candidates
// from cached image tokens: BLIP-base with random weights, random image
// tokens (577×768 at 384 px), a 12-token text, chunks of 16 candidates
// as the engine runs them.
// go test -run XXX -bench MatchTextFullSize -benchtime 1x ./encoders/blip
func BenchmarkMatchTextFullSize(b *testing.B) {
	const candidates, chunk = 50, 16
	m, err := RandomITM(DefaultConfig(), 3)
	if err != nil {
		b.Fatal(err)
	}
	per := m.ImageTokens() * m.Cfg.Vision.Hidden
	r := rand.New(rand.NewPCG(3, 3))
	emb := make([]float32, chunk*per)
	for i := range emb {
		emb[i] = float32(r.NormFloat64())
	}
	ids := []int{101, 1037, 3899, 2652, 1999, 1996, 4586, 2007, 1037, 2417, 3608, 102}
	b.ResetTimer()
	for b.Loop() {
		for done := 0; done < candidates; done += chunk {
			n := min(chunk, candidates-done)
			if _, err := m.MatchText(emb[:n*per], n, ids, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/top50")
}
