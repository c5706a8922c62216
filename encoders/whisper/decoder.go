package whisper

import (
	"fmt"
	"math"
	"sync"

	"rosetta/encoders/nn"
	"rosetta/kernels"
)

// attention holds one multi-head attention's projections.
type attention struct {
	q, k, v, out *nn.Linear
	dim, heads   int
}

// attend is the self-attention of a step: softmax(q·kᵀ/√d_head)·v per
// head for n queries against L keys, all [rows, dim] row-major, into ctx
// ([n, dim]), query i seeing keys j ≤ past+i only (past is the number of
// earlier positions already in k). scores is reused when large enough.
func attend(q []float32, n int, k, v []float32, L, dim, heads, past int, ctx []float32, scores *[]float32) {
	hd := dim / heads
	need := n * L
	if cap(*scores) < need {
		*scores = make([]float32, need)
	}
	sc := (*scores)[:need]
	scale := float32(1 / math.Sqrt(float64(hd)))
	ninf := float32(math.Inf(-1))
	for h := 0; h < heads; h++ {
		off := h * hd
		kernels.Gemm(false, true, n, L, hd, scale, q[off:], dim, k[off:], dim, 0, sc, L)
		for i := 0; i < n; i++ {
			row := sc[i*L : (i+1)*L]
			for j := past + i + 1; j < L; j++ {
				row[j] = ninf
			}
		}
		nn.SoftmaxRows(sc, n, L)
		kernels.Gemm(false, false, n, hd, L, 1, sc, L, v[off:], dim, 0, ctx[off:], dim)
	}
}

// attendT is attend against keys and values stored transposed, kT and vT
// [dim, L] (head h's rows h·hd … (h+1)·hd−1), as the cross-attention keeps
// the audio's: one query's scores are then hd rows of kT added up and its
// context hd dot products with rows of vT, each streamed contiguously.
//
// The heads run in parallel, one thread each, when there are threads:
// the audio's keys and values are a large share of what a step reads.
func attendT(q []float32, n int, kT, vT []float32, L, dim, heads int, ctx []float32, scores *[]float32) {
	hd := dim / heads
	workers := min(kernels.GemmThreads(), heads)
	need := workers * n * L
	if cap(*scores) < need {
		*scores = make([]float32, need)
	}
	scale := float32(1 / math.Sqrt(float64(hd)))
	head := func(h, threads int, sc []float32) {
		off := h * hd
		kernels.GemmWith(threads, false, false, n, L, hd, scale, q[off:], dim, kT[off*L:], L, 0, sc, L)
		nn.SoftmaxRows(sc, n, L)
		kernels.GemmWith(threads, false, true, n, hd, L, 1, sc, L, vT[off*L:], L, 0, ctx[off:], dim)
	}
	if workers <= 1 {
		for h := 0; h < heads; h++ {
			head(h, kernels.GemmThreads(), (*scores)[:n*L])
		}
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := (*scores)[w*n*L : (w+1)*n*L]
			for h := w; h < heads; h += workers {
				head(h, 1, sc)
			}
		}()
	}
	wg.Wait()
}

// transpose returns x ([rows, cols] row-major) as [cols, rows].
func transpose(x []float32, rows, cols int) []float32 {
	out := make([]float32, len(x))
	const blk = 32
	for i0 := 0; i0 < rows; i0 += blk {
		for j0 := 0; j0 < cols; j0 += blk {
			for i := i0; i < min(i0+blk, rows); i++ {
				for j := j0; j < min(j0+blk, cols); j++ {
					out[j*rows+i] = x[i*cols+j]
				}
			}
		}
	}
	return out
}

type decoderLayer struct {
	selfLN, crossLN, mlpLN nn.LayerNorm
	self, cross            attention
	fc1, fc2               *nn.Linear
}

// decoder is Whisper's TextDecoder: token embedding plus learned
// positions, pre-LN blocks with causal self-attention and cross-attention
// over the audio features, a final layer norm, and logits against the
// (tied) token embedding.
type decoder struct {
	embed  []float32 // [vocab, d]
	pos    []float32 // [max_target_positions, d]
	layers []decoderLayer
	ln     nn.LayerNorm
	act    nn.Activation
	vocab  int
	logits *nn.Linear // x·embedᵀ
}

// DecoderState is one decoding sequence: the audio features' cross-
// attention keys and values (computed once) and the self-attention
// key/value cache of the tokens fed so far. It is not safe for concurrent
// use; make one per sequence.
type DecoderState struct {
	m              *Model
	audio          int         // audio positions
	crossK, crossV [][]float32 // per layer, transposed: [d, audio]
	selfK, selfV   [][]float32 // per layer, [n, d]
	n              int         // tokens fed so far
	scores         []float32
}

// NewDecoderState prepares decoding against audio features as Encode
// returns them ([positions, d] row-major, any positive number of rows).
// It keeps no reference to features.
func (m *Model) NewDecoderState(features []float32) (*DecoderState, error) {
	d := m.cfg.DModel
	if len(features) == 0 || len(features)%d != 0 {
		return nil, fmt.Errorf("%w: audio features of %d values are not [positions, %d]", ErrInput, len(features), d)
	}
	a := len(features) / d
	s := &DecoderState{m: m, audio: a}
	for i := range m.dec.layers {
		ly := &m.dec.layers[i]
		k := make([]float32, a*d)
		v := make([]float32, a*d)
		ly.cross.k.Forward(features, a, k)
		ly.cross.v.Forward(features, a, v)
		s.crossK = append(s.crossK, transpose(k, a, d))
		s.crossV = append(s.crossV, transpose(v, a, d))
		s.selfK = append(s.selfK, nil)
		s.selfV = append(s.selfV, nil)
	}
	return s, nil
}

// Len is the number of tokens fed so far.
func (s *DecoderState) Len() int { return s.n }

// Step feeds tokens after those already fed and returns their logits,
// [len(tokens), vocab] row-major, owned by the caller: row i is the
// next-token distribution after tokens[i]. Feeding a prefix at once or
// one token at a time gives the same logits.
func (s *DecoderState) Step(tokens []int) ([]float32, error) {
	m := s.m
	cfg := &m.cfg
	n := len(tokens)
	if n == 0 {
		return nil, fmt.Errorf("%w: no tokens", ErrInput)
	}
	if s.n+n > cfg.MaxTargetPositions {
		return nil, fmt.Errorf("%w: %d tokens exceed the text context of %d", ErrInput, s.n+n, cfg.MaxTargetPositions)
	}
	for _, t := range tokens {
		if t < 0 || t >= cfg.VocabSize {
			return nil, fmt.Errorf("%w: token %d outside the vocabulary of %d", ErrInput, t, cfg.VocabSize)
		}
	}
	dec := &m.dec
	d := cfg.DModel
	x := make([]float32, n*d)
	for i, t := range tokens {
		row := x[i*d : (i+1)*d]
		copy(row, dec.embed[t*d:(t+1)*d])
		nn.Add(row, dec.pos[(s.n+i)*d:(s.n+i+1)*d])
	}
	h := make([]float32, n*d)
	q := make([]float32, n*d)
	ctx := make([]float32, n*d)
	out := make([]float32, n*d)
	hidden := make([]float32, n*cfg.DecoderFFNDim)
	total := s.n + n
	for i := range dec.layers {
		ly := &dec.layers[i]
		// Causal self-attention over the cache plus the new tokens.
		ly.selfLN.Forward(x, n, h)
		ly.self.q.Forward(h, n, q)
		k := grow(s.selfK[i], total*d)
		v := grow(s.selfV[i], total*d)
		ly.self.k.Forward(h, n, k[s.n*d:])
		ly.self.v.Forward(h, n, v[s.n*d:])
		s.selfK[i], s.selfV[i] = k, v
		attend(q, n, k, v, total, d, ly.self.heads, s.n, ctx, &s.scores)
		ly.self.out.Forward(ctx, n, out)
		nn.Add(x, out)
		// Cross-attention over the audio features.
		ly.crossLN.Forward(x, n, h)
		ly.cross.q.Forward(h, n, q)
		attendT(q, n, s.crossK[i], s.crossV[i], s.audio, d, ly.cross.heads, ctx, &s.scores)
		ly.cross.out.Forward(ctx, n, out)
		nn.Add(x, out)
		// MLP.
		ly.mlpLN.Forward(x, n, h)
		ly.fc1.Forward(h, n, hidden)
		dec.act(hidden)
		ly.fc2.Forward(hidden, n, out)
		nn.Add(x, out)
	}
	dec.ln.Forward(x, n, x)
	logits := make([]float32, n*dec.vocab)
	dec.logits.Forward(x, n, logits)
	s.n = total
	return logits, nil
}

// grow extends b to n values, keeping its contents.
func grow(b []float32, n int) []float32 {
	if cap(b) >= n {
		return b[:n]
	}
	c := make([]float32, n, max(n, 2*cap(b)))
	copy(c, b)
	return c
}

// DecoderForward runs the decoder over a whole token sequence against
// audio features in one pass (no reuse between calls) and returns the
// logits, [len(tokens), vocab].
func (m *Model) DecoderForward(tokens []int, features []float32) ([]float32, error) {
	s, err := m.NewDecoderState(features)
	if err != nil {
		return nil, err
	}
	return s.Step(tokens)
}
