package blip

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rosetta/encoders/safetensors"
	"rosetta/internal/fixtures"
)

const tol = 1e-4

type golden struct {
	t  testing.TB
	ck *safetensors.Checkpoint
}

func openGolden(t testing.TB, dir string) *golden {
	t.Helper()
	ck, err := safetensors.OpenCheckpoint(filepath.Join(dir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ck.Close() })
	return &golden{t: t, ck: ck}
}

func (g *golden) floats(name string) ([]float32, []int) {
	g.t.Helper()
	v, shape, err := g.ck.Float32(name)
	if err != nil {
		g.t.Fatal(err)
	}
	return v, shape
}

// ints returns a [rows][cols] integer tensor.
func (g *golden) ints(name string) [][]int {
	g.t.Helper()
	tn, err := g.ck.Tensor(name)
	if err != nil {
		g.t.Fatal(err)
	}
	v, err := tn.Int64()
	if err != nil {
		g.t.Fatal(err)
	}
	rows, cols := tn.Shape[0], tn.Shape[1]
	out := make([][]int, rows)
	for r := range out {
		out[r] = make([]int, cols)
		for c := range out[r] {
			out[r][c] = int(v[r*cols+c])
		}
	}
	return out
}

func maxAbsDiff(t *testing.T, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d values, want %d", len(got), len(want))
	}
	var m float64
	for i := range got {
		m = math.Max(m, math.Abs(float64(got[i])-float64(want[i])))
	}
	return m
}

func loadITM(t testing.TB) (*ITM, *golden) {
	t.Helper()
	dir := fixtures.Dir(t, "blip-itm")
	m, err := LoadITM(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m, openGolden(t, dir)
}

func TestITMGolden(t *testing.T) {
	m, g := loadITM(t)
	px, shape := g.floats("pixel_values")
	ids, masks := g.ints("input_ids"), g.ints("attention_mask")
	emb, err := m.ImageEmbeds(px, shape[0])
	if err != nil {
		t.Fatal(err)
	}

	t.Run("itm_logits", func(t *testing.T) {
		logits, err := m.ITMLogits(emb, ids, masks)
		if err != nil {
			t.Fatal(err)
		}
		var got []float32
		for _, l := range logits {
			got = append(got, l[0], l[1])
		}
		want, _ := g.floats("itm_logits")
		d := maxAbsDiff(t, got, want)
		t.Logf("itm_logits max abs error %.3g", d)
		if d > tol {
			t.Errorf("itm_logits off by %.3g: got %v want %v", d, got, want)
		}
	})

	t.Run("itc_similarity", func(t *testing.T) {
		img, err := m.ImageFeatures(emb, shape[0])
		if err != nil {
			t.Fatal(err)
		}
		txt, err := m.TextFeatures(ids, masks)
		if err != nil {
			t.Fatal(err)
		}
		sim, err := Similarity(img, txt)
		if err != nil {
			t.Fatal(err)
		}
		var got []float32
		for _, r := range sim {
			got = append(got, r...)
		}
		want, _ := g.floats("itc_similarity")
		d := maxAbsDiff(t, got, want)
		t.Logf("itc_similarity max abs error %.3g", d)
		if d > tol {
			t.Errorf("itc_similarity off by %.3g: got %v want %v", d, got, want)
		}
	})

	t.Run("padding_ignored", func(t *testing.T) {
		// Dropping the padding must not change the scores.
		n := 0
		for _, v := range masks[0] {
			n += v
		}
		a, err := m.ITMLogits(emb[:len(emb)/shape[0]], ids[:1], masks[:1])
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.ITMLogits(emb[:len(emb)/shape[0]], [][]int{ids[0][:n]}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(t, a[0][:], b[0][:]); d > 1e-5 {
			t.Errorf("padded and unpadded logits differ by %.3g", d)
		}
	})
}

func loadCaptioner(t testing.TB) (*Captioner, *golden) {
	t.Helper()
	dir := fixtures.Dir(t, "blip-caption")
	c, err := LoadCaptioner(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, openGolden(t, dir)
}

func TestCaptionGolden(t *testing.T) {
	c, g := loadCaptioner(t)
	px, shape := g.floats("pixel_values")
	per := len(px) / shape[0]
	prefix := g.ints("prefix_ids")
	want, _ := g.floats("prefix_logits")
	greedy := g.ints("greedy_ids")
	vocab := c.Cfg.Text.Vocab

	t.Run("prefix_logits", func(t *testing.T) {
		var worst float64
		for i := range shape[0] {
			got, err := c.Logits(px[i*per:(i+1)*per], prefix[i])
			if err != nil {
				t.Fatal(err)
			}
			n := len(prefix[i]) * vocab
			worst = math.Max(worst, maxAbsDiff(t, got, want[i*n:(i+1)*n]))
		}
		t.Logf("prefix_logits max abs error %.3g", worst)
		if worst > tol {
			t.Errorf("prefix_logits off by %.3g", worst)
		}
	})

	t.Run("greedy_ids", func(t *testing.T) {
		for i := range shape[0] {
			got, err := c.Greedy(px[i*per:(i+1)*per], nil, len(greedy[i])-1)
			if err != nil {
				t.Fatal(err)
			}
			// transformers pads finished sequences with pad_token_id.
			w := greedy[i]
			for len(w) > len(got) && w[len(w)-1] == c.Cfg.Text.PadTokenID {
				w = w[:len(w)-1]
			}
			if !equalInts(got, w) {
				t.Errorf("image %d: greedy ids %v, want %v", i, got, greedy[i])
			}
		}
	})
}

// TestKVCacheMatchesFullPass checks that decoding token by token through
// the key/value cache gives the logits of one full pass.
func TestKVCacheMatchesFullPass(t *testing.T) {
	c, g := loadCaptioner(t)
	px, shape := g.floats("pixel_values")
	pix := px[:len(px)/shape[0]]
	ids := []int{c.Cfg.Text.BOSTokenID, 1037, 3861, 1997, 1996}
	full, err := c.Logits(pix, ids)
	if err != nil {
		t.Fatal(err)
	}
	img, err := c.ImageEmbeds(pix, 1)
	if err != nil {
		t.Fatal(err)
	}
	st := c.text.newState(true, nil, img, c.ImageTokens())
	vocab := c.Cfg.Text.Vocab
	for i, id := range ids {
		h := c.text.step(st, []int{id})
		got := c.lmHead(h, 1)
		if d := maxAbsDiff(t, got, full[i*vocab:(i+1)*vocab]); d > 1e-5 {
			t.Errorf("position %d: cached logits differ from the full pass by %.3g", i, d)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestInputErrors(t *testing.T) {
	m, g := loadITM(t)
	px, _ := g.floats("pixel_values")
	per := len(px) / 5
	emb, err := m.ImageEmbeds(px[:per], 1)
	if err != nil {
		t.Fatal(err)
	}
	capt, _ := loadCaptioner(t)
	nan := append([]float32(nil), px[:per]...)
	nan[7] = float32(math.NaN())
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"short pixels", func() error { _, err := m.ImageEmbeds(px[:per-1], 1); return err }()},
		{"nan pixel", func() error { _, err := m.ImageEmbeds(nan, 1); return err }()},
		{"zero batch", func() error { _, err := m.ImageEmbeds(nil, 0); return err }()},
		{"id out of vocab", func() error { _, err := m.ITMLogits(emb, [][]int{{101, 1 << 20}}, nil); return err }()},
		{"negative id", func() error { _, err := m.TextFeatures([][]int{{-1}}, nil); return err }()},
		{"empty text", func() error { _, err := m.TextFeatures([][]int{{}}, nil); return err }()},
		{"mask length", func() error { _, err := m.TextFeatures([][]int{{101, 102}}, [][]int{{1}}); return err }()},
		{"all masked", func() error { _, err := m.TextFeatures([][]int{{101, 102}}, [][]int{{0, 0}}); return err }()},
		{"too long", func() error {
			_, err := m.TextFeatures([][]int{make([]int, m.Cfg.Text.MaxPositions+1)}, nil)
			return err
		}()},
		{"embeds for two", func() error { _, err := m.ITMLogits(emb, [][]int{{101}, {101}}, nil); return err }()},
		{"caption embeds size", func() error { _, err := capt.GreedyFromEmbeds(emb[:10], nil, 3); return err }()},
		{"negative maxNew", func() error { _, err := capt.Greedy(px[:per], nil, -1); return err }()},
		{"prompt out of vocab", func() error { _, err := capt.Logits(px[:per], []int{capt.Cfg.Text.Vocab}); return err }()},
		{"feature widths", func() error { _, err := Similarity([][]float32{{1, 0}}, [][]float32{{1}}); return err }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, ErrInput) {
				t.Errorf("got %v, want ErrInput", tc.err)
			}
		})
	}
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	c, err := ParseConfig([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Vision.ImageTokens() != 577 || c.Text.Hidden != 768 || c.ImageTextHidden != 256 || c.Text.SEPTokenID != 102 {
		t.Errorf("defaults: %+v", c)
	}
	_, err = ParseConfig([]byte(`{"vision_config": {"hidden_size": 50, "num_attention_heads": 4, "patch_size": 7},
		"text_config": {"vocab_size": 10}}`))
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("got %v, want ErrConfig", err)
	}
	for _, want := range []string{"vision_config.hidden_size 50", "image_size 384 is not a multiple of patch_size 7",
		"encoder_hidden_size 768", "bos_token_id 30522"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestMismatchedCheckpoint loads the ITM weights with a config that
// disagrees with them and expects an error naming the tensors.
func TestMismatchedCheckpoint(t *testing.T) {
	dir := fixtures.Dir(t, "blip-itm")
	// The captioner's decoder tensors are missing from the ITM checkpoint.
	_, err := LoadCaptioner(dir, nil)
	if err == nil {
		t.Fatal("loaded an ITM checkpoint as a captioner")
	}
	if !strings.Contains(err.Error(), "text_decoder.bert.embeddings.word_embeddings.weight") {
		t.Errorf("error does not name the missing tensor: %v", err)
	}
	// A config whose vision width disagrees with the weights.
	cfg, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bad := strings.Replace(string(cfg), `"intermediate_size": 96`, `"intermediate_size": 100`, 1)
	if err := os.WriteFile(filepath.Join(tmp, "config.json"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "model.safetensors"), filepath.Join(tmp, "model.safetensors")); err != nil {
		t.Skip(err)
	}
	_, err = LoadITM(tmp, nil)
	if err == nil || !strings.Contains(err.Error(), `"vision_model.encoder.layers.0.mlp.fc1.weight" is [96 48] in the checkpoint, the config needs [100 48]`) {
		t.Errorf("mismatched config: %v", err)
	}
	if _, err := LoadITM(t.TempDir(), nil); !errors.Is(err, ErrNoModel) {
		t.Errorf("empty dir: got %v, want ErrNoModel", err)
	}
}
