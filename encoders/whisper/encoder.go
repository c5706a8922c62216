package whisper

import (
	"fmt"
	"math"

	"rosetta/encoders/nn"
)

// conv1d is a 1-D convolution as im2col + GEMM: lin's weight is PyTorch's
// [out, in, k] flattened to [out, in*k].
type conv1d struct {
	lin                *nn.Linear
	in, k, stride, pad int
}

func (c *conv1d) outLen(t int) int { return (t+2*c.pad-c.k)/c.stride + 1 }

// forward convolves x of t frames, channels-first ([in, t]) when
// chanFirst, else channels-last ([t, in]), into a channels-last
// [outLen(t), out] slice.
func (c *conv1d) forward(x []float32, t int, chanFirst bool) ([]float32, int) {
	to := c.outLen(t)
	w := c.in * c.k
	cols := make([]float32, to*w)
	for o := 0; o < to; o++ {
		row := cols[o*w : (o+1)*w]
		for j := 0; j < c.k; j++ {
			src := o*c.stride + j - c.pad
			if src < 0 || src >= t {
				continue
			}
			for ch := 0; ch < c.in; ch++ {
				if chanFirst {
					row[ch*c.k+j] = x[ch*t+src]
				} else {
					row[ch*c.k+j] = x[src*c.in+ch]
				}
			}
		}
	}
	y := make([]float32, to*c.lin.Out)
	c.lin.Forward(cols, to, y)
	return y, to
}

// encoder is Whisper's AudioEncoder: two convolutions with GELU, the
// sinusoidal positions, pre-LN transformer blocks and a final layer norm.
type encoder struct {
	conv1, conv2 *conv1d
	act          nn.Activation
	pos          []float32 // [max_source_positions, d]
	layers       []nn.Block
	ln           nn.LayerNorm
}

// Encode runs the audio encoder over one window's log-mel spectrogram
// ([Mels, frames] row-major, frames = AudioFrames()) and returns the audio
// features, [max_source_positions, d] row-major, owned by the caller.
func (m *Model) Encode(mel []float32, frames int) ([]float32, error) {
	mels := m.cfg.NumMelBins
	if frames != m.AudioFrames() || len(mel) != mels*frames {
		return nil, fmt.Errorf("%w: spectrogram of %d values with %d frames, want [%d, %d]", ErrInput, len(mel), frames, mels, m.AudioFrames())
	}
	for i, v := range mel {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%w: mel value %d is %v", ErrInput, i, v)
		}
	}
	e := &m.enc
	x, t := e.conv1.forward(mel, frames, true)
	e.act(x)
	x, t = e.conv2.forward(x, t, false)
	e.act(x)
	d := m.cfg.DModel
	if t != m.cfg.MaxSourcePositions {
		return nil, fmt.Errorf("%w: %d frames give %d positions, the model has %d", ErrInput, frames, t, m.cfg.MaxSourcePositions)
	}
	nn.Add(x, e.pos[:t*d])
	var s nn.BlockScratch
	for i := range e.layers {
		e.layers[i].Forward(x, 1, t, nil, &s)
	}
	e.ln.Forward(x, t, x)
	return x, nil
}
