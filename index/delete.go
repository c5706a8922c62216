package index

import (
	"context"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
)

// Delete implements Index. The node becomes a tombstone: it keeps routing
// searches but is never returned. Compaction unlinks tombstones later.
func (h *HNSW) Delete(id uint64) bool {
	h.mu.RLock()
	h.idMu.Lock()
	slot, ok := h.ids.get(id)
	if ok {
		h.ids.remove(id)
		h.tombstoneLocked(slot)
	}
	h.idMu.Unlock()
	h.mu.RUnlock()
	if ok {
		h.maybeCompact()
	}
	return ok
}

// maybeCompact starts a background compaction when tombstones pass the
// configured fraction of slots and none is running.
func (h *HNSW) maybeCompact() {
	if h.cfg.CompactRatio < 0 {
		return
	}
	h.idMu.Lock()
	dead := h.tombstones.GetCardinality()
	h.idMu.Unlock()
	slots := uint64(h.next.Load())
	if dead < 64 || float64(dead) < h.cfg.CompactRatio*float64(slots) {
		return
	}
	if !h.compactMu.TryLock() {
		return
	}
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		defer h.compactMu.Unlock()
		_, _ = h.compact(context.Background())
	}()
}

// CompactStats reports what a compaction did.
type CompactStats struct {
	Removed  int // tombstones unlinked and freed
	Repaired int // live node lists that lost a neighbour and were rebuilt
}

// Compact unlinks every tombstone now: each live node that linked to a
// tombstone gets its list rebuilt from its live neighbours and the live
// neighbours of the tombstones it linked to (two hops through chains of
// tombstones), pruned with the same heuristic as inserts; then the
// tombstones' slots are freed for reuse. It uses all CPUs.
//
// Searches, inserts and deletes keep running during the repair, which holds
// mu shared a chunk of nodes at a time and writes each list under its
// node's stripe lock. Only the final phase takes mu exclusively: it drops
// any link to a freed tombstone that is left (on nodes deleted or inserted
// during the repair), frees the slots and fixes the entry point, one pass
// over the lists with no distance computed. Tombstones that appear during
// a compaction are left for the next one. A snapshot (WriteTo) and a
// compaction wait for each other.
func (h *HNSW) Compact(ctx context.Context) (CompactStats, error) {
	h.compactMu.Lock()
	defer h.compactMu.Unlock()
	return h.compact(ctx)
}

// testHookRepair, when set, is called by a compaction worker between two
// nodes of its repair phase, with mu held shared and no stripe lock.
var testHookRepair atomic.Pointer[func()]

// compactChunk is how many slots a repair worker handles per hold of mu.
const compactChunk = 64

// bitset is a fixed set of slots.
type bitset []uint64

func newBitset(n uint32) bitset { return make(bitset, (uint64(n)+63)/64) }

func (b bitset) has(i uint32) bool {
	w := int(i / 64)
	return w < len(b) && b[w]&(1<<(i%64)) != 0
}

func (b bitset) add(i uint32) { b[i/64] |= 1 << (i % 64) }

// compact does the work of Compact; the caller holds compactMu.
func (h *HNSW) compact(ctx context.Context) (CompactStats, error) {
	var st CompactStats
	if err := ctx.Err(); err != nil {
		return st, err
	}
	h.idMu.Lock()
	deadSet := h.tombstones.Clone()
	n := h.next.Load()
	h.idMu.Unlock()
	if deadSet.IsEmpty() {
		return st, nil
	}
	// The tombstones to free: fixed for this run. Nothing else changes
	// them: they are never relinked as neighbours, and only a compaction
	// frees slots.
	dead := newBitset(n)
	for it := deadSet.Iterator(); it.HasNext(); {
		dead.add(it.Next())
	}
	workers := runtime.GOMAXPROCS(0)

	// Repair phase: every node live at the time its chunk is visited.
	var cursor atomic.Uint32
	var repaired atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := repairer{h: h, dead: dead, seen: make(map[uint32]struct{}), scr: new(searchScratch)}
			for {
				start := cursor.Add(compactChunk) - compactChunk
				if start >= n || ctx.Err() != nil {
					return
				}
				end := min(uint64(start)+compactChunk, uint64(n))
				h.mu.RLock()
				for u := start; uint64(u) < end; u++ {
					if hook := testHookRepair.Load(); hook != nil {
						(*hook)()
					}
					repaired.Add(int64(r.repair(u)))
				}
				h.mu.RUnlock()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		// Lists repaired so far are valid; tombstones stay linked and a
		// later compaction finishes the job.
		return st, err
	}
	st.Repaired = int(repaired.Load())

	// Exclusive phase: no insert, delete or search is in flight (each holds
	// mu shared for its whole run) and no snapshot (compactMu).
	h.mu.Lock()
	defer h.mu.Unlock()
	total := h.next.Load()
	cursor.Store(0)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				start := cursor.Add(4096) - 4096
				if start >= total {
					return
				}
				for i := start; uint64(i) < min(uint64(start)+4096, uint64(total)); i++ {
					if dead.has(i) || atomic.LoadUint32(h.statePtr(i)) == stateFree {
						continue
					}
					for l := 0; l <= h.level(i); l++ {
						h.dropLinks(i, l, dead)
					}
				}
			}
		}()
	}
	wg.Wait()

	h.idMu.Lock()
	for it := deadSet.Iterator(); it.HasNext(); {
		d := it.Next()
		h.setNeighbours(d, 0, nil)
		sg, o := h.slot(d)
		sg.upper[o] = nil
		sg.levels[o] = 0
		atomic.StoreUint32(&sg.state[o], stateFree)
		h.free.Add(d)
		st.Removed++
	}
	h.tombstones.AndNot(deadSet)
	h.dead.Store(int64(h.tombstones.GetCardinality()))
	h.idMu.Unlock()

	// A freed (or deleted) entry point is replaced by a live node of the
	// highest level.
	h.epMu.Lock()
	if e, _ := h.entryPoint(); e != noNode && !h.isLive(e) {
		ne, top := uint32(noNode), -1
		for i := uint32(0); i < total; i++ {
			if h.isLive(i) && h.level(i) > top {
				ne, top = i, h.level(i)
			}
		}
		h.setEntry(ne, top)
	}
	h.epMu.Unlock()
	return st, nil
}

// dropLinks removes node i's layer-l links to dead nodes. The caller holds
// mu exclusively.
func (h *HNSW) dropLinks(i uint32, l int, dead bitset) {
	ls := h.list(i, l)
	cnt := min(int(atomic.LoadUint32(&ls[0])), len(ls)-1)
	m := 0
	for j := 1; j <= cnt; j++ {
		if e := atomic.LoadUint32(&ls[j]); !dead.has(e) {
			atomic.StoreUint32(&ls[1+m], e)
			m++
		}
	}
	if m != cnt {
		atomic.StoreUint32(&ls[0], uint32(m))
	}
}

// repairer is one compaction worker's state.
type repairer struct {
	h             *HNSW
	dead          bitset
	nb, nb2, nb3  []uint32
	seen          map[uint32]struct{}
	cands, chosen []item
	scr           *searchScratch
	ubuf          []float32
}

// repair rebuilds every list of node u that links to a dead node and
// returns how many it rebuilt. The caller holds mu shared; each list is
// read and written under u's stripe lock, the only lock taken, so an
// insert's back-link to u is never lost nor undone. A node that is not
// live is left to the exclusive phase.
func (r *repairer) repair(u uint32) int {
	h := r.h
	if !h.isLive(u) {
		return 0
	}
	uv := h.load(u, &r.ubuf)
	done := 0
	for l := 0; l <= h.level(u); l++ {
		h.lockNode(u)
		r.nb = h.neighbours(u, l, r.nb[:0])
		if !slices.ContainsFunc(r.nb, r.dead.has) {
			h.unlockNode(u)
			continue
		}
		clear(r.seen)
		r.cands = r.cands[:0]
		add := func(e uint32) {
			if e == u || r.dead.has(e) {
				return
			}
			if _, ok := r.seen[e]; ok {
				return
			}
			r.seen[e] = struct{}{}
			r.cands = append(r.cands, item{h.distQ(uv, e), e})
		}
		for _, e := range r.nb {
			if !r.dead.has(e) {
				add(e)
				continue
			}
			r.nb2 = h.neighbours(e, l, r.nb2[:0])
			for _, f := range r.nb2 {
				if !r.dead.has(f) {
					add(f)
					continue
				}
				r.nb3 = h.neighbours(f, l, r.nb3[:0])
				for _, g := range r.nb3 {
					add(g)
				}
			}
		}
		sort.Slice(r.cands, func(a, b int) bool { return r.cands[a].dist < r.cands[b].dist })
		r.chosen = h.selectNeighbours(r.cands, h.maxLinks(l), r.chosen[:0], r.scr)
		ids := make([]uint32, len(r.chosen))
		for i, c := range r.chosen {
			ids[i] = c.id
		}
		h.setNeighbours(u, l, ids)
		h.unlockNode(u)
		done++
	}
	return done
}
