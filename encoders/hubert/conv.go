package hubert

import (
	"math"

	"rosetta/encoders/nn"
)

// conv1d is a grouped 1-D convolution over channels-last input ([T*In]),
// computed per group as im2col + GEMM with the PyTorch [Out, In/G, K]
// weight viewed as a linear layer of [Out/G, In/G*K].
type conv1d struct {
	In, Out, K, Stride, Pad, Groups int
	lin                             []*nn.Linear // one per group
}

func newConv1d(weight, bias []float32, out, in, k, stride, pad, groups int) (*conv1d, error) {
	c := &conv1d{In: in, Out: out, K: k, Stride: stride, Pad: pad, Groups: groups}
	og, ig := out/groups, in/groups
	for g := 0; g < groups; g++ {
		var b []float32
		if bias != nil {
			b = bias[g*og : (g+1)*og]
		}
		l, err := nn.NewLinear(weight[g*og*ig*k:(g+1)*og*ig*k], b, og, ig*k)
		if err != nil {
			return nil, err
		}
		c.lin = append(c.lin, l)
	}
	return c, nil
}

// outLen is the number of output frames for t input frames.
func (c *conv1d) outLen(t int) int {
	n := t + 2*c.Pad - c.K
	if n < 0 {
		return 0
	}
	return n/c.Stride + 1
}

// forward convolves x ([t*In]) and returns [outLen(t)*Out] in a new slice.
func (c *conv1d) forward(x []float32, t int) ([]float32, int) {
	to := c.outLen(t)
	y := make([]float32, to*c.Out)
	og, ig := c.Out/c.Groups, c.In/c.Groups
	cw := ig * c.K
	cols := make([]float32, to*cw)
	tmp := y
	if c.Groups > 1 {
		tmp = make([]float32, to*og)
	}
	for g := 0; g < c.Groups; g++ {
		for o := 0; o < to; o++ {
			row := cols[o*cw : (o+1)*cw]
			start := o*c.Stride - c.Pad
			for ci := 0; ci < ig; ci++ {
				src := g*ig + ci
				for k := 0; k < c.K; k++ {
					p := start + k
					if p < 0 || p >= t {
						row[ci*c.K+k] = 0
						continue
					}
					row[ci*c.K+k] = x[p*c.In+src]
				}
			}
		}
		c.lin[g].Forward(cols, to, tmp)
		if c.Groups > 1 {
			for o := 0; o < to; o++ {
				copy(y[o*c.Out+g*og:o*c.Out+(g+1)*og], tmp[o*og:(o+1)*og])
			}
		}
	}
	return y, to
}

// groupNormPerChannel is GroupNorm with one group per channel: each
// channel is normalised over time, then scaled and shifted. x is [t*ch].
func groupNormPerChannel(x []float32, t, ch int, gamma, beta []float32, eps float64) {
	for c := 0; c < ch; c++ {
		var mean float64
		for i := 0; i < t; i++ {
			mean += float64(x[i*ch+c])
		}
		mean /= float64(t)
		var vs float64
		for i := 0; i < t; i++ {
			d := float64(x[i*ch+c]) - mean
			vs += d * d
		}
		inv := 1 / math.Sqrt(vs/float64(t)+eps)
		g, b := float64(gamma[c]), float64(beta[c])
		for i := 0; i < t; i++ {
			x[i*ch+c] = float32((float64(x[i*ch+c])-mean)*inv*g + b)
		}
	}
}

// weightNorm folds w = g·v/‖v‖ where the norm runs over every dim of v
// ([out, in, k]) except dim (0 or 2), as torch weight_norm does.
func weightNorm(g, v []float32, out, in, k, dim int) []float32 {
	w := make([]float32, len(v))
	switch dim {
	case 2:
		for kk := 0; kk < k; kk++ {
			var s float64
			for o := 0; o < out*in; o++ {
				f := float64(v[o*k+kk])
				s += f * f
			}
			scale := float64(g[kk]) / math.Sqrt(s)
			for o := 0; o < out*in; o++ {
				w[o*k+kk] = float32(float64(v[o*k+kk]) * scale)
			}
		}
	default: // dim 0
		n := in * k
		for o := 0; o < out; o++ {
			var s float64
			for _, f := range v[o*n : (o+1)*n] {
				s += float64(f) * float64(f)
			}
			scale := float64(g[o]) / math.Sqrt(s)
			for i := o * n; i < (o+1)*n; i++ {
				w[i] = float32(float64(v[i]) * scale)
			}
		}
	}
	return w
}
