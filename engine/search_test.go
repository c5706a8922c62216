package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func cos(a float64) float64 { return math.Cos(a) }
func sin(a float64) float64 { return math.Sin(a) }

// TestPagingSeesEveryHitOnce: pages asked with the same ef slice one
// ranking: every object appears on exactly one page, in rank order.
func TestPagingSeesEveryHitOnce(t *testing.T) {
	e := openT(t, t.TempDir())
	defer e.Close()
	if _, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: 8}}}); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 5))
	if _, err := e.Upsert(bg, "c", randObjs(r, 300, 8, 0)); err != nil {
		t.Fatal(err)
	}
	q := randObjs(r, 1, 8, 999)[0].Vectors["v"]
	for _, ef := range []int{120, 300} {
		seen := map[uint64]int{}
		var last float32 = 2
		off, pages := 0, 0
		for {
			p, err := e.SearchPage(bg, "c", SearchRequest{Query: Query{Vector: q}, K: 7, Ef: ef, Offset: off})
			if err != nil {
				t.Fatal(err)
			}
			if p.Ef != ef {
				t.Fatalf("page used ef %d, asked %d", p.Ef, ef)
			}
			for _, h := range p.Hits {
				seen[h.ID]++
				if h.Score > last {
					t.Fatalf("ef %d page %d: score %v after %v", ef, pages, h.Score, last)
				}
				last = h.Score
			}
			pages++
			if p.NextOffset == nil {
				break
			}
			off = *p.NextOffset
		}
		if len(seen) != ef {
			t.Fatalf("ef %d: %d distinct hits over %d pages, want %d", ef, len(seen), pages, ef)
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("ef %d: object %d seen %d times", ef, id, n)
			}
		}
	}
	// A page past the ef window is refused (ask a larger ef).
	if _, err := e.SearchPage(bg, "c", SearchRequest{Query: Query{Vector: q}, K: 10, Ef: 50, Offset: 50}); err == nil {
		t.Fatal("offset past ef accepted")
	}
}

func TestExcludeAndMinScore(t *testing.T) {
	e := openT(t, t.TempDir())
	defer e.Close()
	e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: 8}}})
	r := rand.New(rand.NewPCG(6, 6))
	ids, err := e.Upsert(bg, "c", randObjs(r, 100, 8, 0))
	if err != nil {
		t.Fatal(err)
	}
	// "More like this": the query object itself is excluded.
	hits, err := e.Search(bg, "c", SearchRequest{Query: Query{Object: &ids[3]}, K: 5, Exclude: []uint64{ids[3]}})
	if err != nil || len(hits) != 5 {
		t.Fatalf("%v %v", hits, err)
	}
	for _, h := range hits {
		if h.ID == ids[3] {
			t.Fatal("excluded object returned")
		}
	}
	all, _ := e.Search(bg, "c", SearchRequest{Query: Query{Object: &ids[3]}, K: 20})
	cut := all[9].Score
	got, err := e.Search(bg, "c", SearchRequest{Query: Query{Object: &ids[3]}, K: 20, MinScore: &cut})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 10 || len(got) == 20 {
		t.Fatalf("min_score %v kept %d of 20", cut, len(got))
	}
	for _, h := range got {
		if h.Score < cut {
			t.Fatalf("score %v under min_score %v", h.Score, cut)
		}
	}
}

// TestGroupByParent: segments fold into their parent, which carries its
// best segments; objects without a parent stay on their own.
func TestGroupByParent(t *testing.T) {
	e := openT(t, t.TempDir())
	defer e.Close()
	e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: 2}}})
	vec := func(a float64) map[string][]float32 {
		return map[string][]float32{"v": {float32(cos(a)), float32(sin(a))}}
	}
	objs := []Object{
		{Key: "/a.wav", Vectors: vec(1.0)},
		{Key: "/b.wav", Vectors: vec(2.0)},
		{Key: "/loose.txt", Vectors: vec(0.05)},
	}
	for i := 0; i < 4; i++ {
		objs = append(objs, Object{Key: fmt.Sprintf("/a.wav#t=%d", i), Metadata: map[string]any{"parent": "/a.wav", "segment_start": float64(i)}, Vectors: vec(0.1 * float64(i))})
		objs = append(objs, Object{Key: fmt.Sprintf("/b.wav#t=%d", i), Metadata: map[string]any{"parent": "/b.wav", "segment_start": float64(i)}, Vectors: vec(0.3 + 0.1*float64(i))})
	}
	if _, err := e.Upsert(bg, "c", objs); err != nil {
		t.Fatal(err)
	}
	q := []float32{1, 0}
	hits, err := e.Search(bg, "c", SearchRequest{Query: Query{Vector: q}, K: 3, GroupBy: "parent", Fields: []string{"key"}})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, h := range hits {
		keys = append(keys, h.Object.Key)
	}
	if fmt.Sprint(keys) != "[/a.wav /loose.txt /b.wav]" {
		t.Fatalf("groups %v", keys)
	}
	a := hits[0]
	if len(a.Segments) != MaxGroupSegments || a.Segments[0].Object.Key != "/a.wav#t=0" || a.Score != a.Segments[0].Score {
		t.Fatalf("a's segments: %+v", a.Segments)
	}
	if a.Object.Metadata != nil {
		t.Fatal("grouping leaked metadata that was not asked for")
	}
	if len(hits[1].Segments) != 0 {
		t.Fatalf("a loose object got segments: %+v", hits[1].Segments)
	}
	// Paging walks groups.
	p, err := e.SearchPage(bg, "c", SearchRequest{Query: Query{Vector: q}, K: 1, Offset: 1, GroupBy: "parent", Fields: []string{"key"}})
	if err != nil || len(p.Hits) != 1 || p.Hits[0].Object.Key != "/loose.txt" {
		t.Fatalf("group page 2: %+v %v", p.Hits, err)
	}
}
