package kernels

import (
	"fmt"
	"math"

	"github.com/viterin/vek/vek32"
)

// Dot returns the inner product of a and b.
func Dot(a, b []float32) (float32, error) {
	if len(a) != len(b) {
		return 0, fmt.Errorf("%w: %d and %d", ErrLengthMismatch, len(a), len(b))
	}
	return dotImpl(a, b), nil
}

// SquaredL2 returns the squared Euclidean distance between a and b.
func SquaredL2(a, b []float32) (float32, error) {
	if len(a) != len(b) {
		return 0, fmt.Errorf("%w: %d and %d", ErrLengthMismatch, len(a), len(b))
	}
	return squaredL2Impl(a, b), nil
}

// Cosine returns the cosine similarity of a and b (not a distance). Either
// vector being zero is an error.
func Cosine(a, b []float32) (float32, error) {
	if len(a) != len(b) {
		return 0, fmt.Errorf("%w: %d and %d", ErrLengthMismatch, len(a), len(b))
	}
	na := dotImpl(a, a)
	nb := dotImpl(b, b)
	if na == 0 || nb == 0 {
		return 0, ErrZeroVector
	}
	return dotImpl(a, b) / float32(math.Sqrt(float64(na))*math.Sqrt(float64(nb))), nil
}

// Norm returns the Euclidean norm of v.
func Norm(v []float32) float32 {
	return float32(math.Sqrt(float64(dotImpl(v, v))))
}

// Normalize scales v in place to unit Euclidean norm. A zero vector is an
// error and is left unchanged.
func Normalize(v []float32) error {
	n := Norm(v)
	if n == 0 {
		return ErrZeroVector
	}
	if len(v) >= 16 {
		vek32.MulNumber_Inplace(v, 1/n)
		return nil
	}
	inv := 1 / n
	for i := range v {
		v[i] *= inv
	}
	return nil
}

// ErrNonFinite is returned by CheckFinite for a vector holding NaN or ±Inf.
var ErrNonFinite = fmt.Errorf("kernels: vector has NaN or Inf components")

// CheckFinite reports ErrNonFinite, naming the first offending component,
// when v holds a NaN or an infinity.
func CheckFinite(v []float32) error {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w: component %d is %v", ErrNonFinite, i, x)
		}
	}
	return nil
}
