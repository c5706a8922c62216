package index

import (
	"bytes"
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rosetta/internal/vecgen"
)

// TestConcurrentInsertSearchDelete runs inserts, searches, deletes and
// compactions at once. Run it with -race.
func TestConcurrentInsertSearchDelete(t *testing.T) {
	for _, st := range []Storage{StorageFloat32, StorageFloat16, StorageInt8, StorageRaBitQ} {
		t.Run(st.String(), func(t *testing.T) { testConcurrent(t, st) })
	}
}

func testConcurrent(t *testing.T, st Storage) {
	const n, dim = 3000, 16
	set := vecgen.Clustered(n, 50, dim, 20, 0.2, 13)
	// int8 trains a third of the way in, while searches, deletes,
	// compactions and snapshots run.
	h, err := NewHNSW(Config{Dim: dim, M: 8, EfConstruction: 64, CompactRatio: 0.05, Storage: st, TrainSize: n / 3})
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	var inserters, others sync.WaitGroup
	var done atomic.Bool
	var searches atomic.Int64
	for w := 0; w < 3; w++ {
		inserters.Add(1)
		go func() {
			defer inserters.Done()
			for i := w; i < n; i += 3 {
				if err := h.Add(uint64(i), vecgen.Row(set.Base, dim, i)); err != nil {
					t.Error(err)
					return
				}
				if i%10 == 0 && i >= 300 {
					h.Delete(uint64(i - 300)) // inserted earlier by this worker
				}
			}
		}()
	}
	for w := 0; w < 3; w++ {
		others.Add(1)
		go func() {
			defer others.Done()
			for i := 0; !done.Load(); i++ {
				q := vecgen.Row(set.Queries, dim, i%set.NQueries())
				res, err := h.Search(q, SearchOptions{K: 5})
				if err != nil {
					t.Error(err)
					return
				}
				for j := 1; j < len(res); j++ {
					if res[j].Distance < res[j-1].Distance {
						t.Error("unsorted results")
					}
				}
				searches.Add(1)
			}
		}()
	}
	others.Add(1)
	go func() {
		defer others.Done()
		for !done.Load() {
			var b bytes.Buffer
			if _, err := h.WriteTo(&b); err != nil {
				t.Error(err)
				return
			}
			if _, err := ReadHNSW(&b); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	others.Add(1)
	go func() {
		defer others.Done()
		for !done.Load() {
			if _, err := h.Compact(context.Background()); err != nil {
				t.Error(err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	inserters.Wait()
	done.Store(true)
	others.Wait()
	h.Close()
	if searches.Load() == 0 {
		t.Fatal("no search ran")
	}
	// Every id not deleted is present and findable by its own vector.
	missing := 0
	for i := 0; i < n; i++ {
		deleted := i%10 == 0 && i+300 < n
		if h.Contains(uint64(i)) == deleted {
			t.Fatalf("id %d: contains=%v, but deleted=%v", i, !deleted, deleted)
		}
		if deleted {
			continue
		}
		res, _ := h.Search(vecgen.Row(set.Base, dim, i), SearchOptions{K: 1, Ef: 64})
		if len(res) == 0 || res[0].ID != uint64(i) {
			missing++
		}
	}
	if missing > n/100 {
		t.Fatalf("%d live ids not found by their own vector", missing)
	}
	time.Sleep(10 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutines leaked: %d before, %d after", before, after)
	}
}
