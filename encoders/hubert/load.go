package hubert

import (
	"fmt"
	"path/filepath"

	"rosetta/encoders/nn"
	"rosetta/encoders/safetensors"
)

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

// loader is nn.Loader with HuBERT's convolutions.
type loader struct{ nn.Loader }

func (l *loader) conv(name string, out, in, k, stride, pad, groups int, weight []float32, bias bool) *conv1d {
	var b []float32
	if bias {
		b = l.Tensor(name+".bias", out)
	}
	c, err := newConv1d(weight, b, out, in, k, stride, pad, groups)
	if err != nil {
		l.Fail(fmt.Errorf("%s: %w", name, err))
		return nil
	}
	return c
}

// posConvWeight returns the pos conv weight, folding weight norm from
// either naming; it reads the norm dim from g's shape.
func (l *loader) posConvWeight(name string, out, in, k int) []float32 {
	p := l.Prefix + name
	if l.CK.Has(p+".weight") || l.CK.IsRandom() {
		return l.Tensor(name+".weight", out, in, k)
	}
	gName, vName := ".parametrizations.weight.original0", ".parametrizations.weight.original1"
	if !l.CK.Has(p+gName) && l.CK.Has(p+".weight_g") {
		gName, vName = ".weight_g", ".weight_v"
	}
	t, err := l.CK.Tensor(p + gName)
	if err != nil {
		l.Fail(err)
		return make([]float32, out*in*k)
	}
	dim := -1
	switch {
	case len(t.Shape) == 3 && t.Shape[0] == 1 && t.Shape[1] == 1 && t.Shape[2] == k:
		dim = 2
	case len(t.Shape) == 3 && t.Shape[0] == out && t.Shape[1] == 1 && t.Shape[2] == 1:
		dim = 0
	default:
		l.Fail(fmt.Errorf("%w: %q is %v, want weight norm over dim 2 [1 1 %d] or dim 0 [%d 1 1]", safetensors.ErrShape, p+gName, t.Shape, k, out))
		return make([]float32, out*in*k)
	}
	g := l.Tensor(name + gName)
	v := l.Tensor(name+vName, out, in, k)
	if l.Failed() {
		return make([]float32, out*in*k)
	}
	return weightNorm(g, v, out, in, k, dim)
}

func (l *loader) err() error { return l.Err("hubert") }

// Load reads config.json, preprocessor_config.json (optional) and the
// weights from dir. Tensor names may carry a "hubert." or "wav2vec2."
// prefix (checkpoints saved from the task heads).
func Load(dir string, opt *Options) (*Model, error) {
	o := opt.ensureDefaults()
	cfg, err := loadConfig(dir)
	if err != nil {
		return nil, err
	}
	pre := Preprocessor{SamplingRate: 16000}
	if p := filepath.Join(dir, "preprocessor_config.json"); fileExists(p) {
		if err := readJSON(p, &pre); err != nil {
			return nil, err
		}
	}
	if pre.SamplingRate <= 0 {
		pre.SamplingRate = 16000
	}
	ck, err := safetensors.OpenCheckpoint(filepath.Join(dir, o.Weights))
	if err != nil {
		return nil, fmt.Errorf("hubert: %w", err)
	}
	defer ck.Close()
	m, err := build(cfg, ck)
	if err != nil {
		return nil, err
	}
	m.pre = pre
	return m, nil
}

// NewRandom builds a model of cfg's shape with random weights (for timing
// full-size shapes).
func NewRandom(cfg Config, seed uint64) (*Model, error) {
	return build(cfg, safetensors.Random(seed))
}

func build(cfg Config, ck *safetensors.Checkpoint) (*Model, error) {
	l := &loader{nn.Loader{CK: ck}}
	for _, p := range []string{"", "hubert.", "wav2vec2.", "model."} {
		if ck.Has(p + "feature_extractor.conv_layers.0.conv.weight") {
			l.Prefix = p
			break
		}
	}
	featAct, err := nn.ParseActivation(cfg.FeatExtractActivation)
	if err != nil {
		return nil, fmt.Errorf("%w: feat_extract_activation: %v", ErrConfig, err)
	}
	act, err := nn.ParseActivation(cfg.HiddenAct)
	if err != nil {
		return nil, fmt.Errorf("%w: hidden_act: %v", ErrConfig, err)
	}
	m := &Model{cfg: cfg, featAct: featAct, act: act}
	in := 1
	for i, out := range cfg.ConvDim {
		name := fmt.Sprintf("feature_extractor.conv_layers.%d", i)
		k := cfg.ConvKernel[i]
		w := l.Tensor(name+".conv.weight", out, in, k)
		cl := convLayer{conv: l.conv(name+".conv", out, in, k, cfg.ConvStride[i], 0, 1, w, cfg.ConvBias)}
		switch {
		case cfg.FeatExtractNorm == "layer":
			ln := l.LayerNorm(name+".layer_norm", out, float32(1e-5))
			cl.ln = &ln
		case i == 0:
			cl.gn = true
			cl.gamma = l.Tensor(name+".layer_norm.weight", out)
			cl.beta = l.Tensor(name+".layer_norm.bias", out)
		}
		m.convs = append(m.convs, cl)
		in = out
	}
	d := cfg.HiddenSize
	if cfg.featProjLayerNorm() {
		ln := l.LayerNorm("feature_projection.layer_norm", in, float32(cfg.LayerNormEps))
		m.projLN = &ln
	}
	m.proj = l.Linear("feature_projection.projection", d, in, true)
	k, g := cfg.NumConvPosEmbeddings, cfg.NumConvPosGroups
	pw := l.posConvWeight("encoder.pos_conv_embed.conv", d, d/g, k)
	m.pos = l.conv("encoder.pos_conv_embed.conv", d, d, k, 1, k/2, g, pw, true)
	m.encLN = l.LayerNorm("encoder.layer_norm", d, float32(cfg.LayerNormEps))
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		p := fmt.Sprintf("encoder.layers.%d.", i)
		ly := layer{
			ln:      l.LayerNorm(p+"layer_norm", d, float32(cfg.LayerNormEps)),
			finalLN: l.LayerNorm(p+"final_layer_norm", d, float32(cfg.LayerNormEps)),
			fc1:     l.Linear(p+"feed_forward.intermediate_dense", cfg.IntermediateSize, d, true),
			fc2:     l.Linear(p+"feed_forward.output_dense", d, cfg.IntermediateSize, true),
		}
		ly.attn = nn.Attention{
			Dim: d, Heads: cfg.NumAttentionHeads, ScaleQuery: true,
			Q: l.Linear(p+"attention.q_proj", d, d, true), K: l.Linear(p+"attention.k_proj", d, d, true),
			V: l.Linear(p+"attention.v_proj", d, d, true), Out: l.Linear(p+"attention.out_proj", d, d, true),
		}
		ly.attn.Init()
		m.layers = append(m.layers, ly)
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	return m, nil
}
