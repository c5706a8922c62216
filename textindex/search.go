package textindex

import (
	"container/heap"
	"math"
	"sort"
	"strings"
	"sync"
)

// MaxExpansions bounds the indexed terms a prefix or fuzzy clause expands
// to, per field: the ones held by the most documents (then closest, for
// fuzzy; then in term order).
const MaxExpansions = 50

// Options tune a search.
type Options struct {
	K int // hits to return; <= 0 means 10
	// Boost multiplies a field's BM25 score (default 1); a metadata field
	// may be named without its "metadata." prefix.
	Boost map[string]float64
	// Allow, when set, admits only the documents it returns true for.
	Allow func(id uint64) bool
}

// Hit is one matching document and its BM25 score.
type Hit struct {
	ID    uint64
	Score float64
}

// scratch holds a search's per-slot accumulators.
type scratch struct {
	acc     []float64
	mask    []uint64 // clauses that matched, by bit
	pos     []uint64 // positive (Should or Must) clauses that matched
	touched []uint32
	best    []float64 // an expansion clause's best score per slot
	bestT   []uint32  // slots best holds
}

var scratchPool sync.Pool

func getScratch(n int) *scratch {
	s, _ := scratchPool.Get().(*scratch)
	if s == nil {
		s = &scratch{}
	}
	if len(s.acc) < n {
		s.acc = make([]float64, n+n/4)
		s.mask = make([]uint64, len(s.acc))
		s.pos = make([]uint64, len(s.acc))
		s.best = make([]float64, len(s.acc))
	}
	return s
}

func (s *scratch) release() {
	for _, t := range s.touched {
		s.acc[t], s.mask[t], s.pos[t] = 0, 0, 0
	}
	s.touched = s.touched[:0]
	scratchPool.Put(s)
}

func (s *scratch) hit(slot uint32, bit uint64, positive bool, score float64) {
	if s.mask[slot] == 0 {
		s.touched = append(s.touched, slot)
	}
	s.mask[slot] |= bit
	if positive {
		s.pos[slot] |= bit
		s.acc[slot] += score
	}
}

// scope resolves a clause's field to field numbers; the caller holds mu.
func (ix *Index) scope(field string) []uint16 {
	if field == "" {
		out := make([]uint16, len(ix.fields))
		for i := range out {
			out[i] = uint16(i)
		}
		return out
	}
	if n, ok := ix.fieldNum[field]; ok {
		return []uint16{n}
	}
	if n, ok := ix.fieldNum["metadata."+field]; ok {
		return []uint16{n}
	}
	return nil
}

func (ix *Index) boost(o *Options, f uint16) float64 {
	if o.Boost == nil {
		return 1
	}
	name := ix.fields[f]
	if b, ok := o.Boost[name]; ok {
		return b
	}
	if strings.HasPrefix(name, "metadata.") {
		if b, ok := o.Boost[strings.TrimPrefix(name, "metadata.")]; ok {
			return b
		}
	}
	return 1
}

// idf is Lucene's BM25 idf for a term held by df of a field's n documents.
func idf(n, df int64) float64 {
	return math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5))
}

// fieldNorm returns the BM25 length normaliser k1·(1−b+b·dl/avgdl) of a
// field for each slot.
func (ix *Index) fieldNorm(f uint16) func(slot uint32) float64 {
	avg := float64(ix.fieldTokens[f]) / float64(ix.fieldDocs[f])
	lens := ix.lens[f]
	return func(slot uint32) float64 { return K1 * (1 - B + B*float64(lens[slot])/avg) }
}

func (ix *Index) lookup(f uint16, term string) (*termData, bool) {
	t, ok := ix.dict[dictKey(f, term)]
	if !ok || ix.terms[t].df == 0 {
		return nil, false
	}
	return &ix.terms[t], true
}

// Search returns the documents matching q, best first (ties by id), with
// their BM25 scores: for each clause and field, Lucene's
// boost·idf·tf/(tf + k1·(1−b+b·dl/avgdl)) with the field's exact token
// counts, summed. A phrase scores with its frequency in the document and
// the sum of its terms' idf; a prefix or fuzzy clause scores, per field,
// as its best expansion.
func (ix *Index) Search(q *Query, o Options) ([]Hit, error) {
	k := o.K
	if k <= 0 {
		k = 10
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.nlive == 0 || len(q.Clauses) == 0 {
		return nil, nil
	}
	s := getScratch(len(ix.slotID))
	defer s.release()
	var must, mustNot uint64
	for ci, c := range q.Clauses {
		if !ix.hasTerms(c) {
			continue // only stop words: the clause is dropped, as in Lucene
		}
		bit := uint64(1) << ci
		switch c.Occur {
		case Must:
			must |= bit
		case MustNot:
			mustNot |= bit
		}
		ix.evalClause(s, &o, c, bit)
	}
	h := &hitHeap{}
	for _, slot := range s.touched {
		m := s.mask[slot]
		if m&must != must || m&mustNot != 0 || s.pos[slot] == 0 {
			continue
		}
		id := ix.slotID[slot]
		if o.Allow != nil && !o.Allow(id) {
			continue
		}
		hit := Hit{ID: id, Score: s.acc[slot]}
		if h.Len() < k {
			heap.Push(h, hit)
		} else if better(hit, (*h)[0]) {
			(*h)[0] = hit
			heap.Fix(h, 0)
		}
	}
	out := make([]Hit, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(Hit)
	}
	return out, nil
}

// better orders hits: higher score, then lower id.
func better(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.ID < b.ID
}

// hitHeap is a min-heap of the best hits so far (worst on top).
type hitHeap []Hit

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)        { *h = append(*h, x.(Hit)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (ix *Index) evalClause(s *scratch, o *Options, c Clause, bit uint64) {
	positive := c.Occur != MustNot
	for _, f := range ix.scope(c.Field) {
		if ix.fieldDocs[f] == 0 {
			continue
		}
		w := ix.boost(o, f)
		switch c.Kind {
		case Term:
			for _, term := range dedupe(ix.an.terms(c.Text)) {
				if td, ok := ix.lookup(f, term); ok {
					ix.scoreTerm(s, f, td, w, bit, positive)
				}
			}
		case Phrase:
			ix.scorePhrase(s, f, ix.an.tokens(c.Text), w, bit, positive)
		case Prefix, Fuzzy:
			exp := ix.expand(f, c)
			if len(exp) == 0 {
				continue
			}
			ix.scoreBest(s, f, exp, w, bit, positive)
		}
	}
}

func dedupe(ts []string) []string {
	out := ts[:0]
	seen := map[string]bool{}
	for _, t := range ts {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

func (ix *Index) scoreTerm(s *scratch, f uint16, td *termData, boost float64, bit uint64, positive bool) {
	w := boost * idf(ix.fieldDocs[f], int64(td.df))
	norm := ix.fieldNorm(f)
	for j, slot := range td.slots {
		if !ix.live[slot] {
			continue
		}
		tf := float64(td.tfs[j])
		s.hit(slot, bit, positive, w*tf/(tf+norm(slot)))
	}
}

// scoreBest scores an expansion clause: per slot, the best of its terms.
func (ix *Index) scoreBest(s *scratch, f uint16, exp []*termData, boost float64, bit uint64, positive bool) {
	norm := ix.fieldNorm(f)
	s.bestT = s.bestT[:0]
	for _, td := range exp {
		w := boost * idf(ix.fieldDocs[f], int64(td.df))
		for j, slot := range td.slots {
			if !ix.live[slot] {
				continue
			}
			tf := float64(td.tfs[j])
			sc := w * tf / (tf + norm(slot))
			if s.best[slot] == 0 {
				s.bestT = append(s.bestT, slot)
			}
			if sc > s.best[slot] {
				s.best[slot] = sc
			}
		}
	}
	for _, slot := range s.bestT {
		s.hit(slot, bit, positive, s.best[slot])
		s.best[slot] = 0
	}
}

// scorePhrase scores the documents holding the analysed tokens at the
// same relative positions as in the phrase.
func (ix *Index) scorePhrase(s *scratch, f uint16, toks []token, boost float64, bit uint64, positive bool) {
	if len(toks) == 0 {
		return
	}
	tds := make([]*termData, len(toks))
	rel := make([]uint32, len(toks))
	sumIdf := 0.0
	seen := map[string]bool{}
	for i, t := range toks {
		td, ok := ix.lookup(f, t.term)
		if !ok {
			return
		}
		tds[i], rel[i] = td, uint32(t.pos-toks[0].pos)
		if !seen[t.term] { // Lucene sums the idf of each distinct term
			seen[t.term] = true
			sumIdf += idf(ix.fieldDocs[f], int64(td.df))
		}
	}
	if len(toks) == 1 {
		ix.scoreTerm(s, f, tds[0], boost, bit, positive)
		return
	}
	// Walk the rarest term's postings; gallop to the slot in the others.
	lead := 0
	for i, td := range tds {
		if len(td.slots) < len(tds[lead].slots) {
			lead = i
		}
	}
	cursor := make([]int, len(tds))
	at := make([][]uint32, len(tds)) // each term's positions in the slot
	pc := make([]int, len(tds))      // per term: the next position to look at
	norm := ix.fieldNorm(f)
	w := boost * sumIdf
walk:
	for j, slot := range tds[lead].slots {
		if !ix.live[slot] {
			continue
		}
		for i, td := range tds {
			if i == lead {
				at[i] = td.pos[td.posAt[j] : td.posAt[j]+td.tfs[j]]
				continue
			}
			c := gallop(td.slots, cursor[i], slot)
			cursor[i] = c
			if c == len(td.slots) {
				break walk // no later slot holds every term
			}
			if td.slots[c] != slot {
				continue walk
			}
			at[i] = td.pos[td.posAt[c] : td.posAt[c]+td.tfs[c]]
		}
		// Count the phrase's occurrences: positions p of the first term
		// with every other term i at p+rel[i]; positions ascend, so one
		// forward pointer per term suffices.
		freq := 0
		clear(pc)
	next:
		for _, p := range at[0] {
			for i := 1; i < len(at); i++ {
				want := p + rel[i]
				x := pc[i]
				for x < len(at[i]) && at[i][x] < want {
					x++
				}
				pc[i] = x
				if x == len(at[i]) {
					break next
				}
				if at[i][x] != want {
					continue next
				}
			}
			freq++
		}
		if freq > 0 {
			tf := float64(freq)
			s.hit(slot, bit, positive, w*tf/(tf+norm(slot)))
		}
	}
}

// gallop returns the first index at or after c whose slot is at least
// target (len(slots) when none): an exponential then binary search, so
// that walking one list through another costs O(m log(n/m)).
func gallop(slots []uint32, c int, target uint32) int {
	if c >= len(slots) || slots[c] >= target {
		return c
	}
	lo, step := c, 1 // slots[lo] < target
	hi := lo + step
	for hi < len(slots) && slots[hi] < target {
		lo = hi
		step <<= 1
		hi = lo + step
	}
	hi = min(hi, len(slots)) // slots[hi] >= target, or hi is the end
	for hi-lo > 1 {
		m := int(uint(lo+hi) >> 1)
		if slots[m] < target {
			lo = m
		} else {
			hi = m
		}
	}
	return hi
}

// expand lists the terms of field f a prefix or fuzzy clause matches.
func (ix *Index) expand(f uint16, c Clause) []*termData {
	type cand struct {
		td   *termData
		dist int
	}
	var cands []cand
	switch c.Kind {
	case Prefix:
		p := strings.ToLower(c.Text)
		for i := range ix.terms {
			td := &ix.terms[i]
			if td.field == f && td.df > 0 && strings.HasPrefix(td.text, p) {
				cands = append(cands, cand{td, 0})
			}
		}
	case Fuzzy:
		word := strings.ToLower(c.Text)
		if ts := ix.an.terms(c.Text); len(ts) == 1 {
			word = ts[0]
		}
		wr := []rune(word)
		for i := range ix.terms {
			td := &ix.terms[i]
			if td.field != f || td.df == 0 {
				continue
			}
			if d := editDistance(wr, td.text, c.Fuzz); d <= c.Fuzz {
				cands = append(cands, cand{td, d})
			}
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.td.df != b.td.df {
			return a.td.df > b.td.df
		}
		if a.dist != b.dist {
			return a.dist < b.dist
		}
		return a.td.text < b.td.text
	})
	if len(cands) > MaxExpansions {
		cands = cands[:MaxExpansions]
	}
	out := make([]*termData, len(cands))
	for i, c := range cands {
		out[i] = c.td
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, or max+1 as
// soon as it must exceed max.
func editDistance(a []rune, bs string, max int) int {
	b := []rune(bs)
	if d := len(a) - len(b); d > max || -d > max {
		return max + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		low := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			low = min(low, cur[j])
		}
		if low > max {
			return max + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// hasTerms reports whether a term or phrase clause analyses to any term.
func (ix *Index) hasTerms(c Clause) bool {
	if c.Kind != Term && c.Kind != Phrase {
		return true
	}
	return len(ix.an.tokens(c.Text)) > 0
}
