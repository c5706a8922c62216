package engine

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"rosetta/store"
)

func pngBytes(t *testing.T, seed uint8) []byte {
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = seed + uint8(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func blobFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "blobs", "*", "*"))
	return m
}

// waitBlobs waits (bounded) for the background collector to leave n blobs.
func waitBlobs(t *testing.T, dir string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(blobFiles(t, dir)) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d blobs, want %d: %v", len(blobFiles(t, dir)), n, blobFiles(t, dir))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestKeptOriginals: kept content is stored once per distinct content,
// served as the object's source whatever its path, and removed with the
// last object that names it; content not kept leaves no blob.
func TestKeptOriginals(t *testing.T) {
	dir := t.TempDir()
	e := openT(t, dir)
	defer e.Close()
	e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: 2}}})
	a, b := pngBytes(t, 1), pngBytes(t, 100)
	obj := func(key string, img []byte, keep bool) Object {
		return Object{Key: key, Source: "/client/only/" + key, Vectors: map[string][]float32{"v": {1, 0}}, Content: &Content{Image: img, Keep: keep}}
	}
	ids, err := e.Upsert(bg, "c", []Object{obj("a1", a, true), obj("a2", a, true), obj("b", b, true), obj("nokeep", pngBytes(t, 50), false)})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(blobFiles(t, dir)); n != 2 {
		t.Fatalf("%d blobs for two distinct kept images", n)
	}
	for i, want := range [][]byte{a, a, b} {
		s, err := e.OpenSource(bg, "c", ids[i])
		if err != nil {
			t.Fatalf("object %d: %v", i, err)
		}
		got, _ := io.ReadAll(s.File)
		s.File.Close()
		if !bytes.Equal(got, want) {
			t.Fatalf("object %d: wrong original", i)
		}
	}
	if _, err := e.OpenSource(bg, "c", ids[3]); !errors.Is(err, ErrForbidden) {
		t.Fatalf("an object without a kept original, outside the roots: %v", err)
	}
	// A segment plays from its parent's original.
	seg, err := e.Upsert(bg, "c", []Object{{Key: "b#t=0,10", Source: "/client/only/b", Metadata: map[string]any{"parent": "b"},
		Vectors: map[string][]float32{"v": {1, 0}}}})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := e.OpenSource(bg, "c", seg[0]); err != nil {
		t.Fatalf("segment: %v", err)
	} else {
		got, _ := io.ReadAll(s.File)
		s.File.Close()
		if !bytes.Equal(got, b) || s.Object.ID != seg[0] {
			t.Fatal("segment: not its parent's original")
		}
	}
	// Removing one of two references keeps the blob; the last removes it.
	if err := e.DeleteObject(bg, "c", ids[0]); err != nil {
		t.Fatal(err)
	}
	waitBlobs(t, dir, 2)
	if err := e.DeleteObject(bg, "c", ids[1]); err != nil {
		t.Fatal(err)
	}
	waitBlobs(t, dir, 1)
	// An update that drops the content drops the reference.
	if _, err := e.Upsert(bg, "c", []Object{{Key: "b", Vectors: map[string][]float32{"v": {0, 1}}}}); err != nil {
		t.Fatal(err)
	}
	waitBlobs(t, dir, 0)
	// A write that fails after its originals were stored removes them
	// (the path Upsert takes when the store refuses the batch).
	kept := []Object{obj("x", pngBytes(t, 7), true)}
	recs := []store.Object{toRecord(&kept[0])}
	done, err := e.keepOriginals(kept, recs)
	if err != nil || recs[0].Blob == "" {
		t.Fatalf("keep: %q %v", recs[0].Blob, err)
	}
	waitBlobs(t, dir, 1)
	done(false)
	waitBlobs(t, dir, 0)
	// A sweep at start removes orphans a kill left.
	orphan := filepath.Join(dir, "blobs", "ab", "ab"+string(bytes.Repeat([]byte("0"), 62)))
	os.MkdirAll(filepath.Dir(orphan), 0o755)
	os.WriteFile(orphan, []byte("left by a kill"), 0o644)
	e.Close()
	e = openT(t, dir)
	waitBlobs(t, dir, 0)
	// Dropping a collection releases its originals.
	e.CreateCollection(bg, Collection{Name: "d", Spaces: []Space{{Name: "v", Dim: 2}}})
	if _, err := e.Upsert(bg, "d", []Object{obj("k", a, true)}); err != nil {
		t.Fatal(err)
	}
	waitBlobs(t, dir, 1)
	if err := e.DropCollection(bg, "d"); err != nil {
		t.Fatal(err)
	}
	waitBlobs(t, dir, 0)
}
