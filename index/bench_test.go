package index

import (
	"testing"

	"rosetta/internal/vecgen"
)

// BenchmarkSearch measures one k=10, ef=64 query against a 4000 × 64
// index built single-threaded (so the graph, and a callgrind instruction
// count of Search, is the same on every run). It reports recall@10.
func BenchmarkSearch(b *testing.B) {
	for _, st := range []Storage{StorageFloat32, StorageFloat16} {
		b.Run(st.String(), func(b *testing.B) {
			const n, dim = 4000, 64
			set := vecgen.Clustered(n, 100, dim, 40, 0.2, 5)
			h, f := buildBoth(b, set, Config{Dim: dim, M: 16, EfConstruction: 100, Storage: st})
			b.ReportMetric(recallAt(b, h, f, set.Queries, dim, 10, 64, nil), "recall@10")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := h.Search(vecgen.Row(set.Queries, dim, i%set.NQueries()), SearchOptions{K: 10, Ef: 64}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
