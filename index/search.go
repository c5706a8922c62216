package index

import (
	"slices"

	"github.com/RoaringBitmap/roaring/v2/roaring64"

	"rosetta/kernels"
)

// greedy descends from layer from to layer to+1, moving to the closest
// neighbour until no neighbour is closer (ef = 1).
func (h *HNSW) greedy(q []float32, cur item, from, to int, evals *int) item {
	var buf [257]uint32
	for l := from; l > to; l-- {
		for changed := true; changed; {
			changed = false
			nb := h.neighbours(cur.id, l, buf[:0])
			for _, e := range nb {
				d := h.distQ(q, e)
				*evals++
				if d < cur.dist {
					cur = item{d, e}
					changed = true
				}
			}
		}
	}
	return cur
}

// searchLayer is Algorithm 2 of the paper on one layer: a best-first search
// from eps keeping the ef closest accepted nodes in s.res. Every node routes
// the search; only nodes for which accept returns true (nil accepts all)
// enter the results, so tombstones and filtered-out nodes keep the graph
// connected without being returned.
func (h *HNSW) searchLayer(q []float32, eps []item, ef, l int, s *searchScratch, accept func(uint32) bool, evals *int) {
	s.visited.reset(h.capacity())
	s.cand = s.cand[:0]
	s.res = s.res[:0]
	for _, ep := range eps {
		if s.visited.visit(ep.id) {
			continue
		}
		s.cand.push(ep)
		if accept == nil || accept(ep.id) {
			s.res.push(ep)
			if len(s.res) > ef {
				s.res.pop()
			}
		}
	}
	var buf [513]uint32
	for len(s.cand) > 0 {
		c := s.cand.pop()
		if len(s.res) >= ef && c.dist > s.res.top().dist {
			break
		}
		nb := h.neighbours(c.id, l, buf[:0])
		// Keep the unvisited neighbours and start loading the first cache
		// line of each before scoring any, so the misses overlap (as
		// hnswlib does); the hardware prefetcher streams the rest.
		m := 0
		for _, e := range nb {
			if !s.visited.visit(e) {
				nb[m] = e
				m++
				h.prefetch(e)
			}
		}
		for _, e := range nb[:m] {
			d := h.distQ(q, e)
			*evals++
			if len(s.res) < ef || d < s.res.top().dist {
				s.cand.push(item{d, e})
				if accept == nil || accept(e) {
					s.res.push(item{d, e})
					if len(s.res) > ef {
						s.res.pop()
					}
				}
			}
		}
	}
}

// Search implements Index.
func (h *HNSW) Search(q []float32, o SearchOptions) ([]Result, error) {
	ef, err := checkKEf(o.K, o.Ef, h.cfg.EfSearch)
	if err != nil {
		return nil, err
	}
	s := getScratch(0)
	defer putScratch(s)
	qv, err := h.rules().prepare(q, s.vec, false)
	if err != nil {
		return nil, err
	}
	s.vec = qv
	var stats SearchStats
	if o.Stats != nil {
		defer func() { *o.Stats = stats }()
	}

	// mu is held shared (readers only count themselves in) so that no grow
	// swaps the segment table mid-query; nothing else on this path takes a lock.
	h.mu.RLock()
	defer h.mu.RUnlock()
	// A quantised index ranks by codes and re-scores the best cands.
	quant := h.mode.quantised()
	cands := o.K
	if quant {
		cands = h.rescoreCount(o.K)
		ef = max(ef, cands)
	}
	qf := h.queryForm(qv, &s.qf)
	if o.Allow != nil {
		card := o.Allow.GetCardinality()
		if card == 0 {
			return []Result{}, nil
		}
		if h.preferExact(card, ef) {
			stats.Exact = true
			return h.exactScan(qv, qf, o.K, o.Allow, &stats)
		}
	}
	ep, top := h.entryPoint()
	if ep == noNode {
		return []Result{}, nil
	}
	accept := h.isLive
	if h.dead.Load() == 0 {
		// No tombstones: every reachable node is live (slots being inserted
		// are complete before they are linked, and free slots are unlinked).
		accept = nil
	}
	if o.Allow != nil {
		s.allow.build(o.Allow)
		allow := &s.allow
		accept = func(i uint32) bool { return h.isLive(i) && allow.has(h.extID(i)) }
	}
	live := h.Len()
	// At most this many results can exist: the live nodes, or fewer when an
	// allow-list is smaller (it may also name ids the index lacks).
	avail := live
	if o.Allow != nil {
		avail = int(min(uint64(live), o.Allow.GetCardinality()))
	}
	want := min(o.K, avail)
	cur := h.greedy(qf, item{h.distQ(qf, ep), ep}, top, 0, &stats.DistanceEvals)
	for {
		h.searchLayer(qf, []item{cur}, ef, 0, s, accept, &stats.DistanceEvals)
		if len(s.res) >= want || ef >= live {
			break
		}
		// Fewer than k passed the filter or tombstones within ef: widen.
		ef = min(ef*4, max(live, o.K))
		stats.Retries++
	}
	if len(s.res) < want {
		// The graph did not reach k accepted nodes even with ef >= live
		// (only possible if part of it is unreachable): scan exactly.
		stats.Exact = true
		return h.exactScan(qv, qf, o.K, o.Allow, &stats)
	}
	for len(s.res) > cands {
		s.res.pop()
	}
	items := sortedResults(&s.res, s.sel[:0])
	s.sel = items[:0]
	if quant {
		if items, stats.Rescored, err = h.rescore(qv, qf, items, o.K, s); err != nil {
			return nil, err
		}
	}
	out := make([]Result, len(items))
	for i, it := range items {
		out[i] = Result{ID: h.extID(it.id), Distance: it.dist, Score: h.cfg.Metric.Similarity(it.dist)}
	}
	return out, nil
}

// exactScanFactor sets the adaptive switch between an exact scan of an
// allow-list and a filtered graph traversal. A scan costs about one
// distance (plus an id lookup) per allowed id; the traversal must find ef
// allowed nodes among routing nodes, which costs roughly ef/selectivity
// distances and more as the filter tightens. Equating the two gives
// card² ≈ factor·ef·n. Measured with `rosetta bench ann --switch-sizes` on
// 100k × 512 clustered vectors at ef = 64 (bench/RESULTS.md): exact beats
// the graph at 5000 allowed ids (1275 vs 475 QPS) and loses at 7500 (802 vs
// 1237), a crossover near 6000 ≈ sqrt(5·64·100000).
const exactScanFactor = 5

// preferExact decides whether a filtered query scans its allow-list: always
// at or below ExactScanMax ids (0 disables the scan entirely, for
// measurement), otherwise by the adaptive rule above.
func (h *HNSW) preferExact(card uint64, ef int) bool {
	limit := h.exactScanMax.Load()
	if limit <= 0 {
		return false
	}
	if card <= uint64(limit) {
		return true
	}
	live := uint64(h.Len())
	return card*card <= exactScanFactor*uint64(ef)*live
}

// exactScan scores q against every live node in allow (or every live node
// when allow is nil): qv is the prepared query, qf its query form. A
// quantised index scans the codes and re-scores the best candidates. The
// caller holds mu shared; it takes no lock.
func (h *HNSW) exactScan(qv, qf []float32, k int, allow *roaring64.Bitmap, st *SearchStats) ([]Result, error) {
	res := h.scan(qf, k, allow, st)
	if !h.mode.quantised() {
		return toResults(h.cfg.Metric, res), nil
	}
	s := getScratch(0)
	defer putScratch(s)
	items := s.sel[:0]
	for _, c := range res {
		if slot, ok := h.ids.get(c.ID); ok {
			items = append(items, item{c.Dist, slot})
		}
	}
	s.sel = items[:0] // keep the grown buffer
	var err error
	items, st.Rescored, err = h.rescore(qv, qf, items, k, s)
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(items))
	for i, it := range items {
		out[i] = Result{ID: h.extID(it.id), Distance: it.dist, Score: h.cfg.Metric.Similarity(it.dist)}
	}
	return out, nil
}

// scan is exactScan's ranking by distQ: the k best (k re-scoring
// candidates for a quantised index), closest first.
func (h *HNSW) scan(q []float32, k int, allow *roaring64.Bitmap, st *SearchStats) []kernels.Candidate {
	evals := &st.DistanceEvals
	if h.mode.quantised() {
		k = h.rescoreCount(k)
	}
	top := kernels.NewTopK(k)
	if allow == nil {
		// Every published slot below next: state is stored live (under
		// idMu) only after the slot is written.
		n := h.next.Load()
		for s := uint32(0); s < n; s++ {
			if !h.isLive(s) {
				continue
			}
			if s+2 < n {
				h.prefetch(s + 2)
			}
			top.Push(h.extID(s), h.distQ(q, s))
			*evals++
		}
		// An id replaced during the scan can be met at both its slots.
		res := top.Sorted()
		seen := make(map[uint64]struct{}, len(res))
		out := res[:0]
		for _, c := range res {
			if _, dup := seen[c.ID]; !dup {
				seen[c.ID] = struct{}{}
				out = append(out, c)
			}
		}
		return out
	}
	var slots []uint32
	it := allow.Iterator()
	for it.HasNext() {
		if s, ok := h.ids.get(it.Next()); ok {
			slots = append(slots, s)
		}
	}
	// Visit the slots in address order and prefetch ahead: the allow-list's
	// order is the external ids', which says nothing about where the
	// vectors lie.
	slices.Sort(slots)
	for i, s := range slots {
		if i+2 < len(slots) {
			h.prefetch(slots[i+2])
		}
		if !h.isLive(s) {
			continue
		}
		top.Push(h.extID(s), h.distQ(q, s))
	}
	*evals += len(slots)
	return top.Sorted()
}
