package kernels

import "math/bits"

// PopDot4 returns popcount(code) and Σ_j 2^j·popcount(code & plane_j) over
// the words of a 1-bit code, with a 4-bit query stored as bit-planes
// interleaved per word (planes[4w+j] is bit j of the query's 64 values in
// word w). With the query's values q_i = lo + Δ·u_i, Σ_{i: bit i set} q_i
// is lo·pop + Δ·weighted: the inner loop of RaBitQ's estimator.
// len(planes) must be at least 4·len(code).
func PopDot4(code, planes []uint64) (pop, weighted int) {
	if len(planes) < 4*len(code) {
		panic("kernels: PopDot4 planes shorter than 4 words per code word")
	}
	return popDot4Impl(code, planes)
}

var popDot4Impl = popDot4Generic

// popDot4Generic is the portable reference; math/bits.OnesCount64 is the
// POPCNT instruction on amd64.
func popDot4Generic(code, planes []uint64) (pop, weighted int) {
	planes = planes[:4*len(code)]
	var p, s0, s1, s2, s3 int
	for w, x := range code {
		pl := planes[4*w : 4*w+4 : 4*w+4]
		p += bits.OnesCount64(x)
		s0 += bits.OnesCount64(x & pl[0])
		s1 += bits.OnesCount64(x & pl[1])
		s2 += bits.OnesCount64(x & pl[2])
		s3 += bits.OnesCount64(x & pl[3])
	}
	return p, s0 + 2*s1 + 4*s2 + 8*s3
}

// Hamming returns popcount(a ⊕ b) over len(a) words (len(b) >= len(a)).
func Hamming(a, b []uint64) int {
	b = b[:len(a)]
	n := 0
	for i, x := range a {
		n += bits.OnesCount64(x ^ b[i])
	}
	return n
}
