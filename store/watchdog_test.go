package store

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// TestCommitWatchdog stalls a commit: its writer gets ErrUnavailable after
// CommitTimeout, Health reports the stall, new writes fail fast, and all
// is well again once the commit finishes.
func TestCommitWatchdog(t *testing.T) {
	db := openTest(t, t.TempDir(), &Options{CommitTimeout: 200 * time.Millisecond})
	defer db.Close()
	db.CreateCollection(testColl())
	release := make(chan struct{})
	var once sync.Once
	db.testHookCommit = func() { once.Do(func() { <-release }) } // stall the first commit only
	t0 := time.Now()
	_, err := db.Upsert("photos", []Object{{Key: "a"}})
	if !errors.Is(err, ErrUnavailable) || time.Since(t0) > 5*time.Second {
		t.Fatalf("stalled upsert: %v after %v", err, time.Since(t0))
	}
	time.Sleep(50 * time.Millisecond)
	if err := db.Health(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Health during stall: %v", err)
	}
	if _, err := db.Upsert("photos", []Object{{Key: "b"}}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("upsert during stall: %v", err)
	}
	if ev := db.Events(); ev.CommitTimeouts != 1 {
		t.Fatalf("events: %+v", ev)
	}
	close(release)
	for deadline := time.Now().Add(5 * time.Second); db.Health() != nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Health after the stall: %v", db.Health())
		}
	}
	if _, err := db.Upsert("photos", []Object{{Key: "c"}}); err != nil {
		t.Fatal(err)
	}
	// The timed-out write was committed after all (the documented
	// ambiguity of ErrUnavailable after a timeout).
	if c, _ := db.Collection("photos"); c.Count != 2 {
		t.Fatalf("count = %d, want 2", c.Count)
	}
}
