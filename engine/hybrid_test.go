package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFuse checks both fusion methods against orders and scores worked
// out by hand.
func TestFuse(t *testing.T) {
	vec := []candidate{{ID: 1, Score: 0.9}, {ID: 2, Score: 0.8}, {ID: 3, Score: 0.5}}
	kw := []candidate{{ID: 3, Score: 10, kw: &SideHit{1, 10}}, {ID: 1, Score: 6, kw: &SideHit{2, 6}}, {ID: 4, Score: 2, kw: &SideHit{3, 2}}}
	cases := []struct {
		f     Fusion
		order []uint64
		score []float64
	}{
		// RRF, k 60: 1: 1/61+1/62, 3: 1/63+1/61, 2: 1/62, 4: 1/63.
		{Fusion{Method: FusionRRF, K: 60}, []uint64{1, 3, 2, 4}, []float64{1.0/61 + 1.0/62, 1.0/63 + 1.0/61, 1.0 / 62, 1.0 / 63}},
		// relative score: vector normalised 1, 0.75, 0 (ids 1, 2, 3);
		// keyword 1, 0.5, 0 (ids 3, 1, 4).
		// alpha 0.75: 1: .75+.125, 2: .5625, 3: .25, 4: 0.
		{Fusion{Method: FusionRelativeScore, Alpha: 0.75}, []uint64{1, 2, 3, 4}, []float64{0.875, 0.5625, 0.25, 0}},
		// alpha 0.25: 3: .75, 1: .25+.375, 2: .1875, 4: 0.
		{Fusion{Method: FusionRelativeScore, Alpha: 0.25}, []uint64{3, 1, 2, 4}, []float64{0.75, 0.625, 0.1875, 0}},
		// alpha 1 is the vector list; alpha 0 the keyword list (id 2 last, at 0, before 4 by id).
		{Fusion{Method: FusionRelativeScore, Alpha: 1}, []uint64{1, 2, 3, 4}, []float64{1, 0.75, 0, 0}},
		{Fusion{Method: FusionRelativeScore, Alpha: 0}, []uint64{3, 1, 2, 4}, []float64{1, 0.5, 0, 0}},
	}
	for _, c := range cases {
		got := fuse(vec, kw, c.f, false)
		if len(got) != len(c.order) {
			t.Fatalf("%+v: %d hits", c.f, len(got))
		}
		for i, g := range got {
			if g.ID != c.order[i] || math.Abs(float64(g.Score)-c.score[i]) > 1e-6 {
				t.Fatalf("%+v: hit %d is %d (%.6f), want %d (%.6f)", c.f, i, g.ID, g.Score, c.order[i], c.score[i])
			}
		}
		// Each hit says where each side ranked it.
		for _, g := range got {
			switch g.ID {
			case 1:
				if g.vec == nil || g.vec.Rank != 1 || g.kw == nil || g.kw.Rank != 2 {
					t.Fatalf("id 1 sides: %+v %+v", g.vec, g.kw)
				}
			case 2:
				if g.vec == nil || g.vec.Rank != 2 || g.kw != nil {
					t.Fatalf("id 2 sides: %+v %+v", g.vec, g.kw)
				}
			case 4:
				if g.vec != nil || g.kw == nil || g.kw.Rank != 3 {
					t.Fatalf("id 4 sides: %+v %+v", g.vec, g.kw)
				}
			}
		}
	}
	// An l2 list is normalised by negated distance: the nearest is 1.
	l2 := []candidate{{ID: 7, Distance: 1}, {ID: 8, Distance: 3}}
	got := fuse(l2, nil, Fusion{Method: FusionRelativeScore, Alpha: 1}, true)
	if got[0].ID != 7 || got[0].Score != 1 || got[1].Score != 0 {
		t.Fatalf("l2 fusion: %+v", got)
	}
}

var fillerWords = strings.Fields("river stone market window garden letter winter summer copper silver engine harbor island forest candle mirror ladder bridge valley meadow")

func hybridCorpus(r *rand.Rand) []Object {
	var objs []Object
	for i := 0; i < 60; i++ {
		words := make([]string, 12)
		for j := range words {
			words[j] = fillerWords[r.IntN(len(fillerWords))]
		}
		objs = append(objs, Object{Key: fmt.Sprintf("f%d", i), Modality: "text",
			Metadata: map[string]any{"group": float64(i % 3), "title": "note " + words[0]},
			Content:  &Content{Text: strings.Join(words, " ")},
			Vectors:  map[string][]float32{"v": {float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64()), -3}}})
	}
	// Only the keyword side finds kw (its vector points away from the
	// query); only the vector side finds vec (no query word).
	objs = append(objs,
		Object{Key: "kw", Modality: "text", Metadata: map[string]any{"group": 1.0},
			Content: &Content{Text: "the zanzibar ledger of spices"}, Vectors: map[string][]float32{"v": {-1, 0, 0, 0}}},
		Object{Key: "vec", Modality: "text", Metadata: map[string]any{"group": 1.0},
			Content: &Content{Text: "plain words only"}, Vectors: map[string][]float32{"v": {1, 0.01, 0, 0}}},
		Object{Key: "kw2", Modality: "text", Metadata: map[string]any{"group": 2.0},
			Content: &Content{Text: "a second zanzibar record"}, Vectors: map[string][]float32{"v": {0, -1, 0, 0}}})
	return objs
}

func keyOf(t *testing.T, e *Engine, coll string, id uint64) string {
	t.Helper()
	o, err := e.GetObject(bg, coll, id)
	if err != nil {
		t.Fatal(err)
	}
	return o.Key
}

func TestHybridSearch(t *testing.T) {
	e := openT(t, t.TempDir())
	defer e.Close()
	if _, err := e.CreateCollection(bg, Collection{Name: "h", Spaces: []Space{{Name: "v", Dim: 4}}}); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	if _, err := e.Upsert(bg, "h", hybridCorpus(r)); err != nil {
		t.Fatal(err)
	}
	q := []float32{1, 0, 0, 0}
	find := func(req SearchRequest) (Page, map[string]Hit) {
		t.Helper()
		p, err := e.SearchPage(bg, "h", req)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]Hit{}
		for _, h := range p.Hits {
			m[keyOf(t, e, "h", h.ID)] = h
		}
		return p, m
	}
	// Default mode with a vector and keyword text: hybrid; each needle is
	// found by its own side only, and both make the top 5.
	p, m := find(SearchRequest{Query: Query{Vector: q}, Keyword: "zanzibar ledger", K: 5})
	if p.Mode != ModeHybrid || len(p.Hits) != 5 {
		t.Fatalf("mode %s, %d hits", p.Mode, len(p.Hits))
	}
	// (The vector side ranks every object here, the keyword answer last.)
	if h, ok := m["kw"]; !ok || h.Keyword == nil || h.Keyword.Rank != 1 || h.Vector == nil || h.Vector.Rank < 55 {
		t.Fatalf("keyword-only answer: %+v (in %v)", h, ok)
	}
	if h, ok := m["vec"]; !ok || h.Vector == nil || h.Vector.Rank != 1 || h.Keyword != nil {
		t.Fatalf("vector-only answer: %+v (in %v)", h, ok)
	}
	sn := m["kw"].Snippets
	if len(sn) != 1 || sn[0].Field != ContentField {
		t.Fatalf("snippets %+v", sn)
	}
	var marked []string
	for _, part := range sn[0].Parts {
		if part.Match {
			marked = append(marked, part.Text)
		}
	}
	if strings.Join(marked, ",") != "zanzibar,ledger" {
		t.Fatalf("highlighted %q in %+v", marked, sn[0].Parts)
	}
	// Keyword mode: BM25 scores, only documents with the words.
	p, _ = find(SearchRequest{Keyword: "zanzibar", K: 10})
	if p.Mode != ModeKeyword || len(p.Hits) != 2 || p.Hits[0].Score != p.Hits[0].Keyword.Score {
		t.Fatalf("keyword mode: %s %+v", p.Mode, p.Hits)
	}
	// Filters apply to both sides: group 2 holds kw2 but not kw or vec.
	flt := json.RawMessage(`{"field":"group","eq":2}`)
	p, m = find(SearchRequest{Query: Query{Vector: q}, Keyword: "zanzibar", K: 10, Filter: flt, Fields: []string{"metadata"}})
	if len(p.Hits) != 10 {
		t.Fatalf("filtered hybrid: %d hits, want exactly 10 (22 objects match)", len(p.Hits))
	}
	for k, h := range m {
		if h.Object.Metadata["group"] != 2.0 {
			t.Fatalf("filtered hybrid returned %s of group %v", k, h.Object.Metadata["group"])
		}
	}
	if h, ok := m["kw2"]; !ok || h.Keyword == nil {
		t.Fatalf("filtered keyword side lost kw2: %+v", h)
	}
	// Exactly k whenever k objects match, on every page.
	seen := map[uint64]bool{}
	for off := 0; off < 60; off += 7 {
		p, _ := find(SearchRequest{Query: Query{Vector: q}, Keyword: "zanzibar", K: 7, Offset: off})
		if len(p.Hits) != 7 {
			t.Fatalf("page at %d: %d hits", off, len(p.Hits))
		}
		for _, h := range p.Hits {
			if seen[h.ID] {
				t.Fatalf("id %d on two pages", h.ID)
			}
			seen[h.ID] = true
		}
	}
	// alpha 0 ranks by the keyword side, alpha 1 by the vector side.
	_, m = find(SearchRequest{Query: Query{Vector: q}, Keyword: "zanzibar", K: 1, Fusion: &Fusion{Method: FusionRelativeScore, Alpha: 0}})
	if _, ok := m["kw"]; !ok {
		t.Fatalf("alpha 0 top: %v", m)
	}
	_, m = find(SearchRequest{Query: Query{Vector: q}, Keyword: "zanzibar", K: 1, Fusion: &Fusion{Method: FusionRelativeScore, Alpha: 1}})
	if _, ok := m["vec"]; !ok {
		t.Fatalf("alpha 1 top: %v", m)
	}
	// Modality and group_by apply to the fused list.
	p, _ = find(SearchRequest{Query: Query{Vector: q}, Keyword: "zanzibar", K: 5, Modality: "image"})
	if len(p.Hits) != 0 {
		t.Fatalf("modality image: %d hits", len(p.Hits))
	}
	// group_by folds keyword hits into their parent, which keeps the side
	// that found it.
	if _, err := e.Upsert(bg, "h", []Object{
		{Key: "doc", Content: &Content{Text: "a parent document"}, Vectors: map[string][]float32{"v": {0, 0, 1, 0}}},
		{Key: "doc#1", Metadata: map[string]any{"parent": "doc"}, Content: &Content{Text: "quokka first part"}, Vectors: map[string][]float32{"v": {0, 0, 1, 0.1}}},
		{Key: "doc#2", Metadata: map[string]any{"parent": "doc"}, Content: &Content{Text: "quokka quokka second part"}, Vectors: map[string][]float32{"v": {0, 0, 1, 0.2}}},
	}); err != nil {
		t.Fatal(err)
	}
	p, m = find(SearchRequest{Keyword: "quokka", GroupBy: "parent", K: 5})
	if h, ok := m["doc"]; len(p.Hits) != 1 || !ok || len(h.Segments) != 2 || h.Keyword == nil || h.Keyword.Rank != 1 {
		t.Fatalf("grouped keyword hits: %+v", p.Hits)
	}
	// A text query on a space without a model is keyword search by
	// default, and a 422 in vector mode.
	if p, _ := find(SearchRequest{Query: Query{Text: "ledger"}}); p.Mode != ModeKeyword || len(p.Hits) != 1 {
		t.Fatalf("text query without a model: %s %d", p.Mode, len(p.Hits))
	}
	if _, err := e.SearchPage(bg, "h", SearchRequest{Query: Query{Text: "ledger"}, Mode: ModeVector}); err == nil {
		t.Fatal("vector mode text query without a model: no error")
	}
	for _, bad := range []SearchRequest{
		{Keyword: "\"unclosed"},
		{Keyword: "a", Mode: "fuzzy"},
		{Keyword: "a", Mode: ModeHybrid},                          // no vector side
		{Query: Query{Vector: q}, Fusion: &Fusion{Method: "rrf"}}, // fusion without hybrid
		{Query: Query{Vector: q}, Keyword: "a", Fusion: &Fusion{Method: "max"}},
		{Query: Query{Vector: q}, Keyword: "a", Fusion: &Fusion{Method: FusionRelativeScore, Alpha: 2}},
		{Keyword: "a", Boost: map[string]float64{"title": -1}},
	} {
		if _, err := e.SearchPage(bg, "h", bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// keywordResults runs fixed keyword queries and returns their hits.
func keywordResults(t *testing.T, e *Engine) map[string][]Hit {
	t.Helper()
	out := map[string][]Hit{}
	for _, q := range []string{"zanzibar", "river stone", `"zanzibar ledger"`, "bridg*", "meadw~1", "+winter -summer", "title:note"} {
		p, err := e.SearchPage(bg, "h", SearchRequest{Keyword: q, K: 100, Mode: ModeKeyword})
		if err != nil {
			t.Fatal(err)
		}
		for i := range p.Hits {
			p.Hits[i].Snippets = nil
		}
		out[q] = p.Hits
	}
	return out
}

func sameKeyword(t *testing.T, what string, a, b map[string][]Hit) {
	t.Helper()
	for q, ha := range a {
		hb := b[q]
		if len(ha) != len(hb) {
			t.Fatalf("%s: %s: %d hits, want %d", what, q, len(hb), len(ha))
		}
		for i := range ha {
			if ha[i].ID != hb[i].ID || ha[i].Score != hb[i].Score {
				t.Fatalf("%s: %s: hit %d is %d (%v), want %d (%v)", what, q, i, hb[i].ID, hb[i].Score, ha[i].ID, ha[i].Score)
			}
		}
	}
}

// TestKeywordIndexLifecycle: deletes and rewrites are exact, and a clean
// restart (snapshot), a crash (replay after the snapshot), a missing and
// a damaged snapshot (rebuild) all give identical scores.
func TestKeywordIndexLifecycle(t *testing.T) {
	dir := t.TempDir()
	e := openT(t, dir)
	if _, err := e.CreateCollection(bg, Collection{Name: "h", Spaces: []Space{{Name: "v", Dim: 4}}}); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	ids, err := e.Upsert(bg, "h", hybridCorpus(r))
	if err != nil {
		t.Fatal(err)
	}
	// A word only in a deleted document, and one only in a rewritten one.
	gone, _ := e.Upsert(bg, "h", []Object{
		{Key: "gone", Content: &Content{Text: "quixotic marmalade"}, Vectors: map[string][]float32{"v": {0, 0, 1, 0}}},
		{Key: "rewritten", Content: &Content{Text: "obsolete wording"}, Vectors: map[string][]float32{"v": {0, 0, 0, 1}}}})
	if err := e.DeleteObject(bg, "h", gone[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Upsert(bg, "h", []Object{{Key: "rewritten", Content: &Content{Text: "fresh wording"}, Vectors: map[string][]float32{"v": {0, 0, 0, 1}}}}); err != nil {
		t.Fatal(err)
	}
	e.DeleteObjects(bg, "h", ids[:10])
	gonePhrases := func(e *Engine, what string) {
		for _, q := range []string{"quixotic", "marmalade", "obsolete"} {
			p, err := e.SearchPage(bg, "h", SearchRequest{Keyword: q, Mode: ModeKeyword})
			if err != nil || len(p.Hits) != 0 {
				t.Fatalf("%s: %q matches %+v (%v) after its document went", what, q, p.Hits, err)
			}
		}
	}
	gonePhrases(e, "live")
	want := keywordResults(t, e)
	for q, hs := range want {
		if len(hs) == 0 {
			t.Fatalf("%s matches nothing: a useless case", q)
		}
	}
	e.Close() // snapshot
	snap := filepath.Join(dir, "index", "1-text.snap")
	if _, err := os.Stat(snap); err != nil {
		t.Fatal(err)
	}

	e = openT(t, dir)
	sameKeyword(t, "snapshot", want, keywordResults(t, e))
	gonePhrases(e, "snapshot")
	// Writes after the snapshot, then a crash: the replay applies them.
	more, _ := e.Upsert(bg, "h", []Object{{Key: "late", Content: &Content{Text: "a late zanzibar entry"}, Vectors: map[string][]float32{"v": {1, 1, 0, 0}}}})
	e.DeleteObjects(bg, "h", ids[10:15])
	want = keywordResults(t, e)
	if len(want["zanzibar"]) != 3 {
		t.Fatalf("zanzibar: %d hits after the late write", len(want["zanzibar"]))
	}
	crash(e)
	e = openT(t, dir)
	sameKeyword(t, "replay", want, keywordResults(t, e))
	e.Close()

	os.Remove(snap)
	e = openT(t, dir)
	sameKeyword(t, "rebuild (no snapshot)", want, keywordResults(t, e))
	e.Close()
	os.WriteFile(snap, []byte("RSTSNAP1 damaged"), 0o644)
	e = openT(t, dir)
	sameKeyword(t, "rebuild (damaged snapshot)", want, keywordResults(t, e))
	if err := e.RebuildCollection(bg, "h"); err != nil {
		t.Fatal(err)
	}
	sameKeyword(t, "RebuildCollection", want, keywordResults(t, e))
	gonePhrases(e, "rebuilt")
	_ = more
	// Stats and metrics see the index.
	st, err := e.CollectionStats(bg, "h")
	if err != nil || st.Keyword == nil || st.Keyword.Documents != st.Count || st.Keyword.Terms == 0 {
		t.Fatalf("stats %+v %v", st.Keyword, err)
	}
	if ks := e.Stats().Keyword["h"]; ks.Documents != st.Count {
		t.Fatalf("engine stats %+v", ks)
	}
	e.Close()
}

// TestKeywordSchema: metadata fields named by the schema are indexed (and
// only those), the language is checked, and the index can be disabled.
func TestKeywordSchema(t *testing.T) {
	e := openT(t, t.TempDir())
	defer e.Close()
	if _, err := e.CreateCollection(bg, Collection{Name: "bad", Spaces: []Space{{Name: "v", Dim: 2}}, Text: TextSchema{Language: "klingon"}}); err == nil {
		t.Fatal("unknown language accepted")
	}
	if _, err := e.CreateCollection(bg, Collection{Name: "s", Spaces: []Space{{Name: "v", Dim: 2}}, Text: TextSchema{Fields: []string{"artist"}, Language: "de"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateCollection(bg, Collection{Name: "off", Spaces: []Space{{Name: "v", Dim: 2}}, Text: TextSchema{Disabled: true}}); err != nil {
		t.Fatal(err)
	}
	o := Object{Key: "a", Metadata: map[string]any{"artist": []any{"Die Ärzte", "Häuser"}, "title": "Schrei nach Liebe"},
		Text: map[string]string{"caption": "Ein Konzert der Bands"}, Vectors: map[string][]float32{"v": {1, 0}}}
	for _, c := range []string{"s", "off"} {
		if _, err := e.Upsert(bg, c, []Object{o}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(q string) int {
		p, err := e.SearchPage(bg, "s", SearchRequest{Keyword: q, Mode: ModeKeyword})
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Hits)
	}
	if count("ärzte") != 1 || count("artist:haus") != 1 || count("text.caption:konzert") != 1 || count("band") != 1 {
		t.Fatal("schema fields, captions or German stemming not searchable")
	}
	if count("liebe") != 0 {
		t.Fatal("title indexed though the schema names only artist")
	}
	if _, err := e.SearchPage(bg, "off", SearchRequest{Keyword: "ärzte", Mode: ModeKeyword}); err == nil {
		t.Fatal("keyword search on a collection without a keyword index")
	}
	// Default mode there is vector.
	if p, err := e.SearchPage(bg, "off", SearchRequest{Query: Query{Vector: []float32{1, 0}}, Keyword: "ärzte"}); err != nil || p.Mode != ModeVector {
		t.Fatalf("default mode without a keyword index: %s %v", p.Mode, err)
	}
}

// TestKeywordSlotsCompacted: rewriting documents leaves dead slots, which
// a snapshot reclaims by reloading the index compacted, with the same
// scores, while writes made after the snapshot still count.
func TestKeywordSlotsCompacted(t *testing.T) {
	e := openT(t, t.TempDir())
	defer e.Close()
	if _, err := e.CreateCollection(bg, Collection{Name: "h", Spaces: []Space{{Name: "v", Dim: 4}}}); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(8, 9))
	docs := hybridCorpus(r)
	for round := 0; round < 40; round++ {
		if _, err := e.Upsert(bg, "h", docs); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := e.CollectionStats(bg, "h")
	if k := before.Keyword; k.Slots < 30*k.Documents {
		t.Fatalf("slots %d for %d documents: the rewrites left no dead slots", k.Slots, k.Documents)
	}
	want := keywordResults(t, e)
	if err := e.Snapshot(); err != nil {
		t.Fatal(err)
	}
	after, _ := e.CollectionStats(bg, "h")
	if k := after.Keyword; k.Slots != k.Documents || k.Documents != before.Keyword.Documents {
		t.Fatalf("after the snapshot: %d slots for %d documents (before %d)", k.Slots, k.Documents, before.Keyword.Documents)
	}
	sameKeyword(t, "compacted", want, keywordResults(t, e))
	// The compacted index takes writes.
	if _, err := e.Upsert(bg, "h", []Object{{Key: "new", Content: &Content{Text: "zanzibar again"}, Vectors: map[string][]float32{"v": {1, 0, 0, 1}}}}); err != nil {
		t.Fatal(err)
	}
	if p, err := e.SearchPage(bg, "h", SearchRequest{Keyword: "zanzibar", Mode: ModeKeyword}); err != nil || len(p.Hits) != 3 {
		t.Fatalf("after compaction and a write: %d hits %v", len(p.Hits), err)
	}
}
