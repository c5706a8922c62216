package engine

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"rosetta/encoders"
	"rosetta/encoders/clip"
	"rosetta/encoders/imageproc"
	"rosetta/internal/fixtures"
)

// TestRerank retrieves with the tiny CLIP and re-ranks with the tiny BLIP
// ITM head; the re-ranked order must follow the ITM probabilities that
// the model gives directly (the tiny models carry no meaning otherwise).
func TestRerank(t *testing.T) {
	clipDir := tinyCLIP(t)
	blipDir := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors", "preprocessor_config.json"} {
		os.Symlink(filepath.Join(fixtures.Dir(t, "blip-itm"), f), filepath.Join(blipDir, f))
	}
	os.Symlink(filepath.Join(fixtures.Dir(t, "tokenizer-bert"), "vocab.txt"), filepath.Join(blipDir, "vocab.txt"))
	blipEnc, err := encoders.OpenBLIP(blipDir)
	if err != nil {
		t.Fatal(err)
	}
	e, err := Open(Options{Dir: t.TempDir(), SnapshotEvery: -1, LoadModel: func(name string) (Encoder, error) {
		if name == "blip" {
			return blipEnc, nil
		}
		return clip.Open(clipDir, nil)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.WaitReady(bg)
	e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "clip", Model: "clip"}}})
	imgDir, _ := filepath.Abs(fixtures.Dir(t, "preprocess-image"))
	// Re-ranking reads sources only under media roots: before the root
	// is recorded, no candidate can be scored.
	names := []string{"astronaut", "camera", "chelsea", "coffee", "rocket"}
	var objs []Object
	for _, n := range names {
		p := filepath.Join(imgDir, n+".png")
		b, _ := os.ReadFile(p)
		objs = append(objs, Object{Key: n, Source: p, Content: &Content{Image: b}})
	}
	texts := []string{"a cat", "a rocket", "a cup of coffee"}
	for _, tx := range texts {
		objs = append(objs, Object{Key: tx, Content: &Content{Text: tx}})
	}
	if _, err := e.Upsert(bg, "c", objs); err != nil {
		t.Fatal(err)
	}
	query := "a photo of a cat"
	req := SearchRequest{Query: Query{Text: query}, K: 3, Modality: "image", Rerank: &Rerank{Model: "blip", Top: 5}}
	hits, err := e.Search(bg, "c", req)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hits {
		if h.RerankScore != nil {
			t.Fatalf("hit %d was re-ranked from a source outside every media root", i)
		}
	}
	if err := e.AddMediaRoot(bg, "c", imgDir); err != nil {
		t.Fatal(err)
	}
	hits, err = e.Search(bg, "c", SearchRequest{Query: Query{Text: query}, K: 3, Modality: "image",
		Rerank: &Rerank{Model: "blip", Top: 5}, Fields: []string{"source"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 3 {
		t.Fatalf("%d hits", len(hits))
	}
	for i, h := range hits {
		if h.RerankScore == nil {
			t.Fatalf("hit %d has no rerank score", i)
		}
		b, _ := os.ReadFile(h.Object.Source)
		img, _, _ := imageproc.DecodeBytes(b)
		p, _ := blipEnc.MatchProbabilities(context.Background(), img, []string{query})
		// The re-rank scores candidates together (blip.ITM.MatchText),
		// MatchProbabilities one pair at a time: the same sums in another
		// order (TestMatchTextGolden bounds the logits' difference by 1e-5).
		if d := math.Abs(float64(p[0] - *h.RerankScore)); d > 1e-5 {
			t.Fatalf("hit %d: rerank score %v, ITM gives %v", i, *h.RerankScore, p[0])
		}
		if i > 0 && *h.RerankScore > *hits[i-1].RerankScore {
			t.Fatal("not ordered by the rerank score")
		}
	}
	// All five images were candidates: the best of them by ITM is first.
	best := float32(-1)
	for _, n := range names {
		b, _ := os.ReadFile(filepath.Join(imgDir, n+".png"))
		img, _, _ := imageproc.DecodeBytes(b)
		p, _ := blipEnc.MatchProbabilities(context.Background(), img, []string{query})
		best = max(best, p[0])
	}
	if math.Abs(float64(*hits[0].RerankScore-best)) > 1e-5 {
		t.Fatalf("first hit %v, best candidate %v", *hits[0].RerankScore, best)
	}
	// Image → text re-ranking scores the stored texts.
	b, _ := os.ReadFile(filepath.Join(imgDir, "chelsea.png"))
	hits, err = e.Search(bg, "c", SearchRequest{Query: Query{Image: b}, K: 3, Modality: "text", Rerank: &Rerank{Model: "blip", Top: 3}})
	if err != nil || len(hits) != 3 || hits[0].RerankScore == nil {
		t.Fatalf("image → text rerank: %+v %v", hits, err)
	}
	// Errors: a model without ITM, a vector query, a bad top.
	if _, err := e.Search(bg, "c", SearchRequest{Query: Query{Text: "x"}, K: 1, Rerank: &Rerank{Model: "clip", Top: 5}}); err == nil {
		t.Fatal("CLIP accepted as a re-ranker")
	}
	if _, err := e.Search(bg, "c", SearchRequest{Query: Query{Vector: make([]float32, 16)}, K: 1, Rerank: &Rerank{Model: "blip", Top: 5}}); err == nil {
		t.Fatal("vector query re-ranked")
	}
	if _, err := e.Search(bg, "c", SearchRequest{Query: Query{Text: "x"}, K: 1, Rerank: &Rerank{Model: "blip", Top: 0}}); err == nil {
		t.Fatal("top 0 accepted")
	}
}
