package blip

import (
	"fmt"
	"math"

	"rosetta/encoders/nn"
)

// vision is BLIP's ViT image tower (BlipVisionModel): patch embedding with
// bias, class token, learned positions, pre-norm layers and a final
// post_layernorm, with no layer norm before the first layer.
type vision struct {
	cfg    VisionConfig
	grid   int
	patch  *nn.Linear // [hidden, channels*patch*patch], columns (c, ky, kx)
	class  []float32
	pos    []float32 // [tokens*hidden]
	blocks []nn.Block
	postLN nn.LayerNorm
}

func loadVision(l *loader, prefix string, c VisionConfig) *vision {
	d, p := c.Hidden, c.PatchSize
	v := &vision{cfg: c, grid: c.ImageSize / p}
	t := c.ImageTokens()
	pe := prefix + ".embeddings"
	v.patch = l.newLinear(pe+".patch_embedding",
		l.tensor(pe+".patch_embedding.weight", d, c.Channels, p, p),
		l.tensor(pe+".patch_embedding.bias", d), d, c.Channels*p*p)
	v.class = l.tensor(pe+".class_embedding", 1, 1, d)
	v.pos = l.tensor(pe+".position_embedding", 1, t, d)
	act := l.activation(c.Act)
	v.blocks = make([]nn.Block, c.Layers)
	for i := range v.blocks {
		lp := fmt.Sprintf("%s.encoder.layers.%d", prefix, i)
		b := &v.blocks[i]
		b.LN1 = l.layerNorm(lp+".layer_norm1", d, c.Eps)
		b.LN2 = l.layerNorm(lp+".layer_norm2", d, c.Eps)
		// qkv's outputs are ordered (q|k|v, head, head_dim), the layout
		// nn.Attention expects of a fused projection.
		b.Attn = nn.Attention{Dim: d, Heads: c.Heads,
			QKV: l.linear(lp+".self_attn.qkv", 3*d, d),
			Out: l.linear(lp+".self_attn.projection", d, d)}
		b.Attn.Init()
		b.FC1 = l.linear(lp+".mlp.fc1", c.Intermediate, d)
		b.FC2 = l.linear(lp+".mlp.fc2", d, c.Intermediate)
		b.Act = act
	}
	v.postLN = l.layerNorm(prefix+".post_layernorm", d, c.Eps)
	return v
}

// checkPixels validates a batch of CHW images.
func (v *vision) checkPixels(pixels []float32, batch int) error {
	c, s := v.cfg.Channels, v.cfg.ImageSize
	if batch <= 0 {
		return fmt.Errorf("%w: batch of %d images", ErrInput, batch)
	}
	if want := batch * c * s * s; len(pixels) != want {
		return fmt.Errorf("%w: %d pixel values for %d images of %d×%d×%d (want %d)", ErrInput, len(pixels), batch, c, s, s, want)
	}
	for i, x := range pixels {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w: pixel value %d is %v", ErrInput, i, x)
		}
	}
	return nil
}

// forward returns the image embeds [batch*tokens*hidden] (post_layernorm
// applied, class token first) of batch preprocessed CHW images.
func (v *vision) forward(pixels []float32, batch int) ([]float32, error) {
	if err := v.checkPixels(pixels, batch); err != nil {
		return nil, err
	}
	c, s, p, g := v.cfg.Channels, v.cfg.ImageSize, v.cfg.PatchSize, v.grid
	t := g*g + 1
	x := nn.PatchTokens(pixels, batch, c, s, p, v.patch, v.class, v.pos)
	var sc nn.BlockScratch
	for i := range v.blocks {
		v.blocks[i].Forward(x, batch, t, nil, &sc)
	}
	v.postLN.Forward(x, batch*t, x)
	return x, nil
}
