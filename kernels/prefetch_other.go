//go:build !amd64

package kernels

// Prefetch is a no-op on architectures without an assembly hint.
func Prefetch(v []float32) {}
