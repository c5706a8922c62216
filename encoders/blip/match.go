package blip

import (
	"fmt"
	"math"
	"sync"

	"rosetta/encoders/nn"
	"rosetta/kernels"
)

// One text against many images: the text → image re-rank. ITMLogits
// projects every image's tokens to cross-attention keys and values in
// every layer (2·T·E·D multiply-adds per layer and image, T = 577 image
// tokens at 384 px: about 16 GFLOP per image for BLIP-base), which is
// what a re-rank of many candidates spends its time on. MatchText uses
// the same attention in its "absorbed" form instead: for head h with
// query rows q_h (tq×hd), key weights Wk_h (hd×E) and image tokens X
// (T×E),
//
//	scores_h = q_h·(X·Wk_hᵀ + bk_h)ᵀ = (q_h·Wk_h)·Xᵀ + const per row
//	ctx_h    = softmax(scores_h)·(X·Wv_hᵀ + bv_h) = (softmax(scores_h)·X)·Wv_hᵀ + bv_h
//
// (the key bias adds the same value to a whole row of scores, which the
// softmax ignores; the rows of a softmax sum to one, so the value bias
// passes through). The image tokens are never projected: per layer and
// image the cost is 2·heads·tq·T·E + 2·tq·D·E multiply-adds, about 7×
// less for a 12-token query with BLIP-base's 8 text heads, and it grows
// with the text instead of the image. The results are the same up to
// float32 rounding (the sums run in another order).
//
// Everything the text does outside the cross-attention runs for all
// images at once (one GEMM of n·tq rows per linear layer), the embedding
// and the first layer's self-attention, which do not depend on the image,
// run once, and the last layer computes only the first token, the one the
// ITM head reads.

// crossHeads are one layer's cross-attention key and value weights split
// by head and packed for the absorbed form: k[h] is Wk_h (hd×E) as op(B),
// v[h] is Wv_hᵀ (E×hd).
type crossHeads struct {
	k, v  []*kernels.PackedB
	vBias []float32 // [D]
}

// loadCrossHeads packs every layer's cross-attention key and value weights
// per head (the packed linears of the text model serve ITMLogits, which
// projects the image tokens) and lets go of the weights as read. It costs
// another 2·D·E floats per layer (57 MB for BLIP-base).
func loadCrossHeads(l *loader, t *textModel) []crossHeads {
	c := t.cfg
	d, e, heads := c.Hidden, c.EncoderHidden, c.Heads
	hd := d / heads
	out := make([]crossHeads, len(t.layers))
	for i := range out {
		a := &t.layers[i].cross
		ch := crossHeads{vBias: a.bv}
		for h := 0; h < heads; h++ {
			rows := h * hd * e
			k, err := kernels.PackB(false, hd, e, a.wk[rows:], e)
			if err != nil {
				l.fail(fmt.Errorf("text layer %d cross-attention key: %w", i, err))
				return nil
			}
			v, err := kernels.PackB(true, e, hd, a.wv[rows:], e)
			if err != nil {
				l.fail(fmt.Errorf("text layer %d cross-attention value: %w", i, err))
				return nil
			}
			ch.k, ch.v = append(ch.k, k), append(ch.v, v)
		}
		a.wk, a.wv, a.bv = nil, nil, nil
		out[i] = ch
	}
	return out
}

// packedImage is one image's tokens X (T×E) packed twice for the absorbed
// cross-attention, once for every layer: xt as op(B) = Xᵀ (scores), x as
// op(B) = X (context).
type packedImage struct{ xt, x *kernels.PackedB }

// matchBufs are MatchText's scratch buffers, pooled (a re-rank calls it a
// chunk of candidates at a time, and fresh buffers of this size cost more
// in page faults than the packing itself).
type matchBufs struct {
	imgs                          []packedImage
	k, v, q, ctx, tmp, hidden     []float32
	crossQK, crossP, crossZ, attn []float32
}

var matchPool = sync.Pool{New: func() any { return new(matchBufs) }}

// sized returns *b resized to n values (contents undefined), growing it
// when needed.
func sized(b *[]float32, n int) []float32 {
	if cap(*b) < n {
		*b = make([]float32, n)
	}
	return (*b)[:n]
}

// MatchText scores one text (token ids and attention mask, mask nil for
// an unpadded text) against n images' embeds (imageEmbeds [n*ImageTokens()
// *vision hidden], as ImageEmbeds returns them) with the ITM head:
// logits[i] are image i's [no match, match] logits, the values ITMLogits
// gives for the pairs (image i, the text) up to float32 rounding. While it
// runs it holds 2·T·E floats per image (packed copies of the image
// tokens) besides its inputs; call it on chunks of a few tens of images.
func (m *ITM) MatchText(imageEmbeds []float32, n int, ids, mask []int) ([][2]float32, error) {
	if n <= 0 {
		return nil, fmt.Errorf("%w: %d images", ErrInput, n)
	}
	if err := m.checkEmbeds(imageEmbeds, n); err != nil {
		return nil, err
	}
	if err := m.text.checkIDs(ids, mask); err != nil {
		return nil, err
	}
	t := m.text
	d, e, tq := t.cfg.Hidden, t.cfg.EncoderHidden, len(ids)
	ti := m.ImageTokens()
	bufs := matchPool.Get().(*matchBufs)
	defer matchPool.Put(bufs)
	for len(bufs.imgs) < n {
		bufs.imgs = append(bufs.imgs, packedImage{})
	}
	imgs := bufs.imgs[:n]
	for i := range imgs {
		x := imageEmbeds[i*ti*e : (i+1)*ti*e]
		var err error
		if imgs[i].xt, err = kernels.RepackB(imgs[i].xt, true, e, ti, x, e); err != nil {
			return nil, err
		}
		if imgs[i].x, err = kernels.RepackB(imgs[i].x, false, ti, e, x, e); err != nil {
			return nil, err
		}
	}
	kv := keyValid(mask)
	// The embedding and the first layer's self-attention see only the
	// text: once, then a copy per image.
	shared := t.embed(ids, 0)
	t.selfAttend(&t.layers[0], shared, 1, tq, kv, false, bufs)
	x := make([]float32, n*tq*d)
	for i := 0; i < n; i++ {
		copy(x[i*tq*d:], shared)
	}
	tr := tq // rows per image in x
	for li := range t.layers {
		ly := &t.layers[li]
		last := li == len(t.layers)-1
		if li > 0 {
			x = t.selfAttend(ly, x, n, tq, kv, last, bufs)
			if last {
				tr = 1
			}
		} else if last {
			x, tr = firstRows(x, n, tq, d), 1
		}
		m.crossAttend(li, x, n, tr, imgs, bufs)
		rows := n * tr
		hidden := sized(&bufs.hidden, rows*t.cfg.Intermediate)
		tmp := sized(&bufs.tmp, rows*d)
		ly.inter.Forward(x, rows, hidden)
		t.act(hidden)
		ly.out.Forward(hidden, rows, tmp)
		nn.Add(x, tmp)
		ly.outLN.Forward(x, rows, x)
	}
	// x holds one row per image now: its first token.
	out := make([][2]float32, n)
	flat := make([]float32, 2*n)
	m.itmHead.Forward(x, n, flat)
	for i := range out {
		out[i] = [2]float32{flat[2*i], flat[2*i+1]}
	}
	return out, nil
}

// firstRows returns the first row of each of n sequences of tq rows.
func firstRows(x []float32, n, tq, d int) []float32 {
	out := make([]float32, n*d)
	for i := 0; i < n; i++ {
		copy(out[i*d:(i+1)*d], x[i*tq*d:])
	}
	return out
}

// selfAttend runs a layer's self-attention sub-layer (not causal, keys
// hidden where kv is false) over n sequences of tq tokens in x
// ([n*tq*hidden]). It updates x in place and returns it or, with
// firstOnly, returns only each sequence's first token's output
// ([n*hidden], a new slice): the keys and values need every token, the
// query only the one that is read afterwards.
func (t *textModel) selfAttend(ly *bertLayer, x []float32, n, tq int, kv []bool, firstOnly bool, bufs *matchBufs) []float32 {
	d := t.cfg.Hidden
	rows := n * tq
	k := sized(&bufs.k, rows*d)
	v := sized(&bufs.v, rows*d)
	ly.self.k.Forward(x, rows, k)
	ly.self.v.Forward(x, rows, v)
	base, tr := x, tq
	if firstOnly {
		base, tr = firstRows(x, n, tq, d), 1
	}
	q := sized(&bufs.q, n*tr*d)
	ctx := sized(&bufs.ctx, n*tr*d)
	ly.self.q.Forward(base, n*tr, q)
	scores := sized(&bufs.attn, tr*tq)
	for i := 0; i < n; i++ {
		attendInto(q[i*tr*d:], tr, 0, k[i*tq*d:], v[i*tq*d:], tq, d, t.heads, false, kv, ctx[i*tr*d:], scores)
	}
	tmp := q // q is spent
	ly.self.dense.Forward(ctx, n*tr, tmp)
	nn.Add(base, tmp)
	ly.self.ln.Forward(base, n*tr, base)
	return base
}

// crossAttend runs layer li's cross-attention sub-layer in the absorbed
// form over n sequences of tr rows in x ([n*tr*hidden], updated in
// place), sequence i attending to image imgs[i].
func (m *ITM) crossAttend(li int, x []float32, n, tr int, imgs []packedImage, bufs *matchBufs) {
	t := m.text
	ly, ch := &t.layers[li], &m.cross[li]
	d, e, heads := t.cfg.Hidden, t.cfg.EncoderHidden, t.heads
	hd := d / heads
	ti := m.ImageTokens()
	scale := float32(1 / math.Sqrt(float64(hd)))
	rows := n * tr
	q := sized(&bufs.q, rows*d)
	ly.cross.q.Forward(x, rows, q)
	ctx := sized(&bufs.ctx, rows*d)
	for r := 0; r < rows; r++ {
		copy(ctx[r*d:(r+1)*d], ch.vBias)
	}
	qk := sized(&bufs.crossQK, heads*tr*e) // per head, q_h·Wk_h (scaled)
	p := sized(&bufs.crossP, heads*tr*ti)
	z := sized(&bufs.crossZ, heads*tr*e) // per head, softmax(scores_h)·X
	for i := 0; i < n; i++ {
		qi, ci := q[i*tr*d:], ctx[i*tr*d:]
		for h := 0; h < heads; h++ {
			_ = kernels.GemmPacked(false, tr, scale, qi[h*hd:], d, ch.k[h], 0, qk[h*tr*e:], e)
		}
		_ = kernels.GemmPacked(false, heads*tr, 1, qk, e, imgs[i].xt, 0, p, ti)
		nn.SoftmaxRows(p, heads*tr, ti)
		_ = kernels.GemmPacked(false, heads*tr, 1, p, ti, imgs[i].x, 0, z, e)
		for h := 0; h < heads; h++ {
			_ = kernels.GemmPacked(false, tr, 1, z[h*tr*e:], e, ch.v[h], 1, ci[h*hd:], d)
		}
	}
	tmp := sized(&bufs.tmp, rows*d)
	ly.cross.dense.Forward(ctx, rows, tmp)
	nn.Add(x, tmp)
	ly.cross.ln.Forward(x, rows, x)
}
