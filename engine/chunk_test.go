package engine

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"rosetta/encoders/clip"
)

// sentence makes a deterministic sentence of n distinct words.
func sentence(i, n int) string {
	w := make([]string, n)
	for j := range w {
		w[j] = fmt.Sprintf("w%dx%d", i, j)
	}
	return strings.Join(w, " ") + "."
}

func TestChunkTextCoversAndFits(t *testing.T) {
	limit := 12 // "tokens" = words here
	fits := func(s string) bool { return len(strings.Fields(s)) <= limit }
	var b strings.Builder
	for i := 0; i < 40; i++ {
		b.WriteString(sentence(i, 1+i%9))
		if i%7 == 6 {
			b.WriteString("\n\n")
		} else {
			b.WriteString(" ")
		}
	}
	b.WriteString(strings.Repeat("x", 100)) // a "word" longer than any window
	text := b.String()
	chunks := chunkText(text, func(s string) bool { return fits(s) && utf8.RuneCountInString(s) <= 80 })
	covered := make([]bool, len(text))
	prevEnd := 0
	for _, c := range chunks {
		if !fits(text[c.start:c.end]) {
			t.Fatalf("chunk %q does not fit", text[c.start:c.end])
		}
		if c.start > prevEnd && strings.TrimSpace(text[prevEnd:c.start]) != "" {
			t.Fatalf("gap %q before chunk at %d", text[prevEnd:c.start], c.start)
		}
		for k := c.start; k < c.end; k++ {
			covered[k] = true
		}
		prevEnd = max(prevEnd, c.end)
	}
	for k, ok := range covered {
		if !ok && !isSpaceAt(text, k) {
			t.Fatalf("byte %d (%q) is in no chunk", k, text[k])
		}
	}
	// Sentences are kept whole where they fit: some chunk starts at each
	// sentence that begins a chunk's successor, and consecutive chunks
	// overlap somewhere.
	overlaps := 0
	for i := 1; i < len(chunks); i++ {
		if chunks[i].start < chunks[i-1].end {
			overlaps++
		}
	}
	if overlaps == 0 {
		t.Error("no chunk overlaps its predecessor")
	}
}

// TestLongTextChunked: a long text ingested with the fixture CLIP becomes
// chunk objects within the 77-token window, with character ranges; a
// query for a sentence from the middle returns its chunk and range;
// group_by folds the chunks into the document; re-writing a shorter
// document removes the chunks it no longer has.
func TestLongTextChunked(t *testing.T) {
	modelDir := tinyCLIP(t)
	enc, err := clip.Open(modelDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := Open(Options{Dir: t.TempDir(), SnapshotEvery: -1, LoadModel: func(string) (Encoder, error) { return enc, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.WaitReady(bg)
	if _, err := e.CreateCollection(bg, Collection{Name: "docs", Spaces: []Space{{Name: "t", Model: "clip"}}}); err != nil {
		t.Fatal(err)
	}
	// Sentences of about 50 tokens each: two never fit one window, so
	// each chunk is one sentence.
	var sents []string
	for i := 0; i < 30; i++ {
		sents = append(sents, sentence(i, 14))
	}
	doc := strings.Join(sents, " ")
	if n := enc.CountTokens(sents[0]); n > 77 || 2*n <= 77 {
		t.Fatalf("a sentence takes %d tokens; the test wants 39..77", n)
	}
	ids, err := e.Upsert(bg, "docs", []Object{{Key: "/notes/long.txt", Content: &Content{Text: doc}}})
	if err != nil || len(ids) != 1 {
		t.Fatalf("%v %v", ids, err)
	}
	st, _ := e.GetCollection(bg, "docs")
	if st.Count != 1+len(sents) {
		t.Fatalf("%d objects, want the document and %d chunks", st.Count, len(sents))
	}
	mid := 17
	startChar := utf8.RuneCountInString(strings.Join(sents[:mid], " ") + " ")
	hits, err := e.Search(bg, "docs", SearchRequest{Query: Query{Text: sents[mid]}, Mode: ModeVector, K: 3, Fields: []string{"key", "metadata", "content"}})
	if err != nil {
		t.Fatal(err)
	}
	top := hits[0].Object
	if top.Key != chunkKey("/notes/long.txt", startChar, startChar+utf8.RuneCountInString(sents[mid])) ||
		top.Metadata["chunk_start"] != float64(startChar) || top.Content.Text != sents[mid] {
		t.Fatalf("top hit %q %v", top.Key, top.Metadata)
	}
	for _, h := range hits {
		if h.Object.Content != nil && enc.CountTokens(h.Object.Content.Text) > 77 {
			t.Fatalf("chunk %q over the window", h.Object.Key)
		}
	}
	g, err := e.Search(bg, "docs", SearchRequest{Query: Query{Text: sents[mid]}, Mode: ModeVector, K: 3, GroupBy: "parent", Fields: []string{"key"}})
	if err != nil || g[0].ID != ids[0] || len(g[0].Segments) == 0 || g[0].Segments[0].ID != hits[0].ID {
		t.Fatalf("grouped: %+v %v", g, err)
	}
	// A shorter version: the chunks past it go.
	if _, err := e.Upsert(bg, "docs", []Object{{Key: "/notes/long.txt", Content: &Content{Text: strings.Join(sents[:5], " ")}}}); err != nil {
		t.Fatal(err)
	}
	st, _ = e.GetCollection(bg, "docs")
	if st.Count != 1+5 {
		t.Fatalf("%d objects after shortening, want 6", st.Count)
	}
	// A text without a key cannot name its chunks: it is embedded from its
	// first window, as before.
	if _, err := e.Upsert(bg, "docs", []Object{{Content: &Content{Text: doc}}}); err != nil {
		t.Fatal(err)
	}
}
