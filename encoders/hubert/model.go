package hubert

import (
	"fmt"
	"math"
	"os"

	"rosetta/encoders/nn"
)

type convLayer struct {
	conv        *conv1d
	gn          bool // group norm, one group per channel (first layer, "group" form)
	gamma, beta []float32
	ln          *nn.LayerNorm // "layer" form: layer norm over channels on every layer
}

type layer struct {
	attn        nn.Attention
	ln, finalLN nn.LayerNorm
	fc1, fc2    *nn.Linear
}

// Model is a loaded HuBERT or wav2vec 2.0 encoder. It is immutable and
// safe for concurrent use.
type Model struct {
	cfg     Config
	pre     Preprocessor
	featAct nn.Activation
	act     nn.Activation
	convs   []convLayer
	projLN  *nn.LayerNorm
	proj    *nn.Linear
	pos     *conv1d // padding kernel/2: an even kernel yields one extra frame, dropped
	encLN   nn.LayerNorm
	layers  []layer
}

// Output holds one Forward's results, one entry per input waveform. All
// slices are freshly allocated and owned by the caller.
type Output struct {
	// Frames is the number of output frames of each waveform.
	Frames []int
	// ExtractFeatures is the convolutional feature encoder's output,
	// [Frames*ConvDim] (channels-last), before the feature projection.
	ExtractFeatures [][]float32
	// LastHidden is the transformer's last hidden state, [Frames*Dim].
	LastHidden [][]float32
	// MeanPooled is the time-mean of LastHidden, [Dim].
	MeanPooled [][]float32
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// Dim is the width of the hidden states and the pooled embedding.
func (m *Model) Dim() int { return m.cfg.HiddenSize }

// NeedsNormalize reports whether preprocessor_config.json asks for
// zero-mean unit-variance input (do_normalize); callers then pass each
// waveform through Normalize before Forward.
func (m *Model) NeedsNormalize() bool { return m.pre.DoNormalize }

// SampleRate is the input sampling rate in Hz (16000 unless the
// preprocessor config says otherwise).
func (m *Model) SampleRate() int { return m.pre.SamplingRate }

// Frames returns the number of output frames for n input samples (0 when
// the input is too short).
func (m *Model) Frames(n int) int {
	for _, c := range m.convs {
		n = c.conv.outLen(n)
	}
	return n
}

// Normalize returns (x−mean)/sqrt(var+1e-7) with the population variance,
// as the Wav2Vec2 feature extractor does. x is not modified.
func Normalize(x []float32) []float32 {
	out := make([]float32, len(x))
	if len(x) == 0 {
		return out
	}
	var mean float64
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	var vs float64
	for _, v := range x {
		d := float64(v) - mean
		vs += d * d
	}
	inv := 1 / math.Sqrt(vs/float64(len(x))+1e-7)
	for i, v := range x {
		out[i] = float32((float64(v) - mean) * inv)
	}
	return out
}

// Forward encodes each waveform of batch (mono, at SampleRate, already
// normalised when NeedsNormalize). Waveforms may differ in length: each
// is encoded as if alone (no padding enters any computation).
func (m *Model) Forward(batch [][]float32) (*Output, error) {
	if len(batch) == 0 {
		return nil, fmt.Errorf("%w: empty batch", ErrInput)
	}
	out := &Output{
		Frames:          make([]int, len(batch)),
		ExtractFeatures: make([][]float32, len(batch)),
		LastHidden:      make([][]float32, len(batch)),
		MeanPooled:      make([][]float32, len(batch)),
	}
	for i, x := range batch {
		for j, v := range x {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%w: waveform %d sample %d is %v", ErrInput, i, j, v)
			}
		}
		if f := m.Frames(len(x)); f <= 0 {
			return nil, fmt.Errorf("%w: waveform %d has %d samples, too short for the feature encoder", ErrInput, i, len(x))
		}
	}
	// Feature encoder per waveform; group equal frame counts for the
	// transformer.
	groups := map[int][]int{}
	var order []int
	for i, x := range batch {
		f, t := m.features(x)
		out.Frames[i] = t
		out.ExtractFeatures[i] = f
		if _, ok := groups[t]; !ok {
			order = append(order, t)
		}
		groups[t] = append(groups[t], i)
	}
	d := m.cfg.HiddenSize
	for _, t := range order {
		idx := groups[t]
		h := make([]float32, len(idx)*t*d)
		for j, i := range idx {
			m.project(out.ExtractFeatures[i], t, h[j*t*d:(j+1)*t*d])
		}
		m.encode(h, len(idx), t)
		for j, i := range idx {
			hs := h[j*t*d : (j+1)*t*d]
			out.LastHidden[i] = hs
			mp := make([]float32, d)
			for r := 0; r < t; r++ {
				for c := 0; c < d; c++ {
					mp[c] += hs[r*d+c]
				}
			}
			for c := range mp {
				mp[c] /= float32(t)
			}
			out.MeanPooled[i] = mp
		}
	}
	return out, nil
}

// features runs the convolutional feature encoder on one waveform.
func (m *Model) features(x []float32) ([]float32, int) {
	h, t := x, len(x)
	for _, c := range m.convs {
		h, t = c.conv.forward(h, t)
		switch {
		case c.gn:
			groupNormPerChannel(h, t, c.conv.Out, c.gamma, c.beta, 1e-5)
		case c.ln != nil:
			c.ln.Forward(h, t, h)
		}
		m.featAct(h)
	}
	return h, t
}

// project applies the feature projection to f ([t*convDim]) into y ([t*Dim]).
func (m *Model) project(f []float32, t int, y []float32) {
	in := f
	if m.projLN != nil {
		in = make([]float32, len(f))
		m.projLN.Forward(f, t, in)
	}
	m.proj.Forward(in, t, y)
}

// encode runs positional convolution and the transformer over h
// ([batch*t*Dim]) in place.
func (m *Model) encode(h []float32, batch, t int) {
	d := m.cfg.HiddenSize
	rows := batch * t
	for s := 0; s < batch; s++ {
		hs := h[s*t*d : (s+1)*t*d]
		p, _ := m.pos.forward(hs, t)
		p = p[:t*d] // even kernel: the extra last frame is dropped
		m.featAct(p)
		nn.Add(hs, p)
	}
	stable := m.cfg.DoStableLayerNorm
	if !stable {
		m.encLN.Forward(h, rows, h)
	}
	norm := make([]float32, rows*d)
	att := make([]float32, rows*d)
	hid := make([]float32, rows*m.cfg.IntermediateSize)
	var scratch []float32
	for i := range m.layers {
		ly := &m.layers[i]
		if stable {
			ly.ln.Forward(h, rows, norm)
			ly.attn.Forward(norm, batch, t, nil, att, &scratch)
			nn.Add(h, att)
			ly.finalLN.Forward(h, rows, norm)
			ly.fc1.Forward(norm, rows, hid)
			m.act(hid)
			ly.fc2.Forward(hid, rows, att)
			nn.Add(h, att)
			continue
		}
		ly.attn.Forward(h, batch, t, nil, att, &scratch)
		nn.Add(h, att)
		ly.ln.Forward(h, rows, h)
		ly.fc1.Forward(h, rows, hid)
		m.act(hid)
		ly.fc2.Forward(hid, rows, att)
		nn.Add(h, att)
		ly.finalLN.Forward(h, rows, h)
	}
	if stable {
		m.encLN.Forward(h, rows, h)
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
