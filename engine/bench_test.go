package engine

import (
	"fmt"
	"image"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"rosetta/encoders"
	"rosetta/encoders/blip"
	"rosetta/encoders/imageproc"
	"rosetta/encoders/wordpiece"
	"rosetta/internal/fixtures"
	"rosetta/internal/vecgen"
)

// BenchmarkSearchDuringBatches measures, in process (no HTTP, no JSON),
// the latency of one searcher while a writer upserts 1000-object batches
// into a 100k × 512 collection: what a search waits for while a batch is
// applied to the index. Run it alone on a quiet machine:
//
//	go test -run XXX -bench SearchDuringBatches -benchtime 1x -timeout 30m ./engine
func BenchmarkSearchDuringBatches(b *testing.B) {
	const n, dim, batch = 100_000, 512, 1000
	e, err := Open(Options{Dir: b.TempDir(), SnapshotEvery: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	e.WaitReady(bg)
	if _, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: dim}}}); err != nil {
		b.Fatal(err)
	}
	set := vecgen.Clustered(n, 1000, dim, 100, 0.05, 1)
	objs := func(first, count int, r *rand.Rand) []Object {
		out := make([]Object, count)
		for j := range out {
			id := uint64((first+j)%n + 1)
			src := int(id - 1)
			if r != nil {
				src = r.IntN(n)
			}
			out[j] = Object{ID: id, Vectors: map[string][]float32{"v": vecgen.Row(set.Base, dim, src)}}
		}
		return out
	}
	start := time.Now()
	for lo := 0; lo < n; lo += batch {
		if _, err := e.Upsert(bg, "c", objs(lo, batch, nil)); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("loaded %d × %d in %v", n, dim, time.Since(start).Round(time.Second))
	b.ResetTimer()
	for range b.N {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		batches := 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(2, 2))
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := e.Upsert(bg, "c", objs(r.IntN(n), batch, r)); err != nil {
					b.Error(err)
					return
				}
				batches++
			}
		}()
		var lat []time.Duration
		deadline := time.Now().Add(20 * time.Second)
		for i := 0; time.Now().Before(deadline); i++ {
			q := vecgen.Row(set.Queries, dim, i%set.NQueries())
			t0 := time.Now()
			if _, err := e.Search(bg, "c", SearchRequest{Query: Query{Vector: q}, K: 10, Ef: 64}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		close(stop)
		wg.Wait()
		slices.Sort(lat)
		ms := func(p float64) float64 {
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
		}
		b.ReportMetric(ms(0.5), "p50-ms")
		b.ReportMetric(ms(0.99), "p99-ms")
		b.ReportMetric(ms(0.999), "p999-ms")
		b.ReportMetric(ms(1), "max-ms")
		b.ReportMetric(float64(len(lat)), "searches")
		b.ReportMetric(float64(batches), "batches")
	}
}

// BenchmarkRerankCached measures a text → image re-rank of the top 50
// through the engine with BLIP-base shapes and random weights: the
// candidates' float16 tokens read from the store and decoded, then 16
// candidates per ITM pass. It also reports what caching costs per image at
// ingest: the image tower at 384 px plus the float16 encoding, and the
// bytes stored. Needs the tokenizer fixture (vocab.txt); takes ~20 s:
//
//	go test -run XXX -bench RerankCached -benchtime 1x ./engine
func BenchmarkRerankCached(b *testing.B) {
	const candidates = 50
	m, err := blip.RandomITM(blip.DefaultConfig(), 5)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := wordpiece.LoadDir(fixtures.Dir(b, "tokenizer-bert"))
	if err != nil {
		b.Fatal(err)
	}
	enc := &encoders.BLIP{M: m, Tok: tok, Pre: imageproc.DefaultBLIP(m.Cfg.Vision.ImageSize), MaxTokens: 35}
	e, err := Open(Options{Dir: b.TempDir(), SnapshotEvery: -1, LoadModel: func(string) (Encoder, error) { return enc, nil }})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	e.WaitReady(bg)
	if _, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "itc", Model: "blip"}}, RerankModel: "blip"}); err != nil {
		b.Fatal(err)
	}
	// Ingest cost of one image's tokens.
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	t0 := time.Now()
	toks, err := enc.ImageTokens(bg, []image.Image{img})
	if err != nil {
		b.Fatal(err)
	}
	tTower := time.Since(t0)
	nt, nw := enc.ImageTokenShape()
	t1 := time.Now()
	rec, err := encodeTokens(toks, nt, nw)
	if err != nil {
		b.Fatal(err)
	}
	tEncode := time.Since(t1)
	// 50 candidates with random tokens of the same scale (layer-normed).
	r := rand.New(rand.NewPCG(5, 5))
	objs := make([]Object, candidates)
	v := make([]float32, nt*nw)
	for i := range objs {
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		if objs[i].tokens, err = encodeTokens(v, nt, nw); err != nil {
			b.Fatal(err)
		}
		vec := make([]float32, m.Cfg.ImageTextHidden)
		for j := range vec {
			vec[j] = float32(r.NormFloat64())
		}
		objs[i].Key, objs[i].Modality = fmt.Sprint(i), "image"
		objs[i].Vectors = map[string][]float32{"itc": vec}
	}
	if _, err := e.Upsert(bg, "c", objs); err != nil {
		b.Fatal(err)
	}
	req := SearchRequest{Query: Query{Text: "a dog playing in the snow with a red ball"}, K: candidates, Rerank: &Rerank{Top: candidates}}
	for b.Loop() {
		hits, err := e.Search(bg, "c", req)
		if err != nil {
			b.Fatal(err)
		}
		for _, h := range hits {
			if h.RerankScore == nil {
				b.Fatal("a candidate was not re-ranked")
			}
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/top50-rerank")
	b.ReportMetric(float64(tTower.Milliseconds()), "ms-ingest-image-tower")
	b.ReportMetric(float64(tEncode.Microseconds())/1000, "ms-ingest-float16")
	b.ReportMetric(float64(len(rec)), "bytes/image")
}
