package whisper

import (
	"fmt"
	"path/filepath"

	"rosetta/encoders/nn"
	"rosetta/encoders/safetensors"
)

// layerNormEps is the epsilon of every Whisper layer norm (PyTorch's
// default; WhisperConfig has no field for it).
const layerNormEps = 1e-5

// Options configures Load.
type Options struct {
	// Weights is the safetensors file inside the model folder (or a
	// sharded checkpoint's index .json). Default "model.safetensors".
	Weights string
}

// DefaultOptions returns the options Load uses for a nil *Options.
func DefaultOptions() *Options { return &Options{Weights: "model.safetensors"} }

func (o *Options) ensureDefaults() *Options {
	c := DefaultOptions()
	if o != nil {
		*c = *o
	}
	if c.Weights == "" {
		c.Weights = "model.safetensors"
	}
	return c
}

// loader is nn.Loader with Whisper's convolutions and attention.
type loader struct{ nn.Loader }

// conv reads a Conv1d (weight [out, in, k], bias [out]) as a linear layer
// over im2col columns.
func (l *loader) conv(name string, out, in, k, stride, pad int) *conv1d {
	w := l.Tensor(name+".weight", out, in, k)
	b := l.Tensor(name+".bias", out)
	lin, err := nn.NewLinear(w, b, out, in*k)
	if err != nil {
		l.Fail(fmt.Errorf("%s: %w", name, err))
		lin, _ = nn.NewLinear(make([]float32, out*in*k), nil, out, in*k)
	}
	return &conv1d{lin: lin, in: in, k: k, stride: stride, pad: pad}
}

// attention reads q/k/v/out projections; k_proj has no bias in Whisper.
func (l *loader) attention(name string, d, heads int) attention {
	return attention{
		q:   l.Linear(name+".q_proj", d, d, true),
		k:   l.Linear(name+".k_proj", d, d, false),
		v:   l.Linear(name+".v_proj", d, d, true),
		out: l.Linear(name+".out_proj", d, d, true),
		dim: d, heads: heads,
	}
}

func (l *loader) err() error { return l.Err("whisper") }

// Load reads config.json, preprocessor_config.json (optional; the
// WhisperFeatureExtractor defaults otherwise) and the weights from dir, a
// transformers WhisperForConditionalGeneration or WhisperModel folder.
func Load(dir string, opt *Options) (*Model, error) {
	o := opt.ensureDefaults()
	cfg, err := loadConfig(dir)
	if err != nil {
		return nil, err
	}
	pre, err := loadPreprocessor(dir, cfg)
	if err != nil {
		return nil, err
	}
	ck, err := safetensors.OpenCheckpoint(filepath.Join(dir, o.Weights))
	if err != nil {
		return nil, fmt.Errorf("whisper: %w", err)
	}
	defer ck.Close()
	m, err := build(cfg, pre, ck)
	if err != nil {
		return nil, err
	}
	if p := filepath.Join(dir, "generation_config.json"); fileExists(p) {
		var g struct {
			LangToID map[string]int `json:"lang_to_id"`
		}
		if err := readJSON(p, &g); err != nil {
			return nil, err
		}
		m.langToID = g.LangToID
	}
	return m, nil
}

// NewRandom builds a model of cfg's shape with random weights (for timing
// full-size shapes); pre may be the zero value for the feature extractor
// defaults.
func NewRandom(cfg Config, pre Preprocessor, seed uint64) (*Model, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if pre == (Preprocessor{}) {
		pre = Preprocessor{FeatureSize: cfg.NumMelBins, SamplingRate: 16000, HopLength: 160, NFFT: 400, ChunkLength: 30, NSamples: 480000, NbMaxFrames: 3000}
	}
	return build(cfg, pre, safetensors.Random(seed))
}

func build(cfg Config, pre Preprocessor, ck *safetensors.Checkpoint) (*Model, error) {
	l := &loader{nn.Loader{CK: ck}}
	if ck.Has("model.encoder.conv1.weight") {
		l.Prefix = "model."
	}
	act, err := nn.ParseActivation(cfg.ActivationFunction)
	if err != nil {
		return nil, fmt.Errorf("%w: activation_function: %v", ErrConfig, err)
	}
	fe, err := NewFrontend(pre.NFFT, pre.HopLength, pre.FeatureSize, pre.SamplingRate)
	if err != nil {
		return nil, err
	}
	d := cfg.DModel
	m := &Model{cfg: cfg, pre: pre, front: fe}

	e := &m.enc
	e.act = act
	e.conv1 = l.conv("encoder.conv1", d, cfg.NumMelBins, 3, 1, 1)
	e.conv2 = l.conv("encoder.conv2", d, d, 3, 2, 1)
	e.pos = l.Tensor("encoder.embed_positions.weight", cfg.MaxSourcePositions, d)
	e.ln = l.LayerNorm("encoder.layer_norm", d, layerNormEps)
	for i := 0; i < cfg.EncoderLayers; i++ {
		p := fmt.Sprintf("encoder.layers.%d.", i)
		a := l.attention(p+"self_attn", d, cfg.EncoderAttentionHeads)
		bl := nn.Block{
			LN1: l.LayerNorm(p+"self_attn_layer_norm", d, layerNormEps),
			LN2: l.LayerNorm(p+"final_layer_norm", d, layerNormEps),
			Attn: nn.Attention{Dim: d, Heads: cfg.EncoderAttentionHeads, ScaleQuery: true,
				Q: a.q, K: a.k, V: a.v, Out: a.out},
			FC1: l.Linear(p+"fc1", cfg.EncoderFFNDim, d, true),
			FC2: l.Linear(p+"fc2", d, cfg.EncoderFFNDim, true),
			Act: act,
		}
		bl.Attn.Init()
		e.layers = append(e.layers, bl)
	}

	dec := &m.dec
	dec.act = act
	dec.vocab = cfg.VocabSize
	dec.embed = l.Tensor("decoder.embed_tokens.weight", cfg.VocabSize, d)
	dec.pos = l.Tensor("decoder.embed_positions.weight", cfg.MaxTargetPositions, d)
	dec.ln = l.LayerNorm("decoder.layer_norm", d, layerNormEps)
	for i := 0; i < cfg.DecoderLayers; i++ {
		p := fmt.Sprintf("decoder.layers.%d.", i)
		dec.layers = append(dec.layers, decoderLayer{
			selfLN:  l.LayerNorm(p+"self_attn_layer_norm", d, layerNormEps),
			self:    l.attention(p+"self_attn", d, cfg.DecoderAttentionHeads),
			crossLN: l.LayerNorm(p+"encoder_attn_layer_norm", d, layerNormEps),
			cross:   l.attention(p+"encoder_attn", d, cfg.DecoderAttentionHeads),
			mlpLN:   l.LayerNorm(p+"final_layer_norm", d, layerNormEps),
			fc1:     l.Linear(p+"fc1", cfg.DecoderFFNDim, d, true),
			fc2:     l.Linear(p+"fc2", d, cfg.DecoderFFNDim, true),
		})
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	// The output projection is tied to the token embedding.
	if dec.logits, err = nn.NewLinear(dec.embed, nil, cfg.VocabSize, d); err != nil {
		return nil, fmt.Errorf("whisper: output projection: %w", err)
	}
	return m, nil
}
