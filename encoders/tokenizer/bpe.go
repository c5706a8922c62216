package tokenizer

import "unicode/utf8"

// byteRunes is GPT-2/CLIP's bytes_to_unicode table: printable Latin-1 bytes
// ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves, the 68 others map in
// order to U+0100, U+0101, …, so that no byte maps to whitespace or a
// control character.
var byteRunes = func() (t [256]rune) {
	n := rune(0)
	for b := 0; b < 256; b++ {
		if printableByte(b) {
			t[b] = rune(b)
		} else {
			t[b] = 256 + n
			n++
		}
	}
	return t
}()

func printableByte(b int) bool {
	return (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)
}

// byteOrder lists the bytes in the order of bytes_to_unicode().values(),
// which is the order of the first 256 (and the next 256 "</w>") entries of
// the vocabulary SimpleTokenizer builds.
var byteOrder = func() (o [256]byte) {
	k := 0
	for b := 0; b < 256; b++ {
		if printableByte(b) {
			o[k] = byte(b)
			k++
		}
	}
	for b := 0; b < 256; b++ {
		if !printableByte(b) {
			o[k] = byte(b)
			k++
		}
	}
	return o
}()

// runeBytes inverts byteRunes: byte_decoder.
var runeBytes = func() map[rune]byte {
	m := make(map[rune]byte, 256)
	for b, r := range byteRunes {
		m[r] = byte(b)
	}
	return m
}()

// byteDecode maps a vocabulary token back to raw bytes (byte_decoder);
// characters outside the table (never in a CLIP vocabulary) keep their
// UTF-8 encoding.
func byteDecode(tok string) []byte {
	out := make([]byte, 0, len(tok))
	for _, r := range tok {
		if b, ok := runeBytes[r]; ok {
			out = append(out, b)
		} else {
			out = utf8.AppendRune(out, r)
		}
	}
	return out
}

// mergeInfo is the rank of a merge and the symbol it produces.
type mergeInfo struct {
	rank int32
	sym  int32
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// heapThreshold is the word length (in bytes) above which BPE uses the
// priority-queue algorithm instead of repeated linear scans.
const heapThreshold = 48

// bpe applies the merges to one pre-token (raw UTF-8 bytes) and returns its
// symbols. Symbols are vocabulary ids, or ids >= t.size for strings that
// merges produce but the vocabulary lacks.
//
// It reproduces SimpleTokenizer.bpe exactly: the word is the byte symbols
// with "</w>" fused to the last one; while some adjacent pair has a rank,
// take the lowest-ranked pair and merge all its occurrences in one
// left-to-right pass.
func (t *Tokenizer) bpe(word string, buf []int32) []int32 {
	n := len(word)
	syms := buf[:0]
	for i := 0; i < n-1; i++ {
		syms = append(syms, t.byteSym[word[i]])
	}
	syms = append(syms, t.byteEndSym[word[n-1]])
	if n == 1 {
		return syms
	}
	if n > heapThreshold {
		return t.bpeHeap(syms)
	}
	return t.bpeScan(syms)
}

func (t *Tokenizer) bpeScan(syms []int32) []int32 {
	for len(syms) > 1 {
		best := mergeInfo{rank: -1}
		at := -1
		for i := 0; i+1 < len(syms); i++ {
			if m, ok := t.merges[pairKey(syms[i], syms[i+1])]; ok && (at < 0 || m.rank < best.rank) {
				best, at = m, i
			}
		}
		if at < 0 {
			break
		}
		first, second := syms[at], syms[at+1]
		j := at
		for i := at; i < len(syms); {
			if i+1 < len(syms) && syms[i] == first && syms[i+1] == second {
				syms[j] = best.sym
				i += 2
			} else {
				syms[j] = syms[i]
				i++
			}
			j++
		}
		syms = syms[:j]
	}
	return syms
}

// heapItem is a candidate merge of the pair starting at node pos.
type heapItem struct {
	rank int32
	pos  int32
	a, b int32
}

func itemLess(x, y heapItem) bool {
	return x.rank < y.rank || (x.rank == y.rank && x.pos < y.pos)
}

type pairHeap []heapItem

func (h *pairHeap) push(it heapItem) {
	*h = append(*h, it)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !itemLess(s[i], s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *pairHeap) pop() heapItem {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && itemLess(s[r], s[l]) {
			m = r
		}
		if !itemLess(s[m], s[i]) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// bpeHeap gives the same result as bpeScan in O(n log n) for long words.
// Nodes keep their original positions in a linked list; a round pops every
// queued occurrence of the lowest-ranked live pair, in left-to-right order,
// merges those still valid (the overlap rule of the reference pass), and
// only then queues the pairs the merges created.
func (t *Tokenizer) bpeHeap(syms []int32) []int32 {
	n := len(syms)
	next := make([]int32, n)
	prev := make([]int32, n)
	for i := range n {
		next[i] = int32(i + 1)
		prev[i] = int32(i - 1)
	}
	next[n-1] = -1
	alive := make([]bool, n)
	for i := range alive {
		alive[i] = true
	}
	h := make(pairHeap, 0, n)
	for i := 0; i+1 < n; i++ {
		if m, ok := t.merges[pairKey(syms[i], syms[i+1])]; ok {
			h.push(heapItem{m.rank, int32(i), syms[i], syms[i+1]})
		}
	}
	valid := func(it heapItem) bool {
		p := it.pos
		if !alive[p] || syms[p] != it.a {
			return false
		}
		q := next[p]
		return q >= 0 && syms[q] == it.b
	}
	var changed []int32
	for len(h) > 0 {
		it := h.pop()
		if !valid(it) {
			continue
		}
		rank := it.rank
		m := t.merges[pairKey(it.a, it.b)]
		changed = changed[:0]
		for {
			if valid(it) {
				p := it.pos
				q := next[p]
				syms[p] = m.sym
				alive[q] = false
				next[p] = next[q]
				if next[q] >= 0 {
					prev[next[q]] = p
				}
				changed = append(changed, p)
			}
			if len(h) == 0 || h[0].rank != rank {
				break
			}
			it = h.pop()
		}
		for _, p := range changed {
			if !alive[p] {
				continue
			}
			if l := prev[p]; l >= 0 {
				if mm, ok := t.merges[pairKey(syms[l], syms[p])]; ok {
					h.push(heapItem{mm.rank, l, syms[l], syms[p]})
				}
			}
			if r := next[p]; r >= 0 {
				if mm, ok := t.merges[pairKey(syms[p], syms[r])]; ok {
					h.push(heapItem{mm.rank, p, syms[p], syms[r]})
				}
			}
		}
	}
	out := syms[:0]
	for p := int32(0); p >= 0; p = next[p] {
		out = append(out, syms[p])
	}
	return out
}
