package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"rosetta/internal/fixtures"
)

// e2ePhotos returns the folder of real photos for the end-to-end test:
// $ROSETTA_E2E_PHOTOS (filled by scripts/e2e-media.sh from Debian's
// python3-skimage in CI), else the fixture PNGs.
func e2ePhotos(t *testing.T) []string {
	dir := os.Getenv("ROSETTA_E2E_PHOTOS")
	if dir == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("ROSETTA_E2E_PHOTOS is not set: .ci/run fetches the photos with scripts/e2e-media.sh")
		}
		dir = fixtures.Dir(t, "preprocess-image")
	}
	var out []string
	for _, pat := range []string{"*.png", "*.jpg"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		out = append(out, m...)
	}
	if len(out) < 4 {
		t.Fatalf("need at least 4 photos in %s, found %d", dir, len(out))
	}
	return out
}

// clipModelDir assembles a model directory from the tiny fixture CLIP and
// the fixture tokenizer, in a temp dir.
func clipModelDir(t *testing.T) string {
	model := t.TempDir()
	src, tok := fixtures.Dir(t, "clip-vit"), fixtures.Dir(t, "tokenizer-clip")
	for _, f := range []string{"config.json", "model.safetensors", "preprocessor_config.json"} {
		os.Symlink(filepath.Join(src, f), filepath.Join(model, f))
	}
	for _, f := range []string{"vocab.json", "merges.txt"} {
		os.Symlink(filepath.Join(tok, f), filepath.Join(model, f))
	}
	return model
}

// TestEndToEnd builds a model directory from the tiny fixture CLIP plus the
// fixture tokenizer (in a temp dir), ingests real photos, text files and a
// corrupt image with the CLI, then serves the data and checks over HTTP.
// The tiny model's random weights give rankings no meaning beyond
// identities (an item's own content comes back first); that, modality and
// metadata filters, and re-run behaviour are all this test checks.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	model := clipModelDir(t)
	media := t.TempDir()
	photos := e2ePhotos(t)
	for i, p := range photos {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sub := "a"
		if i%2 == 1 {
			sub = "b"
		}
		os.MkdirAll(filepath.Join(media, sub), 0o755)
		os.WriteFile(filepath.Join(media, sub, filepath.Base(p)), b, 0o644)
		if i == 0 {
			os.WriteFile(filepath.Join(media, "broken.jpg"), b[:len(b)/4], 0o644)
		}
	}
	os.WriteFile(filepath.Join(media, "a", "astronaut.png.json"), []byte(`{"tag":"space"}`), 0o644)
	texts := map[string]string{"cat.txt": "a tabby cat sleeping", "rocket.md": "a rocket on the launch pad", "coffee.txt": "a cup of coffee"}
	for n, tx := range texts {
		os.WriteFile(filepath.Join(media, n), []byte(tx), 0o644)
	}

	bin := buildBinary(t)
	data := t.TempDir()
	report := filepath.Join(t.TempDir(), "failures.jsonl")
	ingest := func() string {
		cmd := exec.Command(bin, "ingest", media, "--collection", "media", "--data", data, "--model", model, "--report", report, "--batch", "4")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ingest: %v\n%s", err, out)
		}
		return string(out)
	}
	out := ingest()
	want := len(photos) + len(texts)
	if !strings.Contains(out, "added "+itoa(want)+",") || !strings.Contains(out, "failed 1") {
		t.Fatalf("first ingest: %s", out)
	}
	rep, _ := os.ReadFile(report)
	if !strings.Contains(string(rep), "broken.jpg") {
		t.Fatalf("the corrupt file is not in the report: %s", rep)
	}
	out = ingest()
	if !strings.Contains(out, "added 0, updated 0, skipped "+itoa(want)) {
		t.Fatalf("re-run ingested something: %s", out)
	}

	addr := freeAddr(t)
	s := startServer(t, bin, data, addr)
	defer func() { s.cmd.Process.Signal(syscall.SIGTERM); s.cmd.Wait() }()
	type hit struct {
		ID     uint64 `json:"id"`
		Object struct {
			Key      string         `json:"key"`
			Modality string         `json:"modality"`
			Source   string         `json:"source"`
			Metadata map[string]any `json:"metadata"`
		} `json:"object"`
	}
	search := func(body map[string]any) []hit {
		t.Helper()
		body["fields"] = []string{"key", "modality", "source", "metadata"}
		var res struct {
			Hits []hit `json:"hits"`
		}
		code, err := s.do("POST", "/v1/collections/media/search", body, &res)
		if err != nil || code != 200 {
			t.Fatalf("search %v: %d %v", body, code, err)
		}
		return res.Hits
	}
	// An image query with an ingested photo returns that photo first.
	for _, p := range photos[:3] {
		b, _ := os.ReadFile(p)
		hits := search(map[string]any{"query": map[string]any{"image": base64.StdEncoding.EncodeToString(b)}, "k": 3})
		if len(hits) == 0 || filepath.Base(hits[0].Object.Source) != filepath.Base(p) {
			t.Fatalf("image query %s: %+v", filepath.Base(p), hits)
		}
	}
	// A text query equal to a stored text returns that text first.
	hits := search(map[string]any{"query": map[string]any{"text": texts["rocket.md"]}, "k": 3})
	if filepath.Base(hits[0].Object.Source) != "rocket.md" {
		t.Fatalf("text query: %+v", hits)
	}
	// Image → text returns text objects only when asked for that modality.
	b, _ := os.ReadFile(photos[0])
	hits = search(map[string]any{"query": map[string]any{"image": base64.StdEncoding.EncodeToString(b)}, "k": 20, "modality": "text"})
	if len(hits) != len(texts) {
		t.Fatalf("image → text: %d hits", len(hits))
	}
	for _, h := range hits {
		if h.Object.Modality != "text" {
			t.Fatalf("image → text returned %s", h.Object.Modality)
		}
	}
	all := search(map[string]any{"query": map[string]any{"image": base64.StdEncoding.EncodeToString(b)}, "k": 20})
	if len(all) != want {
		t.Fatalf("unfiltered: %d hits, want %d", len(all), want)
	}
	// A metadata filter narrows the results: folder b, and the sidecar tag.
	hits = search(map[string]any{"query": map[string]any{"text": "a photo"}, "k": 20, "filter": map[string]any{"field": "file_dir", "eq": filepath.Join(media, "b")}})
	if len(hits) == 0 || len(hits) >= len(all) {
		t.Fatalf("folder filter: %d hits of %d", len(hits), len(all))
	}
	for _, h := range hits {
		if !strings.HasPrefix(h.Object.Source, filepath.Join(media, "b")) {
			t.Fatalf("folder filter returned %s", h.Object.Source)
		}
	}
	hits = search(map[string]any{"query": map[string]any{"text": "a photo"}, "k": 20, "filter": map[string]any{"field": "tag", "eq": "space"}})
	if len(hits) != 1 || !strings.HasSuffix(hits[0].Object.Source, "astronaut.png") {
		t.Fatalf("sidecar filter: %+v", hits)
	}
	// Ingest through the server: unchanged files are skipped (the server's
	// object listing), a new one is added and encoded by the server.
	os.WriteFile(filepath.Join(media, "new.txt"), []byte("a motorcycle"), 0o644)
	viaServer := exec.Command(bin, "ingest", media, "--collection", "media", "--server", s.base, "--report", report)
	outb, err := viaServer.CombinedOutput()
	if err != nil || !strings.Contains(string(outb), "added 1, updated 0, skipped "+itoa(want)) {
		t.Fatalf("ingest --server: %v\n%s", err, outb)
	}
	hits = search(map[string]any{"query": map[string]any{"text": "a motorcycle"}, "k": 1})
	if !strings.HasSuffix(hits[0].Object.Source, "new.txt") {
		t.Fatalf("object ingested through the server not found: %+v", hits)
	}
	// A multipart upload: the JSON batch plus the raw image bytes.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	jw, _ := mw.CreateFormField("objects")
	jw.Write([]byte(`{"objects":[{"key":"uploaded","source":"upload.png","metadata":{"via":"multipart"}}]}`))
	fw, _ := mw.CreateFormFile("image.0", "upload.png")
	up, _ := os.ReadFile(photos[1])
	fw.Write(up)
	mw.Close()
	req, _ := http.NewRequest("PUT", s.base+"/v1/collections/media/objects", &mp)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("multipart upsert: %v %v", resp, err)
	}
	resp.Body.Close()
	hits = search(map[string]any{"query": map[string]any{"image": base64.StdEncoding.EncodeToString(up)}, "k": 2,
		"filter": map[string]any{"field": "via", "eq": "multipart"}})
	if len(hits) != 1 || hits[0].Object.Key != "uploaded" || hits[0].Object.Modality != "image" {
		t.Fatalf("multipart object: %+v", hits)
	}
	// The CLI search talks to the server too.
	cmd := exec.Command(bin, "search", "--server", s.base, "--collection", "media", "--text", texts["coffee.txt"], "--json", "-k", "1")
	outb, err = cmd.Output()
	var line map[string]any
	if err != nil || json.Unmarshal(bytes.TrimSpace(outb), &line) != nil || !strings.HasSuffix(line["source"].(string), "coffee.txt") {
		t.Fatalf("rosetta search: %s %v", outb, err)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
