package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rosetta/encoders/clip"
	"rosetta/engine"
	"rosetta/internal/fixtures"
)

func tinyModel(t testing.TB) string {
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

func copyFile(t testing.TB, src, dst string) {
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(dst), 0o755)
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestIngestFolder ingests real photos, texts, a sidecar, and bad files
// with the tiny fixture model, then re-runs, updates and prunes.
func TestIngestFolder(t *testing.T) {
	model := tinyModel(t)
	imgs := fixtures.Dir(t, "preprocess-image")
	root := t.TempDir()
	copyFile(t, filepath.Join(imgs, "chelsea.png"), filepath.Join(root, "cat.png"))
	copyFile(t, filepath.Join(imgs, "rocket.png"), filepath.Join(root, "sub", "rocket.jpg")) // PNG content, wrong extension: sniffed
	copyFile(t, filepath.Join(imgs, "coffee.png"), filepath.Join(root, "sub", "deeper", "coffee.png"))
	os.WriteFile(filepath.Join(root, "cat.png.json"), []byte(`{"album":"pets","year":2020}`), 0o644)
	os.WriteFile(filepath.Join(root, "note.txt"), []byte("a cup of coffee"), 0o644)
	os.WriteFile(filepath.Join(root, "sub", "readme.md"), []byte("# rockets\nlaunch"), 0o644)
	b, _ := os.ReadFile(filepath.Join(imgs, "astronaut.png"))
	os.WriteFile(filepath.Join(root, "broken.png"), b[:len(b)/3], 0o644) // truncated: corrupt
	os.WriteFile(filepath.Join(root, "empty.jpg"), nil, 0o644)
	os.WriteFile(filepath.Join(root, "data.bin"), []byte{1, 2, 3, 4}, 0o644)
	os.WriteFile(filepath.Join(root, ".hidden.png"), b, 0o644)
	copyFile(t, filepath.Join(imgs, "chelsea.png"), filepath.Join(root, "sub", "same-cat.png")) // duplicate content

	e, err := engine.Open(engine.Options{Dir: t.TempDir(), SnapshotEvery: -1,
		LoadModel: func(string) (engine.Encoder, error) { return clip.Open(model, nil) }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.WaitReady(context.Background())
	sink := EngineSink{e}
	var report bytes.Buffer
	opts := Options{Collection: "media", Model: "tiny", Recursive: true, Batch: 2, Report: &report}
	s, err := Run(context.Background(), sink, []string{root}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if s.Added != 5 || s.Failed != 3 || s.Skipped != 1 || s.Duplicates != 1 || s.Found != 9 {
		t.Fatalf("first run: %+v", s.Progress)
	}
	fails := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(report.String()), "\n") {
		var f Failure
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("report line %q: %v", line, err)
		}
		fails[filepath.Base(f.Path)] = f.Reason
	}
	if !strings.Contains(fails["broken.png"], "image") || !strings.Contains(fails["empty.jpg"], "empty") || !strings.Contains(fails["data.bin"], "unsupported") {
		t.Fatalf("report: %v", fails)
	}
	// Identity checks only: the tiny model's rankings carry no meaning.
	catPath := filepath.Join(root, "cat.png")
	cat, _ := os.ReadFile(catPath)
	hits, err := e.Search(context.Background(), "media", engine.SearchRequest{Query: engine.Query{Image: cat}, K: 1, Fields: []string{"*"}})
	if err != nil || hits[0].Object.Key != catPath || hits[0].Object.Metadata["album"] != "pets" || hits[0].Object.Metadata["width"] != 451.0 {
		t.Fatalf("image query: %+v %v", hits, err)
	}
	hits, _ = e.Search(context.Background(), "media", engine.SearchRequest{Query: engine.Query{Text: "a cup of coffee"}, K: 1, Modality: "text", Fields: []string{"source"}})
	if len(hits) != 1 || hits[0].Object.Source != filepath.Join(root, "note.txt") {
		t.Fatalf("text query: %+v", hits)
	}

	// A re-run ingests nothing new.
	s, err = Run(context.Background(), sink, []string{root}, Options{Collection: "media", Recursive: true})
	if err != nil || s.Added != 0 || s.Updated != 0 || s.Skipped != 6 {
		t.Fatalf("re-run: %+v %v", s.Progress, err)
	}
	// A changed file is updated, a deleted one pruned.
	os.WriteFile(filepath.Join(root, "note.txt"), []byte("a rocket"), 0o644)
	future := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(root, "note.txt"), future, future)
	os.Remove(filepath.Join(root, "sub", "readme.md"))
	s, err = Run(context.Background(), sink, []string{root}, Options{Collection: "media", Recursive: true, Prune: true})
	if err != nil || s.Updated != 1 || s.Pruned != 1 || s.Skipped != 4 {
		t.Fatalf("update+prune: %+v %v", s.Progress, err)
	}
	if c, _ := e.GetCollection(context.Background(), "media"); c.Count != 4 {
		t.Fatalf("count after prune: %d", c.Count)
	}
	// Globs and a non-recursive walk.
	s, _ = Run(context.Background(), sink, []string{root}, Options{Collection: "media", Recursive: false, Include: []string{"*.png"}, DryRun: true})
	if s.Found != 2 { // cat.png and broken.png at the top level
		t.Fatalf("include *.png, not recursive: %+v", s.Progress)
	}
	// A collection that does not exist needs a model.
	if _, err := Run(context.Background(), sink, []string{root}, Options{Collection: "other"}); err == nil {
		t.Fatal("missing collection without a model accepted")
	}
}

func TestIngestCancel(t *testing.T) {
	model := tinyModel(t)
	imgs := fixtures.Dir(t, "preprocess-image")
	root := t.TempDir()
	for i := 0; i < 20; i++ {
		copyFile(t, filepath.Join(imgs, "coffee.png"), filepath.Join(root, "img"+string(rune('a'+i))+".png"))
	}
	e, _ := engine.Open(engine.Options{Dir: t.TempDir(), SnapshotEvery: -1,
		LoadModel: func(string) (engine.Encoder, error) { return clip.Open(model, nil) }})
	defer e.Close()
	e.WaitReady(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := Run(ctx, EngineSink{e}, []string{root}, Options{Collection: "c", Model: "m", Recursive: true, Batch: 1, Workers: 1,
		Progress: func(p Progress) {
			n++
			cancel()
		}})
	if err == nil {
		// The run can finish within the first second; then nothing was cancelled.
		t.Log("run finished before cancellation")
	}
	// Whatever was acknowledged is there, and a re-run completes the rest.
	s, err := Run(context.Background(), EngineSink{e}, []string{root}, Options{Collection: "c", Recursive: true})
	if err != nil || s.Added+s.Skipped != 20 {
		t.Fatalf("resume: %+v %v", s.Progress, err)
	}
}

type fakeCaptioner struct{}

func (fakeCaptioner) Caption(_ context.Context, img image.Image) (string, error) {
	b := img.Bounds()
	return fmt.Sprintf("a picture %dx%d", b.Dx(), b.Dy()), nil
}

func TestIngestCaptions(t *testing.T) {
	model := tinyModel(t)
	imgs := fixtures.Dir(t, "preprocess-image")
	root := t.TempDir()
	copyFile(t, filepath.Join(imgs, "chelsea.png"), filepath.Join(root, "cat.png"))
	os.WriteFile(filepath.Join(root, "n.txt"), []byte("words"), 0o644)
	e, _ := engine.Open(engine.Options{Dir: t.TempDir(), SnapshotEvery: -1,
		LoadModel: func(string) (engine.Encoder, error) { return clip.Open(model, nil) }})
	defer e.Close()
	e.WaitReady(context.Background())
	if _, err := Run(context.Background(), EngineSink{e}, []string{root}, Options{Collection: "c", Model: "m", Recursive: true, Captioner: fakeCaptioner{}}); err != nil {
		t.Fatal(err)
	}
	hits, err := e.Search(context.Background(), "c", engine.SearchRequest{Query: engine.Query{Text: "x"}, K: 5,
		Filter: []byte(`{"field":"caption","eq":"a picture 451x300"}`), Fields: []string{"text", "modality"}})
	if err != nil || len(hits) != 1 || hits[0].Object.Text["caption"] != "a picture 451x300" || hits[0].Object.Modality != "image" {
		t.Fatalf("captioned image: %+v %v", hits, err)
	}
}
