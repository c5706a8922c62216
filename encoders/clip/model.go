// Package clip runs CLIP models in pure Go: the ViT image tower in the
// Hugging Face transformers layout and in open_clip's layout (OpenAI and
// LAION checkpoints), the causal text tower, projections and the logit
// scale. Every size comes from the checkpoint's config.
package clip

import (
	"fmt"
	"slices"

	"rosetta/encoders/nn"
)

// TowerConfig describes one transformer tower.
type TowerConfig struct {
	Width, Layers, Heads, MLP int
	Eps                       float32
	Act                       string
}

// Config is a CLIP model's shape, read from config.json (HF) or
// open_clip_config.json (open_clip).
type Config struct {
	Layout    string // "hf" or "open_clip"
	EmbedDim  int
	Vision    TowerConfig
	ImageSize int
	Patch     int
	Text      TowerConfig
	Context   int
	Vocab     int
	// EOSArgmax pools the text at argmax(ids) (OpenAI/open_clip, and HF's
	// legacy eos_token_id == 2); otherwise at the first EOSToken.
	EOSArgmax bool
	EOSToken  int
}

// ViT is the vision transformer tower.
type ViT struct {
	cfg      Config
	patch    *nn.Linear // conv1 as a linear map of flattened patches
	class    []float32
	pos      []float32
	preLN    nn.LayerNorm
	blocks   []nn.Block
	postLN   nn.LayerNorm
	proj     *nn.Linear
	grid     int
	channels int
}

// Text is the causal text transformer.
type Text struct {
	cfg     Config
	tokEmb  []float32
	pos     []float32
	blocks  []nn.Block
	finalLN nn.LayerNorm
	proj    *nn.Linear
}

// Model is a loaded CLIP model; safe for concurrent use.
type Model struct {
	Cfg        Config
	Vision     *ViT    // the ViT image tower, or nil for a ResNet model
	ResNet     *ResNet // the ModifiedResNet image tower, or nil
	Text       *Text
	LogitScale float32 // exp(logit_scale)
}

// VisionOutput holds one batch's image tower results.
type VisionOutput struct {
	LastHidden []float32 // [batch, tokens, width], before the post norm
	Pooled     []float32 // [batch, width], post-normed class token
	Embeds     []float32 // [batch, embed], projected, not normalised
}

// Tokens is the number of tokens per image (class + patches).
func (v *ViT) Tokens() int { return v.grid*v.grid + 1 }

// Forward encodes a batch of CHW pixel tensors ([batch*3*S*S]).
func (v *ViT) Forward(pixels []float32, batch int) (*VisionOutput, error) {
	s := v.cfg.ImageSize
	c := v.channels
	if len(pixels) != batch*c*s*s {
		return nil, fmt.Errorf("%w: pixels have %d values, want %d×%d×%d×%d", nn.ErrShape, len(pixels), batch, c, s, s)
	}
	p, g, w := v.cfg.Patch, v.grid, v.cfg.Vision.Width
	t := g*g + 1
	x := nn.PatchTokens(pixels, batch, c, s, p, v.patch, v.class, v.pos)
	v.preLN.Forward(x, batch*t, x)
	var sc nn.BlockScratch
	for i := range v.blocks {
		v.blocks[i].Forward(x, batch, t, nil, &sc)
	}
	out := &VisionOutput{LastHidden: x, Pooled: make([]float32, batch*w)}
	for b := 0; b < batch; b++ {
		copy(out.Pooled[b*w:(b+1)*w], x[b*t*w:b*t*w+w])
	}
	v.postLN.Forward(out.Pooled, batch, out.Pooled)
	out.Embeds = make([]float32, batch*v.cfg.EmbedDim)
	v.proj.Forward(out.Pooled, batch, out.Embeds)
	return out, nil
}

// TextOutput holds one batch's text tower results.
type TextOutput struct {
	LastHidden []float32 // [batch, context, width], after the final norm
	Pooled     []float32 // [batch, width] at the EOS position
	Embeds     []float32 // [batch, embed], projected, not normalised
}

// Forward encodes token id sequences of exactly Context ids each (use the
// tokenizer's context encoding).
func (tx *Text) Forward(ids [][]int) (*TextOutput, error) {
	return tx.forward(ids, false)
}

// Embed is Forward for the embeddings alone (Embeds and Pooled; no
// LastHidden): under the causal mask a token never sees the tokens after
// it, so the padding after the last sequence's pooled (EOS) token cannot
// change any pooled output, and the tower runs over the batch's tokens up
// to there instead of all Context: a 10-token query costs about an eighth
// of a 77-token one. Every pooled value equals Forward's exactly (each
// row's products and the softmax see the same values; the padding only
// added zeros).
func (tx *Text) Embed(ids [][]int) (*TextOutput, error) {
	return tx.forward(ids, true)
}

func (tx *Text) forward(ids [][]int, pooledOnly bool) (*TextOutput, error) {
	ctx, w := tx.cfg.Context, tx.cfg.Text.Width
	batch := len(ids)
	pool := make([]int, batch)
	t := ctx
	for b, seq := range ids {
		if len(seq) != ctx {
			return nil, fmt.Errorf("%w: sequence %d has %d tokens, the model takes %d", nn.ErrShape, b, len(seq), ctx)
		}
		for _, id := range seq {
			if id < 0 || id >= tx.cfg.Vocab {
				return nil, fmt.Errorf("%w: token id %d outside the vocabulary of %d", nn.ErrShape, id, tx.cfg.Vocab)
			}
		}
		pool[b] = tx.eosPosition(seq)
	}
	if pooledOnly && batch > 0 {
		t = slices.Max(pool) + 1
	}
	x := make([]float32, batch*t*w)
	for b, seq := range ids {
		for i, id := range seq[:t] {
			copy(x[(b*t+i)*w:(b*t+i+1)*w], tx.tokEmb[id*w:(id+1)*w])
		}
		nn.Add(x[b*t*w:(b+1)*t*w], tx.pos[:t*w])
	}
	var sc nn.BlockScratch
	causal := func(int) nn.Mask { return nn.Mask{Causal: true} }
	for i := range tx.blocks {
		tx.blocks[i].Forward(x, batch, t, causal, &sc)
	}
	out := &TextOutput{Pooled: make([]float32, batch*w)}
	for b := range ids {
		copy(out.Pooled[b*w:(b+1)*w], x[(b*t+pool[b])*w:(b*t+pool[b]+1)*w])
	}
	if pooledOnly {
		tx.finalLN.Forward(out.Pooled, batch, out.Pooled)
	} else {
		tx.finalLN.Forward(x, batch*t, x)
		out.LastHidden = x
		for b := range ids {
			copy(out.Pooled[b*w:(b+1)*w], x[(b*t+pool[b])*w:(b*t+pool[b]+1)*w])
		}
	}
	out.Embeds = make([]float32, batch*tx.cfg.EmbedDim)
	tx.proj.Forward(out.Pooled, batch, out.Embeds)
	return out, nil
}

func (tx *Text) eosPosition(seq []int) int {
	if tx.cfg.EOSArgmax {
		best := 0
		for i, id := range seq {
			if id > seq[best] {
				best = i
			}
		}
		return best
	}
	for i, id := range seq {
		if id == tx.cfg.EOSToken {
			return i
		}
	}
	return len(seq) - 1
}
