package textindex

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// docText is document i's text: a word only it holds plus shared words.
func docText(i int) string {
	return fmt.Sprintf("uniq%dx shared words about %s", i, []string{"rivers", "stones", "markets"}[i%3])
}

// TestConcurrentWriteSearchSnapshot runs writers, deleters, searchers and
// snapshots at once (run it with -race). Every snapshot must load and
// hold every document whose Put returned before WriteTo began and that
// was not deleted since, with its exact postings; and none whose Delete
// returned before.
func TestConcurrentWriteSearchSnapshot(t *testing.T) {
	const n, writers = 3000, 2
	ix, _ := New(Config{})
	status := make([]atomic.Int32, n) // 0 none, 1 put returned, 3 deleting, 2 deleted
	var wg sync.WaitGroup
	var done atomic.Bool
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				ix.Put(uint64(i), []Field{{"content", docText(i)}, {"metadata.title", fmt.Sprint("title ", i%7)}})
				status[i].Store(1)
				if i%5 == 0 && i >= 200 {
					d := i - 200
					status[d].Store(3)
					if !ix.Delete(uint64(d)) {
						t.Errorf("delete %d: not held", d)
					}
					status[d].Store(2)
				}
			}
		}()
	}
	var others sync.WaitGroup
	others.Add(1)
	go func() {
		defer others.Done()
		q, _ := Parse(`shared +rivers "words about" stone* marketz~1`)
		for !done.Load() {
			if _, err := ix.Search(q, Options{K: 10}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	before := make([]int32, n)
	snaps := 0
	for finished := false; !finished; {
		select {
		case <-allDone:
			finished = true
		default:
		}
		for i := range before {
			before[i] = status[i].Load()
		}
		var buf bytes.Buffer
		if _, err := ix.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		snaps++
		ix2, err := Read(&buf, Config{})
		if err != nil {
			t.Fatalf("snapshot %d does not load: %v", snaps, err)
		}
		for i := range before {
			word := fmt.Sprintf("uniq%dx", i)
			q, _ := Parse(word)
			hits, _ := ix2.Search(q, Options{K: 2})
			switch before[i] {
			case 1:
				if status[i].Load() != 1 {
					continue // deleted while the snapshot ran
				}
				if len(hits) != 1 || hits[0].ID != uint64(i) {
					t.Fatalf("snapshot %d: document %d, added before it began, is not found by %s: %v", snaps, i, word, hits)
				}
			case 2:
				if len(hits) != 0 {
					t.Fatalf("snapshot %d: document %d, deleted before it began, is found", snaps, i)
				}
			}
		}
	}
	done.Store(true)
	others.Wait()
	t.Logf("%d snapshots", snaps)
	if snaps < 2 {
		t.Fatalf("only %d snapshots", snaps)
	}
	// At rest, the reloaded index scores exactly as the live one.
	ix2 := reload(t, ix)
	for _, qs := range []string{"shared", `"words about" rivers`, "title:3 markets", "stone*"} {
		q, _ := Parse(qs)
		a, _ := ix.Search(q, Options{K: 50})
		b, _ := ix2.Search(q, Options{K: 50})
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("%s: %v, reloaded %v", qs, a, b)
		}
	}
	if ix.Len() != ix2.Len() {
		t.Fatalf("Len %d, reloaded %d", ix.Len(), ix2.Len())
	}
}

// FuzzRead feeds damaged snapshots to Read: an error wrapping ErrCorrupt
// (or a loadable index), never a panic.
func FuzzRead(f *testing.F) {
	ix, _ := New(Config{})
	for i := 0; i < 20; i++ {
		ix.Put(uint64(i), []Field{{"content", docText(i)}, {"metadata.title", "t"}})
	}
	ix.Delete(3)
	var buf bytes.Buffer
	ix.WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Read(bytes.NewReader(b), Config{})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		q, _ := Parse(`shared "words about" uniq1x rivers*`)
		got.Search(q, Options{K: 5})
	})
}

// TestReadDamaged flips every byte of a small snapshot in turn (the
// checksum catches each) and truncates it at every length.
func TestReadDamaged(t *testing.T) {
	ix, _ := New(Config{})
	for i := 0; i < 5; i++ {
		ix.Put(uint64(i), []Field{{"content", docText(i)}})
	}
	var buf bytes.Buffer
	ix.WriteTo(&buf)
	b := buf.Bytes()
	for i := range b {
		c := append([]byte(nil), b...)
		c[i] ^= 0x5a
		if _, err := Read(bytes.NewReader(c), Config{}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	for n := 0; n < len(b); n++ {
		if _, err := Read(bytes.NewReader(b[:n]), Config{}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated at %d: %v", n, err)
		}
	}
	if _, err := Read(bytes.NewReader(b), Config{Language: "de"}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("another language: %v", err)
	}
}
