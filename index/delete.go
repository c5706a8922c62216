package index

import (
	"context"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
)

// Delete implements Index. The node becomes a tombstone: it keeps routing
// searches but is never returned. Compaction unlinks tombstones later.
func (h *HNSW) Delete(id uint64) bool {
	h.mu.RLock()
	h.idMu.Lock()
	slot, ok := h.ids[id]
	if ok {
		delete(h.ids, id)
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
	slots := uint64(h.next)
	h.idMu.Unlock()
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
// tombstones' slots are freed for reuse. It holds the index exclusively
// while it runs (searches and inserts wait) and uses all CPUs.
func (h *HNSW) Compact(ctx context.Context) (CompactStats, error) {
	h.compactMu.Lock()
	defer h.compactMu.Unlock()
	return h.compact(ctx)
}

func (h *HNSW) compact(ctx context.Context) (CompactStats, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var st CompactStats
	if err := ctx.Err(); err != nil {
		return st, err
	}
	n := h.next
	dead := h.tombstones.Clone()
	if dead.IsEmpty() {
		return st, nil
	}
	isDead := func(i uint32) bool { return atomic.LoadUint32(&h.state[i]) == stateDeleted }

	// Repair every live node that links to a tombstone, in parallel: each
	// worker writes only the lists of the nodes it owns and reads only its
	// own lists and the tombstones' (which nobody writes).
	var next atomic.Uint32
	var repaired atomic.Int64
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var nb, nb2, nb3 []uint32
			seen := make(map[uint32]struct{})
			var cands, chosen []item
			scr := new(searchScratch)
			var ubuf []float32
			for {
				u := next.Add(1) - 1
				if u >= n {
					return
				}
				if u%4096 == 0 && ctx.Err() != nil {
					return
				}
				if atomic.LoadUint32(&h.state[u]) != stateLive {
					continue
				}
				uv := h.load(u, &ubuf)
				for l := 0; l <= int(h.levels[u]); l++ {
					nb = h.neighbours(u, l, nb[:0])
					hasDead := false
					for _, e := range nb {
						if isDead(e) {
							hasDead = true
							break
						}
					}
					if !hasDead {
						continue
					}
					clear(seen)
					cands = cands[:0]
					add := func(e uint32) {
						if e == u || isDead(e) {
							return
						}
						if _, ok := seen[e]; ok {
							return
						}
						seen[e] = struct{}{}
						cands = append(cands, item{h.distQ(uv, e), e})
					}
					for _, e := range nb {
						if !isDead(e) {
							add(e)
							continue
						}
						nb2 = h.neighbours(e, l, nb2[:0])
						for _, f := range nb2 {
							if !isDead(f) {
								add(f)
								continue
							}
							nb3 = h.neighbours(f, l, nb3[:0])
							for _, g := range nb3 {
								add(g)
							}
						}
					}
					sort.Slice(cands, func(a, b int) bool { return cands[a].dist < cands[b].dist })
					chosen = h.selectNeighbours(cands, h.maxLinks(l), chosen[:0], scr)
					ids := make([]uint32, len(chosen))
					for i, c := range chosen {
						ids[i] = c.id
					}
					h.setNeighbours(u, l, ids)
					repaired.Add(1)
				}
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

	// Free the tombstones' slots.
	h.idMu.Lock()
	it := dead.Iterator()
	for it.HasNext() {
		d := it.Next()
		h.setNeighbours(d, 0, nil)
		h.upper[d] = nil
		h.levels[d] = 0
		atomic.StoreUint32(&h.state[d], stateFree)
		h.free.Add(d)
		st.Removed++
	}
	h.tombstones.AndNot(dead)
	h.dead.Store(int64(h.tombstones.GetCardinality()))
	h.idMu.Unlock()

	// A freed entry point is replaced by a live node of the highest level.
	h.epMu.Lock()
	if h.entry != noNode && atomic.LoadUint32(&h.state[h.entry]) != stateLive {
		h.entry, h.topLevel = noNode, -1
		for i := uint32(0); i < n; i++ {
			if atomic.LoadUint32(&h.state[i]) == stateLive && int(h.levels[i]) > h.topLevel {
				h.entry, h.topLevel = i, int(h.levels[i])
			}
		}
	}
	h.epMu.Unlock()
	return st, nil
}
