package coca

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestParseConfigRejects(t *testing.T) {
	cases := []struct {
		name, json, want string
	}{
		{"not json", `{`, "unsupported config"},
		{"plain CLIP", `{"embed_dim": 32, "vision_cfg": {"width": 48, "head_width": 12}, "text_cfg": {"width": 32}}`, "multimodal_cfg"},
		{"no attentional pool", `{"embed_dim": 32, "vision_cfg": {"width": 48, "head_width": 12}, "text_cfg": {"width": 32, "embed_cls": true}, "multimodal_cfg": {"width": 32}}`, "attentional_pool"},
		{"no cls", `{"embed_dim": 32, "vision_cfg": {"width": 48, "head_width": 12, "attentional_pool": true}, "text_cfg": {"width": 32}, "multimodal_cfg": {"width": 32}}`, "embed_cls"},
		{"head width", `{"embed_dim": 32, "vision_cfg": {"width": 50, "head_width": 12, "attentional_pool": true}, "text_cfg": {"width": 32, "embed_cls": true}, "multimodal_cfg": {"width": 32}}`, "head_width"},
		{"widths", `{"embed_dim": 64, "vision_cfg": {"width": 48, "head_width": 12, "attentional_pool": true}, "text_cfg": {"width": 32, "embed_cls": true, "heads": 4}, "multimodal_cfg": {"width": 32, "heads": 4}}`, "must equal embed_dim"},
		{"layer scale", `{"embed_dim": 32, "vision_cfg": {"width": 48, "head_width": 12, "attentional_pool": true, "ls_init_value": 0.1}, "text_cfg": {"width": 32, "embed_cls": true, "heads": 4}, "multimodal_cfg": {"width": 32, "heads": 4}}`, "layer scale"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(c.json))
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestParseConfigDefaults(t *testing.T) {
	// The shape of open_clip's coca_ViT-B-32.json (bare, without model_cfg).
	c, err := ParseConfig([]byte(`{"embed_dim": 512,
		"vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 32,
			"attentional_pool": true, "attn_pooler_heads": 8, "output_tokens": true},
		"text_cfg": {"context_length": 76, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12,
			"embed_cls": true, "output_tokens": true},
		"multimodal_cfg": {"context_length": 76, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12,
			"attn_pooler_heads": 8},
		"custom_text": true}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Vision.Heads != 12 || c.Vision.MLP != 3072 || c.Vision.PoolerQueries != 256 || c.ImageTokens() != 255 ||
		c.Text.PadID != 0 || c.Text.MLP != 2048 || c.Decoder.MLP != 2048 || c.Vocab != 49408 || c.QuickGELU {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(t.TempDir(), nil); !errors.Is(err, ErrNoModel) {
		t.Errorf("empty dir: err = %v, want ErrNoModel", err)
	}
	f := load(t)
	// A config whose text tower is wider than the checkpoint's: every
	// misshapen tensor is reported in one error.
	b, err := os.ReadFile(filepath.Join(f.dir, "open_clip_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wrong := strings.Replace(string(b), `"layers": 2,
      "embed_cls"`, `"layers": 3,
      "embed_cls"`, 1)
	if wrong == string(b) {
		t.Fatal("fixture config changed; update the test")
	}
	if err := os.WriteFile(filepath.Join(dir, "open_clip_config.json"), []byte(wrong), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir, nil); !errors.Is(err, ErrNoModel) {
		t.Errorf("no weights: err = %v, want ErrNoModel", err)
	}
	if err := os.Symlink(filepath.Join(f.dir, "open_clip_model.safetensors"), filepath.Join(dir, "open_clip_model.safetensors")); err != nil {
		t.Skip(err)
	}
	_, err = Load(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "text.transformer.resblocks.2") {
		t.Errorf("err = %v, want it to name the missing layer", err)
	}
}

func TestInputErrors(t *testing.T) {
	m := load(t).model
	s := m.Cfg.Vision.ImageSize
	px := make([]float32, 3*s*s)
	if _, _, err := m.EncodeImage(px[:10], 1); !errors.Is(err, ErrInput) {
		t.Errorf("short pixels: %v", err)
	}
	if _, _, err := m.EncodeImage(nil, 0); !errors.Is(err, ErrInput) {
		t.Errorf("batch 0: %v", err)
	}
	px[7] = float32(math.NaN())
	if _, _, err := m.EncodeImage(px, 1); !errors.Is(err, ErrInput) {
		t.Errorf("NaN pixel: %v", err)
	}
	long := make([]int, m.Cfg.Text.Context+1)
	for name, ids := range map[string][][]int{
		"empty":     nil,
		"empty seq": {{}},
		"too long":  {long},
		"ragged":    {{SOT, 1, EOT}, {SOT, EOT}},
		"bad id":    {{SOT, m.Cfg.Vocab}},
		"negative":  {{SOT, -1}},
	} {
		if _, _, err := m.EncodeText(ids); !errors.Is(err, ErrInput) {
			t.Errorf("%s: err = %v, want ErrInput", name, err)
		}
	}
	ti, e, w := m.Cfg.ImageTokens(), m.Cfg.EmbedDim, m.Cfg.Text.Width
	img := make([]float32, ti*e)
	if _, err := m.DecoderLogits(img[1:], make([]float32, 3*w), 1, 3); !errors.Is(err, ErrInput) {
		t.Errorf("short image tokens: %v", err)
	}
	if _, err := m.DecoderLogits(img, make([]float32, 3*w), 1, 4); !errors.Is(err, ErrInput) {
		t.Errorf("text length mismatch: %v", err)
	}
	if _, err := m.DecoderLogits(img, make([]float32, 0), 1, 0); !errors.Is(err, ErrInput) {
		t.Errorf("empty text: %v", err)
	}
	if _, err := m.Greedy(context.Background(), make([]float32, 3*s*s), 1, -1); !errors.Is(err, ErrInput) {
		t.Errorf("negative maxNew: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Greedy(ctx, make([]float32, 3*s*s), 1, 5); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

// TestConcurrent runs the towers from several goroutines (run with -race)
// and checks that results do not depend on what runs beside them.
func TestConcurrent(t *testing.T) {
	f := load(t)
	ids := f.ids(t, "input_ids")
	want, _, err := f.model.EncodeText(ids)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, _, err := f.model.EncodeText(ids)
			if err != nil {
				t.Error(err)
				return
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("value %d: %v, alone %v", i, got[i], want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"model_cfg": {"embed_dim": 32, "vision_cfg": {"width": 48, "head_width": 12, "attentional_pool": true}, "text_cfg": {"width": 32, "heads": 4, "embed_cls": true}, "multimodal_cfg": {"width": 32, "heads": 4}}}`))
	f.Add([]byte(`{"vision_cfg": {"image_size": [224, 224], "width": -1, "head_width": 0}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		if c.Vision.Heads <= 0 || c.Text.Heads <= 0 || c.Decoder.Heads <= 0 || c.Vision.PoolerQueries < 2 {
			t.Fatalf("accepted a config without heads or queries: %+v", c)
		}
	})
}
