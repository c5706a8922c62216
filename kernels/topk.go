package kernels

import "sort"

// Candidate is an id with its distance to a query.
type Candidate struct {
	ID   uint64
	Dist float32
}

// TopK keeps the k candidates with the smallest distances seen so far, in a
// bounded max-heap: Push is O(log k) and rejects anything worse than the
// current k-th best once full. Ties keep the earlier candidate. A TopK is not
// safe for concurrent use.
type TopK struct {
	k int
	h []Candidate
}

// NewTopK returns a selector for the k best candidates. k <= 0 keeps none.
func NewTopK(k int) *TopK {
	if k < 0 {
		k = 0
	}
	return &TopK{k: k, h: make([]Candidate, 0, k)}
}

// Reset empties t and sets a new k, keeping its storage.
func (t *TopK) Reset(k int) {
	if k < 0 {
		k = 0
	}
	t.k = k
	t.h = t.h[:0]
}

// Len is the number of candidates held (at most k).
func (t *TopK) Len() int { return len(t.h) }

// Full reports whether k candidates are held.
func (t *TopK) Full() bool { return len(t.h) >= t.k }

// Worst returns the largest distance held; +Inf semantics are left to the
// caller: it is only meaningful when Len() > 0.
func (t *TopK) Worst() float32 { return t.h[0].Dist }

// Push offers a candidate and reports whether it was kept.
func (t *TopK) Push(id uint64, dist float32) bool {
	if t.k == 0 {
		return false
	}
	if len(t.h) < t.k {
		t.h = append(t.h, Candidate{id, dist})
		t.up(len(t.h) - 1)
		return true
	}
	if dist >= t.h[0].Dist {
		return false
	}
	t.h[0] = Candidate{id, dist}
	t.down(0)
	return true
}

// Sorted returns the held candidates in ascending distance (ties by id) in
// a new slice, and leaves t unchanged.
func (t *TopK) Sorted() []Candidate {
	out := make([]Candidate, len(t.h))
	copy(out, t.h)
	SortCandidates(out)
	return out
}

// SortCandidates sorts by ascending distance, then ascending id.
func SortCandidates(c []Candidate) {
	sort.Slice(c, func(i, j int) bool {
		if c[i].Dist != c[j].Dist {
			return c[i].Dist < c[j].Dist
		}
		return c[i].ID < c[j].ID
	})
}

func (t *TopK) up(i int) {
	h := t.h
	for i > 0 {
		p := (i - 1) / 2
		if h[p].Dist >= h[i].Dist {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (t *TopK) down(i int) {
	h := t.h
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h[r].Dist > h[l].Dist {
			m = r
		}
		if h[i].Dist >= h[m].Dist {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// Argmax returns the index of the first largest value, as torch.argmax
// does (greedy decoding picks its next token with it); -1 for an empty v.
func Argmax(v []float32) int {
	if len(v) == 0 {
		return -1
	}
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
