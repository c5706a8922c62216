package main

import (
	"errors"

	"rosetta/encoders/clip"
)

// quantizeBenchModel turns every nn.Linear of m into per-output-channel
// int8 weights, for `rosetta bench encoders --precision int8`. It is the
// one place the bench reaches the int8 path of the CLIP model, which this
// build does not have yet.
func quantizeBenchModel(m *clip.Model) error {
	_ = m
	return errors.New("--precision int8: int8 not available in this build (clip.Model has no QuantizeInt8 yet); use --precision float32")
}
