//go:build !amd64

package kernels

// selectImpl exists so that tests can run the same code on every
// architecture; only the generic kernels exist here.
func selectImpl(avx512, avx2 bool) {}

var (
	hasAVX512 = false
	hasAVX2   = false
)

func prefetchF16(v []uint16) {}

func prefetchU8(v []uint8) {}
