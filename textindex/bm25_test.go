package textindex

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// licenseDocs are the paragraphs of the licence texts every Debian system
// ships (base-files): a few hundred real documents of legal English.
func licenseDocs(t testing.TB) [][]Field {
	t.Helper()
	var docs [][]Field
	for _, name := range []string{"Apache-2.0", "Artistic", "BSD", "CC0-1.0", "GFDL-1.3", "GPL-2", "GPL-3", "LGPL-2.1", "LGPL-3", "MPL-2.0"} {
		b, err := os.ReadFile(filepath.Join("/usr/share/common-licenses", name))
		if err != nil {
			t.Skipf("licence texts not here: %v", err)
		}
		for i, p := range strings.Split(string(b), "\n\n") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			words := strings.Fields(p)
			title := fmt.Sprintf("%s %d %s", name, i, strings.Join(words[:min(5, len(words))], " "))
			docs = append(docs, []Field{{"content", p}, {"metadata.title", title}})
		}
	}
	if len(docs) < 300 {
		t.Fatalf("only %d licence paragraphs", len(docs))
	}
	return docs
}

// bruteBM25 scores every document independently of the index: it keeps
// each document's analysed fields and computes Lucene's BM25 from scratch
// for each query.
type bruteBM25 struct {
	an   *analyzer
	docs map[uint64]map[string][]token
	// memo of one search: per field document count and total length,
	// per field and term the document frequency
	nf map[string][2]float64
	df map[string]float64
}

func newBrute(an *analyzer) *bruteBM25 {
	return &bruteBM25{an: an, docs: map[uint64]map[string][]token{}}
}

func (b *bruteBM25) put(id uint64, fields []Field) {
	m := map[string][]token{}
	for _, f := range fields {
		m[f.Name] = append(m[f.Name], b.an.tokens(f.Text)...)
	}
	for k, v := range m {
		if len(v) == 0 {
			delete(m, k)
		}
	}
	if len(m) == 0 {
		delete(b.docs, id)
		return
	}
	b.docs[id] = m
}

// freq counts the occurrences of a phrase (one term or more, with the
// relative positions it was analysed with) in a field's tokens.
func phraseFreq(toks []token, phrase []token) int {
	at := map[string]map[int]bool{}
	for _, t := range toks {
		if at[t.term] == nil {
			at[t.term] = map[int]bool{}
		}
		at[t.term][t.pos] = true
	}
	n := 0
	for _, t := range toks {
		if t.term != phrase[0].term {
			continue
		}
		ok := true
		for _, p := range phrase[1:] {
			if !at[p.term][t.pos+p.pos-phrase[0].pos] {
				ok = false
				break
			}
		}
		if ok {
			n++
		}
	}
	return n
}

// score is the BM25 of a phrase (or term) in one field of one document.
func (b *bruteBM25) score(id uint64, field string, phrase []token, boost float64) float64 {
	st, ok := b.nf[field]
	if !ok {
		for _, d := range b.docs {
			if toks, ok := d[field]; ok {
				st[0]++
				st[1] += float64(len(toks))
			}
		}
		b.nf[field] = st
	}
	n, total := st[0], st[1]
	idfSum := 0.0
	seen := map[string]bool{}
	for _, p := range phrase {
		if seen[p.term] {
			continue
		}
		seen[p.term] = true
		df, ok := b.df[field+"\x00"+p.term]
		if !ok {
			for _, d := range b.docs {
				if phraseFreq(d[field], []token{p}) > 0 {
					df++
				}
			}
			b.df[field+"\x00"+p.term] = df
		}
		if df == 0 {
			return 0
		}
		idfSum += math.Log(1 + (n-df+0.5)/(df+0.5))
	}
	toks := b.docs[id][field]
	tf := float64(phraseFreq(toks, phrase))
	if tf == 0 {
		return 0
	}
	avg := total / n
	return boost * idfSum * tf / (tf + 1.2*(1-0.75+0.75*float64(len(toks))/avg))
}

// search scores a query of Should clauses (terms and phrases, every field).
func (b *bruteBM25) search(q *Query, boost map[string]float64) map[uint64]float64 {
	b.nf, b.df = map[string][2]float64{}, map[string]float64{}
	out := map[uint64]float64{}
	for id, d := range b.docs {
		total, matched := 0.0, false
		for _, c := range q.Clauses {
			for field := range d {
				w := 1.0
				if v, ok := boost[field]; ok {
					w = v
				}
				toks := b.an.tokens(c.Text)
				if c.Kind == Phrase {
					if s := b.score(id, field, toks, w); s > 0 {
						total += s
						matched = true
					}
					continue
				}
				seen := map[string]bool{}
				for _, t := range toks {
					if seen[t.term] {
						continue
					}
					seen[t.term] = true
					if s := b.score(id, field, []token{t}, w); s > 0 {
						total += s
						matched = true
					}
				}
			}
		}
		if matched {
			out[id] = total
		}
	}
	return out
}

func checkScores(t *testing.T, ix *Index, b *bruteBM25, query string, boost map[string]float64) {
	t.Helper()
	checkBoosted(t, ix, b, query, boost, boost)
}

// checkBoosted compares the index's scores with ixBoost against the brute
// force's with boost.
func checkBoosted(t *testing.T, ix *Index, b *bruteBM25, query string, boost, ixBoost map[string]float64) {
	t.Helper()
	q, err := Parse(query)
	if err != nil {
		t.Fatal(err)
	}
	want := b.search(q, boost)
	hits, err := ix.Search(q, Options{K: len(b.docs) + 1, Boost: ixBoost})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != len(want) {
		t.Fatalf("%s: %d hits, brute force finds %d", query, len(hits), len(want))
	}
	for i, h := range hits {
		w, ok := want[h.ID]
		if !ok {
			t.Fatalf("%s: hit %d (doc %d) does not match by brute force", query, i, h.ID)
		}
		if math.Abs(h.Score-w) > 1e-5 {
			t.Fatalf("%s: doc %d scores %.9f, brute force %.9f", query, h.ID, h.Score, w)
		}
		if i > 0 && !better(hits[i-1], h) {
			t.Fatalf("%s: hits out of order at %d", query, i)
		}
	}
	if len(want) == 0 {
		t.Fatalf("%s matches nothing: a useless case", query)
	}
}

var bm25Queries = []string{
	"software", "warranty", "licensor", "distribute", "patent",
	"free software", "source code object", "modify copy distribute",
	`"free software"`, `"source code"`, `"without any warranty"`, `"the licensor"`,
	`"GNU General Public License" version`, `patent "covered work" copyright`,
}

// TestBM25MatchesBruteForce checks every score against an independent
// BM25 over the same analysis: single terms, several terms, phrases,
// with and without field boosts.
func TestBM25MatchesBruteForce(t *testing.T) {
	docs := licenseDocs(t)
	ix, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrute(ix.an)
	for i, d := range docs {
		ix.Put(uint64(i+1), d)
		b.put(uint64(i+1), d)
	}
	t.Logf("%d documents, %+v", len(docs), ix.Stats().Terms)
	for _, q := range bm25Queries {
		checkScores(t, ix, b, q, nil)
		checkScores(t, ix, b, q, map[string]float64{"metadata.title": 3, "content": 0.5})
	}
	// A metadata field may be boosted by its bare name.
	checkBoosted(t, ix, b, "licensor", map[string]float64{"metadata.title": 2.5}, map[string]float64{"title": 2.5})
}

// TestDeleteUpdateExact deletes and rewrites documents and checks that the
// scores equal the brute force over what is left, that a term only in a
// deleted or rewritten document never matches again, and that a snapshot
// reloads with identical scores.
func TestDeleteUpdateExact(t *testing.T) {
	docs := licenseDocs(t)
	ix, _ := New(Config{})
	b := newBrute(ix.an)
	for i, d := range docs {
		ix.Put(uint64(i+1), d)
		b.put(uint64(i+1), d)
	}
	// A term only one document holds.
	ix.Put(9001, []Field{{"content", "zyxwvutsr quibbleflux"}})
	b.put(9001, []Field{{"content", "zyxwvutsr quibbleflux"}})
	ix.Put(9002, []Field{{"content", "frobnicatorium"}})
	b.put(9002, []Field{{"content", "frobnicatorium"}})
	for _, q := range []string{"zyxwvutsr", "frobnicatorium"} {
		if hits := search(t, ix, q); len(hits) != 1 {
			t.Fatalf("%s: %d hits before the delete", q, len(hits))
		}
	}
	if !ix.Delete(9001) || ix.Delete(9001) {
		t.Fatal("Delete does not report what it held")
	}
	delete(b.docs, 9001)
	ix.Put(9002, []Field{{"content", "an ordinary software licence"}})
	b.put(9002, []Field{{"content", "an ordinary software licence"}})
	// Delete a third of the corpus and rewrite another third.
	for i := range docs {
		id := uint64(i + 1)
		switch i % 3 {
		case 0:
			ix.Delete(id)
			delete(b.docs, id)
		case 1:
			d := []Field{{"content", docs[(i+7)%len(docs)][0].Text}}
			ix.Put(id, d)
			b.put(id, d)
		}
	}
	for _, q := range []string{"zyxwvutsr", "quibbleflux", "frobnicatorium"} {
		if hits := search(t, ix, q); len(hits) != 0 {
			t.Fatalf("%s: matches %v after its document went", q, hits)
		}
	}
	for _, q := range bm25Queries {
		checkScores(t, ix, b, q, nil)
	}
	if ix.Len() != len(b.docs) {
		t.Fatalf("Len %d, want %d", ix.Len(), len(b.docs))
	}
	// Snapshot and reload: identical hits and scores.
	ix2 := reload(t, ix)
	for _, qs := range bm25Queries {
		q, _ := Parse(qs)
		a, _ := ix.Search(q, Options{K: 1000})
		c, _ := ix2.Search(q, Options{K: 1000})
		if len(a) != len(c) {
			t.Fatalf("%s: %d hits, %d after reload", qs, len(a), len(c))
		}
		for i := range a {
			if a[i] != c[i] {
				t.Fatalf("%s: hit %d is %+v, %+v after reload", qs, i, a[i], c[i])
			}
		}
		checkScores(t, ix2, b, qs, nil)
	}
}

func search(t *testing.T, ix *Index, query string) []Hit {
	t.Helper()
	q, err := Parse(query)
	if err != nil {
		t.Fatal(err)
	}
	hits, err := ix.Search(q, Options{K: 100})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func reload(t *testing.T, ix *Index) *Index {
	t.Helper()
	var buf strings.Builder
	n, err := ix.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo: %d %v", n, err)
	}
	ix2, err := Read(strings.NewReader(buf.String()), Config{Language: ix.Language()})
	if err != nil {
		t.Fatal(err)
	}
	return ix2
}
