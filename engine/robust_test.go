package engine

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rosetta/store"
)

// poison are vectors a cosine space must refuse: their float32 norm is
// zero or underflows, so the index cannot normalise them. Each was once
// accepted and then made every rebuild fail.
var poison = map[string][]float32{
	"tiny components":       {1e-30, 1e-30, 0},
	"smallest subnormal":    {1e-45, 0, 0},
	"subnormal components":  {1e-40, -1e-40, 1e-39},
	"norm underflows (f32)": {1e-20, 1e-20, 1e-20},
	"zero":                  {0, 0, 0},
}

func TestPoisonVectorsRejected(t *testing.T) {
	e := openT(t, t.TempDir())
	defer e.Close()
	if _, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: 3}}}); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]float32{
		"wrong dimension": {1, 0},
		"NaN":             {float32(math.NaN()), 0, 1},
		"Inf":             {float32(math.Inf(1)), 0, 1},
		"huge":            {math.MaxFloat32, math.MaxFloat32, 0},
	}
	for k, v := range poison {
		cases[k] = v
	}
	for name, v := range cases {
		_, err := e.Upsert(bg, "c", []Object{{Key: name, Vectors: map[string][]float32{"v": v}}})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("upsert %s %v: %v, want ErrInvalid", name, v, err)
		}
		_, err = e.Search(bg, "c", SearchRequest{Query: Query{Vector: v}})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("query %s %v: %v, want ErrInvalid", name, v, err)
		}
	}
	if c, _ := e.GetCollection(bg, "c"); c.Count != 0 {
		t.Fatalf("%d objects written", c.Count)
	}
	// A small but normalisable vector is fine.
	if _, err := e.Upsert(bg, "c", []Object{{Vectors: map[string][]float32{"v": {1e-10, 0, 0}}}}); err != nil {
		t.Fatalf("small vector: %v", err)
	}
}

// TestStoredPoisonSkipped: a store that already holds vectors no index
// can take (written before validation was this strict, straight into the
// store here) still loads, by rebuild and by replay: the bad vectors are
// counted and left out, the collection serves, and it can be dropped.
func TestStoredPoisonSkipped(t *testing.T) {
	dir := t.TempDir()
	e := openT(t, dir)
	if _, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: 3}}}); err != nil {
		t.Fatal(err)
	}
	good := []Object{{Key: "a", Vectors: map[string][]float32{"v": {1, 0, 0}}}, {Key: "b", Vectors: map[string][]float32{"v": {0, 1, 0}}}}
	if _, err := e.Upsert(bg, "c", good); err != nil {
		t.Fatal(err)
	}
	e.Snapshot()
	// Written behind the engine's back: the store checks no values.
	var bad []store.Object
	for name, v := range poison {
		bad = append(bad, store.Object{Key: name, Vectors: map[string][]float32{"v": v}})
	}
	bad = append(bad, store.Object{Key: "dimension changed", Vectors: map[string][]float32{"v": {1, 2, 3, 4}}})
	if _, err := e.Store().Upsert("c", bad); err != nil {
		t.Fatal(err)
	}
	crash(e)
	for _, stage := range []string{"snapshot + replay", "rebuild"} {
		if stage == "rebuild" {
			snaps, _ := filepath.Glob(filepath.Join(dir, "index", "*.snap"))
			for _, s := range snaps {
				os.Remove(s)
			}
		}
		e = openT(t, dir)
		if err := e.Health(); err != nil {
			t.Fatalf("%s: unhealthy: %v", stage, err)
		}
		hits, err := e.Search(bg, "c", SearchRequest{Query: Query{Vector: []float32{1, 0.1, 0}}, K: 10})
		if err != nil || len(hits) != 2 {
			t.Fatalf("%s: %d hits, %v", stage, len(hits), err)
		}
		st, _ := e.CollectionStats(bg, "c")
		if st.State != "ready" || st.Spaces[0].Skipped != len(bad) {
			t.Fatalf("%s: state %s, skipped %d, want %d", stage, st.State, st.Spaces[0].Skipped, len(bad))
		}
		if n := e.Stats().SkippedVectors["c/v"]; n != len(bad) {
			t.Fatalf("%s: metric says %d skipped", stage, n)
		}
		// Writes work, and the collection can be rebuilt.
		ids, err := e.Upsert(bg, "c", []Object{{Key: "later", Vectors: map[string][]float32{"v": {0, 0, 1}}}})
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		if err := e.RebuildCollection(bg, "c"); err != nil {
			t.Fatalf("%s: rebuild: %v", stage, err)
		}
		if err := e.DeleteObject(bg, "c", ids[0]); err != nil { // the next stage counts as this one
			t.Fatal(err)
		}
		crash(e)
	}
	e = openT(t, dir)
	if err := e.DropCollection(bg, "c"); err != nil {
		t.Fatal(err)
	}
	e.Close()
}

// TestSearchesDoNotWaitForBatches: while a committed 1000-object batch
// is being applied to the index (held mid-way by a hook), searches on the
// same collection complete. Nothing here is timed: a search that waited
// for the batch would never complete while the hook holds it.
func TestSearchesDoNotWaitForBatches(t *testing.T) {
	e := openT(t, t.TempDir())
	defer e.Close()
	const dim = 32
	if _, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: dim}}}); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(2, 2))
	if _, err := e.Upsert(bg, "c", randObjs(r, 1000, dim, 0)); err != nil {
		t.Fatal(err)
	}
	held := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	testHookApply = func(coll string, i int) {
		if i == 500 {
			once.Do(func() { close(held); <-release })
		}
	}
	defer func() { testHookApply = nil }()

	var searches atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := randObjs(rand.New(rand.NewPCG(uint64(w), 9)), 1, dim, 0)[0].Vectors["v"]
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := e.Search(bg, "c", SearchRequest{Query: Query{Vector: q}, K: 10}); err != nil {
					t.Error(err)
					return
				}
				searches.Add(1)
			}
		}()
	}
	upserted := make(chan error, 1)
	go func() {
		_, err := e.Upsert(bg, "c", randObjs(r, 1000, dim, 1000))
		upserted <- err
	}()
	<-held
	// The batch is committed and half applied. Searches must go on.
	before := searches.Load()
	for searches.Load() < before+100 {
		select {
		case err := <-upserted:
			t.Fatalf("upsert returned while its batch was held: %v", err)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	// A search sees every acknowledged write: the first batch.
	hits, err := e.Search(bg, "c", SearchRequest{Query: Query{Object: ptr(uint64(1))}, K: 1})
	if err != nil || len(hits) != 1 || hits[0].ID != 1 {
		t.Fatalf("search during the held batch: %v %v", hits, err)
	}
	close(release)
	if err := <-upserted; err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	// Acknowledged means visible: every id of the second batch is found.
	for id := uint64(1001); id <= 2000; id += 97 {
		hits, err := e.Search(bg, "c", SearchRequest{Query: Query{Object: ptr(id)}, K: 1, Ef: 200})
		if err != nil || len(hits) != 1 || hits[0].ID != id {
			t.Fatalf("object %d not found after its upsert returned: %v %v", id, hits, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestFailedLoadReportedAndRepairable: a collection whose indexes cannot
// load is reported by Health with the reason; others serve; it can be
// dropped or rebuilt.
func TestFailedLoadReportedAndRepairable(t *testing.T) {
	dir := t.TempDir()
	e := openT(t, dir)
	for _, n := range []string{"good", "bad"} {
		if _, err := e.CreateCollection(bg, Collection{Name: n, Spaces: []Space{{Name: "v", Dim: 2}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Upsert(bg, n, []Object{{Vectors: map[string][]float32{"v": {1, 0}}}}); err != nil {
			t.Fatal(err)
		}
	}
	e.Close()
	// Make the load of "bad" fail: the index's parameters in the schema
	// are invalid for the index (as if written by another version).
	e = openT(t, dir)
	c, _ := e.coll("bad")
	c.meta.Index.M = 1 // index.NewHNSW refuses M < 2
	if err := e.load(c, true); err == nil {
		t.Fatal("load with a bad schema succeeded")
	}
	err := e.Health()
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), `"bad"`) {
		t.Fatalf("health: %v", err)
	}
	if _, err := e.Search(bg, "bad", SearchRequest{Query: Query{Vector: []float32{1, 0}}}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("search of the failed collection: %v", err)
	}
	if _, err := e.Search(bg, "good", SearchRequest{Query: Query{Vector: []float32{1, 0}}}); err != nil {
		t.Fatalf("search of the good collection: %v", err)
	}
	c.meta.Index.M = 0
	if err := e.RebuildCollection(bg, "bad"); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if err := e.Health(); err != nil {
		t.Fatalf("health after rebuild: %v", err)
	}
	c.meta.Index.M = 1
	e.load(c, true)
	if err := e.DropCollection(bg, "bad"); err != nil {
		t.Fatalf("drop of a failed collection: %v", err)
	}
	if err := e.Health(); err != nil {
		t.Fatalf("health after drop: %v", err)
	}
	e.Close()
}

// TestSnapshotLeftoversRemoved: temp files of interrupted snapshots go at
// start.
func TestSnapshotLeftoversRemoved(t *testing.T) {
	dir := t.TempDir()
	e := openT(t, dir)
	e.Close()
	junk := filepath.Join(dir, "index", ".1-0.snap.tmp-123456")
	if err := os.WriteFile(junk, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	e = openT(t, dir)
	defer e.Close()
	if _, err := os.Stat(junk); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover still there: %v", err)
	}
}

// TestModelLoadsDoNotBlockEachOther: while one model loads, another
// (already loaded or loading) is served.
func TestModelLoadsDoNotBlockEachOther(t *testing.T) {
	slow := make(chan struct{})
	ms := models[Encoder]{m: map[string]*modelEntry[Encoder]{}, load: func(name string) (Encoder, error) {
		if name == "slow" {
			<-slow
		}
		return nil, nil
	}}
	done := make(chan struct{})
	go func() { ms.get(bg, "slow"); close(done) }()
	for {
		ms.mu.Lock()
		_, started := ms.m["slow"]
		ms.mu.Unlock()
		if started {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := ms.get(bg, "fast"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := ms.get(ctx, "slow"); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting for a loading model: %v", err)
	}
	close(slow)
	<-done
}

func TestMetadataDepthBounded(t *testing.T) {
	e := openT(t, t.TempDir())
	defer e.Close()
	e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: 2}}})
	deep := func(n int) any {
		var v any = "leaf"
		for i := 0; i < n; i++ {
			v = map[string]any{"x": v}
		}
		return v
	}
	if _, err := e.Upsert(bg, "c", []Object{{Metadata: map[string]any{"m": deep(MaxMetadataDepth - 1)}}}); err != nil {
		t.Fatalf("depth %d: %v", MaxMetadataDepth, err)
	}
	if _, err := e.Upsert(bg, "c", []Object{{Metadata: map[string]any{"m": deep(9000)}}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("depth 9000: %v", err)
	}
	if _, err := e.Upsert(bg, "c", []Object{{Modality: "photo"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("modality photo: %v", err)
	}
}

func TestBudget(t *testing.T) {
	b := newBudget("test", 10)
	r1, err := b.acquire(bg, 6, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// 6 + 6 > 10: the second waits, then gets ErrBusy.
	if _, err := b.acquire(bg, 6, 10*time.Millisecond); !errors.Is(err, ErrBusy) {
		t.Fatalf("over budget: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		r, err := b.acquire(bg, 6, time.Minute)
		if err == nil {
			r()
		}
		got <- err
	}()
	for {
		b.mu.Lock()
		n := len(b.q)
		b.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	r1()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if b.inUse() != 0 {
		t.Fatalf("%d units leaked", b.inUse())
	}
	// More than the capacity is capped to it (one item at the limit fits).
	r, err := b.acquire(bg, 100, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r()
}
