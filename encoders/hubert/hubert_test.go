package hubert

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"rosetta/encoders/safetensors"
	"rosetta/internal/fixtures"
)

const tol = 1e-4

func golden(t *testing.T, dir string) map[string][]float32 {
	t.Helper()
	f, err := safetensors.Open(filepath.Join(dir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]float32{}
	for _, n := range f.Names() {
		tn, _ := f.Tensor(n)
		v, err := tn.Float32()
		if err != nil {
			t.Fatal(err)
		}
		out[n] = v
	}
	return out
}

func rows(x []float32, n int) [][]float32 {
	w := len(x) / n
	out := make([][]float32, n)
	for i := range out {
		out[i] = x[i*w : (i+1)*w]
	}
	return out
}

func maxAbs(t *testing.T, name string, got [][]float32, want []float32) {
	t.Helper()
	var flat []float32
	for _, g := range got {
		flat = append(flat, g...)
	}
	if len(flat) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(flat), len(want))
	}
	var m float64
	for i := range want {
		m = math.Max(m, math.Abs(float64(flat[i]-want[i])))
	}
	t.Logf("%s: max abs error %.3g", name, m)
	if m > tol {
		t.Errorf("%s: max abs error %.3g > %g", name, m, tol)
	}
}

func TestHubertGolden(t *testing.T) {
	dir := fixtures.Dir(t, "hubert")
	g := golden(t, dir)
	for _, w := range []string{"model.safetensors", "model.legacy.safetensors"} {
		t.Run(w, func(t *testing.T) {
			m, err := Load(dir, &Options{Weights: w})
			if err != nil {
				t.Fatal(err)
			}
			if m.NeedsNormalize() || m.SampleRate() != 16000 || m.Dim() != 32 {
				t.Fatalf("normalize %v rate %d dim %d", m.NeedsNormalize(), m.SampleRate(), m.Dim())
			}
			out, err := m.Forward(rows(g["input_values"], 2))
			if err != nil {
				t.Fatal(err)
			}
			if out.Frames[0] != 49 || m.Frames(16000) != 49 {
				t.Fatalf("frames %v", out.Frames)
			}
			maxAbs(t, "extract_features", out.ExtractFeatures, g["extract_features"])
			maxAbs(t, "last_hidden_state", out.LastHidden, g["last_hidden_state"])
			maxAbs(t, "mean_pooled", out.MeanPooled, g["mean_pooled"])
		})
	}
}

func TestWav2Vec2Golden(t *testing.T) {
	dir := fixtures.Dir(t, "wav2vec2")
	g := golden(t, dir)
	m, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !m.NeedsNormalize() {
		t.Fatal("wav2vec2 fixture asks for normalisation")
	}
	var norm [][]float32
	for _, x := range rows(g["raw_audio"], 2) {
		norm = append(norm, Normalize(x))
	}
	maxAbs(t, "input_values", norm, g["input_values"])
	out, err := m.Forward(rows(g["input_values"], 2))
	if err != nil {
		t.Fatal(err)
	}
	maxAbs(t, "last_hidden_state", out.LastHidden, g["last_hidden_state"])
	maxAbs(t, "mean_pooled", out.MeanPooled, g["mean_pooled"])
}

// TestUnequalLengths checks that a waveform encoded beside a longer one
// gives what it gives alone.
func TestUnequalLengths(t *testing.T) {
	dir := fixtures.Dir(t, "hubert")
	g := golden(t, dir)
	m, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := rows(g["input_values"], 2)
	short := in[1][:9000]
	both, err := m.Forward([][]float32{in[0], short})
	if err != nil {
		t.Fatal(err)
	}
	alone, err := m.Forward([][]float32{short})
	if err != nil {
		t.Fatal(err)
	}
	if both.Frames[1] != alone.Frames[0] {
		t.Fatalf("frames %d vs %d", both.Frames[1], alone.Frames[0])
	}
	for i, v := range alone.LastHidden[0] {
		if both.LastHidden[1][i] != v {
			t.Fatalf("value %d: %v batched, %v alone", i, both.LastHidden[1][i], v)
		}
	}
}

func TestBadInput(t *testing.T) {
	dir := fixtures.Dir(t, "hubert")
	m, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][][]float32{
		"empty batch": nil,
		"too short":   {make([]float32, 100)},
		"nan":         {append(make([]float32, 4000), float32(math.NaN()))},
	} {
		if _, err := m.Forward(b); !errors.Is(err, ErrInput) {
			t.Errorf("%s: err %v, want ErrInput", name, err)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := fixtures.Dir(t, "hubert")
	if _, err := Load(dir, &Options{Weights: "missing.safetensors"}); err == nil {
		t.Error("missing weights: no error")
	}
	if _, err := Load(filepath.Join(dir, "nope"), nil); err == nil {
		t.Error("missing dir: no error")
	}
}

func TestConfigValidate(t *testing.T) {
	bad := Config{
		ModelType: "whisper", HiddenSize: 30, NumAttentionHeads: 4, IntermediateSize: 8,
		FeatExtractNorm: "batch", ConvDim: []int{4, 4}, ConvKernel: []int{3}, ConvStride: []int{1, 1},
		NumConvPosEmbeddings: 4, NumConvPosGroups: 7, LayerNormEps: 1e-5,
	}
	err := bad.validate()
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("err %v, want ErrConfig", err)
	}
	// Every problem is reported at once.
	for _, want := range []string{"model_type", "hidden_size", "conv_dim", "feat_extract_norm", "positional"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func BenchmarkForwardHubertTiny(b *testing.B) {
	dir := fixtures.Dir(b, "hubert")
	m, err := Load(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	x := make([][]float32, 2)
	for i := range x {
		x[i] = make([]float32, 16000)
		for j := range x[i] {
			x[i][j] = float32(math.Sin(float64(j) * 0.05))
		}
	}
	b.ResetTimer()
	for range b.N {
		if _, err := m.Forward(x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(x))/b.Elapsed().Seconds(), "seconds_of_audio/s")
}
