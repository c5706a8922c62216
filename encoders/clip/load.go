package clip

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"rosetta/encoders/nn"
	"rosetta/encoders/safetensors"
)

// loader reads tensors by name with shape checks, collecting every problem
// so a mismatched checkpoint is reported in one error.
type loader struct {
	ck   *safetensors.Checkpoint
	rnd  *rand.Rand // with ck == nil: random weights (benchmarks)
	errs []error
}

func (l *loader) tensor(name string, shape ...int) []float32 {
	if l.ck == nil {
		v := make([]float32, prod(shape))
		for i := range v {
			v[i] = float32(l.rnd.NormFloat64() * 0.02)
		}
		if strings.HasSuffix(name, "running_var") || strings.Contains(name, "norm") || strings.Contains(name, "ln_") || strings.Contains(name, ".bn") {
			for i := range v {
				v[i] += 1 // scales and variances near 1 keep activations in range
			}
		}
		return v
	}
	v, _, err := l.ck.Float32(name, shape...)
	if err != nil {
		l.errs = append(l.errs, err)
		return make([]float32, prod(shape))
	}
	return v
}

func prod(shape []int) int {
	n := 1
	for _, s := range shape {
		if s > 0 {
			n *= s
		}
	}
	return n
}

// linear loads name.weight [out, in] and, when bias, name.bias [out].
func (l *loader) linear(name string, out, in int, bias bool) *nn.Linear {
	w := l.tensor(name+".weight", out, in)
	var b []float32
	if bias {
		b = l.tensor(name+".bias", out)
	}
	lin, err := nn.NewLinear(w, b, out, in)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %w", name, err))
		lin, _ = nn.NewLinear(make([]float32, out*in), nil, out, in)
	}
	return lin
}

func (l *loader) layerNorm(name string, dim int, eps float32) nn.LayerNorm {
	return nn.LayerNorm{Gamma: l.tensor(name+".weight", dim), Beta: l.tensor(name+".bias", dim), Eps: eps}
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
