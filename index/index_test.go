package index

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/RoaringBitmap/roaring/v2/roaring64"

	"rosetta/internal/vecgen"
	"rosetta/kernels"
)

func buildBoth(t testing.TB, set *vecgen.Set, cfg Config) (*HNSW, *Flat) {
	t.Helper()
	h, err := NewHNSW(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFlat(cfg.Dim, h.Metric())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < set.NBase(); i++ {
		v := vecgen.Row(set.Base, set.Dim, i)
		if err := h.Add(uint64(i), v); err != nil {
			t.Fatal(err)
		}
		if err := f.Add(uint64(i), v); err != nil {
			t.Fatal(err)
		}
	}
	return h, f
}

// recallAt measures |approx ∩ exact| / |exact| over all queries.
func recallAt(t testing.TB, idx, truth Index, queries []float32, dim, k, ef int, allow *roaring64.Bitmap) float64 {
	t.Helper()
	hit, total := 0, 0
	for i := 0; i < len(queries)/dim; i++ {
		q := vecgen.Row(queries, dim, i)
		want, err := truth.Search(q, SearchOptions{K: k, Allow: allow})
		if err != nil {
			t.Fatal(err)
		}
		got, err := idx.Search(q, SearchOptions{K: k, Ef: ef, Allow: allow})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("query %d: %d results, exact has %d", i, len(got), len(want))
		}
		in := map[uint64]bool{}
		for _, r := range want {
			in[r.ID] = true
		}
		for _, r := range got {
			if in[r.ID] {
				hit++
			}
		}
		total += len(want)
	}
	if total == 0 {
		return 1
	}
	return float64(hit) / float64(total)
}

func TestRecallSmallSeeded(t *testing.T) {
	set := vecgen.Clustered(5000, 200, 64, 50, 0.2, 7)
	for _, st := range []Storage{StorageFloat32, StorageFloat16} {
		for _, m := range []kernels.Metric{kernels.MetricCosine, kernels.MetricDot, kernels.MetricL2} {
			t.Run(st.String()+"/"+m.String(), func(t *testing.T) {
				cfg := DefaultConfig(64)
				cfg.Metric, cfg.Storage = m, st
				h, f := buildBoth(t, set, cfg)
				r := recallAt(t, h, f, set.Queries, 64, 10, 64, nil)
				t.Logf("recall@10 at ef=64: %.4f", r)
				if r < 0.95 {
					t.Fatalf("recall@10 = %.4f < 0.95", r)
				}
			})
		}
	}
}

func TestResultsSortedWithScores(t *testing.T) {
	set := vecgen.Sphere(500, 5, 16, 3)
	h, _ := buildBoth(t, set, DefaultConfig(16))
	res, err := h.Search(vecgen.Row(set.Base, 16, 42), SearchOptions{K: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].ID != 42 || math.Abs(float64(res[0].Score)-1) > 1e-5 {
		t.Fatalf("self query: %+v", res[0])
	}
	for i := 1; i < len(res); i++ {
		if res[i].Distance < res[i-1].Distance {
			t.Fatalf("not sorted: %+v", res)
		}
	}
}

func TestBadInput(t *testing.T) {
	h, err := NewHNSW(DefaultConfig(4))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := NewFlat(4, kernels.MetricCosine)
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, idx := range []Index{h, f} {
		cases := []struct {
			name string
			err  error
			call func() error
		}{
			{"add wrong dim", ErrDimension, func() error { return idx.Add(1, []float32{1, 2, 3}) }},
			{"add NaN", ErrNonFinite, func() error { return idx.Add(1, []float32{1, nan, 0, 0}) }},
			{"add Inf", ErrNonFinite, func() error { return idx.Add(1, []float32{1, inf, 0, 0}) }},
			{"add zero cosine", ErrZeroVector, func() error { return idx.Add(1, []float32{0, 0, 0, 0}) }},
			{"add tiny cosine", ErrZeroVector, func() error { return idx.Add(1, []float32{1e-45, 0, 0, 0}) }},
			{"search wrong dim", ErrDimension, func() error { _, err := idx.Search([]float32{1}, SearchOptions{K: 1}); return err }},
			{"search NaN", ErrNonFinite, func() error { _, err := idx.Search([]float32{nan, 0, 0, 0}, SearchOptions{K: 1}); return err }},
			{"search zero", ErrZeroVector, func() error { _, err := idx.Search([]float32{0, 0, 0, 0}, SearchOptions{K: 1}); return err }},
			{"k zero", ErrBadK, func() error { _, err := idx.Search([]float32{1, 0, 0, 0}, SearchOptions{K: 0}); return err }},
			{"k negative", ErrBadK, func() error { _, err := idx.Search([]float32{1, 0, 0, 0}, SearchOptions{K: -3}); return err }},
			{"k huge", ErrBadK, func() error { _, err := idx.Search([]float32{1, 0, 0, 0}, SearchOptions{K: MaxK + 1}); return err }},
			{"ef < k", ErrBadEf, func() error { _, err := idx.Search([]float32{1, 0, 0, 0}, SearchOptions{K: 10, Ef: 5}); return err }},
		}
		for _, c := range cases {
			if err := c.call(); !errors.Is(err, c.err) {
				t.Errorf("%T %s: err = %v, want %v", idx, c.name, err, c.err)
			}
		}
		if idx.Len() != 0 {
			t.Errorf("%T: rejected adds changed Len to %d", idx, idx.Len())
		}
		// Zero vectors are fine under L2.
	}
	half, _ := NewHNSW(Config{Dim: 2, Metric: kernels.MetricDot, Storage: StorageFloat16})
	if err := half.Add(1, []float32{1e6, 1}); !errors.Is(err, ErrNonFinite) {
		t.Errorf("float16 overflow: %v", err)
	}
	l2, _ := NewHNSW(Config{Dim: 2, Metric: kernels.MetricL2})
	if err := l2.Add(1, []float32{0, 0}); err != nil {
		t.Errorf("zero vector under L2: %v", err)
	}
	for _, cfg := range []Config{{Dim: 0}, {Dim: 4, M: 1}, {Dim: 4, Metric: 9}, {Dim: maxDim + 1}} {
		if _, err := NewHNSW(cfg); !errors.Is(err, ErrBadConfig) {
			t.Errorf("config %+v: %v", cfg, err)
		}
	}
	if _, err := NewFlat(0, kernels.MetricL2); !errors.Is(err, ErrBadConfig) {
		t.Errorf("flat dim 0: %v", err)
	}
	// Empty index searches fine.
	res, err := h.Search([]float32{1, 0, 0, 0}, SearchOptions{K: 3})
	if err != nil || len(res) != 0 {
		t.Errorf("empty search: %v %v", res, err)
	}
}

func TestDeleteAndUpdate(t *testing.T) {
	set := vecgen.Clustered(3000, 50, 32, 20, 0.2, 11)
	h, f := buildBoth(t, set, Config{Dim: 32, CompactRatio: -1})
	r := rand.New(rand.NewPCG(1, 1))
	deleted := map[uint64]bool{}
	for len(deleted) < 500 {
		id := uint64(r.IntN(3000))
		if deleted[id] {
			continue
		}
		deleted[id] = true
		if !h.Delete(id) || !f.Delete(id) {
			t.Fatalf("delete %d: not found", id)
		}
	}
	if h.Delete(1 << 40) {
		t.Fatal("deleting an unknown id reported true")
	}
	if h.Len() != 2500 || f.Len() != 2500 {
		t.Fatalf("Len = %d / %d", h.Len(), f.Len())
	}
	for i := 0; i < set.NQueries(); i++ {
		res, _ := h.Search(vecgen.Row(set.Queries, 32, i), SearchOptions{K: 20})
		for _, x := range res {
			if deleted[x.ID] {
				t.Fatalf("deleted id %d returned", x.ID)
			}
		}
	}
	if got := recallAt(t, h, f, set.Queries, 32, 10, 64, nil); got < 0.95 {
		t.Fatalf("recall after deletes = %.3f", got)
	}
	// Update: move id 7 onto query 0; a search for query 0 must find it first.
	q := vecgen.Row(set.Queries, 32, 0)
	if err := h.Add(7, q); err != nil {
		t.Fatal(err)
	}
	f.Add(7, q)
	res, _ := h.Search(q, SearchOptions{K: 3})
	if res[0].ID != 7 || res[0].Distance > 1e-5 {
		t.Fatalf("updated vector not found first: %+v", res)
	}
	seen := 0
	for _, x := range res {
		if x.ID == 7 {
			seen++
		}
	}
	if seen != 1 {
		t.Fatalf("id 7 returned %d times", seen)
	}
	if h.Len() != 2500 {
		t.Fatalf("Len after update = %d", h.Len())
	}
	// Re-adding a deleted id brings it back.
	back := firstKey(deleted)
	h.Add(back, vecgen.Row(set.Base, 32, 0))
	if !h.Contains(back) || h.Len() != 2501 {
		t.Fatalf("re-add failed: len %d", h.Len())
	}
}

func firstKey(m map[uint64]bool) uint64 {
	for k := range m {
		return k
	}
	return 0
}

// TestChurnKeepsRecall: insert 20k, delete 50%, insert 10k more; recall
// must stay >= 0.95 and compaction must have reclaimed the tombstones.
func TestChurnKeepsRecall(t *testing.T) {
	if testing.Short() {
		t.Skip("churn test builds 30k nodes")
	}
	const dim = 48
	set := vecgen.Clustered(30000, 200, dim, 100, 0.2, 21)
	h, err := NewHNSW(Config{Dim: dim, M: 16, EfConstruction: 100})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := NewFlat(dim, kernels.MetricCosine)
	add := func(i int) {
		v := vecgen.Row(set.Base, dim, i)
		if err := h.Add(uint64(i), v); err != nil {
			t.Fatal(err)
		}
		f.Add(uint64(i), v)
	}
	parallelAdd(t, h, set, 0, 20000)
	for i := 0; i < 20000; i++ {
		f.Add(uint64(i), vecgen.Row(set.Base, dim, i))
	}
	for i := 0; i < 20000; i += 2 {
		h.Delete(uint64(i))
		f.Delete(uint64(i))
	}
	h.Close() // wait for the background compaction the deletes started
	// Tombstones left below the background threshold are freed now, so
	// that every insert below can reuse a slot.
	if _, err := h.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 20000; i < 30000; i++ {
		add(i)
	}
	h.Close()
	if _, err := h.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := h.Tombstones().GetCardinality(); n != 0 {
		t.Fatalf("%d tombstones left after Compact", n)
	}
	if s := h.Slots(); s > 20000 {
		t.Fatalf("freed slots were not reused: %d slots for %d live", s, h.Len())
	}
	if h.Len() != 20000 {
		t.Fatalf("Len = %d", h.Len())
	}
	r := recallAt(t, h, f, set.Queries, dim, 10, 64, nil)
	t.Logf("recall@10 after churn (slots %d): %.4f", h.Slots(), r)
	if r < 0.95 {
		t.Fatalf("recall after churn = %.4f < 0.95", r)
	}
}

func parallelAdd(t testing.TB, h Index, set *vecgen.Set, from, to int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := from + w; i < to; i += 4 {
				if err := h.Add(uint64(i), vecgen.Row(set.Base, set.Dim, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestFilteredSearch(t *testing.T) {
	const n, dim, k = 8000, 32, 10
	set := vecgen.Clustered(n, 100, dim, 40, 0.2, 5)
	h, f := buildBoth(t, set, Config{Dim: dim, ExactScanMax: 50})
	h.SetExactScanMax(0) // the graph path at every selectivity first
	for _, mode := range []string{"graph", "adaptive"} {
		if mode == "adaptive" {
			h.SetExactScanMax(50)
		}
		testFiltered(t, h, f, set, mode)
	}
}

func testFiltered(t *testing.T, h *HNSW, f *Flat, set *vecgen.Set, mode string) {
	const n, dim, k = 8000, 32, 10
	r := rand.New(rand.NewPCG(9, 9))
	for _, sel := range []float64{0.5, 0.1, 0.01, 0.001} {
		allow := roaring64.New()
		for i := 0; i < n; i++ {
			if r.Float64() < sel {
				allow.Add(uint64(i))
			}
		}
		for allow.GetCardinality() < 3 {
			allow.Add(uint64(r.IntN(n)))
		}
		want := min(k, int(allow.GetCardinality()))
		var stats SearchStats
		for i := 0; i < set.NQueries(); i++ {
			res, err := h.Search(vecgen.Row(set.Queries, dim, i), SearchOptions{K: k, Allow: allow, Stats: &stats})
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != want {
				t.Fatalf("sel %v: %d results, want %d", sel, len(res), want)
			}
			for _, x := range res {
				if !allow.Contains(x.ID) {
					t.Fatalf("sel %v: id %d not in allow-list", sel, x.ID)
				}
			}
		}
		rec := recallAt(t, h, f, set.Queries, dim, k, 64, allow)
		t.Logf("%s: selectivity %v (%d ids, exact=%v): recall@10 %.4f", mode, sel, allow.GetCardinality(), stats.Exact, rec)
		if mode == "graph" && stats.Exact {
			t.Fatalf("graph mode answered by an exact scan")
		}
		if rec < 0.95 {
			t.Fatalf("filtered recall at %v = %.4f", sel, rec)
		}
	}
	// An allow-list that matches nothing returns nothing; ids unknown to the
	// index are ignored.
	empty := roaring64.New()
	if res, _ := h.Search(vecgen.Row(set.Queries, dim, 0), SearchOptions{K: k, Allow: empty}); len(res) != 0 {
		t.Fatalf("empty allow-list: %v", res)
	}
	ghost := roaring64.BitmapOf(1<<50, 1<<51, 5)
	res, _ := h.Search(vecgen.Row(set.Queries, dim, 0), SearchOptions{K: k, Allow: ghost})
	if len(res) != 1 || res[0].ID != 5 {
		t.Fatalf("ghost allow-list: %v", res)
	}
}

// TestFilteredSearchGraphPath forces the graph traversal (no exact switch)
// at low selectivity, with tombstones among the allowed ids, and still
// requires exactly k results.
func TestFilteredSearchGraphPath(t *testing.T) {
	const n, dim, k = 4000, 16, 10
	set := vecgen.Clustered(n, 30, dim, 20, 0.2, 6)
	h, f := buildBoth(t, set, Config{Dim: dim, CompactRatio: -1})
	h.SetExactScanMax(0) // never scan: exercise the filtered traversal
	allow := roaring64.New()
	for i := 0; i < n; i += 97 {
		allow.Add(uint64(i))
	}
	for i := 0; i < n; i += 97 * 5 {
		h.Delete(uint64(i))
		f.Delete(uint64(i))
	}
	var st SearchStats
	for i := 0; i < set.NQueries(); i++ {
		res, err := h.Search(vecgen.Row(set.Queries, dim, i), SearchOptions{K: k, Allow: allow, Stats: &st})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != k || st.Exact {
			t.Fatalf("%d results (exact=%v)", len(res), st.Exact)
		}
	}
	if rec := recallAt(t, h, f, set.Queries, dim, k, 64, allow); rec < 0.95 {
		t.Fatalf("graph-path filtered recall %.3f", rec)
	}
}

func TestPersistRoundTrip(t *testing.T) {
	for _, st := range []Storage{StorageFloat32, StorageFloat16, StorageInt8, StorageRaBitQ} {
		t.Run(st.String(), func(t *testing.T) { testPersistRoundTrip(t, st) })
	}
}

func testPersistRoundTrip(t *testing.T, st Storage) {
	set := vecgen.Clustered(3000, 100, 24, 30, 0.05, 8)
	h, f := buildBoth(t, set, Config{Dim: 24, Metric: kernels.MetricL2, CompactRatio: -1, Storage: st})
	for i := 0; i < 3000; i += 3 {
		h.Delete(uint64(i))
	}
	if _, err := h.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3000; i += 7 {
		h.Delete(uint64(i)) // leave some tombstones in the file too
	}
	var buf bytes.Buffer
	n, err := h.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo: %d %v (buffer %d)", n, err, buf.Len())
	}
	data := buf.Bytes()
	h2, err := ReadHNSW(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if h2.Len() != h.Len() || h2.Config() != h.Config() || !h2.Tombstones().Equals(h.Tombstones()) {
		t.Fatalf("loaded index differs: len %d/%d", h2.Len(), h.Len())
	}
	for i := 0; i < set.NQueries(); i++ {
		q := vecgen.Row(set.Queries, 24, i)
		a, _ := h.Search(q, SearchOptions{K: 10})
		b, _ := h2.Search(q, SearchOptions{K: 10})
		if len(a) != len(b) {
			t.Fatalf("query %d: %d vs %d results", i, len(a), len(b))
		}
		for j := range a {
			if a[j] != b[j] {
				t.Fatalf("query %d rank %d: %+v vs %+v", i, j, a[j], b[j])
			}
		}
	}
	// The loaded index keeps working: inserts, deletes, compaction.
	if err := h2.Add(99999, vecgen.Row(set.Queries, 24, 0)); err != nil {
		t.Fatal(err)
	}
	if res, _ := h2.Search(vecgen.Row(set.Queries, 24, 0), SearchOptions{K: 1}); res[0].ID != 99999 {
		t.Fatalf("insert after load: %+v", res)
	}
	if _, err := h2.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}

	var fb bytes.Buffer
	if _, err := f.WriteTo(&fb); err != nil {
		t.Fatal(err)
	}
	f2, err := ReadFlat(bytes.NewReader(fb.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := f.Search(vecgen.Row(set.Queries, 24, 1), SearchOptions{K: 10})
	b, _ := f2.Search(vecgen.Row(set.Queries, 24, 1), SearchOptions{K: 10})
	for j := range a {
		if a[j] != b[j] {
			t.Fatalf("flat rank %d: %+v vs %+v", j, a[j], b[j])
		}
	}
	if _, err := ReadFlat(bytes.NewReader(data)); !errors.Is(err, ErrKind) {
		t.Fatalf("flat reader on HNSW file: %v", err)
	}
}

func TestCorruptFilesAreErrors(t *testing.T) {
	set := vecgen.Sphere(300, 1, 8, 1)
	h, _ := buildBoth(t, set, DefaultConfig(8))
	var buf bytes.Buffer
	h.WriteTo(&buf)
	data := buf.Bytes()
	for cut := 0; cut < len(data); cut += 1 + cut/10 {
		if _, err := ReadHNSW(bytes.NewReader(data[:cut])); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d: %v", cut, err)
		}
	}
	r := rand.New(rand.NewPCG(2, 2))
	for i := 0; i < 200; i++ {
		bad := bytes.Clone(data)
		bad[r.IntN(len(bad))] ^= byte(1 + r.IntN(255))
		if _, err := ReadHNSW(bytes.NewReader(bad)); err == nil {
			t.Fatalf("bit flip %d accepted", i)
		}
	}
	v := bytes.Clone(data)
	v[8] = 99
	fixCRC(v)
	if _, err := ReadHNSW(bytes.NewReader(v)); !errors.Is(err, ErrVersion) {
		t.Fatalf("future version: %v", err)
	}
}
