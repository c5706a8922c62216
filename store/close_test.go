package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// settleGoroutines waits up to 5 s for the goroutine count to fall back
// to at most want and returns the last count.
func settleGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	return n
}

// TestCloseRacesUpserts races Close against writers: every call must
// return (nil or ErrClosed), every acknowledged write must be there
// after reopening, and no goroutine may be left behind.
func TestCloseRacesUpserts(t *testing.T) {
	rounds := 1000
	if testing.Short() {
		rounds = 100
	}
	before := runtime.NumGoroutine()
	for round := 0; round < rounds; round++ {
		dir := t.TempDir()
		db := openTest(t, dir, nil)
		if _, err := db.CreateCollection(testColl()); err != nil {
			t.Fatal(err)
		}
		// Widen the window between the closed check and the send.
		db.testHookSubmit = func() {
			if rand.IntN(2) == 0 {
				runtime.Gosched()
			}
		}
		const writers = 4
		var (
			mu    sync.Mutex
			acked []string
			wg    sync.WaitGroup
		)
		start := make(chan struct{})
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := 0; ; i++ {
					key := fmt.Sprintf("w%d-%d", w, i)
					_, err := db.Upsert("photos", []Object{{Key: key, Vectors: map[string][]float32{"image": {1, 2, 3}}}})
					if errors.Is(err, ErrClosed) {
						return
					}
					if err != nil {
						t.Errorf("round %d: upsert: %v", round, err)
						return
					}
					mu.Lock()
					acked = append(acked, key)
					mu.Unlock()
				}
			}()
		}
		close(start)
		if n := rand.IntN(3); n > 0 {
			time.Sleep(time.Duration(n) * 100 * time.Microsecond)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("round %d: close: %v", round, err)
		}
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			buf := make([]byte, 1<<20)
			t.Fatalf("round %d: writers still blocked 10 s after Close:\n%s", round, buf[:runtime.Stack(buf, true)])
		}
		if t.Failed() {
			return
		}
		db = openTest(t, dir, nil)
		got := map[string]bool{}
		if err := db.ScanObjects("photos", func(o Object) error { got[o.Key] = true; return nil }); err != nil {
			t.Fatal(err)
		}
		db.Close()
		for _, k := range acked {
			if !got[k] {
				t.Fatalf("round %d: acknowledged write %q missing after reopen", round, k)
			}
		}
	}
	if n := settleGoroutines(before); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// TestSubmitAfterCloseCheck parks a writer between the closed check and
// the send while Close runs: Close must wait for it, and it must be
// committed and acknowledged.
func TestSubmitAfterCloseCheck(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, nil)
	db.CreateCollection(testColl())
	parked, release := make(chan struct{}), make(chan struct{})
	db.testHookSubmit = func() { close(parked); <-release }
	res := make(chan error)
	go func() {
		_, err := db.Upsert("photos", []Object{{Key: "late"}})
		res <- err
	}()
	<-parked
	closed := make(chan error)
	go func() { closed <- db.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while a submitted write was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-res; err != nil {
		t.Fatalf("parked upsert: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, err := db.Upsert("photos", []Object{{Key: "after"}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("upsert after close: %v", err)
	}
	db = openTest(t, dir, nil)
	defer db.Close()
	if c, _ := db.Collection("photos"); c.Count != 1 {
		t.Fatalf("count after reopen = %d, want 1", c.Count)
	}
}
