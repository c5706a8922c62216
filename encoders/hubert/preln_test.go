package hubert

import (
	"fmt"
	"testing"
)

// TestStableLayerNormGolden checks the large-model form (layer-norm conv
// feature encoder with conv bias, feature-projection layer norm, pre-LN
// transformer with a final encoder layer norm, even positional kernel,
// parametrizations.weight.original0/1 names) against
// testdata/preln/golden.safetensors. The shared fixtures have no such
// model, so gen.py beside it computes the golden with PyTorch 1.13's
// conv1d, layer_norm, gelu and softmax, in float64, following transformers'
// HubertEncoderStableLayerNorm and HubertLayerNormConvLayer.
func TestStableLayerNormGolden(t *testing.T) {
	dir := "testdata/preln"
	g := golden(t, dir)
	m, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Config().DoStableLayerNorm || m.Config().FeatExtractNorm != "layer" || !m.NeedsNormalize() {
		t.Fatalf("config %+v", m.Config())
	}
	for i := range 2 {
		in := Normalize(g[fmt.Sprintf("raw_audio_%d", i)])
		maxAbs(t, "input_values", [][]float32{in}, g[fmt.Sprintf("input_values_%d", i)])
		out, err := m.Forward([][]float32{in})
		if err != nil {
			t.Fatal(err)
		}
		maxAbs(t, "extract_features", out.ExtractFeatures, g[fmt.Sprintf("extract_features_%d", i)])
		maxAbs(t, "last_hidden_state", out.LastHidden, g[fmt.Sprintf("last_hidden_state_%d", i)])
		maxAbs(t, "mean_pooled", out.MeanPooled, g[fmt.Sprintf("mean_pooled_%d", i)])
	}
}
