package nn

import (
	"errors"
	"fmt"

	"rosetta/encoders/safetensors"
)

// Loader reads a checkpoint's tensors by name with shape checks. It
// collects every error rather than stopping at the first, so that a
// checkpoint that does not fit its config is reported whole; a tensor it
// could not read comes back zeroed, of the size asked.
type Loader struct {
	CK     *safetensors.Checkpoint
	Prefix string // prepended to every name
	errs   []error
}

// Fail records an error.
func (l *Loader) Fail(err error) { l.errs = append(l.errs, err) }

// Failed reports whether any error was recorded.
func (l *Loader) Failed() bool { return len(l.errs) > 0 }

// Tensor reads Prefix+name as float32, checking its shape (a shape entry
// of 0 or less accepts any size there).
func (l *Loader) Tensor(name string, shape ...int) []float32 {
	v, _, err := l.CK.Float32(l.Prefix+name, shape...)
	if err != nil {
		l.Fail(err)
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

// Linear reads name.weight [out, in] and, when bias is set, name.bias [out].
func (l *Loader) Linear(name string, out, in int, bias bool) *Linear {
	w := l.Tensor(name+".weight", out, in)
	var b []float32
	if bias {
		b = l.Tensor(name+".bias", out)
	}
	lin, err := NewLinear(w, b, out, in)
	if err != nil {
		l.Fail(fmt.Errorf("%s: %w", name, err))
		lin, _ = NewLinear(make([]float32, out*in), nil, out, in)
	}
	return lin
}

// LayerNorm reads name.weight and name.bias [dim].
func (l *Loader) LayerNorm(name string, dim int, eps float32) LayerNorm {
	return LayerNorm{Gamma: l.Tensor(name+".weight", dim), Beta: l.Tensor(name+".bias", dim), Eps: eps}
}

// Err returns nil, or every recorded error (the first eight, and a count
// of the rest) under "MODEL: checkpoint does not fit the config".
func (l *Loader) Err(model string) error {
	if len(l.errs) == 0 {
		return nil
	}
	errs := l.errs
	if len(errs) > 8 {
		errs = append(errs[:8:8], fmt.Errorf("… and %d more", len(l.errs)-8))
	}
	return fmt.Errorf("%s: checkpoint does not fit the config: %w", model, errors.Join(errs...))
}
