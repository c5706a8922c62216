package engine

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"rosetta/encoders/clip"
	"rosetta/internal/fixtures"
)

// tinyCLIP assembles the clip-vit fixture and the tokenizer files into a
// model directory in a temp dir (nothing is copied into the repository).
func tinyCLIP(t testing.TB) string {
	src := fixtures.Dir(t, "clip-vit")
	tok := fixtures.Dir(t, "tokenizer-clip")
	dir := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors", "preprocessor_config.json"} {
		os.Symlink(filepath.Join(src, f), filepath.Join(dir, f))
	}
	for _, f := range []string{"vocab.json", "merges.txt"} {
		os.Symlink(filepath.Join(tok, f), filepath.Join(dir, f))
	}
	return dir
}

// TestEncodeOnWriteAndQuery uses the tiny fixture CLIP model. Its random
// weights give rankings no meaning beyond identities: a stored item's own
// content must come back first, and modality and metadata filters must
// hold. That is all this test checks.
func TestEncodeOnWriteAndQuery(t *testing.T) {
	modelDir := tinyCLIP(t)
	e, err := Open(Options{Dir: t.TempDir(), SnapshotEvery: -1, LoadModel: func(name string) (Encoder, error) {
		if name != "tiny-clip" {
			return nil, errors.New("unknown model")
		}
		return clip.Open(modelDir, nil)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.WaitReady(bg)
	c, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "clip", Model: "tiny-clip"}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Spaces[0].Dim != 16 {
		t.Fatalf("dimension from the model: %d", c.Spaces[0].Dim)
	}
	imgDir := fixtures.Dir(t, "preprocess-image")
	var objs []Object
	names := []string{"astronaut", "chelsea", "coffee", "rocket"}
	for i, n := range names {
		b, err := os.ReadFile(filepath.Join(imgDir, n+".png"))
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, Object{Key: n, Source: n + ".png", Content: &Content{Image: b}, Metadata: map[string]any{"i": float64(i)}})
	}
	texts := []string{"a cat on a sofa", "a rocket on the launchpad", "a cup of coffee"}
	for _, tx := range texts {
		objs = append(objs, Object{Key: tx, Content: &Content{Text: tx}})
	}
	ids, err := e.Upsert(bg, "c", objs)
	if err != nil {
		t.Fatal(err)
	}
	// Image query with a stored photo finds that photo first.
	b, _ := os.ReadFile(filepath.Join(imgDir, "coffee.png"))
	hits, err := e.Search(bg, "c", SearchRequest{Query: Query{Image: b}, K: 3, Fields: []string{"key", "modality"}})
	if err != nil || hits[0].ID != ids[2] || hits[0].Object.Modality != "image" {
		t.Fatalf("image query: %+v %v", hits, err)
	}
	// Text query equal to a stored text finds that text first.
	hits, err = e.Search(bg, "c", SearchRequest{Query: Query{Text: texts[1]}, K: 3, Fields: []string{"key"}})
	if err != nil || hits[0].ID != ids[5] {
		t.Fatalf("text query: %+v %v", hits, err)
	}
	// Image → text only when asked for that modality.
	hits, _ = e.Search(bg, "c", SearchRequest{Query: Query{Image: b}, K: 7, Modality: "text", Fields: []string{"modality", "content"}})
	if len(hits) != 3 {
		t.Fatalf("image → text returned %d hits", len(hits))
	}
	for _, h := range hits {
		if h.Object.Modality != "text" {
			t.Fatalf("image → text returned a %s", h.Object.Modality)
		}
	}
	// A metadata filter narrows the results.
	hits, _ = e.Search(bg, "c", SearchRequest{Query: Query{Image: b}, K: 7, Filter: []byte(`{"field":"i","gte":2}`)})
	if len(hits) != 2 {
		t.Fatalf("filtered: %d hits", len(hits))
	}
	// Stored objects keep their text content but not image bytes.
	o, _ := e.GetObject(bg, "c", ids[0])
	if o.Content != nil || o.Source != "astronaut.png" {
		t.Fatalf("image object stored content: %+v", o.Content)
	}
	o, _ = e.GetObject(bg, "c", ids[4])
	if o.Content == nil || o.Content.Text != texts[0] {
		t.Fatalf("text object lost its text: %+v", o)
	}
	// Bad content is a 400-class error; a space without a model refuses text queries.
	if _, err := e.Upsert(bg, "c", []Object{{Content: &Content{Image: []byte("not an image")}}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("corrupt image: %v", err)
	}
	e.CreateCollection(bg, Collection{Name: "plain", Spaces: []Space{{Name: "v", Dim: 2}}})
	if _, err := e.Search(bg, "plain", SearchRequest{Query: Query{Text: "x"}, K: 1}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("text query without a model: %v", err)
	}
	if _, err := e.CreateCollection(bg, Collection{Name: "bad", Spaces: []Space{{Name: "v", Model: "nope"}}}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("unknown model: %v", err)
	}
}
