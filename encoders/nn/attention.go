package nn

import (
	"math"
	"sync"
	"sync/atomic"

	"rosetta/kernels"
)

// Attention is multi-head scaled dot-product self-attention with separate
// or fused q/k/v projections and an output projection.
type Attention struct {
	Dim, Heads  int
	Q, K, V     *Linear // separate projections (HF layout), or nil with QKV
	QKV         *Linear // fused [3*Dim, Dim] (open_clip in_proj), or nil
	Out         *Linear
	ScaleQuery  bool // scale q by head_dim^-0.5 (always true for CLIP/BERT)
	headDimInvS float32
}

// QuantizeInt8 quantises the attention's projections (Linear.QuantizeInt8).
func (a *Attention) QuantizeInt8() error { return QuantizeInt8(a.Q, a.K, a.V, a.QKV, a.Out) }

// Init finishes construction after the projections are set.
func (a *Attention) Init() {
	a.headDimInvS = float32(1 / math.Sqrt(float64(a.Dim/a.Heads)))
}

// attnScratch holds the fused attention's per-goroutine buffers.
var attnScratch = sync.Pool{New: func() any { return new(kernels.AttnScratch) }}

// Mask says which keys a query may attend to.
type Mask struct {
	Causal bool
	// KeyValid, when non-nil, marks the valid key positions of the
	// sequence (padding mask); invalid keys are ignored.
	KeyValid []bool
}

// Forward runs attention over batch sequences of t tokens each: x and y
// are [batch*t*Dim]. mask(i) gives sequence i's mask. scratch is reused
// between calls when it is large enough.
func (a *Attention) Forward(x []float32, batch, t int, mask func(seq int) Mask, y []float32, scratch *[]float32) {
	a.forward(x, batch, t, mask, y, false, scratch)
}

// ForwardAdd is Forward adding its output into y (a residual connection,
// fused into the output projection).
func (a *Attention) ForwardAdd(x []float32, batch, t int, mask func(seq int) Mask, y []float32, scratch *[]float32) {
	a.forward(x, batch, t, mask, y, true, scratch)
}

func (a *Attention) forward(x []float32, batch, t int, mask func(seq int) Mask, y []float32, add bool, scratch *[]float32) {
	d, h := a.Dim, a.Heads
	hd := d / h
	rows := batch * t
	// Heads run in parallel, each on one thread, when there are threads to
	// spare and the heads together are worth the hand-off (≥ ~0.25 M
	// multiply-adds): their softmax and masking then run in parallel too.
	// The short sequences of CLIP (50 image tokens, 77 text tokens) have
	// heads far too small to split one head's products over threads.
	workers := min(kernels.GemmThreads(), batch*h)
	if batch*h*t*t*hd < 1<<18 {
		workers = 1
	}
	scoreLen := t * t
	if kernels.AttentionFits(t, hd) {
		scoreLen = 0 // the fused path keeps its scores in AttnScratch
	}
	need := 3*rows*d + workers*scoreLen + rows*d
	if cap(*scratch) < need {
		*scratch = make([]float32, need)
	}
	buf := (*scratch)[:need]
	qkv := buf[:3*rows*d]
	scoreBufs := buf[3*rows*d : 3*rows*d+workers*scoreLen]
	ctx := buf[3*rows*d+workers*scoreLen:]
	var q, k, v []float32
	var ld int
	if a.QKV != nil {
		a.QKV.Forward(x, rows, qkv)
		q, k, v, ld = qkv[0:], qkv[d:], qkv[2*d:], 3*d
	} else {
		a.Q.Forward(x, rows, qkv[:rows*d])
		a.K.Forward(x, rows, qkv[rows*d:2*rows*d])
		a.V.Forward(x, rows, qkv[2*rows*d:])
		q, k, v, ld = qkv[:rows*d], qkv[rows*d:2*rows*d], qkv[2*rows*d:], d
	}
	ninf := float32(math.Inf(-1))
	fused := kernels.AttentionFits(t, hd)
	// head computes one sequence's head with scores as its scratch (sc for
	// the fused path), its products on up to threads goroutines.
	head := func(s, hi, threads int, scores []float32, sc *kernels.AttnScratch) {
		var m Mask
		if mask != nil {
			m = mask(s)
		}
		off := s*t*ld + hi*hd
		if fused {
			kernels.AttentionHead(t, hd, a.headDimInvS, q[off:], k[off:], v[off:], ld, m.Causal, m.KeyValid, ctx[s*t*d+hi*hd:], d, sc)
			return
		}
		// scores = (q·scale)·kᵀ
		kernels.GemmWith(threads, false, true, t, t, hd, a.headDimInvS, q[off:], ld, k[off:], ld, 0, scores, t)
		if m.Causal || m.KeyValid != nil {
			for i := 0; i < t; i++ {
				row := scores[i*t : (i+1)*t]
				for j := range row {
					if (m.Causal && j > i) || (m.KeyValid != nil && !m.KeyValid[j]) {
						row[j] = ninf
					}
				}
			}
		}
		SoftmaxRows(scores, t, t)
		// ctx[s, :, head] = scores·v
		kernels.GemmWith(threads, false, false, t, hd, t, 1, scores, t, v[off:], ld, 0, ctx[s*t*d+hi*hd:], d)
	}
	if workers == 1 {
		sc := attnScratch.Get().(*kernels.AttnScratch)
		for s := 0; s < batch; s++ {
			for hi := 0; hi < h; hi++ {
				head(s, hi, kernels.GemmThreads(), scoreBufs, sc)
			}
		}
		attnScratch.Put(sc)
	} else {
		var next atomic.Int32
		kernels.Parallel(workers, func(w int) {
			sc := attnScratch.Get().(*kernels.AttnScratch)
			defer attnScratch.Put(sc)
			scores := scoreBufs[w*scoreLen : (w+1)*scoreLen]
			for job := int(next.Add(1)) - 1; job < batch*h; job = int(next.Add(1)) - 1 {
				head(job/h, job%h, 1, scores, sc)
			}
		})
	}
	if add {
		a.Out.ForwardAdd(ctx, rows, y)
		return
	}
	a.Out.Forward(ctx, rows, y)
}
