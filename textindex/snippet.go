package textindex

import (
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

// Snippets returns, for each field of a document whose text matches the
// query, the window of about maxBytes (SnippetBytes when <= 0) holding
// the most matching terms, cut at token boundaries and marked "…" where
// text was left out. It needs no lock: it analyses the texts given.
func (ix *Index) Snippets(q *Query, fields []Field, maxBytes int) []Snippet {
	if maxBytes <= 0 {
		maxBytes = SnippetBytes
	}
	m := ix.newMatcher(q)
	var out []Snippet
	for _, f := range fields {
		toks := ix.an.tokens(f.Text)
		var hits []token
		for _, t := range toks {
			if m.match(f.Name, t.term) {
				hits = append(hits, t)
			}
		}
		if len(hits) == 0 {
			continue
		}
		out = append(out, Snippet{Field: f.Name, Parts: window(f.Text, hits, maxBytes)})
	}
	return out
}

// window picks the span of at most maxBytes with the most hits, widened
// to show context before the first, and splits it into parts.
func window(text string, hits []token, maxBytes int) []Part {
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
