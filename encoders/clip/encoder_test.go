package clip

import (
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"testing"

	"rosetta/encoders/imageproc"
	"rosetta/internal/fixtures"
)

// modelDir assembles a complete model directory in a temp dir from the
// clip-vit fixture plus the tokenizer-clip vocabulary (nothing is copied
// into the repository).
func modelDir(t *testing.T) string {
	src := fixtures.Dir(t, "clip-vit")
	tok := fixtures.Dir(t, "tokenizer-clip")
	dir := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors", "preprocessor_config.json"} {
		if err := os.Symlink(filepath.Join(src, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"vocab.json", "merges.txt"} {
		if err := os.Symlink(filepath.Join(tok, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func loadImage(t *testing.T, name string) image.Image {
	b, err := os.ReadFile(filepath.Join(fixtures.Dir(t, "preprocess-image"), name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imageproc.DecodeBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestEncoderEndToEnd runs the whole path (decode, PIL-exact preprocessing,
// tokenizer, towers, normalisation) and compares with the golden
// embeddings, which were computed from the same images and texts.
func TestEncoderEndToEnd(t *testing.T) {
	dir := modelDir(t)
	e, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := openGolden(t, fixtures.Dir(t, "clip-vit"))
	names := []string{"astronaut", "camera", "chelsea", "coffee", "rocket", "synthetic_wide"}
	imgs := make([]image.Image, len(names))
	for i, n := range names {
		imgs[i] = loadImage(t, n)
	}
	e.ImageBatch = 4 // exercise more than one batch
	got, err := e.EmbedImages(context.Background(), imgs)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := g.f32(t, "image_embeds")
	var flat []float32
	for _, v := range got {
		flat = append(flat, v...)
	}
	// Preprocessing is within ~1e-6 of PIL, so embeddings match closely.
	near(t, "image_embeds via Encoder", flat, want, 1e-4)

	texts := []string{"a facial photo of a tabby cat", "a portrait of an astronaut with the American flag",
		"a cup of coffee on a saucer", "a rocket standing on a launchpad", "A person looking at a camera on a tripod!!"}
	ids := g.ids(t, "input_ids")
	for i, tx := range texts {
		enc := e.Tok.EncodeContext(tx, 77)
		for j := range enc {
			if enc[j] != ids[i][j] {
				t.Fatalf("text %d does not tokenize to the golden input_ids", i)
			}
		}
	}
	tv, err := e.EmbedTexts(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	flat = flat[:0]
	for _, v := range tv {
		flat = append(flat, v...)
	}
	want, _ = g.f32(t, "text_embeds")
	near(t, "text_embeds via Encoder", flat, want, 1e-4)

	probs, err := e.Classify(context.Background(), imgs[2], []string{"cat", "dog", "rocket"}, "")
	if err != nil || len(probs) != 3 {
		t.Fatal(probs, err)
	}
	var sum float32
	for _, p := range probs {
		sum += p
	}
	if sum < 0.999 || sum > 1.001 {
		t.Fatalf("probabilities sum to %v", sum)
	}
}

func TestOpenMissingDir(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "nope"), nil)
	if !errors.Is(err, ErrMissingModel) {
		t.Fatalf("err = %v", err)
	}
}
