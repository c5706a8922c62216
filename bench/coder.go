package bench

import (
	"context"
	"fmt"
	"math/rand"
	"runtime"
	"time"

	"github.com/RoaringBitmap/roaring/v2/roaring64"
	coder "github.com/coder/hnsw"

	"rosetta/index"
	"rosetta/kernels"
)

// coderSearcher adapts github.com/coder/hnsw v0.6.1, kept only as a
// baseline (see ../shared/DESIGN.md: its search returns low recall). Its
// EfSearch is a field of the shared graph, so each sweep point sets it
// before any search of that point runs.
type coderSearcher struct {
	g *coder.Graph[uint64]
}

func (c coderSearcher) search(q []float32, k, ef int, _ *roaring64.Bitmap, _ *index.SearchStats) (ids []uint64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("coder/hnsw panicked: %v", r)
		}
	}()
	res := c.g.Search(q, k)
	ids = make([]uint64, len(res))
	for i, n := range res {
		ids[i] = n.Key
	}
	return ids, nil
}

// coderBaseline builds coder/hnsw (M=16, its default Ml) on the first
// CoderMax base rows, one thread (it has no locking), and sweeps EfSearch.
// Ground truth is recomputed for the subset so recall is fair.
func (o *ANNOptions) coderBaseline(ctx context.Context, base, queries *Matrix, pb, pq []float32) ([]SearchRow, BuildResult, string, error) {
	n := base.Rows
	note := ""
	if o.CoderMax > 0 && n > o.CoderMax {
		n = o.CoderMax
		note = fmt.Sprintf("coder/hnsw baseline built on the first %d of %d base vectors (its single-threaded build is slow); its recall is against the ground truth of that subset", n, base.Rows)
	}
	dim := base.Dim
	g := coder.NewGraph[uint64]()
	g.M = 16
	g.Rng = rand.New(rand.NewSource(1))
	switch o.Metric {
	case kernels.MetricL2:
		g.Distance = coder.EuclideanDistance
	default:
		g.Distance = coder.CosineDistance
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	var buildErr error
	func() {
		defer func() {
			if r := recover(); r != nil {
				buildErr = fmt.Errorf("bench: coder/hnsw build panicked: %v", r)
			}
		}()
		for i := 0; i < n; i++ {
			if i%1024 == 0 && ctx.Err() != nil {
				buildErr = ctx.Err()
				return
			}
			v := make([]float32, dim)
			copy(v, pb[i*dim:(i+1)*dim])
			g.Add(coder.MakeNode(uint64(i), v))
		}
	}()
	if buildErr != nil {
		return nil, BuildResult{}, note, buildErr
	}
	secs := time.Since(t0).Seconds()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b := BuildResult{Index: "coder-hnsw-v0.6.1", M: 16, Threads: 1, N: n, Seconds: secs, InsertsPerSec: float64(n) / secs,
		BytesPerVector: float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)}
	o.logf("coder/hnsw build (%d vectors, 1 thread): %.1fs, %.0f inserts/s", n, secs, b.InsertsPerSec)
	gt := GroundTruth(pb[:n*dim], pq, dim, o.Metric, max(100, o.K), o.Threads, nil)
	pqm := &Matrix{Rows: queries.Rows, Dim: dim, Data: pq}
	var rows []SearchRow
	for _, ef := range o.Ef {
		if ef < o.K {
			continue
		}
		g.EfSearch = ef
		row, err := o.sweepPoint(ctx, coderSearcher{g}, pqm, gt, ef, nil)
		if err != nil {
			return nil, b, note, err
		}
		row.Index, row.Storage, row.M, row.Ef, row.Selectivity = "coder-hnsw-v0.6.1", "float32", 16, ef, 1
		row.DistEvals = -1 // not observable
		rows = append(rows, row)
		o.logf("  coder ef=%-4d recall@10 %.4f  QPS %8.0f", ef, row.Recall10, row.QPS1)
	}
	return rows, b, note, nil
}
