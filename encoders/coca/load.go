package coca

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"rosetta/encoders/nn"
	"rosetta/encoders/safetensors"
)

// Options tune Load.
type Options struct {
	// Weights names the checkpoint file inside the directory; empty picks
	// open_clip_model.safetensors, then open_clip_pytorch_model.safetensors.
	Weights string
}

// Load reads an open_clip CoCa directory: open_clip_config.json and a
// safetensors checkpoint with open_clip's state_dict names. Every missing
// or misshapen tensor is reported in one error. opt may be nil.
func Load(dir string, opt *Options) (*Model, error) {
	var o Options
	if opt != nil {
		o = *opt
	}
	b, err := os.ReadFile(filepath.Join(dir, "open_clip_config.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNoModel, dir, err)
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		return nil, err
	}
	names := []string{"open_clip_model.safetensors", "open_clip_pytorch_model.safetensors"}
	if o.Weights != "" {
		names = []string{o.Weights}
	}
	var path string
	for _, n := range names {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		return nil, fmt.Errorf("%w: %s has none of %v", ErrNoModel, dir, names)
	}
	ck, err := safetensors.OpenCheckpoint(path)
	if err != nil {
		return nil, err
	}
	// Weights are converted to float32 and packed; the mapping is not kept.
	defer ck.Close()
	l := &loader{ck: ck}
	m := build(l, cfg)
	if err := l.err(); err != nil {
		return nil, fmt.Errorf("coca: %s: %w", path, err)
	}
	return m, nil
}

// NewRandom builds a model of cfg's shape with random weights, for
// benchmarks of full-size shapes when no checkpoint can be downloaded.
func NewRandom(cfg Config, seed uint64) (*Model, error) {
	l := &loader{ck: safetensors.Random(seed)}
	m := build(l, cfg)
	if err := l.err(); err != nil {
		return nil, fmt.Errorf("coca: random model: %w", err)
	}
	return m, nil
}

// loader reads tensors by name with shape checks, collecting every problem
// so that a checkpoint that does not fit the config is reported at once.
type loader struct {
	ck   *safetensors.Checkpoint
	errs []error
}

func (l *loader) tensor(name string, shape ...int) []float32 {
	v, _, err := l.ck.Float32(name, shape...)
	if err != nil {
		l.errs = append(l.errs, err)
		n := 1
		for _, s := range shape {
			n *= s
		}
		return make([]float32, n)
	}
	return v
}

func (l *loader) check(name string, lin *nn.Linear, err error, out, in int) *nn.Linear {
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %w", name, err))
		lin, _ = nn.NewLinear(make([]float32, out*in), nil, out, in)
	}
	return lin
}

// linear loads a PyTorch weight [out, in] and optional bias [out].
func (l *loader) linear(weight, bias string, out, in int) *nn.Linear {
	w := l.tensor(weight, out, in)
	var b []float32
	if bias != "" {
		b = l.tensor(bias, out)
	}
	lin, err := nn.NewLinear(w, b, out, in)
	return l.check(weight, lin, err, out, in)
}

// rawLinear packs an already loaded [out, in] weight.
func (l *loader) rawLinear(name string, w, b []float32, out, in int) *nn.Linear {
	lin, err := nn.NewLinear(w, b, out, in)
	return l.check(name, lin, err, out, in)
}

// projection loads an open_clip projection stored [in, out] (x @ P).
func (l *loader) projection(name string, in, out int) *nn.Linear {
	w := l.tensor(name, in, out)
	p, err := nn.NewLinearInOut(w, nil, in, out)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %w", name, err))
		p, _ = nn.NewLinearInOut(make([]float32, in*out), nil, in, out)
	}
	return p
}

func (l *loader) layerNorm(name string, dim int, eps float32) nn.LayerNorm {
	return nn.LayerNorm{Gamma: l.tensor(name+".weight", dim), Beta: l.tensor(name+".bias", dim), Eps: eps}
}

// blocks loads open_clip ResidualAttentionBlocks (fused in_proj, c_fc,
// c_proj) as nn.Blocks.
func (l *loader) blocks(prefix string, n, width, heads, mlp int, eps float32, act nn.Activation) []nn.Block {
	bs := make([]nn.Block, n)
	for i := range bs {
		p := fmt.Sprintf("%s.%d", prefix, i)
		b := &bs[i]
		b.LN1 = l.layerNorm(p+".ln_1", width, eps)
		b.LN2 = l.layerNorm(p+".ln_2", width, eps)
		b.Attn = nn.Attention{Dim: width, Heads: heads,
			QKV: l.linear(p+".attn.in_proj_weight", p+".attn.in_proj_bias", 3*width, width),
			Out: l.linear(p+".attn.out_proj.weight", p+".attn.out_proj.bias", width, width)}
		b.Attn.Init()
		b.FC1 = l.linear(p+".mlp.c_fc.weight", p+".mlp.c_fc.bias", mlp, width)
		b.FC2 = l.linear(p+".mlp.c_proj.weight", p+".mlp.c_proj.bias", width, mlp)
		b.Act = act
	}
	return bs
}

func (l *loader) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	if len(l.errs) > 8 {
		more := len(l.errs) - 8
		l.errs = append(l.errs[:8], fmt.Errorf("… and %d more", more))
	}
	return fmt.Errorf("checkpoint does not fit the config: %w", errors.Join(l.errs...))
}

func build(l *loader, c Config) *Model {
	act := nn.GELU
	if c.QuickGELU {
		act = nn.QuickGELU
	}
	return &Model{
		Cfg:     c,
		vision:  buildVision(l, c, act),
		text:    buildText(l, c, act),
		decoder: buildDecoder(l, c, act),
	}
}
