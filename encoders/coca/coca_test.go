package coca

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"rosetta/encoders/safetensors"
	"rosetta/internal/fixtures"
)

// tol is the fixtures' bound for a faithful float32 implementation.
const tol = 1e-4

type fixture struct {
	model  *Model
	golden *safetensors.Checkpoint
	dir    string
}

var (
	loadOnce sync.Once
	loaded   fixture
	loadErr  error
)

func load(t testing.TB) fixture {
	t.Helper()
	dir := fixtures.Dir(t, "coca")
	loadOnce.Do(func() {
		loaded.dir = dir
		if loaded.model, loadErr = Load(dir, nil); loadErr != nil {
			return
		}
		loaded.golden, loadErr = safetensors.OpenCheckpoint(filepath.Join(dir, "golden.safetensors"))
	})
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return loaded
}

func (f fixture) f32(t testing.TB, name string) ([]float32, []int) {
	t.Helper()
	v, shape, err := f.golden.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v, shape
}

func (f fixture) ids(t testing.TB, name string) [][]int {
	t.Helper()
	tt, err := f.golden.Tensor(name)
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

// near fails unless max |got-want| ≤ tol and logs the worst difference.
func near(t testing.TB, name string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, golden has %d", name, len(got), len(want))
	}
	worst, at := 0.0, 0
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) || d > worst {
			worst, at = d, i
		}
	}
	t.Logf("%s: max abs error %.3g", name, worst)
	if !(worst <= tol) {
		t.Errorf("%s: max abs error %.3g at %d (got %v, want %v), tolerance %g", name, worst, at, got[at], want[at], tol)
	}
}

func TestGoldenImage(t *testing.T) {
	f := load(t)
	px, shape := f.f32(t, "pixel_values")
	latent, tokens, err := f.model.EncodeImage(px, shape[0])
	if err != nil {
		t.Fatal(err)
	}
	want, _ := f.f32(t, "image_latent")
	near(t, "image_latent", latent, want)
	want, _ = f.f32(t, "image_tokens")
	near(t, "image_tokens", tokens, want)
}

func TestGoldenText(t *testing.T) {
	f := load(t)
	ids := f.ids(t, "input_ids")
	latent, tokens, err := f.model.EncodeText(ids)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := f.f32(t, "text_latent")
	near(t, "text_latent", latent, want)
	want, _ = f.f32(t, "text_tokens")
	near(t, "text_tokens", tokens, want)
}

func TestGoldenDecoderLogits(t *testing.T) {
	f := load(t)
	m := f.model
	want, shape := f.f32(t, "decoder_logits") // [pairs, positions, vocab]
	pairs, keep, vocab := shape[0], shape[1], shape[2]
	if vocab != m.Cfg.Vocab {
		t.Fatalf("golden vocab %d, model %d", vocab, m.Cfg.Vocab)
	}
	px, pshape := f.f32(t, "pixel_values")
	per := len(px) / pshape[0]
	_, imgTok, err := m.EncodeImage(px[:pairs*per], pairs)
	if err != nil {
		t.Fatal(err)
	}
	ids := f.ids(t, "input_ids")[:pairs]
	_, txtTok, err := m.EncodeText(ids)
	if err != nil {
		t.Fatal(err)
	}
	n := len(ids[0])
	logits, err := m.DecoderLogits(imgTok, txtTok, pairs, n)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 0, len(want))
	for b := 0; b < pairs; b++ {
		got = append(got, logits[b*n*vocab:(b*n+keep)*vocab]...)
	}
	near(t, "decoder_logits", got, want)
}

func TestGoldenGreedy(t *testing.T) {
	f := load(t)
	b, err := os.ReadFile(filepath.Join(f.dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		GreedyCaptions [][]int `json:"greedy_captions"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	px, shape := f.f32(t, "pixel_values")
	got, err := f.model.Greedy(context.Background(), px, shape[0], 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(meta.GreedyCaptions) {
		t.Fatalf("%d captions, golden has %d", len(got), len(meta.GreedyCaptions))
	}
	for i := range got {
		if !slices.Equal(got[i], meta.GreedyCaptions[i]) {
			t.Errorf("caption %d:\n got %v\nwant %v", i, got[i], meta.GreedyCaptions[i])
		}
	}
}
