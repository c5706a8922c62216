package index

import (
	"fmt"
	"sort"
	"sync/atomic"
)

// Add implements Index. Concurrent Adds proceed in parallel: each holds mu
// shared and locks one node's neighbour lists at a time. The Add that
// brings an int8 or rabitq index to its training size trains the
// quantiser.
func (h *HNSW) Add(id uint64, vec []float32) error {
	if err := h.add(id, vec); err != nil {
		return err
	}
	h.maybeTrain()
	return nil
}

func (h *HNSW) add(id uint64, vec []float32) error {
	v, err := h.rules().prepare(vec, nil, true) // the same rules as Check
	if err != nil {
		return err
	}
	// Reserve a slot, growing the storage if there is none.
	var slot uint32
	var level int
	for {
		h.mu.RLock()
		h.idMu.Lock()
		var ok bool
		slot, ok, err = h.allocSlot()
		if ok || err != nil {
			level = h.randomLevel()
		}
		need := int(h.next.Load()) + 1
		h.idMu.Unlock()
		if err != nil {
			h.mu.RUnlock()
			return err
		}
		if ok {
			break
		}
		h.mu.RUnlock()
		h.grow(need)
	}
	defer h.mu.RUnlock()

	// The slot (state free) is private until it is published, and it is
	// published before it is linked, so every node a search or snapshot
	// reaches is complete.
	h.store(slot, v)
	sg, o := h.slot(slot)
	sg.ext[o] = id
	sg.levels[o] = uint8(level)
	if level > 0 {
		sg.upper[o] = newUpper(level, h.maxUp+1)
	} else {
		sg.upper[o] = nil
	}
	h.setNeighbours(slot, 0, nil)

	h.idMu.Lock()
	if old, ok := h.ids.get(id); ok {
		h.tombstoneLocked(old)
	}
	h.publishLocked(id, slot)
	h.idMu.Unlock()

	h.link(slot, v, level)
	h.maybeCompact()
	return nil
}

// allocSlot takes a free slot or the next unused one. ok is false when the
// segments are full and must grow. The caller holds idMu and mu (shared).
func (h *HNSW) allocSlot() (slot uint32, ok bool, err error) {
	if !h.free.IsEmpty() {
		slot = h.free.Minimum()
		h.free.Remove(slot)
		return slot, true, nil
	}
	n := h.next.Load()
	if n >= noNode-1 { // the id table keeps slot+2 in 32 bits
		return 0, false, ErrTooMany
	}
	if int(n) >= h.capacity() {
		return 0, false, nil
	}
	// A fresh slot reads as free (not live) before next covers it, so that
	// a lock-free scan of 0..next never takes it for a published node.
	atomic.StoreUint32(h.statePtr(n), stateFree)
	h.next.Store(n + 1)
	return n, true, nil
}

// link connects a written, published node into every layer up to level.
// The caller holds mu shared.
func (h *HNSW) link(slot uint32, q []float32, level int) {
	h.epMu.Lock()
	ep, top := h.entryPoint()
	if ep == noNode {
		h.setEntry(slot, level)
		h.epMu.Unlock()
		return
	}
	raises := level > top
	if !raises {
		h.epMu.Unlock()
	}

	s := getScratch(h.capacity())
	defer putScratch(s)
	q = h.queryForm(q, &s.qf)
	var evals int
	cur := item{h.distQ(q, ep), ep}
	cur = h.greedy(q, cur, top, level, &evals)
	eps := append(s.sel[:0], cur)
	for l := min(level, top); l >= 0; l-- {
		h.searchLayer(q, eps, h.cfg.EfConstruction, l, s, h.isLive, &evals)
		cands := sortedResults(&s.res, eps[:0])
		chosen := h.selectNeighbours(cands, h.maxUp, nil, s)
		ids := make([]uint32, len(chosen))
		for i, c := range chosen {
			ids[i] = c.id
		}
		h.lockNode(slot)
		h.setNeighbours(slot, l, ids)
		h.unlockNode(slot)
		for _, c := range chosen {
			h.addLink(c.id, slot, c.dist, l)
		}
		if len(cands) > 0 {
			eps = cands
		} else {
			eps = append(eps[:0], cur)
		}
	}
	s.sel = eps[:0]

	if raises {
		h.setEntry(slot, level)
		h.epMu.Unlock()
	}
}

// sortedResults drains the result heap into buf in ascending distance.
func sortedResults(res *maxHeap, buf []item) []item {
	n := len(*res)
	if cap(buf) < n {
		buf = make([]item, n)
	}
	buf = buf[:n]
	for i := n - 1; i >= 0; i-- {
		buf[i] = res.pop()
	}
	return buf
}

// selectNeighbours is the heuristic of Malkov & Yashunin's Algorithm 4
// (without extending candidates or keeping pruned ones, as hnswlib does):
// walking candidates from the closest, keep one only if it is closer to the
// base than to every neighbour kept so far. This spreads links across
// directions and keeps clusters connected. cands must be sorted ascending.
func (h *HNSW) selectNeighbours(cands []item, m int, out []item, s *searchScratch) []item {
	out = out[:0]
	if len(cands) <= m {
		return append(out, cands...)
	}
	for _, c := range cands {
		if len(out) >= m {
			break
		}
		cv := h.load(c.id, &s.tmp)
		good := true
		for _, r := range out {
			if h.distQ(cv, r.id) < c.dist {
				good = false
				break
			}
		}
		if good {
			out = append(out, c)
		}
	}
	return out
}

// addLink adds a back-link from node e to node n at layer l, shrinking e's
// list with the heuristic when it is full.
func (h *HNSW) addLink(e, n uint32, d float32, l int) {
	h.lockNode(e)
	defer h.unlockNode(e)
	ls := h.list(e, l)
	cnt := int(atomic.LoadUint32(&ls[0]))
	for j := 1; j <= cnt; j++ {
		if ls[j] == n {
			return
		}
	}
	maxN := h.maxLinks(l)
	if cnt < maxN {
		atomic.StoreUint32(&ls[cnt+1], n)
		atomic.StoreUint32(&ls[0], uint32(cnt+1))
		return
	}
	s := scratchPool.Get().(*searchScratch)
	defer scratchPool.Put(s)
	ev := h.load(e, &s.tmp2)
	cands := make([]item, 0, cnt+1)
	cands = append(cands, item{d, n})
	for j := 1; j <= cnt; j++ {
		x := ls[j]
		cands = append(cands, item{h.distQ(ev, x), x})
	}
	sort.Slice(cands, func(a, b int) bool { return cands[a].dist < cands[b].dist })
	chosen := h.selectNeighbours(cands, maxN, make([]item, 0, maxN), s)
	ids := make([]uint32, len(chosen))
	for i, c := range chosen {
		ids[i] = c.id
	}
	h.setNeighbours(e, l, ids)
}

// publishLocked makes a written slot the live node of id. The caller holds
// idMu and mu shared, and has tombstoned any previous node of id.
func (h *HNSW) publishLocked(id uint64, slot uint32) {
	atomic.StoreUint32(h.statePtr(slot), stateLive)
	h.live.Add(slot)
	h.ids.set(id, slot)
	h.liveN.Add(1)
}

// tombstoneLocked marks the live slot deleted. The caller holds idMu and
// removes (or replaces) its id in ids.
func (h *HNSW) tombstoneLocked(slot uint32) {
	atomic.StoreUint32(h.statePtr(slot), stateDeleted)
	if h.live.CheckedRemove(slot) {
		h.liveN.Add(-1)
	}
	if h.tombstones.CheckedAdd(slot) {
		h.dead.Add(1)
	}
}

func (h *HNSW) String() string {
	return fmt.Sprintf("HNSW(dim=%d, metric=%v, M=%d, efC=%d, live=%d)", h.cfg.Dim, h.cfg.Metric, h.cfg.M, h.cfg.EfConstruction, h.Len())
}
