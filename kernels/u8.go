package kernels

// DotU8 returns Σ a[i]·b[i] over len(a) elements with b holding unsigned
// 8-bit codes (len(b) >= len(a)). It is the inner loop of scalar
// quantisation: with per-dimension steps folded into a, a dot product
// with the decoded vector is this plus a per-query constant.
func DotU8(a []float32, b []uint8) float32 {
	if len(b) < len(a) {
		panic("kernels: DotU8 code shorter than the query")
	}
	return dotU8Impl(a, b)
}

var dotU8Impl = dotU8Generic

// dotU8Generic is the portable reference.
func dotU8Generic(a []float32, b []uint8) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * float32(b[i])
		s1 += a[i+1] * float32(b[i+1])
		s2 += a[i+2] * float32(b[i+2])
		s3 += a[i+3] * float32(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += a[i] * float32(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// PrefetchU8 starts loading the cache lines of a code (at most the first
// four lines; the hardware prefetcher streams the rest).
func PrefetchU8(v []uint8) {
	if len(v) == 0 {
		return
	}
	prefetchU8(v)
}
