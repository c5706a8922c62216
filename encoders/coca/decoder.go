package coca

import (
	"fmt"

	"rosetta/encoders/nn"
)

// decoder is open_clip's MultimodalTransformer: per layer a causal
// self-attention block, then a cross-attention block over the image
// tokens; ln_final and text_projection give vocabulary logits.
type decoder struct {
	cfg     DecoderConfig
	vocab   int
	self    []nn.Block
	cross   []crossBlock
	finalLN nn.LayerNorm
	proj    *nn.Linear // text_projection, [Width, vocab] stored in→out
}

func buildDecoder(l *loader, c Config, act nn.Activation) *decoder {
	dc := c.Decoder
	w := dc.Width
	d := &decoder{cfg: dc, vocab: c.Vocab}
	d.self = l.blocks("text_decoder.resblocks", dc.Layers, w, dc.Heads, dc.MLP, dc.Eps, act)
	d.cross = make([]crossBlock, dc.Layers)
	for i := range d.cross {
		d.cross[i] = loadCrossBlock(l, fmt.Sprintf("text_decoder.cross_attn.%d", i), w, dc.Heads, dc.MLP, dc.Eps, act)
	}
	d.finalLN = l.layerNorm("text_decoder.ln_final", w, dc.Eps)
	d.proj = l.projection("text_decoder.text_projection", w, c.Vocab)
	return d
}

// DecoderLogits runs the multimodal decoder for batch pairs: image tokens
// [batch*ImageTokens()*EmbedDim] from EncodeImage and text tokens
// [batch*textLen*Text.Width] from EncodeText, pair b being image b with
// text b. It returns next-token logits [batch*textLen*Vocab]: position i
// predicts the token after text position i.
func (m *Model) DecoderLogits(imageTokens, textTokens []float32, batch, textLen int) ([]float32, error) {
	kv, err := m.imageKV(imageTokens, batch)
	if err != nil {
		return nil, err
	}
	x, err := m.decoderHidden(kv, textTokens, batch, textLen)
	if err != nil {
		return nil, err
	}
	logits := make([]float32, batch*textLen*m.Cfg.Vocab)
	m.decoder.proj.Forward(x, batch*textLen, logits)
	return logits, nil
}

// imageKV checks image tokens and projects them to every cross-attention
// layer's keys and values.
func (m *Model) imageKV(imageTokens []float32, batch int) ([][]float32, error) {
	ti, e := m.Cfg.ImageTokens(), m.Cfg.EmbedDim
	if batch <= 0 {
		return nil, fmt.Errorf("%w: batch %d", ErrInput, batch)
	}
	if len(imageTokens) != batch*ti*e {
		return nil, fmt.Errorf("%w: image tokens have %d values, want %d×%d×%d", ErrInput, len(imageTokens), batch, ti, e)
	}
	if err := checkFinite(imageTokens); err != nil {
		return nil, fmt.Errorf("image tokens: %w", err)
	}
	kv := make([][]float32, len(m.decoder.cross))
	for i := range m.decoder.cross {
		kv[i] = m.decoder.cross[i].keysValues(imageTokens, batch*ti)
	}
	return kv, nil
}

// decoderHidden returns the decoder's ln_final output [batch*t*Width].
func (m *Model) decoderHidden(kv [][]float32, textTokens []float32, batch, t int) ([]float32, error) {
	d := m.decoder
	w := d.cfg.Width
	if t <= 0 || t > d.cfg.Context {
		return nil, fmt.Errorf("%w: text length %d, the decoder takes 1 to %d", ErrInput, t, d.cfg.Context)
	}
	if len(textTokens) != batch*t*w {
		return nil, fmt.Errorf("%w: text tokens have %d values, want %d×%d×%d", ErrInput, len(textTokens), batch, t, w)
	}
	if err := checkFinite(textTokens); err != nil {
		return nil, fmt.Errorf("text tokens: %w", err)
	}
	x := make([]float32, len(textTokens))
	copy(x, textTokens)
	causal := func(int) nn.Mask { return nn.Mask{Causal: true} }
	var ss nn.BlockScratch
	var cs crossScratch
	ti := m.Cfg.ImageTokens()
	for i := range d.self {
		d.self[i].Forward(x, batch, t, causal, &ss)
		d.cross[i].forward(x, batch, t, kv[i], ti, &cs)
	}
	d.finalLN.Forward(x, batch*t, x)
	return x, nil
}
