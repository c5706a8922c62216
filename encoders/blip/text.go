package blip

import (
	"fmt"
	"math"

	"rosetta/encoders/nn"
	"rosetta/kernels"
)

// bertAttention is one BERT attention sub-layer (BlipTextAttention): q from
// the text, k and v from the text (self) or from the image embeds (cross),
// then out = LN(x + dense(context)).
type bertAttention struct {
	q, k, v, dense *nn.Linear
	ln             nn.LayerNorm
	// wk, wv, bv are the key and value weights and the value bias as read
	// ([out*in], PyTorch layout), kept only until the ITM model has packed
	// them per head (loadCrossHeads).
	wk, wv, bv []float32
}

func loadBertAttention(l *loader, p string, d, kvIn int, eps float64) bertAttention {
	a := bertAttention{
		q:     l.linear(p+".self.query", d, d),
		dense: l.linear(p+".output.dense", d, d),
		ln:    l.layerNorm(p+".output.LayerNorm", d, eps),
	}
	a.wk = l.tensor(p+".self.key.weight", d, kvIn)
	a.k = l.newLinear(p+".self.key", a.wk, l.tensor(p+".self.key.bias", d), d, kvIn)
	a.wv, a.bv = l.tensor(p+".self.value.weight", d, kvIn), l.tensor(p+".self.value.bias", d)
	a.v = l.newLinear(p+".self.value", a.wv, a.bv, d, kvIn)
	return a
}

// bertLayer is a post-norm BERT layer with optional cross-attention.
type bertLayer struct {
	self, cross bertAttention
	inter, out  *nn.Linear
	outLN       nn.LayerNorm
}

// textModel is BlipTextModel: word + position embeddings with a layer
// norm, then post-norm layers.
type textModel struct {
	cfg    TextConfig
	heads  int
	words  []float32 // [vocab*hidden]
	pos    []float32 // [maxPositions*hidden]
	embLN  nn.LayerNorm
	layers []bertLayer
	act    nn.Activation
}

// loadText reads a BERT text model; with keepCross, the cross-attention
// layers keep their key and value weights as read, for loadCrossHeads.
func loadText(l *loader, prefix string, c TextConfig, keepCross bool) *textModel {
	d := c.Hidden
	m := &textModel{cfg: c, heads: c.Heads, act: l.activation(c.Act)}
	m.words = l.tensor(prefix+".embeddings.word_embeddings.weight", c.Vocab, d)
	m.pos = l.tensor(prefix+".embeddings.position_embeddings.weight", c.MaxPositions, d)
	m.embLN = l.layerNorm(prefix+".embeddings.LayerNorm", d, c.Eps)
	m.layers = make([]bertLayer, c.Layers)
	for i := range m.layers {
		p := fmt.Sprintf("%s.encoder.layer.%d", prefix, i)
		ly := &m.layers[i]
		ly.self = loadBertAttention(l, p+".attention", d, d, c.Eps)
		ly.cross = loadBertAttention(l, p+".crossattention", d, c.EncoderHidden, c.Eps)
		ly.inter = l.linear(p+".intermediate.dense", c.Intermediate, d)
		ly.out = l.linear(p+".output.dense", d, c.Intermediate)
		ly.outLN = l.layerNorm(p+".output.LayerNorm", d, c.Eps)
		ly.self.wk, ly.self.wv, ly.self.bv = nil, nil, nil
		if !keepCross {
			ly.cross.wk, ly.cross.wv, ly.cross.bv = nil, nil, nil
		}
	}
	return m
}

// checkIDs validates one token sequence (and its mask, when non-nil).
func (m *textModel) checkIDs(ids, mask []int) error {
	if len(ids) == 0 {
		return fmt.Errorf("%w: empty token sequence", ErrInput)
	}
	if len(ids) > m.cfg.MaxPositions {
		return fmt.Errorf("%w: %d tokens, the model has %d positions", ErrInput, len(ids), m.cfg.MaxPositions)
	}
	for i, id := range ids {
		if id < 0 || id >= m.cfg.Vocab {
			return fmt.Errorf("%w: token %d is id %d, outside the vocabulary of %d", ErrInput, i, id, m.cfg.Vocab)
		}
	}
	if mask != nil {
		if len(mask) != len(ids) {
			return fmt.Errorf("%w: mask has %d entries for %d tokens", ErrInput, len(mask), len(ids))
		}
		visible := false
		for _, v := range mask {
			visible = visible || v != 0
		}
		if !visible {
			return fmt.Errorf("%w: attention mask hides every token", ErrInput)
		}
	}
	return nil
}

// textState is one sequence's pass through the text model: the self-
// attention keys and values of the tokens seen so far (the KV cache) and
// the cross-attention keys and values of its image, computed once.
type textState struct {
	causal   bool
	keyValid []bool      // padding mask over all positions; nil: all valid
	n        int         // tokens processed so far
	selfK    [][]float32 // per layer, [n*hidden]
	selfV    [][]float32
	crossK   [][]float32 // per layer, [imageTokens*hidden]; nil: no cross-attention
	crossV   [][]float32
	crossT   int
}

// newState starts a sequence; image is one image's embeds
// [imageTokens*encoderHidden], or nil for text only.
func (m *textModel) newState(causal bool, keyValid []bool, image []float32, imageTokens int) *textState {
	st := &textState{causal: causal, keyValid: keyValid,
		selfK: make([][]float32, len(m.layers)), selfV: make([][]float32, len(m.layers))}
	if image != nil {
		d := m.cfg.Hidden
		st.crossT = imageTokens
		st.crossK = make([][]float32, len(m.layers))
		st.crossV = make([][]float32, len(m.layers))
		for i := range m.layers {
			st.crossK[i] = make([]float32, imageTokens*d)
			st.crossV[i] = make([]float32, imageTokens*d)
			m.layers[i].cross.k.Forward(image, imageTokens, st.crossK[i])
			m.layers[i].cross.v.Forward(image, imageTokens, st.crossV[i])
		}
	}
	return st
}

// step runs the next len(ids) tokens of the sequence and returns their
// last hidden states [len(ids)*hidden]. ids must already be validated and
// st.n+len(ids) must not exceed the position table.
func (m *textModel) step(st *textState, ids []int) []float32 {
	d, tq := m.cfg.Hidden, len(ids)
	x := m.embed(ids, st.n)
	q := make([]float32, tq*d)
	ctx := make([]float32, tq*d)
	tmp := make([]float32, tq*d)
	hidden := make([]float32, tq*m.cfg.Intermediate)
	nk := st.n + tq
	for li := range m.layers {
		ly := &m.layers[li]
		// Self-attention: append this step's keys and values to the cache.
		k := grow(st.selfK[li], nk*d)
		v := grow(st.selfV[li], nk*d)
		ly.self.k.Forward(x, tq, k[st.n*d:])
		ly.self.v.Forward(x, tq, v[st.n*d:])
		st.selfK[li], st.selfV[li] = k, v
		ly.self.q.Forward(x, tq, q)
		attend(q, tq, st.n, k, v, nk, d, m.heads, st.causal, st.keyValid, ctx)
		ly.self.dense.Forward(ctx, tq, tmp)
		nn.Add(x, tmp)
		ly.self.ln.Forward(x, tq, x)
		if st.crossK != nil {
			ly.cross.q.Forward(x, tq, q)
			attend(q, tq, 0, st.crossK[li], st.crossV[li], st.crossT, d, m.heads, false, nil, ctx)
			ly.cross.dense.Forward(ctx, tq, tmp)
			nn.Add(x, tmp)
			ly.cross.ln.Forward(x, tq, x)
		}
		ly.inter.Forward(x, tq, hidden)
		m.act(hidden)
		ly.out.Forward(hidden, tq, tmp)
		nn.Add(x, tmp)
		ly.outLN.Forward(x, tq, x)
	}
	st.n = nk
	return x
}

// embed returns the embeddings [len(ids)*hidden] of tokens at positions
// pos, pos+1, …: word + position, layer-normed.
func (m *textModel) embed(ids []int, pos int) []float32 {
	d := m.cfg.Hidden
	x := make([]float32, len(ids)*d)
	for i, id := range ids {
		row := x[i*d : (i+1)*d]
		copy(row, m.words[id*d:(id+1)*d])
		nn.Add(row, m.pos[(pos+i)*d:(pos+i+1)*d])
	}
	m.embLN.Forward(x, len(ids), x)
	return x
}

// grow extends b to n values, keeping its contents.
func grow(b []float32, n int) []float32 {
	if cap(b) >= n {
		return b[:n]
	}
	nb := make([]float32, n, max(n, 2*cap(b)))
	copy(nb, b)
	return nb
}

// attend computes multi-head scaled dot-product attention of tq queries
// (at positions qpos, qpos+1, …) over nk keys: q [tq*d], k and v [nk*d],
// ctx [tq*d]. causal hides keys after a query's position; keyValid, when
// non-nil, hides keys marked false.
func attend(q []float32, tq, qpos int, k, v []float32, nk, d, heads int, causal bool, keyValid []bool, ctx []float32) {
	attendInto(q, tq, qpos, k, v, nk, d, heads, causal, keyValid, ctx, make([]float32, tq*nk))
}

// attendInto is attend with the caller's scratch for the scores
// (len(scores) >= tq*nk).
func attendInto(q []float32, tq, qpos int, k, v []float32, nk, d, heads int, causal bool, keyValid []bool, ctx, scores []float32) {
	hd := d / heads
	scale := float32(1 / math.Sqrt(float64(hd)))
	scores = scores[:tq*nk]
	ninf := float32(math.Inf(-1))
	for h := 0; h < heads; h++ {
		off := h * hd
		_ = kernels.Gemm(false, true, tq, nk, hd, scale, q[off:], d, k[off:], d, 0, scores, nk)
		if causal || keyValid != nil {
			for i := 0; i < tq; i++ {
				row := scores[i*nk : (i+1)*nk]
				for j := range row {
					if (causal && j > qpos+i) || (keyValid != nil && !keyValid[j]) {
						row[j] = ninf
					}
				}
			}
		}
		nn.SoftmaxRows(scores, tq, nk)
		_ = kernels.Gemm(false, false, tq, hd, nk, 1, scores, nk, v[off:], d, 0, ctx[off:], d)
	}
}
