package index

import "sync"

// visitedSet marks nodes seen during one search. Clearing is O(1): each
// search bumps the generation, and a node counts as visited only when its
// mark equals the current generation. The marks are cleared for real only
// when the generation counter wraps.
type visitedSet struct {
	gen   uint16
	marks []uint16
}

// reset prepares the set for a search over n node slots.
func (v *visitedSet) reset(n int) {
	if len(v.marks) < n {
		v.marks = make([]uint16, n+n/4+64)
		v.gen = 0
	}
	v.gen++
	if v.gen == 0 {
		clear(v.marks)
		v.gen = 1
	}
}

// visit marks id and reports whether it was already marked.
func (v *visitedSet) visit(id uint32) bool {
	if v.marks[id] == v.gen {
		return true
	}
	v.marks[id] = v.gen
	return false
}

// searchScratch bundles what one search allocates, pooled across searches.
type searchScratch struct {
	visited visitedSet
	cand    minHeap
	res     maxHeap
	sel     []item
	vec     []float32 // the prepared query
	tmp     []float32 // decoding buffer for neighbour selection (float16)
	tmp2    []float32 // decoding buffer for back-link pruning (float16)
	qf      []float32 // the query's form for distQ (int8)
	ex, ex2 []float32 // re-scoring buffers (vectors read from the store)
	allow   allowSet  // a filtered query's allow-list as a flat bitset
	best    []item    // rabitq re-scoring's k best
}

var scratchPool = sync.Pool{New: func() any { return new(searchScratch) }}

func getScratch(n int) *searchScratch {
	s := scratchPool.Get().(*searchScratch)
	s.visited.reset(n)
	s.cand = s.cand[:0]
	s.res = s.res[:0]
	return s
}

func putScratch(s *searchScratch) { scratchPool.Put(s) }
