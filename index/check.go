package index

import (
	"fmt"
	"math"

	"rosetta/kernels"
)

// maxNormSquared bounds a vector's squared Euclidean norm (computed in
// float64) so that no distance between two accepted vectors overflows
// float32: |a·b| <= |a||b| and |a-b|² <= (|a|+|b|)² <= 4·maxNormSquared =
// MaxFloat32/2, which leaves a factor of two for the rounding of a float32
// kernel summing up to 65536 terms (relative error < 65538·2^-24 < 1%).
// Real embeddings are many orders of magnitude smaller.
const maxNormSquared = math.MaxFloat32 / 8

// minNormSquared is the smallest squared norm a cosine vector may have:
// the smallest normal float32. Below it the float32 squared norm the
// kernels compute is subnormal or zero, so normalising is inexact or fails.
const minNormSquared = 0x1p-126

// vectorRules is what an index requires of a vector: its dimension, its
// metric (cosine vectors are normalised) and whether it is stored as
// float16.
type vectorRules struct {
	dim    int
	metric kernels.Metric
	half   bool
}

// prepare is the one home of "can the index take this vector": it
// validates v and returns the form that is stored or searched (a copy in
// buf, reused when it has room, normalised for cosine). Check, Add and
// Search all call it, so they cannot disagree. stored is true for a vector
// that will be stored (Add, Check), false for a query: a query is never
// converted to float16, so the float16 range does not apply to it.
//
// The rules, in the order they are checked:
//   - len(v) == dim, else ErrDimension;
//   - every component finite, else ErrNonFinite;
//   - squared norm <= maxNormSquared, else ErrMagnitude (every metric);
//   - cosine: squared norm >= 2^-126 (the float32 squared norm neither
//     underflows to zero nor to a subnormal), else ErrZeroVector;
//   - float16 storage: every prepared component within ±65504, else
//     ErrNonFinite.
func (r vectorRules) prepare(v []float32, buf []float32, stored bool) ([]float32, error) {
	if len(v) != r.dim {
		return nil, fmt.Errorf("%w: got %d, index has %d", ErrDimension, len(v), r.dim)
	}
	if err := kernels.CheckFinite(v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNonFinite, err)
	}
	var n2 float64
	for _, x := range v {
		n2 += float64(x) * float64(x)
	}
	if n2 > maxNormSquared {
		return nil, fmt.Errorf("%w: squared norm %.3g exceeds %.3g", ErrMagnitude, n2, float64(maxNormSquared))
	}
	if cap(buf) < r.dim {
		buf = make([]float32, r.dim)
	}
	buf = buf[:r.dim]
	if r.metric == kernels.MetricCosine {
		if n2 < minNormSquared {
			return nil, fmt.Errorf("%w: squared norm %.3g underflows float32", ErrZeroVector, n2)
		}
		// Normalise in float64: exact to float32 rounding and
		// deterministic on every CPU, so a vector accepted once is
		// accepted again when the index is rebuilt elsewhere.
		inv := 1 / math.Sqrt(n2)
		for i, x := range v {
			buf[i] = float32(float64(x) * inv)
		}
	} else {
		copy(buf, v)
	}
	if stored && r.half {
		if err := kernels.CheckFloat16Range(buf); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNonFinite, err)
		}
	}
	return buf, nil
}

// check runs prepare's rules for a stored vector without keeping anything.
func (r vectorRules) check(v []float32) error {
	s := getScratch(0)
	defer putScratch(s)
	b, err := r.prepare(v, s.vec, true)
	if err == nil {
		s.vec = b
	}
	return err
}

func (h *HNSW) rules() vectorRules {
	return vectorRules{dim: h.cfg.Dim, metric: h.cfg.Metric, half: h.half}
}

func (f *Flat) rules() vectorRules { return vectorRules{dim: f.dim, metric: f.metric} }

// Check implements Index: it returns exactly the error Add would return
// for vec (nil if Add would accept it) without inserting anything. Add
// calls the same validation, so the two never disagree.
func (h *HNSW) Check(vec []float32) error { return h.rules().check(vec) }

// Check implements Index; see (*HNSW).Check.
func (f *Flat) Check(vec []float32) error { return f.rules().check(vec) }
