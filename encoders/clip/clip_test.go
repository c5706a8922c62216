package clip

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rosetta/encoders/safetensors"
	"rosetta/internal/fixtures"
)

type golden struct{ ck *safetensors.Checkpoint }

func openGolden(t *testing.T, dir string) golden {
	ck, err := safetensors.OpenCheckpoint(filepath.Join(dir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ck.Close() })
	return golden{ck}
}

func (g golden) f32(t *testing.T, name string) ([]float32, []int) {
	v, shape, err := g.ck.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v, shape
}

func (g golden) ids(t *testing.T, name string) [][]int {
	tt, err := g.ck.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tt.Int64()
	if err != nil {
		t.Fatal(err)
	}
	rows, cols := tt.Shape[0], tt.Shape[1]
	out := make([][]int, rows)
	for i := range out {
		out[i] = make([]int, cols)
		for j := range out[i] {
			out[i][j] = int(v[i*cols+j])
		}
	}
	return out
}

// near checks max |got-want| <= tol and reports the worst difference.
func near(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, golden has %d", name, len(got), len(want))
	}
	worst, at := 0.0, 0
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	t.Logf("%s: max abs diff %.3g", name, worst)
	if worst > tol || math.IsNaN(worst) {
		t.Fatalf("%s: max abs diff %.3g at %d (got %v, want %v) > %g", name, worst, at, got[at], want[at], tol)
	}
}

func normalizeRows(v []float32, d int) []float32 {
	out := append([]float32(nil), v...)
	for r := 0; r < len(out)/d; r++ {
		row := out[r*d : (r+1)*d]
		var s float64
		for _, x := range row {
			s += float64(x) * float64(x)
		}
		inv := float32(1 / math.Sqrt(s))
		for i := range row {
			row[i] *= inv
		}
	}
	return out
}

func TestGoldenHFCLIP(t *testing.T) {
	dir := fixtures.Dir(t, "clip-vit")
	g := openGolden(t, dir)
	for _, weights := range []string{"model.safetensors", "model.fp16.safetensors"} {
		t.Run(weights, func(t *testing.T) {
			m, err := Load(dir, &Options{Weights: weights})
			if err != nil {
				t.Fatal(err)
			}
			px, shape := g.f32(t, "pixel_values")
			vo, err := m.Vision.Forward(px, shape[0])
			if err != nil {
				t.Fatal(err)
			}
			want, _ := g.f32(t, "vision_last_hidden_state")
			near(t, "vision_last_hidden_state", vo.LastHidden, want, 1e-4)
			want, _ = g.f32(t, "vision_pooled")
			near(t, "vision_pooled", vo.Pooled, want, 1e-4)
			imgEmb := normalizeRows(vo.Embeds, m.Cfg.EmbedDim)
			want, _ = g.f32(t, "image_embeds")
			near(t, "image_embeds", imgEmb, want, 1e-4)

			to, err := m.Text.Forward(g.ids(t, "input_ids"))
			if err != nil {
				t.Fatal(err)
			}
			want, _ = g.f32(t, "text_last_hidden_state")
			near(t, "text_last_hidden_state", to.LastHidden, want, 1e-4)
			want, _ = g.f32(t, "text_pooled")
			near(t, "text_pooled", to.Pooled, want, 1e-4)
			txtEmb := normalizeRows(to.Embeds, m.Cfg.EmbedDim)
			want, _ = g.f32(t, "text_embeds")
			near(t, "text_embeds", txtEmb, want, 1e-4)

			d := m.Cfg.EmbedDim
			ni, nt := len(imgEmb)/d, len(txtEmb)/d
			logits := make([]float32, ni*nt)
			for i := 0; i < ni; i++ {
				for j := 0; j < nt; j++ {
					var s float32
					for k := 0; k < d; k++ {
						s += imgEmb[i*d+k] * txtEmb[j*d+k]
					}
					logits[i*nt+j] = m.LogitScale * s
				}
			}
			want, _ = g.f32(t, "logits_per_image")
			near(t, "logits_per_image", logits, want, 1e-3*float64(m.LogitScale))
		})
	}
}

func TestGoldenOpenCLIPViT(t *testing.T) {
	dir := fixtures.Dir(t, "clip-vit-openclip")
	g := openGolden(t, dir)
	m, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	px, shape := g.f32(t, "pixel_values")
	vo, err := m.Vision.Forward(px, shape[0])
	if err != nil {
		t.Fatal(err)
	}
	want, _ := g.f32(t, "image_features")
	near(t, "image_features", vo.Embeds, want, 1e-4)
	to, err := m.Text.Forward(g.ids(t, "input_ids"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ = g.f32(t, "text_features")
	near(t, "text_features", to.Embeds, want, 1e-4)
}

func TestGoldenOpenCLIPResNet(t *testing.T) {
	dir := fixtures.Dir(t, "clip-resnet")
	g := openGolden(t, dir)
	m, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.ResNet == nil || m.Vision != nil {
		t.Fatal("clip-resnet did not load as a ResNet model")
	}
	px, shape := g.f32(t, "pixel_values")
	feats, err := m.ResNet.Forward(px, shape[0])
	if err != nil {
		t.Fatal(err)
	}
	want, _ := g.f32(t, "image_features")
	near(t, "image_features", feats, want, 1e-4)
	to, err := m.Text.Forward(g.ids(t, "input_ids"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ = g.f32(t, "text_features")
	near(t, "text_features", to.Embeds, want, 1e-4)
}

func TestEOSPooling(t *testing.T) {
	seq := []int{49406, 320, 49407, 0, 0, 49407}
	legacy := &Text{cfg: Config{EOSArgmax: true}}
	if p := legacy.eosPosition(seq); p != 2 {
		t.Fatalf("argmax rule: %d", p)
	}
	// transformers' rule for eos_token_id != 2: the first EOS token.
	first := &Text{cfg: Config{EOSToken: 0}}
	if p := first.eosPosition(seq); p != 3 {
		t.Fatalf("first-EOS rule: %d", p)
	}
	cfg, err := parseHFConfig([]byte(`{"model_type":"clip","text_config":{"eos_token_id":49407}}`))
	if err != nil || cfg.EOSArgmax || cfg.EOSToken != 49407 {
		t.Fatalf("config with eos_token_id 49407: %+v %v", cfg, err)
	}
	cfg, err = parseHFConfig([]byte(`{"model_type":"clip","text_config":{"eos_token_id":2}}`))
	if err != nil || !cfg.EOSArgmax {
		t.Fatalf("legacy config: %+v %v", cfg, err)
	}
	if _, err := parseHFConfig([]byte(`{"model_type":"blip"}`)); err == nil {
		t.Fatal("non-CLIP config accepted")
	}
}

func TestLoadReportsMismatchedCheckpoint(t *testing.T) {
	src := fixtures.Dir(t, "clip-vit")
	dir := t.TempDir()
	b, _ := os.ReadFile(filepath.Join(src, "config.json"))
	// A config that disagrees with the weights: wider text tower.
	b = []byte(strings.Replace(string(b), `"hidden_size": 32`, `"hidden_size": 64`, 1))
	os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
	os.Symlink(filepath.Join(src, "model.safetensors"), filepath.Join(dir, "model.safetensors"))
	_, err := Load(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "text_model.embeddings.token_embedding.weight") {
		t.Fatalf("mismatch not reported by tensor name: %v", err)
	}
}

// TestTextEmbedTruncates: the embedding path, which stops the causal tower
// after the batch's last EOS token, gives exactly Forward's embeddings on
// every fixture, for the goldens' batch and for each caption alone (whose
// EOS comes earlier than the batch's longest).
func TestTextEmbedTruncates(t *testing.T) {
	for _, name := range []string{"clip-vit", "clip-vit-openclip", "clip-resnet"} {
		dir := fixtures.Dir(t, name)
		g := openGolden(t, dir)
		m, err := Load(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids := g.ids(t, "input_ids")
		batches := [][][]int{ids}
		for _, seq := range ids {
			batches = append(batches, [][]int{seq})
		}
		for bi, b := range batches {
			full, err := m.Text.Forward(b)
			if err != nil {
				t.Fatal(err)
			}
			short, err := m.Text.Embed(b)
			if err != nil {
				t.Fatal(err)
			}
			if short.LastHidden != nil {
				t.Fatalf("%s: Embed kept the last hidden state", name)
			}
			for i, v := range full.Embeds {
				if short.Embeds[i] != v {
					t.Fatalf("%s batch %d: embeds[%d] = %v, Forward gives %v", name, bi, i, short.Embeds[i], v)
				}
			}
		}
	}
}
