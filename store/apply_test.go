package store

import (
	"errors"
	"testing"
)

// TestApplyExactlyOnce: Apply records the log sequence in the write's own
// batch; an entry at or below it is skipped (a replica re-reading its log
// after a crash), a failed entry records nothing, and the sequence
// survives a reopen.
func TestApplyExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, nil)
	if _, err := db.CreateCollection(testColl()); err != nil {
		t.Fatal(err)
	}
	if a, _ := db.Applied("photos"); a != 0 {
		t.Fatalf("fresh collection applied %d", a)
	}
	o := func(id uint64, key string) Object {
		return Object{ID: id, Key: key, Vectors: map[string][]float32{"image": {1, 0, 0}}}
	}
	ids, _, skipped, err := db.Apply("photos", []Object{o(10, "a"), o(20, "b")}, nil, 5)
	if err != nil || skipped || len(ids) != 2 || ids[0] != 10 || ids[1] != 20 {
		t.Fatalf("apply 5: %v %v %v", ids, skipped, err)
	}
	if _, _, skipped, err := db.Apply("photos", []Object{o(30, "c")}, nil, 5); err != nil || !skipped {
		t.Fatalf("re-apply 5: skipped %v, %v", skipped, err)
	}
	if _, _, skipped, err := db.Apply("photos", []Object{o(30, "c")}, nil, 4); err != nil || !skipped {
		t.Fatalf("apply 4 after 5: skipped %v, %v", skipped, err)
	}
	if _, err := db.Get("photos", 30); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a skipped entry was written: %v", err)
	}
	// A bad entry (unknown space) writes nothing, its sequence included.
	bad := Object{ID: 40, Vectors: map[string][]float32{"nope": {1}}}
	if _, _, _, err := db.Apply("photos", []Object{bad}, nil, 6); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad entry: %v", err)
	}
	if a, _ := db.Applied("photos"); a != 5 {
		t.Fatalf("applied %d after a failed entry, want 5", a)
	}
	_, n, _, err := db.Apply("photos", nil, []uint64{10, 99}, 7)
	if err != nil || n != 1 {
		t.Fatalf("delete entry: %d %v", n, err)
	}
	if _, _, _, err := db.Apply("photos", nil, nil, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("sequence 0: %v", err)
	}
	db.Close()
	db = openTest(t, dir, nil)
	defer db.Close()
	if a, _ := db.Applied("photos"); a != 7 {
		t.Fatalf("applied %d after reopen, want 7", a)
	}
	if _, err := db.Get("photos", 20); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get("photos", 10); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted object: %v", err)
	}
	// Plain upserts keep the applied sequence.
	if _, err := db.Upsert("photos", []Object{o(0, "d")}); err != nil {
		t.Fatal(err)
	}
	if a, _ := db.Applied("photos"); a != 7 {
		t.Fatalf("applied %d after an upsert, want 7", a)
	}
}
