package coca

import (
	"math"

	"rosetta/encoders/nn"
	"rosetta/kernels"
)

// headAttention is the core of multi-head scaled dot-product attention for
// one sequence: for every head, softmax(q·kᵀ/√hd + mask)·v. q is tq rows
// with stride ldq, k and v are tk rows with strides ldk and ldv; head h
// reads columns [h·hd, (h+1)·hd) of each. allow, when non-nil, says whether
// query i may attend to key j. The context goes to out (tq rows, stride
// ldo, heads·hd columns). scores must hold tq·tk values.
func headAttention(q []float32, ldq int, k []float32, ldk int, v []float32, ldv int,
	tq, tk, heads, hd int, allow func(i, j int) bool, scores, out []float32, ldo int) {
	scale := float32(1 / math.Sqrt(float64(hd)))
	ninf := float32(math.Inf(-1))
	scores = scores[:tq*tk]
	for h := 0; h < heads; h++ {
		off := h * hd
		// Shapes are fixed by construction; the kernels check them again.
		_ = kernels.Gemm(false, true, tq, tk, hd, scale, q[off:], ldq, k[off:], ldk, 0, scores, tk)
		if allow != nil {
			for i := 0; i < tq; i++ {
				row := scores[i*tk : (i+1)*tk]
				for j := range row {
					if !allow(i, j) {
						row[j] = ninf
					}
				}
			}
		}
		nn.SoftmaxRows(scores, tq, tk)
		_ = kernels.Gemm(false, false, tq, hd, tk, 1, scores, tk, v[off:], ldv, 0, out[off:], ldo)
	}
}

func grow(b *[]float32, n int) []float32 {
	if cap(*b) < n {
		*b = make([]float32, n)
	}
	return (*b)[:n]
}

// crossBlock is open_clip's ResidualAttentionBlock with
// is_cross_attention: queries from the text stream (ln_1), keys and values
// from the image tokens (ln_1_kv), then the MLP:
//
//	x = x + Out(Attn(Q(LN1(x)), KV(LNkv(img))));  x = x + FC2(act(FC1(LN2(x))))
type crossBlock struct {
	width, heads int
	ln1, lnKV    nn.LayerNorm
	ln2          nn.LayerNorm
	q            *nn.Linear // rows [0, D) of in_proj
	kv           *nn.Linear // rows [D, 3D) of in_proj: k then v
	out          *nn.Linear
	fc1, fc2     *nn.Linear
	act          nn.Activation
}

func loadCrossBlock(l *loader, p string, width, heads, mlp int, eps float32, act nn.Activation) crossBlock {
	d := width
	w := l.tensor(p+".attn.in_proj_weight", 3*d, d)
	b := l.tensor(p+".attn.in_proj_bias", 3*d)
	return crossBlock{
		width: d, heads: heads,
		ln1:  l.layerNorm(p+".ln_1", d, eps),
		lnKV: l.layerNorm(p+".ln_1_kv", d, eps),
		ln2:  l.layerNorm(p+".ln_2", d, eps),
		q:    l.rawLinear(p+".attn.in_proj_weight[q]", w[:d*d], b[:d], d, d),
		kv:   l.rawLinear(p+".attn.in_proj_weight[kv]", w[d*d:], b[d:], 2*d, d),
		out:  l.linear(p+".attn.out_proj.weight", p+".attn.out_proj.bias", d, d),
		fc1:  l.linear(p+".mlp.c_fc.weight", p+".mlp.c_fc.bias", mlp, d),
		fc2:  l.linear(p+".mlp.c_proj.weight", p+".mlp.c_proj.bias", d, mlp),
		act:  act,
	}
}

// keysValues projects batch sequences of ti image tokens ([batch*ti*D])
// to this block's keys and values ([batch*ti*2D], k then v per row). They
// depend only on the image, so generation computes them once.
func (c *crossBlock) keysValues(img []float32, rows int) []float32 {
	norm := make([]float32, rows*c.width)
	c.lnKV.Forward(img, rows, norm)
	kv := make([]float32, rows*2*c.width)
	c.kv.Forward(norm, rows, kv)
	return kv
}

type crossScratch struct {
	norm, q, ctx, out, hidden, scores []float32
}

// forward updates x ([batch*t*D]) in place, attending to kv (from
// keysValues, ti tokens per sequence).
func (c *crossBlock) forward(x []float32, batch, t int, kv []float32, ti int, s *crossScratch) {
	d := c.width
	rows := batch * t
	norm := grow(&s.norm, rows*d)
	q := grow(&s.q, rows*d)
	ctx := grow(&s.ctx, rows*d)
	out := grow(&s.out, rows*d)
	scores := grow(&s.scores, t*ti)
	c.ln1.Forward(x, rows, norm)
	c.q.Forward(norm, rows, q)
	hd := d / c.heads
	for b := 0; b < batch; b++ {
		kvb := kv[b*ti*2*d:]
		headAttention(q[b*t*d:], d, kvb, 2*d, kvb[d:], 2*d, t, ti, c.heads, hd, nil, scores, ctx[b*t*d:], d)
	}
	c.out.Forward(ctx, rows, out)
	nn.Add(x, out)
	c.ln2.Forward(x, rows, norm)
	hidden := grow(&s.hidden, rows*c.fc1.Out)
	c.fc1.Forward(norm, rows, hidden)
	c.act(hidden)
	c.fc2.Forward(hidden, rows, out)
	nn.Add(x, out)
}

// attnPooler is open_clip's AttentionalPooler: n learned queries (ln_q)
// attend over the image tower's tokens (ln_k) through a
// nn.MultiheadAttention whose key/value width differs from its own
// (separate q/k/v_proj_weight, one in_proj_bias).
type attnPooler struct {
	dim, ctxDim, heads, queries int
	query                       []float32 // ln_q(query), [queries*dim], precomputed
	lnK                         nn.LayerNorm
	q                           []float32 // projected queries, [queries*dim], precomputed
	k, v                        *nn.Linear
	out                         *nn.Linear
}

func loadPooler(l *loader, p string, dim, ctxDim, heads, queries int, eps float32) *attnPooler {
	a := &attnPooler{dim: dim, ctxDim: ctxDim, heads: heads, queries: queries}
	query := l.tensor(p+".query", queries, dim)
	lnQ := l.layerNorm(p+".ln_q", dim, eps)
	a.lnK = l.layerNorm(p+".ln_k", ctxDim, eps)
	bias := l.tensor(p+".attn.in_proj_bias", 3*dim)
	qProj := l.linear(p+".attn.q_proj_weight", "", dim, dim)
	a.k = l.rawLinear(p+".attn.k_proj_weight", l.tensor(p+".attn.k_proj_weight", dim, ctxDim), bias[dim:2*dim], dim, ctxDim)
	a.v = l.rawLinear(p+".attn.v_proj_weight", l.tensor(p+".attn.v_proj_weight", dim, ctxDim), bias[2*dim:], dim, ctxDim)
	a.out = l.linear(p+".attn.out_proj.weight", p+".attn.out_proj.bias", dim, dim)
	// The queries are parameters, so their projection is the same for
	// every image: compute it once.
	a.query = make([]float32, queries*dim)
	lnQ.Forward(query, queries, a.query)
	a.q = make([]float32, queries*dim)
	qProj.Forward(a.query, queries, a.q)
	for i := 0; i < queries; i++ {
		nn.Add(a.q[i*dim:(i+1)*dim], bias[:dim])
	}
	return a
}

// forward pools batch sequences of t tokens ([batch*t*ctxDim]) into
// [batch*queries*dim].
func (a *attnPooler) forward(x []float32, batch, t int) []float32 {
	rows := batch * t
	norm := make([]float32, rows*a.ctxDim)
	a.lnK.Forward(x, rows, norm)
	k := make([]float32, rows*a.dim)
	v := make([]float32, rows*a.dim)
	a.k.Forward(norm, rows, k)
	a.v.Forward(norm, rows, v)
	ctx := make([]float32, batch*a.queries*a.dim)
	scores := make([]float32, a.queries*t)
	hd := a.dim / a.heads
	for b := 0; b < batch; b++ {
		headAttention(a.q, a.dim, k[b*t*a.dim:], a.dim, v[b*t*a.dim:], a.dim,
			a.queries, t, a.heads, hd, nil, scores, ctx[b*a.queries*a.dim:], a.dim)
	}
	out := make([]float32, batch*a.queries*a.dim)
	a.out.Forward(ctx, batch*a.queries, out)
	return out
}
