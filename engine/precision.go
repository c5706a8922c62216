package engine

import (
	"context"

	"rosetta/encoders"
)

// A space's model runs at the space's precision, or the server's default
// (Options.DefaultPrecision). float32 and int8 copies of one model are
// separate entries of separate caches (models, models8), so two spaces
// may use the same model at both precisions.

// precision is the precision space s's model runs at.
func (e *Engine) precision(s Space) string {
	if s.Precision != "" {
		return s.Precision
	}
	if e.opts.DefaultPrecision != "" {
		return e.opts.DefaultPrecision
	}
	return encoders.PrecisionFloat32
}

// spaceModel returns space s's model at its precision, loading it once.
func (e *Engine) spaceModel(ctx context.Context, s Space) (Encoder, error) {
	if e.precision(s) == encoders.PrecisionInt8 {
		return e.models8.get(ctx, s.Model)
	}
	return e.models.get(ctx, s.Model)
}

// batchKey names the loaded model space s encodes with, for the request
// batchers (and their metrics): the model's name, marked when it is the
// int8 copy, so a float32 and an int8 space of one model never share a
// batch.
func (e *Engine) batchKey(s Space) string {
	if e.precision(s) == encoders.PrecisionInt8 {
		return s.Model + " (int8)"
	}
	return s.Model
}

// int8Loader loads a fresh copy of a model with load and quantises it.
func int8Loader(load func(name string) (Encoder, error)) func(name string) (Encoder, error) {
	if load == nil {
		return nil
	}
	return func(name string) (Encoder, error) {
		enc, err := load(name)
		if err != nil {
			return nil, err
		}
		if err := encoders.SetPrecision(enc, encoders.PrecisionInt8); err != nil {
			return nil, err
		}
		return enc, nil
	}
}
