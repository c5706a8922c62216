// Package nn holds the transformer and CNN building blocks the encoders are
// made of, over package kernels: linear layers with pre-packed weights,
// layer norm, GELU and QuickGELU, softmax, multi-head attention with causal
// and padding masks, conv2d by im2col + GEMM with batch norm folded in,
// pooling, and attention pooling. Activations are row-major float32
// slices: a sequence of T tokens of width D is a [T*D] slice.
//
// Layers are immutable after loading and safe for concurrent use; every
// Forward takes its output buffer from the caller.
package nn

import (
	"errors"
	"fmt"
	"math"

	"rosetta/kernels"
)

// ErrShape is returned when a tensor does not fit a layer.
var ErrShape = errors.New("nn: shape mismatch")

// Linear is y = x·Wᵀ + b with W stored [Out, In] as PyTorch does, packed
// once for the GEMM micro-kernel: float32 (w), or int8 after QuantizeInt8
// (q; w is then dropped, so the layer holds a quarter of the memory).
type Linear struct {
	In, Out int
	w       *kernels.PackedB
	q       *kernels.PackedInt8
	Bias    []float32 // nil: no bias
}

// NewLinear packs weight ([out*in], PyTorch layout) and keeps bias (nil or
// len out).
func NewLinear(weight, bias []float32, out, in int) (*Linear, error) {
	if len(weight) != out*in {
		return nil, fmt.Errorf("%w: linear weight has %d values, want %d×%d", ErrShape, len(weight), out, in)
	}
	if bias != nil && len(bias) != out {
		return nil, fmt.Errorf("%w: linear bias has %d values, want %d", ErrShape, len(bias), out)
	}
	p, err := kernels.PackB(true, in, out, weight, in)
	if err != nil {
		return nil, err
	}
	return &Linear{In: in, Out: out, w: p, Bias: bias}, nil
}

// QuantizeInt8 makes the layer compute in int8 from now on: each output
// channel's weights are quantised symmetrically (scale max|w|/127), the
// activations per row on every call (kernels.GemmInt8), the bias stays
// float32, and the float32 weight is released. It is a no-op on a layer
// already quantised. Call it while loading, before the layer is shared:
// it is not safe concurrently with Forward.
func (l *Linear) QuantizeInt8() error {
	if l.q != nil {
		return nil
	}
	q, err := kernels.PackInt8FromPacked(l.w)
	if err != nil {
		return fmt.Errorf("nn: quantise linear %d→%d: %w", l.In, l.Out, err)
	}
	l.q, l.w = q, nil
	return nil
}

// Int8 reports whether the layer computes in int8 (QuantizeInt8).
func (l *Linear) Int8() bool { return l.q != nil }

// QuantizeInt8 quantises every non-nil layer given (Linear.QuantizeInt8),
// stopping at the first error.
func QuantizeInt8(layers ...*Linear) error {
	for _, l := range layers {
		if l == nil {
			continue
		}
		if err := l.QuantizeInt8(); err != nil {
			return err
		}
	}
	return nil
}

// Forward computes rows outputs into y ([rows*Out]) from x ([rows*In]);
// the bias is added inside the product (kernels.Epilogue).
func (l *Linear) Forward(x []float32, rows int, y []float32) {
	l.product(x, rows, y, kernels.Epilogue{Bias: l.Bias})
}

// ForwardAct is Forward followed by act on y, fused into the product: each
// tile of y is activated while it is still in cache.
func (l *Linear) ForwardAct(x []float32, rows int, y []float32, act Activation) {
	l.product(x, rows, y, kernels.Epilogue{Bias: l.Bias, Act: act})
}

// ForwardAdd adds the layer's outputs into y (y += x·Wᵀ + b): a residual
// connection fused into the product, with no separate pass over y.
func (l *Linear) ForwardAdd(x []float32, rows int, y []float32) {
	l.product(x, rows, y, kernels.Epilogue{Bias: l.Bias, Accumulate: true})
}

// product runs the layer's float32 or int8 product with epi fused in.
func (l *Linear) product(x []float32, rows int, y []float32, epi kernels.Epilogue) {
	if l.q != nil {
		kernels.GemmInt8Epilogue(rows, x, l.In, l.q, epi, y, l.Out)
		return
	}
	kernels.GemmPackedEpilogue(rows, x, l.In, l.w, epi, y, l.Out)
}

// LayerNorm normalises each row of width len(Gamma).
type LayerNorm struct {
	Gamma, Beta []float32
	Eps         float32
}

// Forward normalises x ([rows*D]) into y (may be x), rows split over the
// GEMM threads when there are enough.
func (n *LayerNorm) Forward(x []float32, rows int, y []float32) {
	d := len(n.Gamma)
	kernels.SplitRange(rows, max(1, (1<<13)/max(d, 1)), func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			n.row(x[r*d:(r+1)*d], y[r*d:(r+1)*d])
		}
	})
}

// row normalises one row: its mean and variance in float64 from one pass
// (Σx and Σx² over four independent accumulators each, so the adds do not
// wait on one another; in float64, E[x²]−mean² loses nothing that matters
// for activations whose mean is not ~10⁶ standard deviations from zero),
// then the float32 affine pass.
func (n *LayerNorm) row(xr, yr []float32) {
	d := len(xr)
	var s0, s1, s2, s3, q0, q1, q2, q3 float64
	i := 0
	for ; i+4 <= d; i += 4 {
		v0, v1, v2, v3 := float64(xr[i]), float64(xr[i+1]), float64(xr[i+2]), float64(xr[i+3])
		s0, s1, s2, s3 = s0+v0, s1+v1, s2+v2, s3+v3
		q0, q1, q2, q3 = q0+v0*v0, q1+v1*v1, q2+v2*v2, q3+v3*v3
	}
	for ; i < d; i++ {
		v := float64(xr[i])
		s0 += v
		q0 += v * v
	}
	mean := (s0 + s1 + s2 + s3) / float64(d)
	vs := max((q0+q1+q2+q3)/float64(d)-mean*mean, 0)
	inv := 1 / math.Sqrt(vs+float64(n.Eps))
	m, sc := float32(mean), float32(inv)
	g, b := n.Gamma[:d], n.Beta[:d]
	yr = yr[:d]
	for i, v := range xr {
		yr[i] = (v-m)*sc*g[i] + b[i]
	}
}

// Activation is an element-wise non-linearity applied in place.
type Activation func(x []float32)

// QuickGELU is x·σ(1.702x), the approximation OpenAI's CLIP was trained with.
func QuickGELU(x []float32) { kernels.QuickGELUInPlace(x) }

// GELU is x·Φ(x) = 0.5x(1 + erf(x/√2)), the erf form (not the tanh
// approximation, GELUTanh). erf comes from Abramowitz and Stegun's 7.1.26
// (|error| ≤ 1.5e-7) over the vectorised exp, in float32, a block at a
// time: within 4e-7·(1+|x|) of float64 math.Erf (TestGELU), at a fraction
// of its cost, which was a tenth of a Whisper encoder's time.
func GELU(x []float32) {
	const (
		p  = 0.3275911
		a1 = 0.254829592
		a2 = -0.284496736
		a3 = 1.421413741
		a4 = -1.453152027
		a5 = 1.061405429
	)
	var e, t [256]float32
	for len(x) > 0 {
		n := min(len(x), len(e))
		blk := x[:n]
		for i, v := range blk {
			z := v * math.Sqrt2 / 2
			a := z
			if a < 0 {
				a = -a
			}
			t[i] = 1 / (1 + p*a)
			e[i] = -z * z
		}
		kernels.ExpInPlace(e[:n])
		for i, v := range blk {
			u := t[i]
			erf := 1 - ((((a5*u+a4)*u+a3)*u+a2)*u+a1)*u*e[i]
			if v < 0 {
				erf = -erf
			}
			blk[i] = 0.5 * v * (1 + erf)
		}
		x = x[n:]
	}
}

// GELUTanh is the tanh approximation ("gelu_new", "gelu_pytorch_tanh").
func GELUTanh(x []float32) {
	const c = 0.7978845608028654 // sqrt(2/pi)
	for i, v := range x {
		f := float64(v)
		x[i] = float32(0.5 * f * (1 + math.Tanh(c*(f+0.044715*f*f*f))))
	}
}

// ReLU is max(x, 0).
func ReLU(x []float32) {
	for i, v := range x {
		if v < 0 {
			x[i] = 0
		}
	}
}

// ParseActivation maps the config names used by transformers and open_clip.
func ParseActivation(name string) (Activation, error) {
	switch name {
	case "quick_gelu":
		return QuickGELU, nil
	case "gelu", "gelu_python":
		return GELU, nil
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		return GELUTanh, nil
	case "relu":
		return ReLU, nil
	}
	return nil, fmt.Errorf("nn: unsupported activation %q", name)
}

// SoftmaxRows applies a numerically stable softmax to each row of width d
// (a fully masked row, all -Inf, becomes zeros).
func SoftmaxRows(x []float32, rows, d int) {
	for r := 0; r < rows; r++ {
		kernels.SoftmaxInPlace(x[r*d : (r+1)*d])
	}
}

// Add adds b into a element-wise.
func Add(a, b []float32) {
	b = b[:len(a)]
	for i := range a {
		a[i] += b[i]
	}
}

// NewLinearInOut is NewLinear for a weight stored [in, out] (used as x·W,
// as open_clip's visual.proj and text_projection are).
func NewLinearInOut(weight, bias []float32, in, out int) (*Linear, error) {
	if len(weight) != out*in {
		return nil, fmt.Errorf("%w: projection has %d values, want %d×%d", ErrShape, len(weight), in, out)
	}
	if bias != nil && len(bias) != out {
		return nil, fmt.Errorf("%w: projection bias has %d values, want %d", ErrShape, len(bias), out)
	}
	p, err := kernels.PackB(false, in, out, weight, out)
	if err != nil {
		return nil, err
	}
	return &Linear{In: in, Out: out, w: p, Bias: bias}, nil
}
