package index

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"rosetta/internal/vecgen"
	"rosetta/kernels"
)

// TestSearchDuringGrow stops a grow after it has allocated its new
// segments and before it publishes them, and runs a search, a delete, a
// snapshot and a compaction there: none may wait for the grow. Once the
// grow publishes, the old segments are still the same memory (nothing was
// copied) and the insert that grew is findable.
func TestSearchDuringGrow(t *testing.T) {
	for _, st := range []Storage{StorageFloat32, StorageFloat16} {
		t.Run(st.String(), func(t *testing.T) {
			const seg, dim = 64, 8
			withSegShift(t, 6)
			set := vecgen.Clustered(seg+1, 10, dim, 8, 0.2, 31)
			h, err := NewHNSW(Config{Dim: dim, M: 6, EfConstruction: 32, CompactRatio: -1, Storage: st})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < seg; i++ { // exactly one segment: the next Add grows
				if err := h.Add(uint64(i), vecgen.Row(set.Base, dim, i)); err != nil {
					t.Fatal(err)
				}
			}
			h.mu.RLock()
			first, segs := h.segs[0], len(h.segs)
			h.mu.RUnlock()
			if segs != 1 || h.capacity() != seg {
				t.Fatalf("%d segments, capacity %d", segs, h.capacity())
			}

			reached, release := make(chan struct{}), make(chan struct{})
			block := blockOnce(reached, release)
			hook := func(g *HNSW) {
				if g == h { // not the grows of the snapshots loaded below
					block()
				}
			}
			testHookGrow.Store(&hook)
			t.Cleanup(func() { testHookGrow.Store(nil) })
			added := make(chan error, 1)
			go func() { added <- h.Add(1000, vecgen.Row(set.Base, dim, seg)) }()
			<-reached

			// The grow holds its new segments, unpublished.
			if res, err := h.Search(vecgen.Row(set.Base, dim, 7), SearchOptions{K: 3}); err != nil || len(res) == 0 || res[0].ID != 7 {
				t.Fatalf("search during grow: %v %v", res, err)
			}
			if !h.Delete(9) || h.Len() != seg-1 || h.Contains(1000) {
				t.Fatalf("delete during grow: len %d", h.Len())
			}
			if h2 := snapshot(t, h); h2.Len() != seg-1 || h2.Contains(9) {
				t.Fatalf("snapshot during grow: len %d", h2.Len())
			}
			if st, err := h.Compact(context.Background()); err != nil || st.Removed != 1 {
				t.Fatalf("compact during grow: %+v %v", st, err)
			}
			close(release)
			if err := <-added; err != nil {
				t.Fatal(err)
			}

			h.mu.RLock()
			now := h.segs[0]
			segs = len(h.segs)
			h.mu.RUnlock()
			if segs != 2 {
				t.Fatalf("%d segments after the grow, want 2", segs)
			}
			if st == StorageFloat16 {
				if &now.vecs16[0] != &first.vecs16[0] {
					t.Fatal("grow moved the vectors")
				}
			} else if &now.vecs[0] != &first.vecs[0] {
				t.Fatal("grow moved the vectors")
			}
			if &now.l0[0] != &first.l0[0] || &now.state[0] != &first.state[0] {
				t.Fatal("grow moved the lists or states")
			}
			// The freed slot of 9 was reused by the insert that grew.
			if res, _ := h.Search(vecgen.Row(set.Base, dim, seg), SearchOptions{K: 1}); len(res) == 0 || res[0].ID != 1000 {
				t.Fatalf("insert that grew not found: %v", res)
			}
			snapshot(t, h)
		})
	}
}

// TestGrowStress runs inserts, searches, deletes, snapshots and
// compactions at once on 16-slot segments, so that the storage grows many
// times under them. Run it with -race.
func TestGrowStress(t *testing.T) {
	for _, st := range []Storage{StorageFloat32, StorageFloat16, StorageInt8, StorageRaBitQ} {
		t.Run(st.String(), func(t *testing.T) { testGrowStress(t, st) })
	}
}

func testGrowStress(t *testing.T, st Storage) {
	n := 3000
	if testing.Short() {
		n = 1500
	}
	const dim, writers = 8, 3
	withSegShift(t, 4)
	set := vecgen.Clustered(n, 20, dim, 15, 0.2, 41)
	h, err := NewHNSW(Config{Dim: dim, Metric: kernels.MetricL2, M: 6, EfConstruction: 32, CompactRatio: 0.05, Storage: st, TrainSize: n / 2})
	if err != nil {
		t.Fatal(err)
	}
	var grows, snaps atomic.Int64
	countGrow := func(g *HNSW) {
		if g == h {
			grows.Add(1)
		}
	}
	testHookGrow.Store(&countGrow)
	t.Cleanup(func() { testHookGrow.Store(nil) })

	var done atomic.Bool
	var ws, others sync.WaitGroup
	for w := 0; w < writers; w++ {
		ws.Add(1)
		go func() {
			defer ws.Done()
			for i := w; i < n; i += writers {
				if err := h.Add(uint64(i), vecgen.Row(set.Base, dim, i)); err != nil {
					t.Error(err)
					return
				}
				if i%7 == 0 && i >= 150 {
					h.Delete(uint64(i - 150)) // added earlier by this worker
				}
			}
		}()
	}
	others.Add(3)
	go func() {
		defer others.Done()
		for i := 0; !done.Load(); i++ {
			res, err := h.Search(vecgen.Row(set.Queries, dim, i%set.NQueries()), SearchOptions{K: 5})
			if err != nil {
				t.Error(err)
				return
			}
			for j := 1; j < len(res); j++ {
				if res[j].Distance < res[j-1].Distance {
					t.Error("unsorted results")
				}
			}
		}
	}()
	go func() {
		defer others.Done()
		for !done.Load() {
			var b bytes.Buffer
			if _, err := h.WriteTo(&b); err != nil {
				t.Error(err)
				return
			}
			if _, err := ReadHNSW(bytes.NewReader(b.Bytes())); err != nil {
				t.Errorf("snapshot during growth does not load: %v", err)
				return
			}
			snaps.Add(1)
		}
	}()
	go func() {
		defer others.Done()
		for !done.Load() {
			if _, err := h.Compact(context.Background()); err != nil {
				t.Error(err)
				return
			}
			runtime.Gosched()
		}
	}()
	ws.Wait()
	done.Store(true)
	others.Wait()
	h.Close()
	if g := grows.Load(); g < 10 {
		t.Fatalf("only %d grows", g)
	}
	missing := 0
	for i := 0; i < n; i++ {
		deleted := (i+150)%7 == 0 && i+150 < n
		if h.Contains(uint64(i)) == deleted {
			t.Fatalf("id %d: contains=%v, deleted=%v", i, !deleted, deleted)
		}
		if deleted {
			continue
		}
		if res, _ := h.Search(vecgen.Row(set.Base, dim, i), SearchOptions{K: 1, Ef: 64}); len(res) == 0 || res[0].ID != uint64(i) {
			missing++
		}
	}
	if missing > n/100 {
		t.Fatalf("%d live ids not found by their own vector", missing)
	}
	h2 := snapshot(t, h)
	if h2.Len() != h.Len() || !h2.Tombstones().Equals(h.Tombstones()) {
		t.Fatalf("final snapshot: len %d/%d", h2.Len(), h.Len())
	}
	t.Logf("%d grows, %d segments, %d snapshots", grows.Load(), len(h.segs), snaps.Load())
}

// goldenIndex builds, deterministically, a small index with live,
// tombstoned, freed and reused slots.
func goldenIndex(t testing.TB, st Storage) *HNSW {
	const n, dim = 300, 6
	set := vecgen.Clustered(n, 1, dim, 8, 0.2, 77)
	h, err := NewHNSW(Config{Dim: dim, Metric: kernels.MetricL2, M: 4, EfConstruction: 24, CompactRatio: -1, Storage: st})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := h.Add(uint64(i)*7+1, vecgen.Row(set.Base, dim, i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i += 5 {
		h.Delete(uint64(i)*7 + 1)
	}
	prev := runtime.GOMAXPROCS(1) // one repair worker: a deterministic graph
	_, err = h.Compact(context.Background())
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ { // reuse freed slots
		if err := h.Add(uint64(i)*7+1, vecgen.Row(set.Base, dim, (i+1)%n)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < n; i += 11 {
		h.Delete(uint64(i)*7 + 1)
	}
	return h
}

// TestSnapshotFormatUnchanged: snapshots written before storage was
// segmented (testdata/golden-*.hnsw, from the slab layout) still load, and
// the same index built now writes exactly the same bytes, whatever the
// segment size.
func TestSnapshotFormatUnchanged(t *testing.T) {
	for _, st := range []Storage{StorageFloat32, StorageFloat16} {
		t.Run(st.String(), func(t *testing.T) {
			path := filepath.Join("testdata", "golden-"+st.String()+".hnsw")
			if out := os.Getenv("ROSETTA_WRITE_GOLDEN"); out != "" {
				var b bytes.Buffer
				if _, err := goldenIndex(t, st).WriteTo(&b); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(out, filepath.Base(path)), b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			old, err := ReadHNSW(bytes.NewReader(golden))
			if err != nil {
				t.Fatalf("old snapshot does not load: %v", err)
			}
			for _, shift := range []int32{0, 2, 5} {
				testSegShift.Store(shift)
				h := goldenIndex(t, st)
				testSegShift.Store(0)
				var b bytes.Buffer
				if _, err := h.WriteTo(&b); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b.Bytes(), golden) {
					t.Fatalf("segment shift %d: snapshot differs from the slab layout's (%d vs %d bytes)", shift, b.Len(), len(golden))
				}
				// Loaded with small segments, it writes the same bytes again.
				testSegShift.Store(shift)
				h2, err := ReadHNSW(bytes.NewReader(golden))
				testSegShift.Store(0)
				if err != nil {
					t.Fatal(err)
				}
				b.Reset()
				if _, err := h2.WriteTo(&b); err != nil || !bytes.Equal(b.Bytes(), golden) {
					t.Fatalf("segment shift %d: reloaded snapshot differs (%v)", shift, err)
				}
			}
			if old.Len() == 0 || old.Tombstones().IsEmpty() {
				t.Fatalf("golden index: len %d, %d tombstones", old.Len(), old.Tombstones().GetCardinality())
			}
		})
	}
}
