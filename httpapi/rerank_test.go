package httpapi

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"rosetta/api"
	"rosetta/encoders"
	"rosetta/encoders/clip"
	"rosetta/engine"
	"rosetta/internal/fixtures"
)

// TestRerankModelOverREST: rerank_model goes in with the create request,
// comes back with the collection, a model without a matching head is a
// 400, and a text search whose rerank names no model re-ranks with the
// collection's from the tokens cached when the images were uploaded.
func TestRerankModelOverREST(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a Pebble store")
	}
	link := func(dir string, files map[string]string) string {
		for name, src := range files {
			if err := os.Symlink(src, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	bf, cf := fixtures.Dir(t, "blip-itm"), fixtures.Dir(t, "clip-vit")
	blipDir := link(t.TempDir(), map[string]string{"config.json": filepath.Join(bf, "config.json"), "model.safetensors": filepath.Join(bf, "model.safetensors"),
		"preprocessor_config.json": filepath.Join(bf, "preprocessor_config.json"), "vocab.txt": filepath.Join(fixtures.Dir(t, "tokenizer-bert"), "vocab.txt")})
	tc := fixtures.Dir(t, "tokenizer-clip")
	clipDir := link(t.TempDir(), map[string]string{"config.json": filepath.Join(cf, "config.json"), "model.safetensors": filepath.Join(cf, "model.safetensors"),
		"preprocessor_config.json": filepath.Join(cf, "preprocessor_config.json"), "vocab.json": filepath.Join(tc, "vocab.json"), "merges.txt": filepath.Join(tc, "merges.txt")})
	e := openRealEngine(t, engine.Options{Dir: t.TempDir(), LoadModel: func(name string) (engine.Encoder, error) {
		switch name {
		case "blip":
			return encoders.OpenBLIP(blipDir)
		case "clip":
			return clip.Open(clipDir, nil)
		}
		return nil, errors.New("no such model")
	}})
	s := &testServer{t: t, h: New(e, Options{Registry: prometheus.NewRegistry()})}
	wantError(t, s.do("POST", "/v1/collections", `{"name":"bad","spaces":[{"name":"clip","model":"clip"}],"rerank_model":"clip"}`), 400, codeInvalidRequest)
	var c api.Collection
	s.mustDo(201, &c, "POST", "/v1/collections", `{"name":"c","spaces":[{"name":"clip","model":"clip"}],"rerank_model":"blip"}`)
	if c.RerankModel != "blip" {
		t.Fatalf("created %+v", c)
	}
	s.mustDo(200, &c, "GET", "/v1/collections/c", "")
	if c.RerankModel != "blip" {
		t.Fatalf("read back %+v", c)
	}
	var objs []api.Object
	for _, n := range []string{"astronaut", "chelsea", "coffee"} {
		b, err := os.ReadFile(filepath.Join(fixtures.Dir(t, "preprocess-image"), n+".png"))
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, api.Object{Key: n, Content: &api.Content{Image: b}})
	}
	body, _ := json.Marshal(api.UpsertRequest{Objects: objs})
	s.mustDo(200, nil, "PUT", "/v1/collections/c/objects", string(body))
	var res api.SearchResponse
	s.mustDo(200, &res, "POST", "/v1/collections/c/search", `{"query":{"text":"a cat"},"k":3,"rerank":{"top":3}}`)
	if len(res.Hits) != 3 {
		t.Fatalf("%d hits", len(res.Hits))
	}
	for i, h := range res.Hits {
		if h.RerankScore == nil {
			t.Fatalf("hit %d not re-ranked: %+v", i, res.Hits)
		}
		if i > 0 && *h.RerankScore > *res.Hits[i-1].RerankScore {
			t.Fatal("not ordered by rerank_score")
		}
	}
}
