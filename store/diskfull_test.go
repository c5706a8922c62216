package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"rosetta/internal/testfs"
)

// TestDiskFull fills a 20 MB tmpfs: the write that would cross the
// reserve fails at once with ErrDiskFull, Health reports it, Pebble never
// sees ENOSPC, acknowledged writes survive a reopen, and writes work
// again, without reopening, once space is freed.
func TestDiskFull(t *testing.T) {
	mnt := testfs.MountTmpfs(t, "20m")
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, bytes.Repeat([]byte{0xa5}, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(mnt, "db")
	opts := &Options{DiskReserveBytes: 8 << 20, CommitTimeout: 5 * time.Second}
	db := openTest(t, dir, opts)
	defer func() { db.Close() }()
	coll := Collection{Name: "big", Spaces: []Space{{Name: "v", Dim: 256}}}
	if _, err := db.CreateCollection(coll); err != nil {
		t.Fatal(err)
	}
	batch := func(n int) []Object {
		objs := make([]Object, 8)
		for i := range objs {
			v := make([]float32, 256)
			for j := range v {
				v[j] = float32(n*8+i) + float32(j)/7
			}
			objs[i] = Object{Key: fmt.Sprintf("k%d-%d", n, i), Vectors: map[string][]float32{"v": v}}
		}
		return objs
	}
	var acked []string
	ackBatch := func(objs []Object) {
		for _, o := range objs {
			acked = append(acked, o.Key)
		}
	}
	start := time.Now()
	var failed error
	n := 0
	for ; time.Since(start) < 60*time.Second; n++ {
		objs := batch(n)
		t0 := time.Now()
		_, err := db.Upsert("big", objs)
		if d := time.Since(t0); d > 10*time.Second {
			t.Fatalf("batch %d took %v (err %v)", n, d, err)
		}
		if err != nil {
			failed = err
			break
		}
		ackBatch(objs)
	}
	if failed == nil {
		t.Fatalf("no write failed in 60 s (%d batches)", n)
	}
	if !errors.Is(failed, ErrDiskFull) {
		t.Fatalf("batch %d: %v, want ErrDiskFull", n, failed)
	}
	t.Logf("batch %d refused after %d acknowledged objects: %v", n, len(acked), failed)
	if err := db.Health(); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Health while full: %v", err)
	}
	if _, err := db.Delete("big", []uint64{1}); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("delete while full: %v", err)
	}
	if ev := db.Events(); ev.DiskFullRefusals < 2 || ev.BackgroundErrors != 0 {
		t.Fatalf("events while full: %+v (want refusals, and no Pebble background errors: the reserve keeps Pebble off ENOSPC)", ev)
	}

	// Free space: writes work again without reopening.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := db.Health(); err != nil {
		t.Fatalf("Health after freeing space: %v", err)
	}
	objs := batch(n)
	if _, err := db.Upsert("big", objs); err != nil {
		t.Fatalf("upsert after freeing space: %v", err)
	}
	ackBatch(objs)

	// Acknowledged writes survive a reopen.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, dir, opts)
	got := map[string]bool{}
	if err := db.ScanObjects("big", func(o Object) error { got[o.Key] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, k := range acked {
		if !got[k] {
			t.Fatalf("acknowledged object %q missing after reopen", k)
		}
	}
	if ev := db.Events(); ev.CorruptRecords != 0 {
		t.Fatalf("events after reopen: %+v", ev)
	}
}
