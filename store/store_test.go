package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

func testColl() Collection {
	return Collection{Name: "photos", Spaces: []Space{{Name: "image", Dim: 3}, {Name: "text", Dim: 2, Metric: "l2"}}}
}

func openTest(t *testing.T, dir string, opts *Options) *DB {
	t.Helper()
	db, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func ids(t *testing.T, db *DB, f string) []uint64 {
	t.Helper()
	flt, err := ParseFilter([]byte(f))
	if err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	bm, err := db.Eval("photos", flt)
	if err != nil {
		t.Fatal(err)
	}
	return bm.ToArray()
}

func eqIDs(a []uint64, b ...uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCRUDFiltersAndReopen(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, nil)
	if _, err := db.CreateCollection(testColl()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateCollection(testColl()); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate collection: %v", err)
	}
	objs := []Object{
		{Key: "a", Metadata: map[string]any{"color": "red", "year": 2001.0, "tags": []any{"x", "y"}, "ok": true}, Vectors: map[string][]float32{"image": {1, 0, 0}}},
		{Key: "b", Metadata: map[string]any{"color": "blue", "year": 1999.0, "ok": false}, Vectors: map[string][]float32{"image": {0, 1, 0}, "text": {1, 2}}},
		{Metadata: map[string]any{"color": "red", "year": 2010.5}, Vectors: map[string][]float32{"image": {0, 0, 1}}},
	}
	got, err := db.Upsert("photos", objs)
	if err != nil || !eqIDs(got, 1, 2, 3) {
		t.Fatalf("upsert: %v %v", got, err)
	}
	checks := map[string][]uint64{
		`{"field":"color","eq":"red"}`:                                              {1, 3},
		`{"field":"color","ne":"red"}`:                                              {2},
		`{"field":"color","in":["blue","green"]}`:                                   {2},
		`{"field":"year","gte":2001}`:                                               {1, 3},
		`{"field":"year","gt":2001}`:                                                {3},
		`{"field":"year","lt":2001}`:                                                {2},
		`{"field":"year","gte":1999,"lte":2001}`:                                    {1, 2},
		`{"field":"year","eq":2010.5}`:                                              {3},
		`{"field":"tags","eq":"y"}`:                                                 {1},
		`{"field":"ok","eq":true}`:                                                  {1},
		`{"field":"ok","exists":false}`:                                             {3},
		`{"and":[{"field":"color","eq":"red"},{"not":{"field":"year","lt":2005}}]}`: {3},
		`{"or":[{"field":"color","eq":"blue"},{"field":"tags","eq":"x"}]}`:          {1, 2},
		`null`: {1, 2, 3},
	}
	for f, want := range checks {
		if g := ids(t, db, f); !eqIDs(g, want...) {
			t.Errorf("%s: %v, want %v", f, g, want)
		}
	}
	// Upsert by key updates in place and moves postings.
	got, err = db.Upsert("photos", []Object{{Key: "a", Metadata: map[string]any{"color": "green"}, Vectors: map[string][]float32{"image": {1, 1, 0}}}})
	if err != nil || !eqIDs(got, 1) {
		t.Fatalf("upsert by key: %v %v", got, err)
	}
	if g := ids(t, db, `{"field":"color","eq":"red"}`); !eqIDs(g, 3) {
		t.Fatalf("red after update: %v", g)
	}
	if g := ids(t, db, `{"field":"tags","exists":true}`); len(g) != 0 {
		t.Fatalf("tags after update: %v", g)
	}
	if n, err := db.Delete("photos", []uint64{2, 99}); err != nil || n != 1 {
		t.Fatalf("delete: %d %v", n, err)
	}
	if _, err := db.Get("photos", 2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted object: %v", err)
	}
	o, err := db.Get("photos", 1)
	if err != nil || o.Metadata["color"] != "green" || o.Vectors["image"][1] != 1 || o.Key != "a" {
		t.Fatalf("get: %+v %v", o, err)
	}
	before := ids(t, db, `{"field":"color","in":["green","red","blue"]}`)
	var changes []Change
	meta, _ := db.Collection("photos")
	db.ChangesSince(meta, 0, func(c Change) error { changes = append(changes, c); return nil })
	if len(changes) != 5 || changes[3].ID != 1 || changes[4].Op != OpDelete || changes[4].ID != 2 {
		t.Fatalf("change log: %+v", changes)
	}
	db.Close()

	// Reopen: identical objects, filters, ids and sequences.
	db = openTest(t, dir, nil)
	defer db.Close()
	if after := ids(t, db, `{"field":"color","in":["green","red","blue"]}`); !eqIDs(after, before...) {
		t.Fatalf("after reopen: %v, before %v", after, before)
	}
	o2, _ := db.Get("photos", 1)
	if o2.Metadata["color"] != "green" || o2.Created != o.Created {
		t.Fatalf("object after reopen: %+v", o2)
	}
	if seq, _ := db.LastSeq("photos"); seq != 5 {
		t.Fatalf("last seq after reopen = %d", seq)
	}
	got, _ = db.Upsert("photos", []Object{{Vectors: map[string][]float32{"image": {1, 2, 3}}}})
	if !eqIDs(got, 4) {
		t.Fatalf("id after reopen: %v", got)
	}
	if c, _ := db.Collection("photos"); c.Count != 3 {
		t.Fatalf("count = %d", c.Count)
	}
}

func TestRejectsBadWrites(t *testing.T) {
	db := openTest(t, t.TempDir(), nil)
	defer db.Close()
	db.CreateCollection(testColl())
	// Vector values (dimension, NaN, zero norm) are the engine's to check;
	// the store rejects only what it cannot key.
	cases := map[string][]Object{
		"unknown space": {{Vectors: map[string][]float32{"audio": {1, 2, 3}}}},
		"duplicate key": {{Key: "k"}, {Key: "k"}},
	}
	for name, objs := range cases {
		if _, err := db.Upsert("photos", objs); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := db.Upsert("nope", []Object{{}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown collection: %v", err)
	}
	// A rejected batch writes nothing, and the next one still works.
	if c, _ := db.Collection("photos"); c.Count != 0 {
		t.Fatalf("rejected batches left %d objects", c.Count)
	}
	if seq, _ := db.LastSeq("photos"); seq != 0 {
		t.Fatalf("rejected batches advanced the log to %d", seq)
	}
	// Schemas are the engine's to validate; the store refuses only what
	// its key layout cannot hold.
	for _, c := range []Collection{{Name: "x"}, {Spaces: []Space{{Name: "s", Dim: 1}}}} {
		if _, err := db.CreateCollection(c); !errors.Is(err, ErrInvalid) {
			t.Errorf("collection %+v: %v", c, err)
		}
	}
}

func TestConcurrentWritersGroupCommit(t *testing.T) {
	var mu sync.Mutex
	var seqs []uint64
	db := openTest(t, t.TempDir(), &Options{OnCommit: func(coll string, cs []Change) {
		mu.Lock()
		for _, c := range cs {
			seqs = append(seqs, c.Seq)
		}
		mu.Unlock()
	}})
	defer db.Close()
	db.CreateCollection(testColl())
	var wg sync.WaitGroup
	const writers, each = 8, 25
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				key := fmt.Sprintf("w%d-%d", w, i)
				if _, err := db.Upsert("photos", []Object{{Key: key, Metadata: map[string]any{"w": float64(w)}, Vectors: map[string][]float32{"image": {1, float32(i), 0}}}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if c, _ := db.Collection("photos"); c.Count != writers*each {
		t.Fatalf("count %d", c.Count)
	}
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("commit hook saw seq %d at position %d", s, i)
		}
	}
	if g := ids(t, db, `{"field":"w","eq":3}`); len(g) != each {
		t.Fatalf("filter w=3: %d ids", len(g))
	}
}

func TestFormatVersionMismatch(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, nil)
	db.Close()
	p, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatNewest})
	if err != nil {
		t.Fatal(err)
	}
	p.Set(keyFormat, binary.BigEndian.AppendUint32(nil, 99), pebble.Sync)
	p.Close()
	if _, err := Open(dir, nil); !errors.Is(err, ErrFormatVersion) {
		t.Fatalf("err = %v", err)
	}
}

func TestDropCollection(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, nil)
	db.CreateCollection(testColl())
	db.Upsert("photos", []Object{{Key: "a", Vectors: map[string][]float32{"image": {1, 2, 3}}}})
	if err := db.DropCollection("photos"); err != nil {
		t.Fatal(err)
	}
	if err := db.DropCollection("photos"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second drop: %v", err)
	}
	db.CreateCollection(testColl())
	if c, _ := db.Collection("photos"); c.Count != 0 {
		t.Fatalf("recreated collection has %d objects", c.Count)
	}
	db.Close()
	db = openTest(t, dir, nil)
	defer db.Close()
	if c, err := db.Collection("photos"); err != nil || c.Count != 0 {
		t.Fatalf("after reopen: %+v %v", c, err)
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, f := range []string{`{`, `[]`, `{"field":"a"}`, `{"field":"a","eq":[1]}`, `{"field":"a","gt":"x"}`, `{"and":[]}`,
		`{"and":[{"field":"a","eq":1}],"or":[]}`, `{"field":"a","eq":1,"gt":2}`, `{"field":"a","gt":1,"gte":2}`, `{"field":"a","bogus":1}`,
		`{"field":"a","exists":"yes"}`, `{"not":{}}`, `{"field":"a","eq":1} {}`, `{"field":"a","in":[]}`, `{"field":"a","eq":1e999}`} {
		if _, err := ParseFilter([]byte(f)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s accepted: %v", f, err)
		}
	}
	deep := ""
	for i := 0; i < 40; i++ {
		deep += `{"not":`
	}
	deep += `{"field":"a","eq":1}`
	for i := 0; i < 40; i++ {
		deep += `}`
	}
	if _, err := ParseFilter([]byte(deep)); err == nil {
		t.Error("40-deep filter accepted")
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{`{"field":"a","eq":"x"}`, `{"and":[{"field":"y","gte":1,"lt":2},{"not":{"field":"t","in":["a",true,3]}}]}`, `{"field":"e","exists":false}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		flt, err := ParseFilter(data)
		if err == nil && flt != nil {
			_ = flt.Fields()
		}
	})
}
