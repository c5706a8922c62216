package encoders

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rosetta/encoders/clip"
	"rosetta/encoders/imageproc"
	"rosetta/encoders/safetensors"
	"rosetta/internal/fixtures"
)

func linkDir(t *testing.T, pairs ...[2]string) string {
	dir := t.TempDir()
	for _, p := range pairs {
		src := filepath.Join(fixtures.Dir(t, p[0]), p[1])
		if err := os.Symlink(src, filepath.Join(dir, p[1])); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func images(t *testing.T, names ...string) []image.Image {
	var out []image.Image
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(fixtures.Dir(t, "preprocess-image"), n+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := imageproc.DecodeBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, img)
	}
	return out
}

// TestBLIPEmbedderMatchesGolden: from the PNG files and the texts of the
// first five tokenizer-bert cases, BLIP's ITC cosine similarities and ITM
// match the goldens.
func TestBLIPEmbedderMatchesGolden(t *testing.T) {
	dir := linkDir(t, [2]string{"blip-itm", "config.json"}, [2]string{"blip-itm", "model.safetensors"},
		[2]string{"blip-itm", "preprocessor_config.json"}, [2]string{"tokenizer-bert", "vocab.txt"})
	e, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := e.(*BLIP)
	if !ok {
		t.Fatalf("Open returned %T", e)
	}
	var tc struct {
		Cases []struct {
			Text string `json:"text"`
		} `json:"cases"`
	}
	raw, _ := os.ReadFile(filepath.Join(fixtures.Dir(t, "tokenizer-bert"), "golden.json"))
	json.Unmarshal(raw, &tc)
	var texts []string
	for _, c := range tc.Cases[:5] {
		texts = append(texts, c.Text)
	}
	imgs := images(t, "astronaut", "camera", "chelsea", "coffee", "rocket")
	iv, err := b.EmbedImages(context.Background(), imgs)
	if err != nil {
		t.Fatal(err)
	}
	tv, err := b.EmbedTexts(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	g, err := safetensors.OpenCheckpoint(filepath.Join(fixtures.Dir(t, "blip-itm"), "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	sim, _, _ := g.Float32("itc_similarity")
	for i := range iv {
		for j := range tv {
			var s float32
			for k := range iv[i] {
				s += iv[i][k] * tv[j][k]
			}
			if math.Abs(float64(s-sim[i*5+j])) > 1e-4 {
				t.Fatalf("itc[%d][%d] = %v, golden %v", i, j, s, sim[i*5+j])
			}
		}
	}
	itm, _, _ := g.Float32("itm_logits")
	for i := range imgs {
		p, err := b.MatchProbabilities(context.Background(), imgs[i], texts[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		l0, l1 := float64(itm[2*i]), float64(itm[2*i+1])
		want := 1 / (1 + math.Exp(l0-l1))
		if math.Abs(float64(p[0])-want) > 1e-4 {
			t.Fatalf("itm %d: %v, golden %v", i, p[0], want)
		}
	}
}

func TestOpenPicksFamily(t *testing.T) {
	clipDir := linkDir(t, [2]string{"clip-vit", "config.json"}, [2]string{"clip-vit", "model.safetensors"},
		[2]string{"clip-vit", "preprocessor_config.json"}, [2]string{"tokenizer-clip", "vocab.json"}, [2]string{"tokenizer-clip", "merges.txt"})
	if e, err := Open(clipDir); err != nil {
		t.Fatal(err)
	} else if _, ok := e.(*clip.Encoder); !ok {
		t.Fatalf("CLIP dir gave %T", e)
	}
	cocaDir := linkDir(t, [2]string{"coca", "open_clip_config.json"}, [2]string{"coca", "open_clip_model.safetensors"},
		[2]string{"tokenizer-clip", "vocab.json"}, [2]string{"tokenizer-clip", "merges.txt"})
	e, err := Open(cocaDir)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := e.(*CoCa)
	if !ok {
		t.Fatalf("CoCa dir gave %T", e)
	}
	// CoCa image latents from the PNGs match the golden (PIL-exact preprocessing).
	iv, err := c.EmbedImages(context.Background(), images(t, "astronaut", "camera"))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := safetensors.OpenCheckpoint(filepath.Join(fixtures.Dir(t, "coca"), "golden.safetensors"))
	defer g.Close()
	want, _, _ := g.Float32("image_latent")
	for i := range iv {
		for k, x := range iv[i] {
			if math.Abs(float64(x-want[i*c.Dim()+k])) > 1e-4 {
				t.Fatalf("coca image latent %d[%d] = %v, golden %v", i, k, x, want[i*c.Dim()+k])
			}
		}
	}
	if tv, err := c.EmbedTexts(context.Background(), []string{"a cat"}); err != nil || len(tv[0]) != c.Dim() {
		t.Fatalf("coca text: %v", err)
	}
	capDir := linkDir(t, [2]string{"blip-caption", "config.json"})
	if _, err := Open(capDir); !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("captioning checkpoint as embedder: %v", err)
	}
	if _, err := Open(fixtures.Dir(t, "whisper")); !errors.Is(err, ErrUnknownModel) || !strings.Contains(err.Error(), "transcribe") {
		t.Fatalf("whisper checkpoint as embedder: %v", err)
	}
}
