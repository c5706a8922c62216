package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var bg = context.Background()

func openT(t *testing.T, dir string) *Engine {
	t.Helper()
	e, err := Open(Options{Dir: dir, SnapshotEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, 30*time.Second)
	defer cancel()
	if err := e.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// crash stops the engine without the snapshot a clean Close writes.
func crash(e *Engine) {
	e.closed.Store(true)
	close(e.stop)
	e.wg.Wait()
	e.db.Close()
}

func randObjs(r *rand.Rand, n, dim, start int) []Object {
	objs := make([]Object, n)
	for i := range objs {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		objs[i] = Object{Key: fmt.Sprintf("k%d", start+i), Metadata: map[string]any{"group": float64((start + i) % 5), "even": (start+i)%2 == 0},
			Vectors: map[string][]float32{"v": v}}
	}
	return objs
}

func search(t *testing.T, e *Engine, q []float32, filter string) []Hit {
	t.Helper()
	req := SearchRequest{Query: Query{Vector: q}, K: 10, Ef: 64}
	if filter != "" {
		req.Filter = json.RawMessage(filter)
	}
	hits, err := e.Search(bg, "c", req)
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func sameHits(a, b []Hit) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Score != b[i].Score {
			return false
		}
	}
	return true
}

// TestDurabilityAndIndexLifecycle: write, reopen → identical results, via
// the snapshot (clean close), via replay (crash after a snapshot), and via
// a rebuild (missing and corrupt snapshots).
func TestDurabilityAndIndexLifecycle(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 1))
	e := openT(t, dir)
	if _, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: 16}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Upsert(bg, "c", randObjs(r, 500, 16, 0)); err != nil {
		t.Fatal(err)
	}
	for id := uint64(1); id <= 500; id += 7 {
		if err := e.DeleteObject(bg, "c", id); err != nil {
			t.Fatal(err)
		}
	}
	queries := randObjs(r, 20, 16, 10000)
	results := func(e *Engine) [][]Hit {
		var out [][]Hit
		for _, q := range queries {
			out = append(out, search(t, e, q.Vectors["v"], ""), search(t, e, q.Vectors["v"], `{"field":"group","eq":3}`))
		}
		return out
	}
	want := results(e)
	for _, hits := range want {
		for _, h := range hits {
			if (h.ID-1)%7 == 0 {
				t.Fatalf("deleted id %d returned", h.ID)
			}
		}
	}
	check := func(stage string, e *Engine) {
		got := results(e)
		for i := range want {
			if !sameHits(got[i], want[i]) {
				t.Fatalf("%s: query %d differs:\n got %v\nwant %v", stage, i, got[i], want[i])
			}
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = openT(t, dir) // from the snapshot
	check("snapshot", e)
	e.Snapshot()
	// More writes after the snapshot, then a crash: replay must bring them back.
	more := randObjs(r, 50, 16, 500)
	ids, err := e.Upsert(bg, "c", more)
	if err != nil {
		t.Fatal(err)
	}
	e.DeleteObject(bg, "c", ids[0])
	want = results(e)
	crash(e)

	e = openT(t, dir) // snapshot + replay
	check("replay", e)
	e.Close()

	snaps, _ := filepath.Glob(filepath.Join(dir, "index", "*-0.snap")) // the vector index
	if len(snaps) != 1 {
		t.Fatalf("snapshots: %v", snaps)
	}
	os.WriteFile(snaps[0], []byte("RSTSNAP1 garbage"), 0o644)
	e = openT(t, dir) // corrupt snapshot → rebuild (graph differs, exact filter results must not)
	for _, q := range queries {
		hits := search(t, e, q.Vectors["v"], `{"field":"group","eq":3}`)
		for _, h := range hits {
			o, err := e.GetObject(bg, "c", h.ID)
			if err != nil || o.Metadata["group"] != 3.0 {
				t.Fatalf("rebuilt index returned %d (%v, %v)", h.ID, o.Metadata, err)
			}
		}
		if len(hits) != 10 {
			t.Fatalf("rebuilt index: %d hits", len(hits))
		}
	}
	e.Close()
	os.Remove(snaps[0])
	e = openT(t, dir) // missing snapshot → rebuild
	if st := e.Stats(); st.IndexNodes["c/v"] != st.Objects["c"] {
		t.Fatalf("rebuilt index has %d nodes for %d objects", st.IndexNodes["c/v"], st.Objects["c"])
	}
	e.Close()
}

func TestFiltersAndTombstonesAgree(t *testing.T) {
	e := openT(t, t.TempDir())
	defer e.Close()
	e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: 8}}})
	r := rand.New(rand.NewPCG(2, 2))
	e.Upsert(bg, "c", randObjs(r, 300, 8, 0))
	// Update half of group 1 to group 9, delete the rest of group 1.
	for i := 1; i < 300; i += 5 {
		if i%2 == 1 {
			o := randObjs(r, 1, 8, i)[0]
			o.Metadata["group"] = 9.0
			if _, err := e.Upsert(bg, "c", []Object{o}); err != nil {
				t.Fatal(err)
			}
		} else {
			e.DeleteObject(bg, "c", uint64(i+1))
		}
	}
	q := randObjs(r, 1, 8, 999)[0].Vectors["v"]
	if hits := search(t, e, q, `{"field":"group","eq":1}`); len(hits) != 0 {
		t.Fatalf("group 1 should be empty: %v", hits)
	}
	hits := search(t, e, q, `{"field":"group","eq":9}`)
	if len(hits) != 10 {
		t.Fatalf("group 9: %d hits", len(hits))
	}
	// Search by object id, fields projection.
	id := hits[0].ID
	res, err := e.Search(bg, "c", SearchRequest{Query: Query{Object: &id}, K: 1, Fields: []string{"key", "metadata"}})
	if err != nil || res[0].ID != id || res[0].Object == nil || res[0].Object.Metadata["group"] != 9.0 || res[0].Object.Vectors != nil {
		t.Fatalf("object query: %+v %v", res, err)
	}
}

func TestSearchErrors(t *testing.T) {
	e := openT(t, t.TempDir())
	defer e.Close()
	e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: 2}, {Name: "w", Dim: 2}}})
	v := []float32{1, 0}
	cases := map[string]struct {
		req  SearchRequest
		want error
	}{
		"no space named": {SearchRequest{Query: Query{Vector: v}, K: 1}, ErrInvalid},
		"unknown space":  {SearchRequest{Space: "x", Query: Query{Vector: v}, K: 1}, ErrInvalid},
		"k negative":     {SearchRequest{Space: "v", Query: Query{Vector: v}, K: -1}, ErrInvalid},
		"bad modality":   {SearchRequest{Space: "v", Query: Query{Vector: v}, Modality: "photo"}, ErrInvalid},
		"zero vector":    {SearchRequest{Space: "v", Query: Query{Vector: []float32{0, 0}}}, ErrInvalid},
		"k huge":         {SearchRequest{Space: "v", Query: Query{Vector: v}, K: MaxK + 1}, ErrInvalid},
		"ef < k":         {SearchRequest{Space: "v", Query: Query{Vector: v}, K: 5, Ef: 2}, ErrInvalid},
		"wrong dim":      {SearchRequest{Space: "v", Query: Query{Vector: []float32{1}}, K: 1}, ErrInvalid},
		"two queries":    {SearchRequest{Space: "v", Query: Query{Vector: v, Text: "x"}, K: 1}, ErrInvalid},
		"no query":       {SearchRequest{Space: "v", K: 1}, ErrInvalid},
		"text, no model": {SearchRequest{Space: "v", Query: Query{Text: "cat"}, K: 1}, ErrUnsupported},
		"bad filter":     {SearchRequest{Space: "v", Query: Query{Vector: v}, K: 1, Filter: json.RawMessage(`{"field":1}`)}, ErrInvalid},
		"unknown field":  {SearchRequest{Space: "v", Query: Query{Vector: v}, K: 1, Fields: []string{"nope"}}, ErrInvalid},
		"missing object": {SearchRequest{Space: "v", Query: Query{Object: new(uint64)}, K: 1}, ErrNotFound},
	}
	for name, c := range cases {
		if _, err := e.Search(bg, "c", c.req); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// k defaults to DefaultK.
	if _, err := e.Search(bg, "c", SearchRequest{Space: "v", Query: Query{Vector: v}}); err != nil {
		t.Errorf("k omitted: %v", err)
	}
	if _, err := e.Search(bg, "nope", SearchRequest{Query: Query{Vector: v}, K: 1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown collection: %v", err)
	}
	big := make([]Object, MaxBatch+1)
	if _, err := e.Upsert(bg, "c", big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized batch: %v", err)
	}
}
