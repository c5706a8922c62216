package coca

import (
	"fmt"
	"math"

	"rosetta/encoders/nn"
)

// vision is the ViT trunk with the attentional pooler (open_clip's
// VisionTransformer with attentional_pool=True, the original CoCa setup:
// pool, then ln_post, then take the first query as the latent).
type vision struct {
	cfg    VisionConfig
	embed  int
	grid   int
	patch  *nn.Linear // conv1 as a linear map of flattened patches
	class  []float32
	pos    []float32
	preLN  nn.LayerNorm
	blocks []nn.Block
	pool   *attnPooler
	postLN nn.LayerNorm
	proj   *nn.Linear
}

func buildVision(l *loader, c Config, act nn.Activation) *vision {
	vc := c.Vision
	w, p := vc.Width, vc.Patch
	g := vc.ImageSize / p
	v := &vision{cfg: vc, embed: c.EmbedDim, grid: g}
	pw := l.tensor("visual.conv1.weight", w, 3, p, p)
	v.patch = l.rawLinear("visual.conv1.weight", pw, nil, w, 3*p*p)
	v.class = l.tensor("visual.class_embedding", w)
	v.pos = l.tensor("visual.positional_embedding", g*g+1, w)
	v.preLN = l.layerNorm("visual.ln_pre", w, vc.Eps)
	v.blocks = l.blocks("visual.transformer.resblocks", vc.Layers, w, vc.Heads, vc.MLP, vc.Eps, act)
	v.pool = loadPooler(l, "visual.attn_pool", c.EmbedDim, w, vc.PoolerHeads, vc.PoolerQueries, vc.Eps)
	v.postLN = l.layerNorm("visual.ln_post", c.EmbedDim, vc.Eps)
	v.proj = l.projection("visual.proj", c.EmbedDim, c.EmbedDim)
	return v
}

// EncodeImage encodes batch CHW images ([batch*3*S*S], preprocessed with
// the checkpoint's mean/std at S = ImageSize). It returns the L2-normalised
// contrastive latents [batch*EmbedDim] and the image tokens the decoder
// reads [batch*ImageTokens()*EmbedDim].
func (m *Model) EncodeImage(pixels []float32, batch int) (latent, tokens []float32, err error) {
	pooled, err := m.vision.forward(pixels, batch)
	if err != nil {
		return nil, nil, err
	}
	e, q := m.Cfg.EmbedDim, m.Cfg.Vision.PoolerQueries
	first := make([]float32, batch*e)
	tokens = make([]float32, batch*(q-1)*e)
	for b := 0; b < batch; b++ {
		seq := pooled[b*q*e : (b+1)*q*e]
		copy(first[b*e:(b+1)*e], seq[:e])
		copy(tokens[b*(q-1)*e:(b+1)*(q-1)*e], seq[e:])
	}
	latent = make([]float32, batch*e)
	m.vision.proj.Forward(first, batch, latent)
	for b := 0; b < batch; b++ {
		normalize(latent[b*e : (b+1)*e])
	}
	return latent, tokens, nil
}

// forward returns the post-normed pooler output [batch*queries*embed].
func (v *vision) forward(pixels []float32, batch int) ([]float32, error) {
	s, p, g := v.cfg.ImageSize, v.cfg.Patch, v.grid
	const c = 3
	if batch <= 0 {
		return nil, fmt.Errorf("%w: batch %d", ErrInput, batch)
	}
	if len(pixels) != batch*c*s*s {
		return nil, fmt.Errorf("%w: pixels have %d values, want %d×%d×%d×%d", ErrInput, len(pixels), batch, c, s, s)
	}
	if err := checkFinite(pixels); err != nil {
		return nil, fmt.Errorf("pixels: %w", err)
	}
	t := g*g + 1
	x := nn.PatchTokens(pixels, batch, c, s, p, v.patch, v.class, v.pos)
	v.preLN.Forward(x, batch*t, x)
	var sc nn.BlockScratch
	for i := range v.blocks {
		v.blocks[i].Forward(x, batch, t, nil, &sc)
	}
	pooled := v.pool.forward(x, batch, t)
	v.postLN.Forward(pooled, batch*v.pool.queries, pooled)
	return pooled, nil
}

// normalize scales v to unit L2 norm (F.normalize: divides by
// max(‖v‖, 1e-12)).
func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	n := math.Max(math.Sqrt(s), 1e-12)
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
}

func checkFinite(v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w: non-finite value %v at %d", ErrInput, x, i)
		}
	}
	return nil
}
