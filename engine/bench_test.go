package engine

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

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
