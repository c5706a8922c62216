package bench

import (
	"runtime"
	"sync"

	"github.com/RoaringBitmap/roaring/v2/roaring64"

	"rosetta/kernels"
)

// prepared returns a copy of m's rows ready for metric (normalised for
// cosine; zero rows are left as they are).
func prepared(m *Matrix, metric kernels.Metric) []float32 {
	out := make([]float32, len(m.Data))
	copy(out, m.Data)
	if metric == kernels.MetricCosine {
		for i := 0; i < m.Rows; i++ {
			_ = kernels.Normalize(out[i*m.Dim : (i+1)*m.Dim])
		}
	}
	return out
}

// gtChunk rows of the base set are scored against every query of a worker
// before moving on, so the chunk stays in cache.
const gtChunk = 512

// GroundTruth computes the exact k nearest base rows (by row index) of
// every query, using all threads. When allow is non-nil only those base
// rows count. base and queries must be prepared for the metric.
func GroundTruth(base, queries []float32, dim int, metric kernels.Metric, k, threads int, allow *roaring64.Bitmap) [][]uint64 {
	nb, nq := len(base)/dim, len(queries)/dim
	if threads < 1 {
		threads = runtime.GOMAXPROCS(0)
	}
	out := make([][]uint64, nq)
	var wg sync.WaitGroup
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []int
			for q := w; q < nq; q += threads {
				mine = append(mine, q)
			}
			tops := make([]*kernels.TopK, len(mine))
			for i := range tops {
				tops[i] = kernels.NewTopK(k)
			}
			scores := make([]float32, gtChunk)
			for start := 0; start < nb; start += gtChunk {
				end := min(start+gtChunk, nb)
				block := base[start*dim : end*dim]
				for i, q := range mine {
					qv := queries[q*dim : (q+1)*dim]
					_ = kernels.ScoreBlock(metric, qv, block, scores[:end-start])
					t := tops[i]
					for j, d := range scores[:end-start] {
						id := uint64(start + j)
						if allow != nil && !allow.Contains(id) {
							continue
						}
						t.Push(id, d)
					}
				}
			}
			for i, q := range mine {
				s := tops[i].Sorted()
				ids := make([]uint64, len(s))
				for j, c := range s {
					ids[j] = c.ID
				}
				out[q] = ids
			}
		}()
	}
	wg.Wait()
	return out
}

// recall is |got[:k] ∩ truth[:k]| / min(k, len(truth)).
func recall(got []uint64, truth []uint64, k int) float64 {
	if k > len(truth) {
		k = len(truth)
	}
	if k == 0 {
		return 1
	}
	if len(got) > k {
		got = got[:k]
	}
	hit := 0
	for _, g := range got {
		for _, t := range truth[:k] {
			if g == t {
				hit++
				break
			}
		}
	}
	return float64(hit) / float64(k)
}
