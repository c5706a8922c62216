package clip

// VisionFLOPs is the multiply-add work of one image through the ViT tower
// and its projection, counting each multiply and each add (2 per MAC):
// the patch embedding, every block's four attention projections, its two
// MLP layers and its two attention products (queries by keys, weights by
// values, every head over every token pair), and the projection of the
// class token. Layer norms, softmax and activations are left out, as
// GFLOP figures of transformers usually leave them out. It is 0 for a
// ResNet model (no ViT shape in the config).
func (c Config) VisionFLOPs() int64 {
	if c.Patch == 0 || c.ImageSize == 0 {
		return 0
	}
	g := int64(c.ImageSize / c.Patch)
	p := int64(c.Patch)
	patch := 2 * g * g * 3 * p * p * int64(c.Vision.Width)
	return patch + towerFLOPs(c.Vision, g*g+1) + 2*int64(c.Vision.Width)*int64(c.EmbedDim)
}

// TextFLOPs is the same count for one caption of Context tokens through
// the text tower and its projection of the pooled token. The causal mask
// is not subtracted: the attention products are dense.
func (c Config) TextFLOPs() int64 {
	return towerFLOPs(c.Text, int64(c.Context)) + 2*int64(c.Text.Width)*int64(c.EmbedDim)
}

// towerFLOPs counts the blocks of a pre-norm transformer tower over n
// tokens.
func towerFLOPs(t TowerConfig, n int64) int64 {
	w, mlp := int64(t.Width), int64(t.MLP)
	linear := 2 * n * (4*w*w + 2*w*mlp)
	attention := 2 * 2 * n * n * w // QKᵀ and PV over all heads: heads × head_dim = w
	return int64(t.Layers) * (linear + attention)
}
