package kernels

import "errors"

var (
	// ErrLengthMismatch is returned when two vectors that must have the same
	// length do not.
	ErrLengthMismatch = errors.New("kernels: vector lengths differ")
	// ErrZeroVector is returned by Normalize and Cosine for a vector whose
	// norm is zero, which has no direction.
	ErrZeroVector = errors.New("kernels: zero vector")
	// ErrBadShape is returned when a block is not a whole number of rows of
	// the query's dimension, or an output slice is too short.
	ErrBadShape = errors.New("kernels: bad block shape")
)
