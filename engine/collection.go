package engine

import (
	"fmt"
	"sync"
	"sync/atomic"

	"rosetta/index"
	"rosetta/store"
	"rosetta/textindex"
)

// Collection states.
const (
	stateLoading int32 = iota // indexes being loaded or rebuilt
	stateReady                // serving
	stateFailed               // loading failed: only drop and rebuild work
	stateDropped              // removed from the registry
)

// coll is the engine's view of one collection: its schema, its indexes
// and where they stand against the store's change log.
type coll struct {
	name  string
	meta  Collection       // schema; immutable
	smeta store.Collection // the store's copy (with the internal id)

	state atomic.Int32

	// applyMu serialises applying committed changes (onCommit, on the
	// store's committer goroutine) with the last step of a load or
	// rebuild, which replays the change log and publishes the indexes.
	// Searches never take it.
	applyMu sync.Mutex

	// idx holds the indexes, one per space; replaced whole on rebuild.
	idx atomic.Pointer[[]*index.HNSW]
	// text is the keyword index (nil when the schema disables it),
	// replaced with idx.
	text atomic.Pointer[textindex.Index]
	// applied is the change sequence the indexes reflect: every change
	// up to it is applied (later ones may be too).
	applied atomic.Uint64

	// skipped counts stored vectors an index refused while loading, per
	// space (logged, never a reason not to start).
	skipped []atomic.Int64

	errMu   sync.Mutex
	loadErr error // why the last load failed
}

func newColl(m store.Collection) *coll {
	c := &coll{name: m.Name, meta: fromStoreCollection(m), smeta: m, skipped: make([]atomic.Int64, len(m.Spaces))}
	c.state.Store(stateLoading)
	return c
}

// status returns the state and, for stateFailed, why.
func (c *coll) status() (int32, error) {
	st := c.state.Load()
	if st == stateFailed {
		c.errMu.Lock()
		defer c.errMu.Unlock()
		return st, c.loadErr
	}
	return st, nil
}

func (c *coll) fail(err error) {
	c.errMu.Lock()
	c.loadErr = err
	c.errMu.Unlock()
	c.state.Store(stateFailed)
}

// publish installs loaded indexes; the caller holds applyMu.
func (c *coll) publish(idxs []*index.HNSW, text *textindex.Index, seq uint64) {
	c.idx.Store(&idxs)
	c.text.Store(text)
	c.applied.Store(seq)
	c.errMu.Lock()
	c.loadErr = nil
	c.errMu.Unlock()
	c.state.Store(stateReady)
}

// indexes returns the current indexes (nil before the first load).
func (c *coll) indexes() []*index.HNSW {
	if p := c.idx.Load(); p != nil {
		return *p
	}
	return nil
}

// spaceIndex is the position of the named space, or -1.
func (c *coll) spaceIndex(name string) int {
	for i, s := range c.meta.Spaces {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// pickSpace resolves a request's space name ("" for a one-space collection).
func (c *coll) pickSpace(name string) (int, error) {
	if name == "" {
		if len(c.meta.Spaces) == 1 {
			return 0, nil
		}
		return 0, fmt.Errorf("%w: collection %q has %d spaces; name one", ErrInvalid, c.name, len(c.meta.Spaces))
	}
	if i := c.spaceIndex(name); i >= 0 {
		return i, nil
	}
	return 0, fmt.Errorf("%w: collection %q has no space %s", ErrInvalid, c.name, quote(name))
}
