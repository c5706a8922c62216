package ingest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"rosetta/encoders"
	"rosetta/encoders/clip"
	"rosetta/engine"
	"rosetta/internal/fixtures"
)

// TestIngestCachesRerankTokens: a collection ingest creates with a rerank
// model caches every decoded image's tokens (ingest hands the engine
// decoded images), and a text → image re-rank scores from them after the
// files are gone.
func TestIngestCachesRerankTokens(t *testing.T) {
	model := tinyModel(t)
	blipDir := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors", "preprocessor_config.json"} {
		os.Symlink(filepath.Join(fixtures.Dir(t, "blip-itm"), f), filepath.Join(blipDir, f))
	}
	os.Symlink(filepath.Join(fixtures.Dir(t, "tokenizer-bert"), "vocab.txt"), filepath.Join(blipDir, "vocab.txt"))
	root := t.TempDir()
	imgs := fixtures.Dir(t, "preprocess-image")
	copyFile(t, filepath.Join(imgs, "chelsea.png"), filepath.Join(root, "cat.png"))
	copyFile(t, filepath.Join(imgs, "rocket.png"), filepath.Join(root, "rocket.png"))
	e, err := engine.Open(engine.Options{Dir: t.TempDir(), SnapshotEvery: -1, LoadModel: func(name string) (engine.Encoder, error) {
		if name == "blip" {
			return encoders.OpenBLIP(blipDir)
		}
		return clip.Open(model, nil)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.WaitReady(context.Background())
	s, err := Run(context.Background(), EngineSink{e}, []string{root}, Options{Collection: "media", Model: "tiny", RerankModel: "blip", Recursive: true})
	if err != nil || s.Added != 2 {
		t.Fatalf("ingest: %+v %v", s.Progress, err)
	}
	c, err := e.GetCollection(context.Background(), "media")
	if err != nil || c.RerankModel != "blip" {
		t.Fatalf("collection %+v %v", c, err)
	}
	for _, f := range []string{"cat.png", "rocket.png"} {
		id, ok, err := e.Store().IDOfKey("media", filepath.Join(root, f))
		if err != nil || !ok {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := e.Store().Tokens("media", id); err != nil {
			t.Fatalf("%s has no cached tokens: %v", f, err)
		}
		os.Remove(filepath.Join(root, f))
	}
	hits, err := e.Search(context.Background(), "media", engine.SearchRequest{Query: engine.Query{Text: "a cat"}, K: 2, Rerank: &engine.Rerank{Top: 2}})
	if err != nil || len(hits) != 2 || hits[0].RerankScore == nil || hits[1].RerankScore == nil {
		t.Fatalf("re-rank from the cache: %+v %v", hits, err)
	}
}
