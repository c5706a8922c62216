package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// TestConcurrentCreateDropUpsert races creates, drops and upserts (run
// it with -race). Every call must succeed or fail with ErrNotFound /
// ErrExists, and afterwards no key may belong to a collection id that
// no collection has: a write racing a drop cannot resurrect its keys.
func TestConcurrentCreateDropUpsert(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, nil)
	names := []string{"c0", "c1", "c2"}
	schema := func(n string) Collection {
		return Collection{Name: n, Spaces: []Space{{Name: "image", Dim: 3}}}
	}
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 60; i++ {
				n := names[rand.IntN(len(names))]
				if rand.IntN(2) == 0 {
					if _, err := db.CreateCollection(schema(n)); err != nil && !errors.Is(err, ErrExists) {
						t.Error(err)
					}
				} else if err := db.DropCollection(n); err != nil && !errors.Is(err, ErrNotFound) {
					t.Error(err)
				}
			}
		}()
	}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 150; i++ {
				n := names[rand.IntN(len(names))]
				_, err := db.Upsert(n, []Object{{Key: fmt.Sprintf("w%d-%d", w, i), Metadata: map[string]any{"x": float64(i)},
					Vectors: map[string][]float32{"image": {1, 2, 3}}}})
				if err != nil && !errors.Is(err, ErrNotFound) {
					t.Error(err)
				}
				if i%10 == 0 {
					db.AddMediaRoot(n, "/data")
					db.Eval(n, nil)
					db.Collections()
				}
			}
		}()
	}
	wg.Wait()
	counts := map[string]int{}
	for _, c := range db.Collections() {
		counts[c.Name] = c.Count
	}
	db.Close()

	p, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatNewest})
	if err != nil {
		t.Fatal(err)
	}
	live := map[uint32]bool{}
	it, _ := p.NewIter(&pebble.IterOptions{LowerBound: []byte{'c'}, UpperBound: []byte{'d'}})
	for it.First(); it.Valid(); it.Next() {
		c, err := decodeCollection(it.Value())
		if err != nil {
			t.Fatal(err)
		}
		live[c.CID] = true
	}
	it.Close()
	it, _ = p.NewIter(nil)
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if k[0] == 0 || k[0] == 'c' || !bytes.ContainsRune([]byte("sovktnelr"), rune(k[0])) {
			continue
		}
		if cid := uint32(k[1])<<24 | uint32(k[2])<<16 | uint32(k[3])<<8 | uint32(k[4]); !live[cid] {
			t.Fatalf("key %x belongs to dropped collection %d", k, cid)
		}
	}
	it.Close()
	p.Close()

	db = openTest(t, dir, nil)
	defer db.Close()
	for _, c := range db.Collections() {
		if counts[c.Name] != c.Count {
			t.Errorf("%s: %d objects after reopen, %d before", c.Name, c.Count, counts[c.Name])
		}
	}
}
