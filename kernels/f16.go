package kernels

import (
	"fmt"
	"math"
)

// Float16 support: the index can keep its vectors as IEEE 754 binary16 to
// halve the memory a graph search streams through. Queries stay float32;
// only the stored side is half precision (11-bit significand, relative
// error <= 2^-11 per component, range ±65504).

// MaxFloat16 is the largest finite binary16 value.
const MaxFloat16 = 65504

// ErrFloat16Range is returned when a component does not fit binary16.
var ErrFloat16Range = fmt.Errorf("kernels: component outside the float16 range ±%d", MaxFloat16)

// CheckFloat16Range reports ErrFloat16Range for the first component whose
// magnitude exceeds MaxFloat16.
func CheckFloat16Range(v []float32) error {
	for i, x := range v {
		if x > MaxFloat16 || x < -MaxFloat16 {
			return fmt.Errorf("%w: component %d is %v", ErrFloat16Range, i, x)
		}
	}
	return nil
}

// EncodeF16 converts src to binary16 with round-to-nearest-even into dst
// (len(dst) >= len(src)).
func EncodeF16(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = f32ToF16(x)
	}
}

// DecodeF16 converts binary16 src to float32 into dst (len(dst) >= len(src)).
func DecodeF16(dst []float32, src []uint16) { decodeF16Impl(dst, src) }

func decodeF16Generic(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = f16ToF32(h)
	}
}

func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15: // overflow
		return sign | 0x7c00
	case exp-127 >= -14: // normal
		e := uint32(exp - 127 + 15)
		m := man >> 13
		rest := man & 0x1fff
		h := e<<10 | m
		if rest > 0x1000 || (rest == 0x1000 && m&1 == 1) {
			h++ // may carry into the exponent, which is the right result
		}
		return sign | uint16(h)
	case exp-127 >= -25: // subnormal half
		m := man | 0x800000
		shift := uint32(-14-(exp-127)) + 13
		h := m >> shift
		rest := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || (rest == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	default: // underflow to zero
		return sign
	}
}

func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	default: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for man&0x400 == 0 {
			man <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
	}
}

// dotF16Generic is the portable mixed-precision dot product.
func dotF16Generic(a []float32, b []uint16) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * f16ToF32(b[i])
		s1 += a[i+1] * f16ToF32(b[i+1])
		s2 += a[i+2] * f16ToF32(b[i+2])
		s3 += a[i+3] * f16ToF32(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += a[i] * f16ToF32(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func squaredL2F16Generic(a []float32, b []uint16) float32 {
	b = b[:len(a)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(a); i += 2 {
		d0 := a[i] - f16ToF32(b[i])
		d1 := a[i+1] - f16ToF32(b[i+1])
		s0 += d0 * d0
		s1 += d1 * d1
	}
	for ; i < len(a); i++ {
		d := a[i] - f16ToF32(b[i])
		s0 += d * d
	}
	return s0 + s1
}

// DistanceF16Func is DistanceFunc with the stored side in binary16.
type DistanceF16Func func(a []float32, b []uint16) float32

// DistanceF16 returns the unchecked mixed-precision distance for m
// (len(b) >= len(a)).
func (m Metric) DistanceF16() DistanceF16Func {
	switch m {
	case MetricCosine:
		return func(a []float32, b []uint16) float32 { return 1 - dotF16Impl(a, b) }
	case MetricDot:
		return func(a []float32, b []uint16) float32 { return -dotF16Impl(a, b) }
	default:
		return func(a []float32, b []uint16) float32 { return squaredL2F16Impl(a, b) }
	}
}

// PrefetchF16 is Prefetch for a binary16 vector.
func PrefetchF16(v []uint16) {
	if len(v) == 0 {
		return
	}
	prefetchF16(v)
}
