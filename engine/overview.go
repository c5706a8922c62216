package engine

import (
	"context"
	"os"
	"time"

	"rosetta/store"
)

// CollectionStats is a collection's health, as the browser page's overview
// shows it.
type CollectionStats struct {
	Collection
	// Modalities counts live objects per modality ("image", "text",
	// "audio", and "" for objects written without one).
	Modalities map[string]int
	// Segments counts audio windows (objects with a "parent" field); they
	// are included in Modalities["audio"].
	Segments int
	Spaces   []SpaceStats
	// Keyword describes the keyword index (nil without one).
	Keyword *KeywordStats
	// LastSeq is the collection's change counter: it grows with every
	// committed upsert or delete, so a client polling it sees ingest
	// progress.
	LastSeq uint64
	// AppliedSeq is the last change the in-memory indexes reflect.
	AppliedSeq uint64
	// MediaRoots are the folders recorded by local ingest, whose files the
	// server may serve as media.
	MediaRoots []string
	// State is "ready", "loading" or "failed" (Error says why).
	State string
	Error string
}

// SpaceStats describes one space's index.
type SpaceStats struct {
	Name       string
	Live       int // vectors searchable
	Slots      int // graph nodes, tombstones included
	Tombstones int // deleted, awaiting compaction
	Storage    string
	Skipped    int // stored vectors the index refused at load
	// Snapshot is when the index was last written to disk (nil: never),
	// and SnapshotBytes that file's size.
	Snapshot      *time.Time
	SnapshotBytes int64
}

// CollectionStats reports a collection's counts per modality, its indexes'
// health and its change counter. It works while the indexes load, and
// after they failed to (State and Error say so).
func (e *Engine) CollectionStats(ctx context.Context, name string) (CollectionStats, error) {
	c, err := e.coll(name)
	if err != nil {
		return CollectionStats{}, err
	}
	meta, err := e.GetCollection(ctx, name)
	if err != nil {
		return CollectionStats{}, err
	}
	st := CollectionStats{Collection: meta, Modalities: map[string]int{}}
	switch s, lerr := c.status(); s {
	case stateReady:
		st.State = "ready"
	case stateLoading:
		st.State = "loading"
	case stateFailed:
		st.State, st.Error = "failed", lerr.Error()
	}
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
	st.AppliedSeq = c.applied.Load()
	idxs := c.indexes()
	for si, s := range meta.Spaces {
		ss := SpaceStats{Name: s.Name, Storage: meta.Index.Storage, Skipped: int(c.skipped[si].Load())}
		if ss.Storage == "" {
			ss.Storage = "float32"
		}
		if si < len(idxs) {
			ss.Live = idxs[si].Len()
			ss.Slots = idxs[si].Slots()
			ss.Tombstones = int(idxs[si].Tombstones().GetCardinality())
		}
		if fi, err := os.Stat(e.snapPath(c, si)); err == nil {
			t := fi.ModTime().UTC()
			ss.Snapshot, ss.SnapshotBytes = &t, fi.Size()
		}
		st.Spaces = append(st.Spaces, ss)
	}
	if ks, ok := c.keywordStats(); ok {
		st.Keyword = &ks
	}
	return st, nil
}
