package store

import (
	"bytes"
	"errors"
	"testing"
)

// TestTokens: an object's cached tokens are written with it, survive a
// reopen, are replaced by an upsert that carries new ones, removed by one
// that carries none and by a delete or a drop, never appear in the
// record, and an object written without a key or id gets them too.
func TestTokens(t *testing.T) {
	dir := t.TempDir()
	db := openTest(t, dir, nil)
	db.CreateCollection(testColl())
	tok := func(id uint64) []byte {
		b, err := db.Tokens("photos", id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := bytes.Repeat([]byte{1, 2, 3}, 1000), bytes.Repeat([]byte{9}, 10)
	ids, err := db.Upsert("photos", []Object{{Key: "a", Tokens: a}, {Key: "b"}, {Tokens: b}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tok(ids[0]), a) || tok(ids[1]) != nil || !bytes.Equal(tok(ids[2]), b) {
		t.Fatal("tokens not stored as given")
	}
	if o, _ := db.Get("photos", ids[0]); o.Tokens != nil {
		t.Fatal("Get returned the tokens")
	}
	// The copy is the caller's.
	got := tok(ids[0])
	got[0] = 77
	if tok(ids[0])[0] != 1 {
		t.Fatal("Tokens returned the store's memory")
	}
	db.Close()
	db = openTest(t, dir, nil)
	defer func() { db.Close() }()
	if !bytes.Equal(tok(ids[0]), a) {
		t.Fatal("tokens lost across a reopen")
	}
	// Replace, remove by an upsert without tokens, remove by a delete.
	if _, err := db.Upsert("photos", []Object{{Key: "a", Tokens: b}, {Key: "b", Tokens: a}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tok(ids[0]), b) || !bytes.Equal(tok(ids[1]), a) {
		t.Fatal("upsert did not replace the tokens")
	}
	if _, err := db.Upsert("photos", []Object{{Key: "a"}}); err != nil {
		t.Fatal(err)
	}
	if tok(ids[0]) != nil {
		t.Fatal("an upsert without tokens left the old ones")
	}
	if n, err := db.Delete("photos", []uint64{ids[1]}); err != nil || n != 1 {
		t.Fatal(n, err)
	}
	if tok(ids[1]) != nil {
		t.Fatal("delete left the tokens")
	}
	// A drop removes them; a new collection of the same name has none.
	if err := db.DropCollection("photos"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Tokens("photos", ids[2]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("tokens of a dropped collection: %v", err)
	}
	db.CreateCollection(testColl())
	if tok(ids[2]) != nil {
		t.Fatal("a recreated collection sees the old tokens")
	}
}

// TestTokensShareTheObjectsBatch: the tokens are part of the object's
// batch, so a batch refused as a whole (an invalid object beside it, or
// the free-space guard counting the tokens' bytes) writes neither the
// object nor its tokens.
func TestTokensShareTheObjectsBatch(t *testing.T) {
	db := openTest(t, t.TempDir(), nil)
	defer db.Close()
	db.CreateCollection(testColl())
	_, err := db.Upsert("photos", []Object{{Key: "a", Tokens: []byte{1}}, {Key: "bad", Vectors: map[string][]float32{"nope": {1}}}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid batch: %v", err)
	}
	if _, err := db.Tokens("photos", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused batch left tokens: %v", err)
	}
	free, err := db.mon.freeBytes()
	if err != nil {
		t.Skip(err)
	}
	// A reserve that a 16 MB batch crosses and a small one does not, with
	// 8 MB of slack for what other processes (tests of other packages run
	// in parallel) free on the same disk meanwhile.
	db.mon.reserve = free - 8<<20
	big := make([]byte, 16<<20)
	if _, err := db.Upsert("photos", []Object{{Key: "a", Tokens: big}}); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("a batch over the reserve because of its tokens: %v", err)
	}
	if c, _ := db.Collection("photos"); c.Count != 0 {
		t.Fatal("the refused object was written")
	}
	if _, err := db.Tokens("photos", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the refused tokens were written: %v", err)
	}
	db.mon.reserve = -1
	if _, err := db.Upsert("photos", []Object{{Key: "a", Tokens: big}}); err != nil {
		t.Fatal(err)
	}
}
