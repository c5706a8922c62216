package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/RoaringBitmap/roaring/v2/roaring64"

	"rosetta/index"
	"rosetta/store"
	"rosetta/textindex"
)

// Search runs a k-NN query with an optional metadata filter and returns
// the hits of the page it asks for (see SearchPage).
func (e *Engine) Search(ctx context.Context, name string, req SearchRequest) ([]Hit, error) {
	p, err := e.SearchPage(ctx, name, req)
	return p.Hits, err
}

// groupFetch is how many candidates per wanted hit a grouped search
// fetches, since several segments fold into one hit.
const groupFetch = 4

// SearchPage runs a k-NN query with an optional metadata filter. It takes
// no lock that a write holds while it is applied: a search sees every
// write acknowledged before it started.
//
// The index is searched once for the window offset+k with beam width ef
// (the request's, else the collection's default widened to the window).
// The traversal depends on ef alone — not on k or the offset — unless a
// filter is so tight that the index must widen its search, so pages of one
// query asked with the same ef slice one ranking, and every hit appears on
// exactly one page while nothing is written. Exclusions and the modality
// apply inside the index search (as an allow-list); min_score, grouping
// and re-ranking to the list it returns.
func (e *Engine) SearchPage(ctx context.Context, name string, req SearchRequest) (Page, error) {
	c, err := e.ready(name)
	if err != nil {
		return Page{}, err
	}
	si, flt, err := normalizeSearch(c, &req)
	if err != nil {
		return Page{}, err
	}
	fields, err := checkFields(req.Fields)
	if err != nil {
		return Page{}, err
	}
	var matcher Matcher
	if req.Rerank != nil {
		if matcher, err = e.rerankModel(ctx, req.Rerank.Model); err != nil {
			return Page{}, err
		}
	}
	if req.Modality != "" {
		m := &store.Filter{Field: store.ModalityField, Eq: req.Modality}
		if flt == nil {
			flt = m
		} else {
			flt = &store.Filter{And: []*store.Filter{flt, m}}
		}
	}
	window := req.Offset + req.K
	if req.Ef != 0 {
		window = min(window, req.Ef) // the last page of an ef window is short
	}
	if req.GroupBy != "" {
		window = min(window*groupFetch, MaxK)
	}
	if matcher != nil {
		window = max(window, req.Rerank.Top)
	}
	var allow *roaring64.Bitmap
	if flt != nil {
		if allow, err = e.db.Eval(name, flt); err != nil {
			return Page{}, err
		}
	}
	if len(req.Exclude) > 0 {
		if allow == nil {
			if allow, err = e.db.Live(name); err != nil {
				return Page{}, err
			}
		}
		for _, id := range req.Exclude {
			allow.Remove(id)
		}
	}
	// Each side fetches one more than it needs, to tell whether a next
	// page exists; in hybrid mode it fetches an oversampled list.
	fetch := window + 1
	if req.Mode == ModeHybrid {
		fetch = min(max(HybridOversample*window, HybridMinCandidates), MaxK) + 1
	}
	e.searches.Add(1)
	var vec, kw []candidate
	var kwQuery *textindex.Query
	ef := 0
	if req.Mode != ModeKeyword {
		q, err := e.queryVector(ctx, c, si, req.Query)
		if err != nil {
			return Page{}, err
		}
		h := c.indexes()[si]
		ef = req.Ef
		if ef == 0 {
			ef = min(max(h.Config().EfSearch, fetch), MaxEf)
		}
		res, err := h.Search(q, index.SearchOptions{K: min(fetch, ef), Ef: ef, Allow: allow})
		if err != nil {
			return Page{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		vec = fromIndex(res)
	}
	if req.Mode != ModeVector {
		text := req.Keyword
		if text == "" {
			text = req.Query.Text
		}
		if kw, kwQuery, err = keywordSearch(c.keyword(), text, req.Boost, fetch, allow); err != nil {
			return Page{}, err
		}
	}
	var res []candidate
	switch req.Mode {
	case ModeVector:
		res = vec
	case ModeKeyword:
		res = kw
	default:
		res = fuse(vec, kw, fusionOf(&req), c.meta.Spaces[si].Metric == "l2")
	}
	if req.MinScore != nil {
		n := 0
		for n < len(res) && res[n].Score >= *req.MinScore {
			n++
		}
		res = res[:n]
	}
	page := Page{Ef: ef, Mode: req.Mode}
	// Objects are read for the hits returned (and, to group or re-rank,
	// for the candidates those need).
	need := fields
	if req.GroupBy != "" && !need["metadata"] {
		need = cloneFields(need, "metadata", "key")
	}
	if req.GroupBy == "" && matcher == nil {
		if len(res) > window {
			page.NextOffset = &window
		}
		res = res[min(req.Offset, len(res)):min(window, len(res))]
	}
	hits := make([]Hit, 0, len(res))
	for _, r := range res {
		h := Hit{ID: r.ID, Score: r.Score, Distance: r.Distance, Vector: r.vec, Keyword: r.kw}
		if len(need) > 0 {
			o, err := e.db.Get(name, r.ID)
			if errors.Is(err, ErrNotFound) {
				continue // deleted since the index answered
			}
			if err != nil {
				return Page{}, err
			}
			p := project(fromRecord(o), need)
			h.Object = &p
		}
		hits = append(hits, h)
	}
	if matcher != nil {
		top := min(len(hits), max(req.Rerank.Top, req.K))
		scored, err := e.rerank(ctx, c, matcher, req, hits[:top])
		if err != nil {
			return Page{}, err
		}
		hits = append(scored, hits[top:]...)
	}
	if req.GroupBy != "" {
		if hits, err = e.groupByParent(name, hits, need, fields); err != nil {
			return Page{}, err
		}
	}
	if req.GroupBy != "" || matcher != nil {
		end := req.Offset + req.K
		if len(hits) > end {
			page.NextOffset = &end
		}
		hits = hits[min(req.Offset, len(hits)):min(end, len(hits))]
	}
	if !fields["metadata"] && req.GroupBy != "" {
		for i := range hits {
			strip(&hits[i], fields)
		}
	}
	if kwQuery != nil && !req.NoSnippets {
		if err := e.addSnippets(c, c.keyword(), kwQuery, hits); err != nil {
			return Page{}, err
		}
	}
	page.Hits = hits
	return page, nil
}

func cloneFields(f map[string]bool, add ...string) map[string]bool {
	out := make(map[string]bool, len(f)+len(add))
	for k, v := range f {
		out[k] = v
	}
	for _, k := range add {
		out[k] = true
	}
	return out
}

// strip projects a hit (and its segments) back to the fields asked for,
// after grouping read more.
func strip(h *Hit, fields map[string]bool) {
	if h.Object != nil {
		if len(fields) == 0 {
			h.Object = nil
		} else {
			p := project(*h.Object, fields)
			h.Object = &p
		}
	}
	for i := range h.Segments {
		strip(&h.Segments[i], fields)
	}
}

// groupByParent folds hits, in rank order, into one hit per parent: a
// segment (metadata "parent" naming its parent's key) joins its parent's
// group, any other object is its own group's parent. A group scores as
// its best member and carries up to MaxGroupSegments segments; its hit is
// the parent object (looked up by key) when it exists, else its best
// segment.
func (e *Engine) groupByParent(coll string, hits []Hit, need, fields map[string]bool) ([]Hit, error) {
	type group struct{ hit Hit }
	var order []string
	groups := map[string]*group{}
	for _, h := range hits {
		o := h.Object
		key, seg := "", false
		if o != nil {
			if p, ok := o.Metadata["parent"].(string); ok && p != "" {
				key, seg = p, true
			} else if o.Key != "" {
				key = o.Key
			}
		}
		if key == "" {
			key = fmt.Sprintf("\x00%d", h.ID)
		}
		g := groups[key]
		if g == nil {
			g = &group{}
			groups[key] = g
			order = append(order, key)
			if seg {
				// The parent may not be among the hits: find it by key.
				id, ok, err := e.db.IDOfKey(coll, key)
				if err != nil {
					return nil, err
				}
				g.hit = Hit{ID: h.ID, Score: h.Score, Distance: h.Distance, RerankScore: h.RerankScore, Object: o, Vector: h.Vector, Keyword: h.Keyword}
				if ok {
					po, err := e.db.Get(coll, id)
					if err == nil {
						p := project(fromRecord(po), need)
						g.hit = Hit{ID: id, Score: h.Score, Distance: h.Distance, RerankScore: h.RerankScore, Object: &p, Vector: h.Vector, Keyword: h.Keyword}
					}
				}
			} else {
				g.hit = h
			}
		}
		if seg && len(g.hit.Segments) < MaxGroupSegments {
			g.hit.Segments = append(g.hit.Segments, h)
		}
	}
	out := make([]Hit, len(order))
	for i, k := range order {
		out[i] = groups[k].hit
	}
	return out, nil
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
