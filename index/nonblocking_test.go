package index

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"rosetta/internal/vecgen"
	"rosetta/kernels"
)

// storedVector returns the prepared vector the loaded index h holds for
// id, and whether id is live in it.
func storedVector(h *HNSW, id uint64) ([]float32, bool) {
	slot, ok := h.ids.get(id)
	if !ok || !h.isLive(slot) {
		return nil, false
	}
	var buf []float32
	return slices.Clone(h.load(slot, &buf)), true
}

func snapshot(t *testing.T, h *HNSW) *HNSW {
	t.Helper()
	var b bytes.Buffer
	n, err := h.WriteTo(&b)
	if err != nil || n != int64(b.Len()) {
		t.Fatalf("WriteTo: %d %v (buffer %d)", n, err, b.Len())
	}
	h2, err := ReadHNSW(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatalf("snapshot does not load: %v", err)
	}
	return h2
}

// TestWriteToConcurrent takes snapshots while goroutines insert, delete,
// search and compact. Every snapshot must load, hold every id whose Add
// completed before WriteTo began (live, with its vector) unless it was
// deleted since, and no id whose Delete completed before WriteTo began.
func TestWriteToConcurrent(t *testing.T) {
	for _, st := range []Storage{StorageFloat32, StorageFloat16} {
		t.Run(st.String(), func(t *testing.T) { testWriteToConcurrent(t, st) })
	}
}

func testWriteToConcurrent(t *testing.T, st Storage) {
	const n, dim, workers = 2400, 8, 3
	set := vecgen.Clustered(n, 30, dim, 10, 0.2, 17)
	h, err := NewHNSW(Config{Dim: dim, Metric: kernels.MetricL2, M: 6, EfConstruction: 32, CompactRatio: 0.05, Storage: st})
	if err != nil {
		t.Fatal(err)
	}
	// status[id]: 0 not added yet, 1 Add returned, 3 Delete called, 2 Delete
	// returned.
	status := make([]atomic.Int32, n)
	var done atomic.Bool
	var writers, others sync.WaitGroup
	tick := make(chan struct{}, 1)
	for w := 0; w < workers; w++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := w; i < n; i += workers {
				if err := h.Add(uint64(i), vecgen.Row(set.Base, dim, i)); err != nil {
					t.Error(err)
					return
				}
				status[i].Store(1)
				if i%20 == 0 {
					select { // wake the snapshot loop
					case tick <- struct{}{}:
					default:
					}
				}
				if i%4 == 0 && i >= 300 {
					d := i - 300 // added earlier by this worker
					// Mark it first: a snapshot may capture the delete
					// before Delete returns to us.
					status[d].Store(3)
					if !h.Delete(uint64(d)) {
						t.Errorf("delete %d: not found", d)
					}
					status[d].Store(2)
				}
			}
		}()
	}
	others.Add(2)
	go func() {
		defer others.Done()
		for i := 0; !done.Load(); i++ {
			if _, err := h.Search(vecgen.Row(set.Queries, dim, i%set.NQueries()), SearchOptions{K: 5}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer others.Done()
		for !done.Load() {
			if _, err := h.Compact(context.Background()); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	allAdded := make(chan struct{})
	go func() { writers.Wait(); close(allAdded) }()
	before := make([]int32, n)
	snaps := 0
	for finished := false; !finished; {
		select {
		case <-tick:
		case <-allAdded:
			finished = true
		}
		for i := range before {
			before[i] = status[i].Load()
		}
		h2 := snapshot(t, h)
		snaps++
		for i := range before {
			id := uint64(i)
			v, ok := storedVector(h2, id)
			switch before[i] {
			case 1:
				if status[i].Load() != 1 {
					continue // deleted while the snapshot ran
				}
				if !ok {
					t.Fatalf("snapshot %d: id %d added before it began is missing", snaps, i)
				}
				want, _ := h.rules().prepare(vecgen.Row(set.Base, dim, i), nil, true)
				if st == StorageFloat16 {
					var b []float32
					w16 := make([]uint16, dim)
					kernels.EncodeF16(w16, want)
					b = make([]float32, dim)
					kernels.DecodeF16(b, w16)
					want = b
				}
				if !slices.Equal(v, want) {
					t.Fatalf("snapshot %d: id %d has vector %v, want %v", snaps, i, v, want)
				}
			case 2:
				if ok {
					t.Fatalf("snapshot %d: id %d deleted before it began is live", snaps, i)
				}
			}
		}
		if _, err := h2.Search(vecgen.Row(set.Queries, dim, 0), SearchOptions{K: 5}); err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	others.Wait()
	h.Close()
	t.Logf("%d snapshots", snaps)
	if snaps < 2 {
		t.Fatalf("only %d snapshots", snaps)
	}
	// Quiescent: the snapshot is exact.
	h2 := snapshot(t, h)
	if h2.Len() != h.Len() || !h2.Tombstones().Equals(h.Tombstones()) {
		t.Fatalf("quiescent snapshot: len %d/%d", h2.Len(), h.Len())
	}
}

// blockOnce returns a hook that, on its first call, signals reached and
// waits for release; later calls return at once.
func blockOnce(reached, release chan struct{}) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			close(reached)
			<-release
		})
	}
}

// TestWriteToDoesNotBlock stops WriteTo in the middle of its stream and
// runs a search, an insert that grows the storage, a delete and Len there:
// they must all return while the snapshot is still being written.
func TestWriteToDoesNotBlock(t *testing.T) {
	const dim = 8
	set := vecgen.Clustered(1025, 10, dim, 10, 0.2, 3)
	withSegShift(t, 10) // 1024-slot segments
	h, err := NewHNSW(Config{Dim: dim, M: 6, EfConstruction: 32, CompactRatio: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1024; i++ { // exactly one segment: the next Add grows
		if err := h.Add(uint64(i), vecgen.Row(set.Base, dim, i)); err != nil {
			t.Fatal(err)
		}
	}
	h.Delete(3)
	reached, release := make(chan struct{}), make(chan struct{})
	hook := blockOnce(reached, release)
	snapHook := func(i uint32) {
		if i == 500 {
			hook()
		}
	}
	testHookSnapshot.Store(&snapHook)
	t.Cleanup(func() { testHookSnapshot.Store(nil) })
	var buf bytes.Buffer
	werr := make(chan error, 1)
	go func() {
		_, err := h.WriteTo(&buf)
		werr <- err
	}()
	<-reached
	// WriteTo is mid-stream. None of these may wait for it.
	if res, err := h.Search(vecgen.Row(set.Base, dim, 7), SearchOptions{K: 3}); err != nil || len(res) == 0 || res[0].ID != 7 {
		t.Fatalf("search during WriteTo: %v %v", res, err)
	}
	if err := h.Add(5000, vecgen.Row(set.Base, dim, 1024)); err != nil {
		t.Fatal(err)
	}
	if h.Slots() != 1025 || !h.Contains(5000) {
		t.Fatalf("insert during WriteTo: slots %d", h.Slots())
	}
	if !h.Delete(8) || h.Len() != 1023 {
		t.Fatalf("delete during WriteTo: len %d", h.Len())
	}
	close(release)
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	h2, err := ReadHNSW(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	// The snapshot reflects the index as it was when WriteTo began.
	if h2.Len() != 1023 || h2.Contains(3) || !h2.Contains(8) || h2.Contains(5000) {
		t.Fatalf("snapshot: len %d, 3:%v 8:%v 5000:%v", h2.Len(), h2.Contains(3), h2.Contains(8), h2.Contains(5000))
	}
	if res, _ := h2.Search(vecgen.Row(set.Base, dim, 8), SearchOptions{K: 1}); len(res) == 0 || res[0].ID != 8 {
		t.Fatalf("snapshot search: %v", res)
	}
}

// TestCompactRepairDoesNotBlock stops a compaction in its repair phase,
// holding mu shared, and runs a search, an insert and a delete there.
func TestCompactRepairDoesNotBlock(t *testing.T) {
	const n, dim = 2000, 16
	set := vecgen.Clustered(n+1, 20, dim, 10, 0.2, 9)
	h, err := NewHNSW(Config{Dim: dim, M: 8, EfConstruction: 48, CompactRatio: -1, Capacity: 4096})
	if err != nil {
		t.Fatal(err)
	}
	parallelAdd(t, h, set, 0, n)
	for i := 0; i < n; i += 3 {
		h.Delete(uint64(i))
	}
	reached, release := make(chan struct{}), make(chan struct{})
	repairHook := blockOnce(reached, release)
	testHookRepair.Store(&repairHook)
	t.Cleanup(func() { testHookRepair.Store(nil) })
	type result struct {
		st  CompactStats
		err error
	}
	cres := make(chan result, 1)
	go func() {
		st, err := h.Compact(context.Background())
		cres <- result{st, err}
	}()
	<-reached
	if res, err := h.Search(vecgen.Row(set.Base, dim, 1), SearchOptions{K: 3}); err != nil || len(res) == 0 || res[0].ID != 1 {
		t.Fatalf("search during repair: %v %v", res, err)
	}
	if err := h.Add(9000, vecgen.Row(set.Base, dim, n)); err != nil {
		t.Fatal(err)
	}
	if !h.Delete(1) {
		t.Fatal("delete during repair")
	}
	close(release)
	r := <-cres
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.st.Removed != (n+2)/3 || r.st.Repaired == 0 {
		t.Fatalf("stats %+v", r.st)
	}
	// The tombstone made during the repair is left for the next run.
	if tb := h.Tombstones(); tb.GetCardinality() != 1 {
		t.Fatalf("%d tombstones left, want 1", tb.GetCardinality())
	}
	h2 := snapshot(t, h) // validates every link
	if h2.Len() != h.Len() || !h.Contains(9000) {
		t.Fatalf("len %d/%d", h2.Len(), h.Len())
	}
	if res, _ := h.Search(vecgen.Row(set.Base, dim, n), SearchOptions{K: 1}); res[0].ID != 9000 {
		t.Fatalf("insert during repair not found: %v", res)
	}
}

// TestCompactKeepsRecall: recall after deleting a third and compacting
// (with searches and inserts running during the compaction) stays within
// tolerance of the recall before compaction and above 0.95.
func TestCompactKeepsRecall(t *testing.T) {
	const n, dim = 4000, 32
	set := vecgen.Clustered(n+200, 100, dim, 40, 0.2, 23)
	h, err := NewHNSW(Config{Dim: dim, M: 12, EfConstruction: 100, CompactRatio: -1})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := NewFlat(dim, kernels.MetricCosine)
	parallelAdd(t, h, set, 0, n)
	for i := 0; i < n; i++ {
		f.Add(uint64(i), vecgen.Row(set.Base, dim, i))
	}
	for i := 0; i < n; i += 3 {
		h.Delete(uint64(i))
		f.Delete(uint64(i))
	}
	r0 := recallAt(t, h, f, set.Queries, dim, 10, 64, nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := n; i < n+200; i++ {
			if err := h.Add(uint64(i), vecgen.Row(set.Base, dim, i)); err != nil {
				t.Error(err)
				return
			}
			h.Search(vecgen.Row(set.Queries, dim, i%set.NQueries()), SearchOptions{K: 10})
		}
	}()
	st, err := h.Compact(context.Background())
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	for i := n; i < n+200; i++ {
		f.Add(uint64(i), vecgen.Row(set.Base, dim, i))
	}
	r1 := recallAt(t, h, f, set.Queries, dim, 10, 64, nil)
	t.Logf("recall@10 with tombstones %.4f, after compaction %.4f (%+v)", r0, r1, st)
	if r1 < 0.95 || r1 < r0-0.02 {
		t.Fatalf("recall after compaction %.4f (before %.4f)", r1, r0)
	}
	if n := h.Tombstones().GetCardinality(); n != 0 {
		t.Fatalf("%d tombstones left", n)
	}
	snapshot(t, h)
}

// withSegShift makes the indexes created by the test use segments of
// 1<<shift slots.
func withSegShift(t *testing.T, shift int32) {
	t.Helper()
	testSegShift.Store(shift)
	t.Cleanup(func() { testSegShift.Store(0) })
}
