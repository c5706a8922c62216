package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"

	"rosetta/index"
	"rosetta/store"
)

// CreateCollection creates a collection and its empty indexes.
func (e *Engine) CreateCollection(ctx context.Context, c Collection) (Collection, error) {
	if err := e.notReady(); err != nil {
		return Collection{}, err
	}
	if err := e.fillModelSpaces(&c); err != nil {
		return Collection{}, err
	}
	if err := store.ValidateCollection(&c); err != nil {
		return Collection{}, err
	}
	idxs := make([]*index.HNSW, len(c.Spaces))
	for i, s := range c.Spaces {
		h, err := newIndex(s, c.Index)
		if err != nil {
			return Collection{}, fmt.Errorf("%w: space %q: %v", ErrInvalid, s.Name, err)
		}
		idxs[i] = h
	}
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	created, err := e.db.CreateCollection(c)
	if err != nil {
		return Collection{}, err
	}
	e.idx[created.Name] = idxs
	e.applied[created.Name] = 0
	return created, nil
}

// GetCollection returns a collection's schema and object count.
func (e *Engine) GetCollection(ctx context.Context, name string) (Collection, error) {
	return e.db.Collection(name)
}

// ListCollections lists every collection.
func (e *Engine) ListCollections(ctx context.Context) ([]Collection, error) {
	return e.db.Collections(), nil
}

// DropCollection deletes a collection, its objects, indexes and snapshots.
func (e *Engine) DropCollection(ctx context.Context, name string) error {
	if err := e.notReady(); err != nil {
		return err
	}
	meta, err := e.db.Collection(name)
	if err != nil {
		return err
	}
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	if err := e.db.DropCollection(name); err != nil {
		return err
	}
	delete(e.idx, name)
	delete(e.applied, name)
	for si := range meta.Spaces {
		os.Remove(e.snapPath(meta, si))
	}
	return nil
}

// Upsert writes objects (durably, in one synced batch) and indexes their
// vectors before returning their ids.
func (e *Engine) Upsert(ctx context.Context, coll string, objs []Object) ([]uint64, error) {
	if err := e.notReady(); err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return []uint64{}, nil
	}
	if len(objs) > MaxBatch {
		return nil, fmt.Errorf("%w: %d objects in one batch; the limit is %d", ErrInvalid, len(objs), MaxBatch)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	meta, err := e.db.Collection(coll)
	if err != nil {
		return nil, err
	}
	// Encode into a copy: the caller's objects stay as given.
	objs = append([]Object(nil), objs...)
	if err := e.encodeContent(ctx, meta, objs); err != nil {
		return nil, err
	}
	ids, err := e.db.Upsert(coll, objs)
	if err == nil {
		e.written.Add(uint64(len(ids)))
	}
	return ids, err
}

// GetObject returns an object with its vectors.
func (e *Engine) GetObject(ctx context.Context, coll string, id uint64) (Object, error) {
	if err := e.notReady(); err != nil {
		return Object{}, err
	}
	return e.db.Get(coll, id)
}

// DeleteObject removes an object; ErrNotFound when there was none.
func (e *Engine) DeleteObject(ctx context.Context, coll string, id uint64) error {
	if err := e.notReady(); err != nil {
		return err
	}
	n, err := e.db.Delete(coll, []uint64{id})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: object %d in %q", ErrNotFound, id, coll)
	}
	e.deleted.Add(1)
	return nil
}

// Search runs a k-NN query with an optional metadata filter.
func (e *Engine) Search(ctx context.Context, coll string, req SearchRequest) ([]Hit, error) {
	if err := e.notReady(); err != nil {
		return nil, err
	}
	meta, err := e.db.Collection(coll)
	if err != nil {
		return nil, err
	}
	si, err := spaceIndex(meta, req.Space)
	if err != nil {
		return nil, err
	}
	if req.K <= 0 || req.K > MaxK {
		return nil, fmt.Errorf("%w: k must be in 1..%d, got %d", ErrInvalid, MaxK, req.K)
	}
	if req.Ef != 0 && (req.Ef < req.K || req.Ef > index.MaxK) {
		return nil, fmt.Errorf("%w: ef must be 0 (default) or in k..%d, got %d", ErrInvalid, index.MaxK, req.Ef)
	}
	fields, err := checkFields(req.Fields)
	if err != nil {
		return nil, err
	}
	q, err := e.queryVector(ctx, meta, si, req.Query)
	if err != nil {
		return nil, err
	}
	flt, err := store.ParseFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	if req.Modality != "" {
		m := &store.Filter{Field: store.ModalityField, Eq: req.Modality}
		if flt == nil {
			flt = m
		} else {
			flt = &store.Filter{And: []*store.Filter{flt, m}}
		}
	}
	var matcher Matcher
	k := req.K
	if req.Rerank != nil {
		if matcher, err = e.rerankModel(req); err != nil {
			return nil, err
		}
		k = max(k, min(req.Rerank.Top, MaxRerank))
	}
	opts := index.SearchOptions{K: k, Ef: max(req.Ef, k*boolInt(req.Ef != 0))}
	if flt != nil {
		if opts.Allow, err = e.db.Eval(coll, flt); err != nil {
			return nil, err
		}
	}
	e.applyMu.RLock()
	idxs := e.idx[coll]
	e.applyMu.RUnlock()
	if idxs == nil {
		return nil, fmt.Errorf("%w: collection %q", ErrNotFound, coll)
	}
	e.searches.Add(1)
	res, err := idxs[si].Search(q, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	hits := make([]Hit, 0, len(res))
	for _, r := range res {
		h := Hit{ID: r.ID, Score: r.Score, Distance: r.Distance}
		if len(fields) > 0 {
			o, err := e.db.Get(coll, r.ID)
			if errors.Is(err, ErrNotFound) {
				continue // deleted since the index answered
			}
			if err != nil {
				return nil, err
			}
			h.Object = project(o, fields)
		}
		hits = append(hits, h)
	}
	if matcher != nil {
		if hits, err = e.rerank(ctx, coll, matcher, req, hits); err != nil {
			return nil, err
		}
	}
	if len(hits) > req.K {
		hits = hits[:req.K]
	}
	return hits, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func spaceIndex(meta Collection, name string) (int, error) {
	if name == "" {
		if len(meta.Spaces) == 1 {
			return 0, nil
		}
		return 0, fmt.Errorf("%w: collection %q has %d spaces; name one", ErrInvalid, meta.Name, len(meta.Spaces))
	}
	for i, s := range meta.Spaces {
		if s.Name == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: collection %q has no space %q", ErrInvalid, meta.Name, name)
}

func (e *Engine) queryVector(ctx context.Context, meta Collection, si int, q Query) ([]float32, error) {
	set := 0
	if q.Vector != nil {
		set++
	}
	if q.Object != nil {
		set++
	}
	if q.Text != "" {
		set++
	}
	if q.Image != nil {
		set++
	}
	if q.Audio != nil {
		set++
	}
	if set != 1 {
		return nil, fmt.Errorf("%w: a query needs exactly one of vector, object, text, image, audio (got %d)", ErrInvalid, set)
	}
	s := meta.Spaces[si]
	switch {
	case q.Vector != nil:
		if len(q.Vector) != s.Dim {
			return nil, fmt.Errorf("%w: space %q has dimension %d, the query vector has %d", ErrInvalid, s.Name, s.Dim, len(q.Vector))
		}
		for i, x := range q.Vector {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("%w: query component %d is %v", ErrInvalid, i, x)
			}
		}
		return q.Vector, nil
	case q.Object != nil:
		v, err := e.db.Vector(meta, si, *q.Object)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
	return e.encodeQuery(ctx, s, q)
}

var fieldNames = map[string]bool{"key": true, "modality": true, "source": true, "hash": true, "metadata": true, "text": true, "content": true, "vectors": true, "created": true, "updated": true}

func checkFields(fields []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, f := range fields {
		if f == "*" {
			for k := range fieldNames {
				out[k] = true
			}
			continue
		}
		if !fieldNames[f] {
			return nil, fmt.Errorf("%w: unknown field %q (want key, modality, source, hash, metadata, text, content, vectors, created, updated or *)", ErrInvalid, f)
		}
		out[f] = true
	}
	return out, nil
}

func project(o Object, f map[string]bool) *Object {
	p := &Object{ID: o.ID}
	if f["key"] {
		p.Key = o.Key
	}
	if f["modality"] {
		p.Modality = o.Modality
	}
	if f["source"] {
		p.Source = o.Source
	}
	if f["hash"] {
		p.Hash = o.Hash
	}
	if f["metadata"] {
		p.Metadata = o.Metadata
	}
	if f["text"] {
		p.Text = o.Text
	}
	if f["content"] {
		p.Content = o.Content
	}
	if f["vectors"] {
		p.Vectors = o.Vectors
	}
	if f["created"] {
		p.Created = o.Created
	}
	if f["updated"] {
		p.Updated = o.Updated
	}
	return p
}

// ScanObjects calls fn for every object of a collection (without
// vectors), in id order.
func (e *Engine) ScanObjects(ctx context.Context, coll string, fn func(Object) error) error {
	return e.db.ScanObjects(coll, func(o Object) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(o)
	})
}

// MaxList bounds one ListObjects page.
const MaxList = 1000

// ListObjects returns a page of objects (without vectors) with ids greater
// than after, in id order; an empty page means the end.
func (e *Engine) ListObjects(ctx context.Context, coll string, after uint64, limit int) ([]Object, error) {
	if err := e.notReady(); err != nil {
		return nil, err
	}
	if limit < 1 || limit > MaxList {
		return nil, fmt.Errorf("%w: limit must be in 1..%d, got %d", ErrInvalid, MaxList, limit)
	}
	return e.db.List(coll, after, limit)
}

// DeleteObjects removes objects in one synced batch and reports how many existed.
func (e *Engine) DeleteObjects(ctx context.Context, coll string, ids []uint64) (int, error) {
	if err := e.notReady(); err != nil {
		return 0, err
	}
	n, err := e.db.Delete(coll, ids)
	e.deleted.Add(uint64(n))
	return n, err
}

// Stats reports sizes for /metrics.
func (e *Engine) Stats() Stats {
	st := Stats{Objects: map[string]int{}, IndexNodes: map[string]int{},
		ObjectsWritten: e.written.Load(), ObjectsDeleted: e.deleted.Load(), Searches: e.searches.Load()}
	if m := e.db.Metrics(); m != nil {
		st.DiskBytes = m.DiskSpaceUsage()
		st.WALBytes = m.WAL.PhysicalSize
		st.MemtableBytes = m.MemTable.Size
		st.L0Files = m.Levels[0].TablesCount
		st.Compactions = m.Compact.Count
		st.ReadAmp = m.ReadAmp()
	}
	cs := e.db.Collections()
	st.Collections = len(cs)
	e.applyMu.RLock()
	defer e.applyMu.RUnlock()
	for _, c := range cs {
		st.Objects[c.Name] = c.Count
		for si, s := range c.Spaces {
			if idxs := e.idx[c.Name]; si < len(idxs) {
				st.IndexNodes[c.Name+"/"+s.Name] = idxs[si].Len()
			}
		}
	}
	return st
}

// Store exposes the underlying store (for metrics and tools).
func (e *Engine) Store() *store.DB { return e.db }
