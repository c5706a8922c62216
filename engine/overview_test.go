package engine

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

func TestCollectionStats(t *testing.T) {
	dir := t.TempDir()
	e := openT(t, dir)
	if _, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: 2}}}); err != nil {
		t.Fatal(err)
	}
	v := map[string][]float32{"v": {1, 0}}
	objs := []Object{
		{Key: "a", Modality: "image", Vectors: v},
		{Key: "b", Modality: "image", Vectors: v},
		{Key: "c", Modality: "text", Vectors: v},
		{Key: "d", Modality: "audio", Vectors: v},
		{Key: "d#t=0,10", Modality: "audio", Metadata: map[string]any{"parent": "d"}, Vectors: v},
		{Key: "e", Vectors: v},
	}
	ids, err := e.Upsert(bg, "c", objs)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteObject(bg, "c", ids[1]); err != nil {
		t.Fatal(err)
	}
	st, err := e.CollectionStats(bg, "c")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"image": 1, "text": 1, "audio": 2, "": 1}
	for k, n := range want {
		if st.Modalities[k] != n {
			t.Errorf("modality %q: %d, want %d (all %v)", k, st.Modalities[k], n, st.Modalities)
		}
	}
	if st.Count != 5 || st.Segments != 1 || st.LastSeq != 7 || st.AppliedSeq != 7 {
		t.Errorf("count %d segments %d last %d applied %d", st.Count, st.Segments, st.LastSeq, st.AppliedSeq)
	}
	if len(st.Spaces) != 1 || st.Spaces[0].Live != 5 || st.Spaces[0].Tombstones != 1 || st.Spaces[0].Slots != 6 ||
		st.Spaces[0].Storage != "float32" || st.Spaces[0].Snapshot != nil {
		t.Errorf("space stats %+v", st.Spaces)
	}
	if err := e.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if st, _ = e.CollectionStats(bg, "c"); st.Spaces[0].Snapshot == nil || st.Spaces[0].SnapshotBytes == 0 {
		t.Errorf("after a snapshot: %+v", st.Spaces[0])
	}
	if _, err := e.CollectionStats(bg, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown collection: %v", err)
	}
	e.Close()
}

func TestMediaRoots(t *testing.T) {
	dir := t.TempDir()
	e := openT(t, dir)
	if _, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: 2}}}); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "b", "photos"), filepath.Join(dir, "a")
	for _, d := range []string{a, b, a + "/", a} {
		if err := e.AddMediaRoot(bg, "c", d); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.AddMediaRoot(bg, "c", "relative/dir"); !errors.Is(err, ErrInvalid) {
		t.Errorf("relative root: %v", err)
	}
	if err := e.AddMediaRoot(bg, "nope", a); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown collection: %v", err)
	}
	e.Close()
	e = openT(t, dir) // durable
	roots, err := e.MediaRoots(bg, "c")
	if err != nil || !slices.Equal(roots, []string{b, a}) {
		t.Fatalf("roots %v %v", roots, err)
	}
	// Dropped with the collection, not inherited by a new one of that name.
	if err := e.DropCollection(bg, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: 2}}}); err != nil {
		t.Fatal(err)
	}
	if roots, _ := e.MediaRoots(bg, "c"); len(roots) != 0 {
		t.Errorf("roots survived the drop: %v", roots)
	}
	e.Close()
}
