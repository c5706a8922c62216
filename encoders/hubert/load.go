package hubert

import (
	"errors"
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

// loader reads tensors by name with shape checks, collecting every error
// so a mismatched checkpoint is reported at once.
type loader struct {
	ck     *safetensors.Checkpoint
	prefix string
	errs   []error
}

func (l *loader) tensor(name string, shape ...int) []float32 {
	v, _, err := l.ck.Float32(l.prefix+name, shape...)
	if err != nil {
		l.errs = append(l.errs, err)
		n := 1
		for _, s := range shape {
			if s > 0 {
				n *= s
			}
		}
		return make([]float32, n)
	}
	return v
}

func (l *loader) linear(name string, out, in int) *nn.Linear {
	w := l.tensor(name+".weight", out, in)
	b := l.tensor(name+".bias", out)
	lin, err := nn.NewLinear(w, b, out, in)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %w", name, err))
		lin, _ = nn.NewLinear(make([]float32, out*in), nil, out, in)
	}
	return lin
}

func (l *loader) layerNorm(name string, dim int, eps float64) nn.LayerNorm {
	return nn.LayerNorm{Gamma: l.tensor(name+".weight", dim), Beta: l.tensor(name+".bias", dim), Eps: float32(eps)}
}

func (l *loader) conv(name string, out, in, k, stride, pad, groups int, weight []float32, bias bool) *conv1d {
	var b []float32
	if bias {
		b = l.tensor(name+".bias", out)
	}
	c, err := newConv1d(weight, b, out, in, k, stride, pad, groups)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %w", name, err))
		return nil
	}
	return c
}

// posConvWeight returns the pos conv weight, folding weight norm from
// either naming; it reads the norm dim from g's shape.
func (l *loader) posConvWeight(name string, out, in, k int) []float32 {
	p := l.prefix + name
	if l.ck.Has(p+".weight") || l.ck.IsRandom() {
		return l.tensor(name+".weight", out, in, k)
	}
	gName, vName := ".parametrizations.weight.original0", ".parametrizations.weight.original1"
	if !l.ck.Has(p+gName) && l.ck.Has(p+".weight_g") {
		gName, vName = ".weight_g", ".weight_v"
	}
	t, err := l.ck.Tensor(p + gName)
	if err != nil {
		l.errs = append(l.errs, err)
		return make([]float32, out*in*k)
	}
	dim := -1
	switch {
	case len(t.Shape) == 3 && t.Shape[0] == 1 && t.Shape[1] == 1 && t.Shape[2] == k:
		dim = 2
	case len(t.Shape) == 3 && t.Shape[0] == out && t.Shape[1] == 1 && t.Shape[2] == 1:
		dim = 0
	default:
		l.errs = append(l.errs, fmt.Errorf("%w: %q is %v, want weight norm over dim 2 [1 1 %d] or dim 0 [%d 1 1]", safetensors.ErrShape, p+gName, t.Shape, k, out))
		return make([]float32, out*in*k)
	}
	g := l.tensor(name + gName)
	v := l.tensor(name+vName, out, in, k)
	if len(l.errs) > 0 {
		return make([]float32, out*in*k)
	}
	return weightNorm(g, v, out, in, k, dim)
}

func (l *loader) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	if len(l.errs) > 8 {
		more := len(l.errs) - 8
		l.errs = append(l.errs[:8], fmt.Errorf("… and %d more", more))
	}
	return fmt.Errorf("hubert: checkpoint does not fit the config: %w", errors.Join(l.errs...))
}

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
	l := &loader{ck: ck}
	for _, p := range []string{"", "hubert.", "wav2vec2.", "model."} {
		if ck.Has(p + "feature_extractor.conv_layers.0.conv.weight") {
			l.prefix = p
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
		w := l.tensor(name+".conv.weight", out, in, k)
		cl := convLayer{conv: l.conv(name+".conv", out, in, k, cfg.ConvStride[i], 0, 1, w, cfg.ConvBias)}
		switch {
		case cfg.FeatExtractNorm == "layer":
			ln := l.layerNorm(name+".layer_norm", out, 1e-5)
			cl.ln = &ln
		case i == 0:
			cl.gn = true
			cl.gamma = l.tensor(name+".layer_norm.weight", out)
			cl.beta = l.tensor(name+".layer_norm.bias", out)
		}
		m.convs = append(m.convs, cl)
		in = out
	}
	d := cfg.HiddenSize
	if cfg.featProjLayerNorm() {
		ln := l.layerNorm("feature_projection.layer_norm", in, cfg.LayerNormEps)
		m.projLN = &ln
	}
	m.proj = l.linear("feature_projection.projection", d, in)
	k, g := cfg.NumConvPosEmbeddings, cfg.NumConvPosGroups
	pw := l.posConvWeight("encoder.pos_conv_embed.conv", d, d/g, k)
	m.pos = l.conv("encoder.pos_conv_embed.conv", d, d, k, 1, k/2, g, pw, true)
	m.encLN = l.layerNorm("encoder.layer_norm", d, cfg.LayerNormEps)
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		p := fmt.Sprintf("encoder.layers.%d.", i)
		ly := layer{
			ln:      l.layerNorm(p+"layer_norm", d, cfg.LayerNormEps),
			finalLN: l.layerNorm(p+"final_layer_norm", d, cfg.LayerNormEps),
			fc1:     l.linear(p+"feed_forward.intermediate_dense", cfg.IntermediateSize, d),
			fc2:     l.linear(p+"feed_forward.output_dense", d, cfg.IntermediateSize),
		}
		ly.attn = nn.Attention{
			Dim: d, Heads: cfg.NumAttentionHeads, ScaleQuery: true,
			Q: l.linear(p+"attention.q_proj", d, d), K: l.linear(p+"attention.k_proj", d, d),
			V: l.linear(p+"attention.v_proj", d, d), Out: l.linear(p+"attention.out_proj", d, d),
		}
		ly.attn.Init()
		m.layers = append(m.layers, ly)
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	return m, nil
}
