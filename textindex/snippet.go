package textindex

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// SnippetBytes is the default length of a snippet's window of text.
const SnippetBytes = 200

// Part is a piece of a snippet: text that matched the query or not.
type Part struct {
	Text  string
	Match bool
}

// Snippet is a window of one field's text around the query's matches.
type Snippet struct {
	Field string
	Parts []Part
}

// matcher tells whether an analysed term of a field matches a query.
type matcher struct {
	ix      *Index
	clauses []Clause
	terms   [][]string // per clause: its analysed terms (Term, Phrase)
	runes   [][]rune   // per clause: the analysed fuzzy word
}

func (ix *Index) newMatcher(q *Query) *matcher {
	m := &matcher{ix: ix}
	for _, c := range q.Clauses {
		if c.Occur == MustNot {
			continue
		}
		m.clauses = append(m.clauses, c)
		var ts []string
		var rs []rune
		switch c.Kind {
		case Term, Phrase:
			ts = ix.an.terms(c.Text)
		case Fuzzy:
			w := strings.ToLower(c.Text)
			if a := ix.an.terms(c.Text); len(a) == 1 {
				w = a[0]
			}
			rs = []rune(w)
		}
		m.terms = append(m.terms, ts)
		m.runes = append(m.runes, rs)
	}
	return m
}

func (m *matcher) inScope(c Clause, field string) bool {
	return c.Field == "" || c.Field == field || "metadata."+c.Field == field
}

func (m *matcher) match(field, term string) bool {
	for i, c := range m.clauses {
		if !m.inScope(c, field) {
			continue
		}
		switch c.Kind {
		case Term, Phrase:
			for _, t := range m.terms[i] {
				if t == term {
					return true
				}
			}
		case Prefix:
			if strings.HasPrefix(term, strings.ToLower(c.Text)) {
				return true
			}
		case Fuzzy:
			if editDistance(m.runes[i], term, c.Fuzz) <= c.Fuzz {
				return true
			}
		}
	}
	return false
}

// Snippets returns, for each field of document id whose text matches the
// query, the window of about maxBytes (SnippetBytes when <= 0) holding
// the most matches, cut at word boundaries and marked "…" where text was
// left out. fields are the document's texts as they were indexed (a
// repeated name is a multi-valued field). A phrase is highlighted whole.
//
// The matches come from the byte offsets the postings keep, so no text is
// analysed again — except for prefix and fuzzy clauses, whose expansions
// are found by analysing the texts, and for a document the index does not
// hold (or whose texts do not fit its offsets: it changed since).
func (ix *Index) Snippets(id uint64, q *Query, fields []Field, maxBytes int) []Snippet {
	return ix.Highlighter(q).Snippets(id, fields, maxBytes)
}

// Highlighter makes the snippets of one query's hits; it analyses the
// query once. Not safe for concurrent use.
type Highlighter struct {
	ix        *Index
	q         *Query
	expanding bool         // a prefix or fuzzy clause: match by analysing
	cs        []clauseToks // the positive clauses, analysed
	m         *matcher     // for analysing texts, made when needed
}

type clauseToks struct {
	c    Clause
	toks []token
}

// Highlighter returns a highlighter for q's hits.
func (ix *Index) Highlighter(q *Query) *Highlighter {
	h := &Highlighter{ix: ix, q: q}
	for _, c := range q.Clauses {
		if c.Occur == MustNot {
			continue
		}
		if c.Kind == Prefix || c.Kind == Fuzzy {
			h.expanding = true
		}
		h.cs = append(h.cs, clauseToks{c, ix.an.tokens(c.Text)})
	}
	return h
}

// Snippets is Index.Snippets with the highlighter's query.
func (h *Highlighter) Snippets(id uint64, fields []Field, maxBytes int) []Snippet {
	ix, q := h.ix, h.q
	if maxBytes <= 0 {
		maxBytes = SnippetBytes
	}
	var names []string
	texts := map[string]string{}
	for _, f := range fields {
		if t, ok := texts[f.Name]; ok {
			texts[f.Name] = t + ValueSep + f.Text
		} else {
			names = append(names, f.Name)
			texts[f.Name] = f.Text
		}
	}
	var spans map[string][]span
	if !h.expanding {
		spans = ix.matchSpans(id, h.cs, names)
	}
	var out []Snippet
	for _, name := range names {
		text := texts[name]
		ss, ok := spans[name]
		if ok && !fits(text, ss) {
			ok = false
		}
		if !ok {
			if h.m == nil {
				h.m = ix.newMatcher(q)
			}
			ss = nil
			for _, t := range ix.an.tokens(text) {
				if h.m.match(name, t.term) {
					ss = append(ss, span{t.start, t.end})
				}
			}
		}
		if len(ss) == 0 {
			continue
		}
		out = append(out, Snippet{Field: name, Parts: window(text, ss, maxBytes)})
	}
	return out
}

// span is a byte range of a text.
type span struct{ start, end int }

// fits reports whether spans lie inside text on rune boundaries.
func fits(text string, ss []span) bool {
	for _, s := range ss {
		if s.start < 0 || s.end > len(text) || s.start >= s.end ||
			!utf8.RuneStart(text[s.start]) || (s.end < len(text) && !utf8.RuneStart(text[s.end])) {
			return false
		}
	}
	return true
}

// matchSpans finds, from the postings, where the query's term and phrase
// clauses match document id in each named field: sorted, overlaps merged.
// It returns nil when the index does not hold the document.
func (ix *Index) matchSpans(id uint64, cs []clauseToks, names []string) map[string][]span {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	slot, ok := ix.slotOf[id]
	if !ok {
		return nil
	}
	// at finds the term's occurrences in the slot.
	at := func(f uint16, term string) (pos, starts []uint32, lens []uint8, ok bool) {
		td, ok := ix.lookup(f, term)
		if !ok {
			return nil, nil, nil, false
		}
		j := gallop(td.slots, 0, slot)
		if j == len(td.slots) || td.slots[j] != slot {
			return nil, nil, nil, false
		}
		a, n := td.posAt[j], td.tfs[j]
		return td.pos[a : a+n], td.starts[a : a+n], td.lens[a : a+n], true
	}
	out := map[string][]span{}
	for _, name := range names {
		f, ok := ix.fieldNum[name]
		if !ok {
			out[name] = nil
			continue
		}
		var ss []span
		for _, ct := range cs {
			c := ct.c
			if (c.Field != "" && c.Field != name && "metadata."+c.Field != name) || len(ct.toks) == 0 {
				continue // another field, or only stop words
			}
			if c.Kind == Term || len(ct.toks) == 1 {
				for _, t := range ct.toks {
					if _, st, ln, ok := at(f, t.term); ok {
						for k := range st {
							ss = append(ss, span{int(st[k]), int(st[k]) + int(ln[k])})
						}
					}
				}
				continue
			}
			// A phrase: every place its first term is followed by the
			// others at their relative positions, highlighted from the
			// first term's start to the last's end.
			type occ struct {
				pos, starts []uint32
				lens        []uint8
			}
			os := make([]occ, len(ct.toks))
			found := true
			for i, t := range ct.toks {
				p, st, ln, ok := at(f, t.term)
				if !ok {
					found = false
					break
				}
				os[i] = occ{p, st, ln}
			}
			if !found {
				continue
			}
			last := len(ct.toks) - 1
		next:
			for k, p := range os[0].pos {
				end := 0
				for i := 1; i <= last; i++ {
					want := p + uint32(ct.toks[i].pos-ct.toks[0].pos)
					x := sort.Search(len(os[i].pos), func(y int) bool { return os[i].pos[y] >= want })
					if x == len(os[i].pos) || os[i].pos[x] != want {
						continue next
					}
					if i == last {
						end = int(os[i].starts[x]) + int(os[i].lens[x])
					}
				}
				ss = append(ss, span{int(os[0].starts[k]), end})
			}
		}
		out[name] = mergeSpans(ss)
	}
	return out
}

// mergeSpans sorts spans and merges the ones that overlap.
func mergeSpans(ss []span) []span {
	sort.Slice(ss, func(i, j int) bool { return ss[i].start < ss[j].start })
	out := ss[:0]
	for _, s := range ss {
		if n := len(out); n > 0 && s.start < out[n-1].end {
			out[n-1].end = max(out[n-1].end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

// window picks the span of at most maxBytes with the most hits, widened
// to show context before the first, and splits it into parts.
func window(text string, hits []span, maxBytes int) []Part {
	best, bestN := 0, 0
	for i := range hits {
		n := 0
		for j := i; j < len(hits) && hits[j].end-hits[i].start <= maxBytes; j++ {
			n++
		}
		if n > bestN {
			best, bestN = i, n
		}
	}
	first, last := hits[best], hits[best+bestN-1]
	span := last.end - first.start
	lead := max(0, min((maxBytes-span)/3, first.start))
	lo := wordStart(text, first.start-lead)
	hi := wordEnd(text, min(len(text), lo+maxBytes))
	hi = max(hi, last.end)
	var parts []Part
	if lo > 0 {
		parts = append(parts, Part{Text: "…"})
	}
	at := lo
	for _, h := range hits[best : best+bestN] {
		if h.start < at || h.end > hi {
			continue
		}
		if h.start > at {
			parts = appendText(parts, text[at:h.start], false)
		}
		parts = appendText(parts, text[h.start:h.end], true)
		at = h.end
	}
	if at < hi {
		parts = appendText(parts, text[at:hi], false)
	}
	if hi < len(text) {
		parts = appendText(parts, "…", false)
	}
	return parts
}

func appendText(parts []Part, s string, match bool) []Part {
	if n := len(parts); n > 0 && parts[n-1].Match == match {
		parts[n-1].Text += s
		return parts
	}
	return append(parts, Part{Text: s, Match: match})
}

// wordStart moves i back to the start of a word (after a space), on a
// rune boundary.
func wordStart(s string, i int) int {
	if i <= 0 {
		return 0
	}
	for j := i; j > 0 && i-j < 32; j-- {
		if s[j-1] == ' ' || s[j-1] == '\n' {
			return j
		}
	}
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}

// wordEnd moves i forward to the end of a word, on a rune boundary.
func wordEnd(s string, i int) int {
	if i >= len(s) {
		return len(s)
	}
	for j := i; j < len(s) && j-i < 32; j++ {
		if s[j] == ' ' || s[j] == '\n' {
			return j
		}
	}
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return i
}
