package engine

import (
	"context"
	"fmt"
)

// GetCollection returns a collection's schema and object count. It works
// while the collection's indexes load, and after they failed to.
func (e *Engine) GetCollection(ctx context.Context, name string) (Collection, error) {
	c, err := e.coll(name)
	if err != nil {
		return Collection{}, err
	}
	m, err := e.db.Collection(name)
	if err != nil {
		return Collection{}, err
	}
	out := c.meta
	out.Count = m.Count
	return out, nil
}

// ListCollections lists every collection, sorted by name.
func (e *Engine) ListCollections(ctx context.Context) ([]Collection, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	var out []Collection
	for _, c := range e.collList() {
		if m, err := e.db.Collection(c.name); err == nil {
			cc := c.meta
			cc.Count = m.Count
			out = append(out, cc)
		}
	}
	return out, nil
}

// GetObject returns an object with its vectors.
func (e *Engine) GetObject(ctx context.Context, coll string, id uint64) (Object, error) {
	if _, err := e.coll(coll); err != nil {
		return Object{}, err
	}
	o, err := e.db.Get(coll, id)
	if err != nil {
		return Object{}, err
	}
	return fromRecord(o), nil
}

// ScanObjects calls fn for every object of a collection (without
// vectors), in id order.
func (e *Engine) ScanObjects(ctx context.Context, coll string, fn func(Object) error) error {
	if _, err := e.coll(coll); err != nil {
		return err
	}
	return e.db.ScanObjects(coll, func(o storeObject) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(fromRecord(o))
	})
}

// ListObjects returns a page of objects (without vectors) with ids greater
// than after, in id order; an empty page means the end.
func (e *Engine) ListObjects(ctx context.Context, coll string, after uint64, limit int) ([]Object, error) {
	if _, err := e.coll(coll); err != nil {
		return nil, err
	}
	if limit < 1 || limit > MaxList {
		return nil, fmt.Errorf("%w: limit must be in 1..%d, got %d", ErrInvalid, MaxList, limit)
	}
	recs, err := e.db.List(coll, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Object, len(recs))
	for i, r := range recs {
		out[i] = fromRecord(r)
	}
	return out, nil
}

// Stats reports sizes and counters for /metrics.
func (e *Engine) Stats() Stats {
	st := Stats{Objects: map[string]int{}, IndexNodes: map[string]int{}, SkippedVectors: map[string]int{},
		Keyword: map[string]KeywordStats{}, Lag: map[string]uint64{},
		ObjectsWritten: e.written.Load(), ObjectsDeleted: e.deleted.Load(), Searches: e.searches.Load(), Busy: e.busy.Load()}
	if m := e.db.Metrics(); m != nil {
		st.DiskBytes = m.DiskSpaceUsage()
		st.WALBytes = m.WAL.PhysicalSize
		st.MemtableBytes = m.MemTable.Size
		st.L0Files = m.Levels[0].TablesCount
		st.Compactions = m.Compact.Count
		st.ReadAmp = m.ReadAmp()
	}
	ev := e.db.Events()
	st.BackgroundErrors, st.WriteStalls, st.DiskFullRefusals = ev.BackgroundErrors, ev.WriteStalls, ev.DiskFullRefusals
	st.StoreHealthy = e.db.Health() == nil
	st.EncodeBatches = e.encodeBatchStats()
	cs := e.collList()
	st.Collections = len(cs)
	for _, c := range cs {
		if m, err := e.db.Collection(c.name); err == nil {
			st.Objects[c.name] = m.Count
		}
		idxs := c.indexes()
		for si, s := range c.meta.Spaces {
			key := c.name + "/" + s.Name
			if si < len(idxs) {
				st.IndexNodes[key] = idxs[si].Len()
			}
			if n := c.skipped[si].Load(); n > 0 {
				st.SkippedVectors[key] = int(n)
			}
		}
		if ks, ok := c.keywordStats(); ok {
			st.Keyword[c.name] = ks
		}
		if last, err := e.db.LastSeq(c.name); err == nil {
			st.Lag[c.name] = last - min(last, c.applied.Load())
		}
	}
	return st
}
