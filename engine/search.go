package engine

import (
	"context"
	"errors"
	"fmt"

	"rosetta/index"
	"rosetta/store"
)

// Search runs a k-NN query with an optional metadata filter. It takes no
// lock that a write holds while it is applied: a search sees every write
// acknowledged before it started.
func (e *Engine) Search(ctx context.Context, name string, req SearchRequest) ([]Hit, error) {
	c, err := e.ready(name)
	if err != nil {
		return nil, err
	}
	si, flt, err := normalizeSearch(c, &req)
	if err != nil {
		return nil, err
	}
	fields, err := checkFields(req.Fields)
	if err != nil {
		return nil, err
	}
	var matcher Matcher
	if req.Rerank != nil {
		if matcher, err = e.rerankModel(ctx, req.Rerank.Model); err != nil {
			return nil, err
		}
	}
	q, err := e.queryVector(ctx, c, si, req.Query)
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
	k := req.K
	if matcher != nil {
		k = max(k, req.Rerank.Top)
	}
	opts := index.SearchOptions{K: k}
	if req.Ef != 0 {
		opts.Ef = max(req.Ef, k)
	}
	if flt != nil {
		if opts.Allow, err = e.db.Eval(name, flt); err != nil {
			return nil, err
		}
	}
	e.searches.Add(1)
	res, err := c.indexes()[si].Search(q, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	hits := make([]Hit, 0, len(res))
	for _, r := range res {
		h := Hit{ID: r.ID, Score: r.Score, Distance: r.Distance}
		if len(fields) > 0 {
			o, err := e.db.Get(name, r.ID)
			if errors.Is(err, ErrNotFound) {
				continue // deleted since the index answered
			}
			if err != nil {
				return nil, err
			}
			p := project(fromRecord(o), fields)
			h.Object = &p
		}
		hits = append(hits, h)
	}
	if matcher != nil {
		if hits, err = e.rerank(ctx, c, matcher, req, hits); err != nil {
			return nil, err
		}
	}
	if len(hits) > req.K {
		hits = hits[:req.K]
	}
	return hits, nil
}

func (e *Engine) queryVector(ctx context.Context, c *coll, si int, q Query) ([]float32, error) {
	switch {
	case q.Vector != nil:
		return q.Vector, nil
	case q.Object != nil:
		v, err := e.db.Vector(c.smeta, si, *q.Object)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
	v, err := e.encodeQuery(ctx, c.meta.Spaces[si], q)
	if err != nil {
		return nil, err
	}
	if err := c.checkVector(c.meta.Spaces[si].Name, v); err != nil {
		return nil, fmt.Errorf("the model's query embedding: %w", err)
	}
	return v, nil
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
			return nil, fmt.Errorf("%w: unknown field %s (want key, modality, source, hash, metadata, text, content, vectors, created, updated or *)", ErrInvalid, quote(f))
		}
		out[f] = true
	}
	return out, nil
}

func project(o Object, f map[string]bool) Object {
	p := Object{ID: o.ID}
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
