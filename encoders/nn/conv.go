package nn

import (
	"fmt"
	"math"

	"rosetta/kernels"
)

// Conv2d is a 2-D convolution on channels-last (HWC) activations, computed
// as im2col + GEMM against a weight packed once. Batch norm can be folded
// into it at load (FoldBatchNorm), as inference allows.
type Conv2d struct {
	In, Out, K, Stride, Pad int
	lin                     *Linear // [Out, K*K*In], columns ordered (ky, kx, c)
}

// NewConv2d takes a PyTorch weight [out, in, k, k] and an optional bias.
func NewConv2d(weight, bias []float32, out, in, k, stride, pad int) (*Conv2d, error) {
	if len(weight) != out*in*k*k {
		return nil, fmt.Errorf("%w: conv weight has %d values, want %d×%d×%d×%d", ErrShape, len(weight), out, in, k, k)
	}
	if stride < 1 || pad < 0 {
		return nil, fmt.Errorf("%w: conv stride %d pad %d", ErrShape, stride, pad)
	}
	// Reorder (c, ky, kx) → (ky, kx, c) so im2col copies whole channel runs.
	w := make([]float32, len(weight))
	for o := 0; o < out; o++ {
		for c := 0; c < in; c++ {
			for ky := 0; ky < k; ky++ {
				for kx := 0; kx < k; kx++ {
					w[o*in*k*k+(ky*k+kx)*in+c] = weight[((o*in+c)*k+ky)*k+kx]
				}
			}
		}
	}
	lin, err := NewLinear(w, bias, out, in*k*k)
	if err != nil {
		return nil, err
	}
	return &Conv2d{In: in, Out: out, K: k, Stride: stride, Pad: pad, lin: lin}, nil
}

// FoldBatchNorm returns weight and bias with an inference batch norm
// (gamma, beta, running mean and variance, eps) folded in:
// w' = w·γ/√(σ²+ε) per output channel, b' = β + (b − μ)·γ/√(σ²+ε).
func FoldBatchNorm(weight, bias, gamma, beta, mean, variance []float32, eps float64) ([]float32, []float32) {
	out := len(gamma)
	per := len(weight) / out
	w := make([]float32, len(weight))
	b := make([]float32, out)
	for o := 0; o < out; o++ {
		s := float64(gamma[o]) / math.Sqrt(float64(variance[o])+eps)
		for i := 0; i < per; i++ {
			w[o*per+i] = float32(float64(weight[o*per+i]) * s)
		}
		b0 := 0.0
		if bias != nil {
			b0 = float64(bias[o])
		}
		b[o] = float32(float64(beta[o]) + (b0-float64(mean[o]))*s)
	}
	return w, b
}

// OutSize is the spatial output size for an input of size n.
func (c *Conv2d) OutSize(n int) int { return (n+2*c.Pad-c.K)/c.Stride + 1 }

// Forward convolves x ([h*w*In], HWC) into a new [oh*ow*Out] slice.
// cols is scratch reused across calls.
func (c *Conv2d) Forward(x []float32, h, w int, cols *[]float32) ([]float32, int, int) {
	oh, ow := c.OutSize(h), c.OutSize(w)
	out := make([]float32, oh*ow*c.Out)
	if c.K == 1 && c.Stride == 1 && c.Pad == 0 {
		c.lin.Forward(x, h*w, out)
		return out, oh, ow
	}
	row := c.K * c.K * c.In
	need := oh * ow * row
	if cap(*cols) < need {
		*cols = make([]float32, need)
	}
	buf := (*cols)[:need]
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			r := buf[(oy*ow+ox)*row : (oy*ow+ox+1)*row]
			for ky := 0; ky < c.K; ky++ {
				iy := oy*c.Stride - c.Pad + ky
				for kx := 0; kx < c.K; kx++ {
					ix := ox*c.Stride - c.Pad + kx
					dst := r[(ky*c.K+kx)*c.In : (ky*c.K+kx+1)*c.In]
					if iy < 0 || iy >= h || ix < 0 || ix >= w {
						clear(dst)
						continue
					}
					copy(dst, x[(iy*w+ix)*c.In:(iy*w+ix+1)*c.In])
				}
			}
		}
	}
	c.lin.Forward(buf, oh*ow, out)
	return out, oh, ow
}

// AvgPool averages non-overlapping k×k windows of x ([h*w*ch], HWC), as
// PyTorch's AvgPool2d(k) does (floor of h/k, w/k).
func AvgPool(x []float32, h, w, ch, k int) ([]float32, int, int) {
	if k == 1 {
		return x, h, w
	}
	oh, ow := h/k, w/k
	out := make([]float32, oh*ow*ch)
	inv := 1 / float32(k*k)
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			dst := out[(oy*ow+ox)*ch : (oy*ow+ox+1)*ch]
			for ky := 0; ky < k; ky++ {
				for kx := 0; kx < k; kx++ {
					src := x[((oy*k+ky)*w+ox*k+kx)*ch:]
					for c := range dst {
						dst[c] += src[c]
					}
				}
			}
			for c := range dst {
				dst[c] *= inv
			}
		}
	}
	return out, oh, ow
}

// PatchTokens is a ViT's input: each of batch CHW images (c channels,
// s×s, in pixels) is cut into (s/p)² non-overlapping p×p patches, each
// patch (flattened in the conv weight's (c, ky, kx) order) goes through
// proj (the patch convolution as a linear map), the class embedding is
// prepended and pos added. It returns [batch*(g²+1)*proj.Out].
func PatchTokens(pixels []float32, batch, c, s, p int, proj *Linear, class, pos []float32) []float32 {
	g := s / p
	w := proj.Out
	t := g*g + 1
	cols := make([]float32, batch*g*g*c*p*p)
	// im2col, a row of patches at a time, split over the GEMM threads.
	kernels.SplitRange(batch*g, 2, func(lo, hi int) {
		for bg := lo; bg < hi; bg++ {
			b, gy := bg/g, bg%g
			img := pixels[b*c*s*s:]
			for gx := 0; gx < g; gx++ {
				row := cols[((b*g+gy)*g+gx)*c*p*p:]
				for ch := 0; ch < c; ch++ {
					for ky := 0; ky < p; ky++ {
						off := ch*s*s + (gy*p+ky)*s + gx*p
						copy(row[(ch*p+ky)*p:(ch*p+ky+1)*p], img[off:off+p])
					}
				}
			}
		}
	})
	patches := make([]float32, batch*g*g*w)
	proj.Forward(cols, batch*g*g, patches)
	x := make([]float32, batch*t*w)
	kernels.SplitRange(batch, 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			seq := x[b*t*w : (b+1)*t*w]
			copy(seq[:w], class)
			copy(seq[w:], patches[b*g*g*w:(b+1)*g*g*w])
			Add(seq, pos)
		}
	})
	return x
}
