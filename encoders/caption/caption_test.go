package caption

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"rosetta/encoders/imageproc"
	"rosetta/encoders/safetensors"
	"rosetta/internal/fixtures"
)

var names = []string{"astronaut", "camera", "chelsea", "coffee", "rocket", "synthetic_wide"}

func modelDir(t *testing.T, model string, files []string, tok string, tokFiles []string) string {
	src, tk := fixtures.Dir(t, model), fixtures.Dir(t, tok)
	dir := t.TempDir()
	for _, f := range files {
		os.Symlink(filepath.Join(src, f), filepath.Join(dir, f))
	}
	for _, f := range tokFiles {
		os.Symlink(filepath.Join(tk, f), filepath.Join(dir, f))
	}
	return dir
}

func captionAll(t *testing.T, c *Captioner, beams, maxNew int) []Result {
	imgDir := fixtures.Dir(t, "preprocess-image")
	var out []Result
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(imgDir, n+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := imageproc.DecodeBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Caption(context.Background(), img, beams, maxNew)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func sameIDs(a []int, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if int64(a[i]) != b[i] {
			return false
		}
	}
	return true
}

// TestBLIPGreedyFromFiles: PNG → PIL-exact preprocessing → BLIP greedy
// decoding gives exactly the golden ids (transformers' generate).
func TestBLIPGreedyFromFiles(t *testing.T) {
	dir := modelDir(t, "blip-caption", []string{"config.json", "model.safetensors", "preprocessor_config.json"}, "tokenizer-bert", []string{"vocab.txt"})
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := safetensors.OpenCheckpoint(filepath.Join(fixtures.Dir(t, "blip-caption"), "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	tt, _ := ck.Tensor("greedy_ids")
	want, _ := tt.Int64()
	cols := tt.Shape[1]
	for i, r := range captionAll(t, c, 1, 12) {
		row := want[i*cols : (i+1)*cols]
		// generate() pads finished rows; compare up to and including [SEP].
		n := len(r.IDs)
		if !sameIDs(r.IDs, row[:n]) {
			t.Fatalf("%s: ids %v, golden %v", names[i], r.IDs, row)
		}
	}
	// Beam search runs and produces decodable captions from the same start.
	for _, r := range captionAll(t, c, 3, 12) {
		if len(r.IDs) < 2 || r.IDs[0] != c.start[0] || len(r.IDs) > 13 {
			t.Fatalf("beam: %+v", r)
		}
	}
}

func TestCoCaGreedyFromFiles(t *testing.T) {
	dir := modelDir(t, "coca", []string{"open_clip_config.json", "open_clip_model.safetensors"}, "tokenizer-clip", []string{"vocab.json", "merges.txt"})
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(fixtures.Dir(t, "coca"), "golden.json"))
	var g struct {
		Greedy [][]int64 `json:"greedy_captions"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	for i, r := range captionAll(t, c, 1, 20) {
		if !sameIDs(r.IDs, g.Greedy[i]) {
			t.Fatalf("%s: ids %v, golden %v", names[i], r.IDs, g.Greedy[i])
		}
	}
	for _, r := range captionAll(t, c, 3, 8) {
		if len(r.IDs) < 2 || r.IDs[0] != 49406 || len(r.IDs) > 9 {
			t.Fatalf("beam: %+v", r)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNoCaptioner) {
		t.Fatalf("empty dir: %v", err)
	}
	clipDir := modelDir(t, "clip-vit", []string{"config.json"}, "tokenizer-clip", nil)
	if _, err := Open(clipDir); !errors.Is(err, ErrNoCaptioner) {
		t.Fatalf("CLIP dir: %v", err)
	}
}

func TestTopK(t *testing.T) {
	got := topK([]float64{0.1, 5, -1, 3, 5, 2}, 3)
	if len(got) != 3 || got[0] != 1 || got[1] != 4 || got[2] != 3 {
		t.Fatalf("%v", got)
	}
}
