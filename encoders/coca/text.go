package coca

import (
	"fmt"

	"rosetta/encoders/nn"
)

// text is open_clip's TextTransformer with embed_cls: a CLS embedding is
// appended after the tokens and its output, after ln_final and
// text_projection, is the text latent.
type text struct {
	cfg     TextConfig
	tokEmb  []float32
	pos     []float32 // Context+1 positions (the last one for CLS)
	cls     []float32
	blocks  []nn.Block
	finalLN nn.LayerNorm
	proj    *nn.Linear
}

func buildText(l *loader, c Config, act nn.Activation) *text {
	tc := c.Text
	w := tc.Width
	return &text{
		cfg:     tc,
		tokEmb:  l.tensor("text.token_embedding.weight", tc.Vocab, w),
		pos:     l.tensor("text.positional_embedding", tc.Context+1, w),
		cls:     l.tensor("text.cls_emb", w),
		blocks:  l.blocks("text.transformer.resblocks", tc.Layers, w, tc.Heads, tc.MLP, tc.Eps, act),
		finalLN: l.layerNorm("text.ln_final", w, tc.Eps),
		proj:    l.projection("text.text_projection", w, c.EmbedDim),
	}
}

// EncodeText encodes token id sequences, all of one length L ≤
// Text.Context (open_clip pads with Text.PadID; CoCa checkpoints take 76
// ids: the tokenizer's 77-id context without its last id). It returns the
// L2-normalised latents [batch*EmbedDim] and the text tokens the decoder
// reads [batch*L*Text.Width] (the tower's outputs before ln_final).
func (m *Model) EncodeText(ids [][]int) (latent, tokens []float32, err error) {
	pooled, tokens, err := m.text.forward(ids)
	if err != nil {
		return nil, nil, err
	}
	batch, e := len(ids), m.Cfg.EmbedDim
	latent = make([]float32, batch*e)
	m.text.proj.Forward(pooled, batch, latent)
	for b := 0; b < batch; b++ {
		normalize(latent[b*e : (b+1)*e])
	}
	return latent, tokens, nil
}

// checkIDs validates a batch of equal-length sequences and returns L.
func (tx *text) checkIDs(ids [][]int) (int, error) {
	if len(ids) == 0 {
		return 0, fmt.Errorf("%w: no sequences", ErrInput)
	}
	n := len(ids[0])
	if n == 0 || n > tx.cfg.Context {
		return 0, fmt.Errorf("%w: sequence length %d, the model takes 1 to %d", ErrInput, n, tx.cfg.Context)
	}
	for b, seq := range ids {
		if len(seq) != n {
			return 0, fmt.Errorf("%w: sequence %d has %d ids, sequence 0 has %d", ErrInput, b, len(seq), n)
		}
		for _, id := range seq {
			if id < 0 || id >= tx.cfg.Vocab {
				return 0, fmt.Errorf("%w: token id %d outside the vocabulary of %d", ErrInput, id, tx.cfg.Vocab)
			}
		}
	}
	return n, nil
}

// forward returns the ln_final'd CLS outputs [batch*W] and the token
// outputs [batch*L*W].
func (tx *text) forward(ids [][]int) (pooled, tokens []float32, err error) {
	n, err := tx.checkIDs(ids)
	if err != nil {
		return nil, nil, err
	}
	w := tx.cfg.Width
	batch, t := len(ids), n+1
	x := make([]float32, batch*t*w)
	for b, seq := range ids {
		xs := x[b*t*w : (b+1)*t*w]
		for i, id := range seq {
			copy(xs[i*w:(i+1)*w], tx.tokEmb[id*w:(id+1)*w])
		}
		copy(xs[n*w:], tx.cls)
		nn.Add(xs, tx.pos[:t*w])
	}
	// Causal everywhere; the CLS row (i == n) also follows open_clip's
	// build_cls_mask, whose padding mask is shifted right by one column:
	// key 0 is always visible and key j is visible when ids[j-1] is not
	// the pad id.
	pad := tx.cfg.PadID
	allow := func(seq, i, j int) bool {
		if j > i {
			return false
		}
		if i < n || j == 0 {
			return true
		}
		return ids[seq][j-1] != pad
	}
	var s selfScratch
	for i := range tx.blocks {
		selfBlockForward(&tx.blocks[i], x, batch, t, allow, &s)
	}
	pooled = make([]float32, batch*w)
	tokens = make([]float32, batch*n*w)
	for b := 0; b < batch; b++ {
		xs := x[b*t*w : (b+1)*t*w]
		copy(tokens[b*n*w:(b+1)*n*w], xs[:n*w])
		copy(pooled[b*w:(b+1)*w], xs[n*w:])
	}
	tx.finalLN.Forward(pooled, batch, pooled)
	return pooled, tokens, nil
}

type selfScratch struct {
	norm, qkv, ctx, out, hidden, scores []float32
}

// selfBlockForward runs an open_clip ResidualAttentionBlock (stored as an
// nn.Block with fused QKV) with a per-query mask that nn.Attention cannot
// express: allow(seq, i, j) says whether query i of sequence seq sees key j.
func selfBlockForward(bl *nn.Block, x []float32, batch, t int, allow func(seq, i, j int) bool, s *selfScratch) {
	d, h := bl.Attn.Dim, bl.Attn.Heads
	rows := batch * t
	norm := grow(&s.norm, rows*d)
	qkv := grow(&s.qkv, rows*3*d)
	ctx := grow(&s.ctx, rows*d)
	out := grow(&s.out, rows*d)
	scores := grow(&s.scores, t*t)
	bl.LN1.Forward(x, rows, norm)
	bl.Attn.QKV.Forward(norm, rows, qkv)
	for b := 0; b < batch; b++ {
		base := qkv[b*t*3*d:]
		headAttention(base, 3*d, base[d:], 3*d, base[2*d:], 3*d, t, t, h, d/h,
			func(i, j int) bool { return allow(b, i, j) }, scores, ctx[b*t*d:], d)
	}
	bl.Attn.Out.Forward(ctx, rows, out)
	nn.Add(x, out)
	bl.LN2.Forward(x, rows, norm)
	hidden := grow(&s.hidden, rows*bl.FC1.Out)
	bl.FC1.Forward(norm, rows, hidden)
	bl.Act(hidden)
	bl.FC2.Forward(hidden, rows, out)
	nn.Add(x, out)
}
