package blip

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"rosetta/encoders/nn"
	"rosetta/encoders/safetensors"
)

// ErrNoModel is returned when a directory holds no usable BLIP checkpoint.
var ErrNoModel = errors.New("blip: no model")

// Options tune LoadITM and LoadCaptioner.
type Options struct {
	// Weights names the checkpoint file inside the directory; empty picks
	// model.safetensors, then model.safetensors.index.json, then
	// model.fp16.safetensors.
	Weights string
}

// openDir reads config.json and opens the checkpoint of a model directory.
// The caller must Close the checkpoint.
func openDir(dir string, opt *Options) (Config, *safetensors.Checkpoint, string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return Config{}, nil, "", fmt.Errorf("%w: %w", ErrNoModel, err)
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		return Config{}, nil, "", fmt.Errorf("%s: %w", filepath.Join(dir, "config.json"), err)
	}
	names := []string{"model.safetensors", "model.safetensors.index.json", "model.fp16.safetensors"}
	if opt != nil && opt.Weights != "" {
		names = []string{opt.Weights}
	}
	for _, n := range names {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		ck, err := safetensors.OpenCheckpoint(p)
		if err != nil {
			return Config{}, nil, "", err
		}
		return cfg, ck, p, nil
	}
	return Config{}, nil, "", fmt.Errorf("%w: %s holds none of %v", ErrNoModel, dir, names)
}

// loader reads tensors by name with shape checks, collecting every problem
// so that a checkpoint that does not fit is reported in one error.
type loader struct {
	ck   *safetensors.Checkpoint
	errs []error
}

func (l *loader) fail(err error) { l.errs = append(l.errs, err) }

// tensor returns name's values, checked against shape; on a problem it
// records it and returns zeros so that building can go on.
func (l *loader) tensor(name string, shape ...int) []float32 {
	n := 1
	for _, s := range shape {
		n *= s
	}
	v, _, err := l.ck.Float32(name, shape...)
	if err != nil {
		l.fail(err)
		return make([]float32, n)
	}
	return v
}

func (l *loader) linear(name string, out, in int) *nn.Linear {
	w := l.tensor(name+".weight", out, in)
	b := l.tensor(name+".bias", out)
	return l.newLinear(name, w, b, out, in)
}

func (l *loader) newLinear(name string, w, b []float32, out, in int) *nn.Linear {
	lin, err := nn.NewLinear(w, b, out, in)
	if err != nil {
		l.fail(fmt.Errorf("%s: %w", name, err))
		lin, _ = nn.NewLinear(make([]float32, out*in), nil, out, in)
	}
	return lin
}

func (l *loader) layerNorm(name string, dim int, eps float64) nn.LayerNorm {
	return nn.LayerNorm{Gamma: l.tensor(name+".weight", dim), Beta: l.tensor(name+".bias", dim), Eps: float32(eps)}
}

func (l *loader) activation(name string) nn.Activation {
	a, err := nn.ParseActivation(name)
	if err != nil {
		l.fail(err)
		return nn.GELU
	}
	return a
}

func (l *loader) err(path string) error {
	if len(l.errs) == 0 {
		return nil
	}
	errs := l.errs
	if len(errs) > 12 {
		errs = append(errs[:12:12], fmt.Errorf("… and %d more", len(l.errs)-12))
	}
	return fmt.Errorf("blip: %s does not fit its config: %w", path, errors.Join(errs...))
}
