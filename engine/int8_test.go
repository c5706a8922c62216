package engine

import (
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// TestInt8Storage: a collection with int8 storage that re-scores from the
// store trains its quantiser, answers with exact scores (the stored
// vectors, re-read per candidate) and high recall against a brute-force
// scan, keeps doing so after a restart from its snapshot, and refuses
// quantisation options on other storages.
func TestInt8Storage(t *testing.T) {
	for _, st := range []string{"int8", "rabitq"} {
		t.Run(st, func(t *testing.T) { testQuantisedStorage(t, st) })
	}
}

func testQuantisedStorage(t *testing.T, storage string) {
	dir := t.TempDir()
	e := openT(t, dir)
	const dim, n = 8, 4600 // past the index's training size (4096)
	rescore := map[string]int{"int8": 3, "rabitq": 12}[storage]
	_, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: dim}},
		Index: IndexParams{Storage: storage, Rescore: rescore, RescoreFrom: "store"}})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(8, 8))
	vecs := map[uint64][]float32{}
	for start := 0; start < n; start += 500 {
		objs := randObjs(r, min(500, n-start), dim, start)
		ids, err := e.Upsert(bg, "c", objs)
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			vecs[id] = objs[i].Vectors["v"]
		}
	}
	cos := func(a, b []float32) float64 {
		var ab, aa, bb float64
		for i := range a {
			ab += float64(a[i]) * float64(b[i])
			aa += float64(a[i]) * float64(a[i])
			bb += float64(b[i]) * float64(b[i])
		}
		return ab / math.Sqrt(aa*bb)
	}
	queries := randObjs(r, 30, dim, 100000)
	check := func(stage string) [][]Hit {
		var all [][]Hit
		hit, total := 0, 0
		for _, q := range queries {
			qv := q.Vectors["v"]
			type sc struct {
				id uint64
				s  float64
			}
			var exact []sc
			for id, v := range vecs {
				exact = append(exact, sc{id, cos(qv, v)})
			}
			sort.Slice(exact, func(i, j int) bool { return exact[i].s > exact[j].s })
			want := map[uint64]bool{}
			for _, x := range exact[:10] {
				want[x.id] = true
			}
			hits := search(t, e, qv, "")
			for _, h := range hits {
				if want[h.ID] {
					hit++
				}
				if d := math.Abs(float64(h.Score) - cos(qv, vecs[h.ID])); d > 1e-5 {
					t.Fatalf("%s: id %d score %v, exact cosine %v", stage, h.ID, h.Score, cos(qv, vecs[h.ID]))
				}
			}
			total += 10
			all = append(all, hits)
		}
		if rec := float64(hit) / float64(total); rec < 0.95 {
			t.Fatalf("%s: recall@10 %.3f", stage, rec)
		}
		return all
	}
	before := check("live")
	c, err := e.ready("c")
	if err != nil {
		t.Fatal(err)
	}
	idx := c.indexes()[0]
	if !idx.Quantised() || idx.Config().Rescore != rescore {
		t.Fatalf("index: quantised %v, config %+v", idx.Quantised(), idx.Config())
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = openT(t, dir)
	defer e.Close()
	after := check("reopened")
	for i := range before {
		if !sameHits(before[i], after[i]) {
			t.Fatalf("query %d differs after the restart", i)
		}
	}
	for _, bad := range []IndexParams{{Rescore: 4}, {Storage: "float16", RescoreFrom: "store"}, {Storage: "int8", RescoreFrom: "disk"}, {Storage: "int8", Rescore: -1}, {Storage: "int4"}} {
		_, err := e.CreateCollection(bg, Collection{Name: "bad", Spaces: []Space{{Name: "v", Dim: dim}}, Index: bad})
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
}
