package store

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// FuzzDecodeRecords feeds arbitrary bytes to every value decoder: none
// may panic, and an error must wrap ErrCorrupt.
func FuzzDecodeRecords(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1})
	f.Add(encodeState(7, 9, 0))
	f.Add(encodeState(7, 9, 11))
	f.Add(encodeState(7, 9, 0)[:8])
	f.Add(encodeCollection(testColl()))
	f.Add([]byte(`{"id":3,"key":"a","metadata":{"x":1}}`))
	f.Add(append(logKey(1, 5), encodeChange(OpUpsert, 3)...))
	f.Add(encodeVector([]float32{1, 2, 3}))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(what string, err error) {
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: error %v does not wrap ErrCorrupt", what, err)
			}
		}
		_, err := decodeU32(data)
		check("u32", err)
		_, err = decodeCollection(data)
		check("collection", err)
		_, _, _, err = decodeState(data)
		check("state", err)
		_, err = decodeObject(data)
		check("object", err)
		_, err = decodeVector(data)
		check("vector", err)
		_, err = idFromKey(data, 5)
		check("key", err)
		for i := 0; i <= len(data) && i <= 16; i++ {
			_, err = decodeChange(data[:i], data[i:])
			check("change", err)
		}
	})
}

func TestDecodeRoundTrip(t *testing.T) {
	if n, l, a, err := decodeState(encodeState(7, 9, 11)); err != nil || n != 7 || l != 9 || a != 11 {
		t.Fatalf("state with applied: %d %d %d %v", n, l, a, err)
	}
	if n, l, _, err := decodeState(encodeState(7, 9, 0)); err != nil || n != 7 || l != 9 {
		t.Fatalf("state: %d %d %v", n, l, err)
	}
	c := testColl()
	c.CID = 42
	if got, err := decodeCollection(encodeCollection(c)); err != nil || got.CID != 42 || got.Name != c.Name {
		t.Fatalf("collection: %+v %v", got, err)
	}
	if ch, err := decodeChange(logKey(1, 5), encodeChange(OpDelete, 3)); err != nil || ch.Seq != 5 || ch.Op != OpDelete || ch.ID != 3 {
		t.Fatalf("change: %+v %v", ch, err)
	}
	if _, err := decodeChange(logKey(1, 5), encodeChange(9, 3)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("op 9: %v", err)
	}
}

// corrupt writes raw key/value pairs into a closed store's directory.
func corrupt(t *testing.T, dir string, kv ...[]byte) {
	t.Helper()
	p, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatNewest})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if err := p.Set(kv[i], kv[i+1], pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptObjectSkipped: a corrupt object record is logged, counted and
// skipped; the collection stays usable.
func TestCorruptObjectSkipped(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, nil)
	db.CreateCollection(testColl())
	db.Upsert("photos", []Object{{Key: "a", Vectors: map[string][]float32{"image": {1, 2, 3}}}, {Key: "b"}})
	meta, _ := db.Collection("photos")
	db.Close()
	corrupt(t, dir, objKey(meta.CID, 2), []byte("{not json"), vecKey(meta.CID, 0, 1), []byte{1, 2, 3},
		logKey(meta.CID, 99), []byte{1})
	db = openTest(t, dir, nil)
	defer db.Close()
	if ev := db.Events(); ev.CorruptRecords != 1 {
		t.Fatalf("corrupt records after open: %+v", ev)
	}
	if c, _ := db.Collection("photos"); c.Count != 1 {
		t.Fatalf("count = %d, want 1 (the corrupt object skipped)", c.Count)
	}
	if _, err := db.Get("photos", 2); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("get corrupt object: %v", err)
	}
	if _, err := db.Vector(meta, 0, 1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt vector: %v", err)
	}
	n := 0
	if err := db.ScanVectors(meta, 0, func(uint64, []float32) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("scan vectors: %d %v", n, err)
	}
	if err := db.ChangesSince(meta, 0, func(Change) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt change log: %v", err)
	}
	if l, err := db.List("photos", 0, 10); err != nil || len(l) != 1 {
		t.Fatalf("list: %v %v", l, err)
	}
	if got, err := db.Upsert("photos", []Object{{Key: "c"}}); err != nil || got[0] != 3 {
		t.Fatalf("upsert after corrupt record: %v %v", got, err)
	}
}

// TestCorruptStateFailsOpen: a short state record (which once panicked
// load) or a short collection record fails Open with ErrCorrupt.
func TestCorruptStateFailsOpen(t *testing.T) {
	for name, kv := range map[string][][]byte{
		"state":      {stateKey(1), binary.BigEndian.AppendUint64(nil, 5)},
		"collection": {collKey("photos"), {0, 0}},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db := openTest(t, dir, nil)
			db.CreateCollection(testColl())
			db.Upsert("photos", []Object{{Key: "a"}})
			db.Close()
			corrupt(t, dir, kv...)
			if db, err := Open(dir, nil); !errors.Is(err, ErrCorrupt) {
				if err == nil {
					db.Close()
				}
				t.Fatalf("open: %v, want ErrCorrupt", err)
			}
		})
	}
	dir := t.TempDir()
	db := openTest(t, dir, nil)
	db.CreateCollection(testColl())
	db.Close()
	corrupt(t, dir, keyNextCID, []byte{1})
	db = openTest(t, dir, nil)
	defer db.Close()
	c, err := db.CreateCollection(Collection{Name: "other", Spaces: []Space{{Name: "s", Dim: 2}}})
	if err != nil || c.CID != 2 {
		t.Fatalf("create after corrupt next cid: %+v %v", c, err)
	}
}
