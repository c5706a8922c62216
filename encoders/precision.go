package encoders

import (
	"errors"
	"fmt"
	"log/slog"

	"rosetta/encoders/clip"
	"rosetta/kernels"
)

// The precisions a model's linear layers can compute in. float32 is the
// default and is exact to the reference implementations; int8 quantises
// the weights per output channel and the activations per row, as ONNX
// Runtime's dynamic quantisation does (kernels.GemmInt8), for a quarter
// of the weight memory and, with AVX-512 VNNI, faster encodes, at an
// accuracy cost (README: "int8 weights").
const (
	PrecisionFloat32 = "float32"
	PrecisionInt8    = "int8"
)

// ErrPrecision is returned for an unknown precision or a model that has
// no int8 form.
var ErrPrecision = errors.New("encoders: bad precision")

// CheckPrecision accepts "" (the default), "float32" and "int8".
func CheckPrecision(p string) error {
	switch p {
	case "", PrecisionFloat32, PrecisionInt8:
		return nil
	}
	return fmt.Errorf("%w: %q (want %s or %s)", ErrPrecision, p, PrecisionFloat32, PrecisionInt8)
}

// Quantizer is a model that can drop to int8 weights (clip.Encoder,
// BLIP, CoCa, HuBERT, whisper.Model): QuantizeInt8 must run once, after
// loading and before the model is shared.
type Quantizer interface {
	QuantizeInt8() error
}

// SetPrecision puts a freshly loaded model at precision p: nothing for ""
// and float32, QuantizeInt8 for int8. Without AVX-512 VNNI the int8
// product runs on the Go reference kernel, slower than float32; that is
// logged, not refused.
func SetPrecision(m any, p string) error {
	if err := CheckPrecision(p); err != nil {
		return err
	}
	if p != PrecisionInt8 {
		return nil
	}
	q, ok := m.(Quantizer)
	if !ok {
		return fmt.Errorf("%w: a %T has no int8 form", ErrPrecision, m)
	}
	if !kernels.HasInt8Kernel() {
		slog.Warn("int8 weights without AVX-512 VNNI run on the portable kernel, slower than float32", "kernel", kernels.Int8Impl())
	}
	return q.QuantizeInt8()
}

// OpenAt is Open at a precision (SetPrecision).
func OpenAt(dir, precision string) (Embedder, error) {
	if err := CheckPrecision(precision); err != nil {
		return nil, err
	}
	m, err := Open(dir)
	if err != nil {
		return nil, err
	}
	if err := SetPrecision(m, precision); err != nil {
		return nil, fmt.Errorf("encoders: %s: %w", dir, err)
	}
	return m, nil
}

// Every embedder family can drop to int8.
var (
	_ Quantizer = (*clip.Encoder)(nil)
	_ Quantizer = (*BLIP)(nil)
	_ Quantizer = (*CoCa)(nil)
	_ Quantizer = (*HuBERT)(nil)
)

// QuantizeInt8 quantises the BLIP model (blip.ITM.QuantizeInt8).
func (b *BLIP) QuantizeInt8() error { return b.M.QuantizeInt8() }

// QuantizeInt8 quantises the CoCa model (coca.Model.QuantizeInt8).
func (c *CoCa) QuantizeInt8() error { return c.M.QuantizeInt8() }

// QuantizeInt8 quantises the HuBERT model (hubert.Model.QuantizeInt8).
func (h *HuBERT) QuantizeInt8() error { return h.M.QuantizeInt8() }
