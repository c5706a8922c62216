package engine

import (
	"context"
	"os"
	"time"

	"rosetta/store"
)

// Modalities an object may have; CollectionStats counts each.
var Modalities = []string{"image", "text", "audio"}

// CollectionStats is a collection's health, as the browser page's overview
// shows it.
type CollectionStats struct {
	Collection
	// Modalities counts live objects per modality ("image", "text",
	// "audio", and "" for objects written without one).
	Modalities map[string]int `json:"modalities"`
	// Segments counts audio windows (objects with a "parent" field); they
	// are included in Modalities["audio"].
	Segments int          `json:"segments"`
	Spaces   []SpaceStats `json:"space_stats"`
	// LastSeq is the collection's change counter: it grows with every
	// committed upsert or delete, so a client polling it sees ingest
	// progress.
	LastSeq uint64 `json:"last_seq"`
	// AppliedSeq is the last change the in-memory indexes reflect.
	AppliedSeq uint64 `json:"applied_seq"`
	// MediaRoots are the folders recorded by local ingest, whose files the
	// server may serve as media.
	MediaRoots []string `json:"media_roots"`
}

// SpaceStats describes one space's index.
type SpaceStats struct {
	Name       string `json:"name"`
	Live       int    `json:"live"`       // vectors searchable
	Slots      int    `json:"slots"`      // graph nodes, tombstones included
	Tombstones int    `json:"tombstones"` // deleted, awaiting compaction
	Storage    string `json:"storage"`
	// Snapshot is when the index was last written to disk (nil: never),
	// and SnapshotBytes that file's size.
	Snapshot      *time.Time `json:"snapshot,omitempty"`
	SnapshotBytes int64      `json:"snapshot_bytes,omitempty"`
}

// CollectionStats reports a collection's counts per modality, its indexes'
// health and its change counter.
func (e *Engine) CollectionStats(ctx context.Context, name string) (CollectionStats, error) {
	meta, err := e.db.Collection(name)
	if err != nil {
		return CollectionStats{}, err
	}
	st := CollectionStats{Collection: meta, Modalities: map[string]int{}}
	counted := 0
	for _, m := range Modalities {
		bm, err := e.db.Eval(name, &store.Filter{Field: store.ModalityField, Eq: m})
		if err != nil {
			return CollectionStats{}, err
		}
		if n := int(bm.GetCardinality()); n > 0 {
			st.Modalities[m] = n
			counted += n
		}
	}
	if rest := meta.Count - counted; rest > 0 {
		st.Modalities[""] = rest
	}
	yes := true
	if bm, err := e.db.Eval(name, &store.Filter{Field: "parent", Exists: &yes}); err == nil {
		st.Segments = int(bm.GetCardinality())
	}
	if st.LastSeq, err = e.db.LastSeq(name); err != nil {
		return CollectionStats{}, err
	}
	if st.MediaRoots, err = e.db.MediaRoots(name); err != nil {
		return CollectionStats{}, err
	}
	e.applyMu.RLock()
	idxs := e.idx[name]
	st.AppliedSeq = e.applied[name]
	for si, s := range meta.Spaces {
		ss := SpaceStats{Name: s.Name, Storage: meta.Index.Storage}
		if ss.Storage == "" {
			ss.Storage = "float32"
		}
		if si < len(idxs) {
			ss.Live = idxs[si].Len()
			ss.Slots = idxs[si].Slots()
			ss.Tombstones = int(idxs[si].Tombstones().GetCardinality())
		}
		st.Spaces = append(st.Spaces, ss)
	}
	e.applyMu.RUnlock()
	for si := range st.Spaces {
		if fi, err := os.Stat(e.snapPath(meta, si)); err == nil {
			t := fi.ModTime().UTC()
			st.Spaces[si].Snapshot, st.Spaces[si].SnapshotBytes = &t, fi.Size()
		}
	}
	return st, nil
}

// AddMediaRoot records a folder the collection's files were ingested from
// (see store.DB.AddMediaRoot).
func (e *Engine) AddMediaRoot(ctx context.Context, coll, dir string) error {
	return e.db.AddMediaRoot(coll, dir)
}

// MediaRoots lists the folders recorded by AddMediaRoot.
func (e *Engine) MediaRoots(ctx context.Context, coll string) ([]string, error) {
	return e.db.MediaRoots(coll)
}
