package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func dotAVX512(a, b *float32, n int) float32

//go:noescape
func squaredL2AVX512(a, b *float32, n int) float32

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func squaredL2AVX2(a, b *float32, n int) float32

//go:noescape
func dotF16AVX512(a *float32, b *uint16, n int) float32

//go:noescape
func squaredL2F16AVX512(a *float32, b *uint16, n int) float32

//go:noescape
func prefetchF16Lines(p *uint16, lines int)

//go:noescape
func dotU8AVX2(a *float32, b *uint8, n int) float32

//go:noescape
func dotF16AVX2(a *float32, b *uint16, n int) float32

//go:noescape
func squaredL2F16AVX2(a *float32, b *uint16, n int) float32

//go:noescape
func decodeF16AVX2(dst *float32, src *uint16, n int)

// prefetchU8 prefetches up to four cache lines of a code.
func prefetchU8(v []uint8) { prefetchLines((*float32)(unsafe.Pointer(&v[0])), min((len(v)+63)/64, 4)) }

// dotU8AVX2Go runs dotU8AVX2 over the multiple-of-8 head and Go over the
// rest.
func dotU8AVX2Go(a []float32, b []uint8) float32 {
	b = b[:len(a)]
	n := len(a) &^ 7
	var s float32
	if n > 0 {
		s = dotU8AVX2(&a[0], &b[0], n)
	}
	for i := n; i < len(a); i++ {
		s += a[i] * float32(b[i])
	}
	return s
}

func dotF16AVX2Go(a []float32, b []uint16) float32 {
	b = b[:len(a)]
	n := len(a) &^ 7
	var s float32
	if n > 0 {
		s = dotF16AVX2(&a[0], &b[0], n)
	}
	for i := n; i < len(a); i++ {
		s += a[i] * f16ToF32(b[i])
	}
	return s
}

func squaredL2F16AVX2Go(a []float32, b []uint16) float32 {
	b = b[:len(a)]
	n := len(a) &^ 7
	var s float32
	if n > 0 {
		s = squaredL2F16AVX2(&a[0], &b[0], n)
	}
	for i := n; i < len(a); i++ {
		d := a[i] - f16ToF32(b[i])
		s += d * d
	}
	return s
}

func decodeF16AVX2Go(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	n := len(src) &^ 7
	if n > 0 {
		decodeF16AVX2(&dst[0], &src[0], n)
	}
	decodeF16Generic(dst[n:], src[n:])
}

//go:noescape
func expAVX512(x *float32, n int)

//go:noescape
func quickGELUAVX512(x *float32, n int)

//go:noescape
func expAVX2(x *float32, n int)

//go:noescape
func axpyAVX2(alpha float32, x, y *float32, n int)

//go:noescape
func gemv16AVX2(kb int, a, panel, c *float32, stride int)

//go:noescape
func gemv32AVX2(kb int, a, p0, p1, c *float32, stride int)

func axpyAVX2Go(alpha float32, x, y []float32) {
	y = y[:len(x)]
	n := len(x) &^ 7
	if n > 0 {
		axpyAVX2(alpha, &x[0], &y[0], n)
	}
	for i := n; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}

func gemv16AVX2Go(kb int, a, panel, c []float32, stride int) {
	_, _, _ = a[kb-1], panel[stride*(kb-1)+15], c[15]
	gemv16AVX2(kb, &a[0], &panel[0], &c[0], stride)
}

func gemv32AVX2Go(kb int, a, p0, p1, c []float32, stride int) {
	_, _, _, _ = a[kb-1], p0[stride*(kb-1)+15], p1[stride*(kb-1)+15], c[31]
	gemv32AVX2(kb, &a[0], &p0[0], &p1[0], &c[0], stride)
}

// expAVX2Go runs expAVX2 over the multiple-of-8 head of x and Exp32 over
// the rest.
func expAVX2Go(x []float32) {
	n := len(x) &^ 7
	if n > 0 {
		expAVX2(&x[0], n)
	}
	for i := n; i < len(x); i++ {
		x[i] = Exp32(x[i])
	}
}

// quickGELUAVX2Go is x·σ(1.702x) = x/(1+e^(-1.702x)) with the exponentials
// from expAVX2, a block at a time: the scalar Exp32 per element took a
// tenth of a ViT forward pass on AVX2-only CPUs.
func quickGELUAVX2Go(x []float32) {
	var e [256]float32
	for len(x) > 0 {
		n := min(len(x), len(e))
		blk := x[:n]
		for i, v := range blk {
			e[i] = -1.702 * v
		}
		expAVX2Go(e[:n])
		for i, v := range blk {
			blk[i] = v / (1 + e[i])
		}
		x = x[n:]
	}
}

func expAVX512Go(x []float32) {
	if len(x) > 0 {
		expAVX512(&x[0], len(x))
	}
}

func quickGELUAVX512Go(x []float32) {
	if len(x) > 0 {
		quickGELUAVX512(&x[0], len(x))
	}
}

//go:noescape
func decodeF16AVX512(dst *float32, src *uint16, n int)

func decodeF16AVX512Go(dst []float32, src []uint16) {
	if len(src) == 0 {
		return
	}
	dst = dst[:len(src)]
	decodeF16AVX512(&dst[0], &src[0], len(src))
}

var (
	// The float16 kernels also use AVX512BW (16-bit masked loads).
	hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	// hasF16C gates the AVX2 binary16 kernels (every AVX2 CPU Rosetta
	// has met has it; it is a separate CPUID bit).
	hasF16C = cpu.X86.HasF16C
)

func prefetchF16(v []uint16) { prefetchF16Lines(&v[0], (len(v)*2+63)/64) }

func dotF16AVX512Go(a []float32, b []uint16) float32 {
	if len(a) == 0 {
		return 0
	}
	b = b[:len(a)]
	return dotF16AVX512(&a[0], &b[0], len(a))
}

func squaredL2F16AVX512Go(a []float32, b []uint16) float32 {
	if len(a) == 0 {
		return 0
	}
	b = b[:len(a)]
	return squaredL2F16AVX512(&a[0], &b[0], len(a))
}

//go:noescape
func sgemmKernelAVX512(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX2(kc int, a, b, c *float32, ldc int)

func init() { selectImpl(hasAVX512, hasAVX2) }

// selectImpl installs the fastest kernels the CPU supports. Tests call it to
// force each path in turn.
func selectImpl(avx512, avx2 bool) {
	axpyImpl, gemv16Impl, gemv32Impl = axpyGeneric, nil, nil
	dotU8Impl = dotU8Generic
	if avx2 || avx512 { // every AVX-512 CPU has AVX2
		axpyImpl, gemv16Impl, gemv32Impl = axpyAVX2Go, gemv16AVX2Go, gemv32AVX2Go
		dotU8Impl = dotU8AVX2Go
	}
	switch {
	case avx512:
		impl, dotImpl, squaredL2Impl = "avx512", dotAVX512Go, squaredL2AVX512Go
		dotF16Impl, squaredL2F16Impl = dotF16AVX512Go, squaredL2F16AVX512Go
		decodeF16Impl = decodeF16AVX512Go
		expImpl, quickGELUImpl = expAVX512Go, quickGELUAVX512Go
		gemmKernel = microKernel{"avx512-12x32", 12, 32, sgemmKernelAVX512, avx512Rows}
		return
	case avx2:
		impl, dotImpl, squaredL2Impl = "avx2", dotAVX2Go, squaredL2AVX2Go
		gemmKernel = microKernel{"avx2-6x16", 6, 16, sgemmKernelAVX2, avx2Rows}
		dotF16Impl, squaredL2F16Impl = dotF16Generic, squaredL2F16Generic
		decodeF16Impl = decodeF16Generic
		if hasF16C {
			dotF16Impl, squaredL2F16Impl = dotF16AVX2Go, squaredL2F16AVX2Go
			decodeF16Impl = decodeF16AVX2Go
		}
		expImpl, quickGELUImpl = expAVX2Go, quickGELUAVX2Go
		return
	default:
		impl, dotImpl, squaredL2Impl = "generic", dotGeneric, squaredL2Generic
		gemmKernel = microKernel{"generic", 4, 8, sgemmKernelGeneric, nil}
	}
	dotF16Impl, squaredL2F16Impl = dotF16Generic, squaredL2F16Generic
	decodeF16Impl = decodeF16Generic
	expImpl, quickGELUImpl = expGeneric, quickGELUGeneric
}

func dotAVX512Go(a, b []float32) float32 {
	if len(a) == 0 {
		return 0
	}
	b = b[:len(a)]
	return dotAVX512(&a[0], &b[0], len(a))
}

func squaredL2AVX512Go(a, b []float32) float32 {
	if len(a) == 0 {
		return 0
	}
	b = b[:len(a)]
	return squaredL2AVX512(&a[0], &b[0], len(a))
}

func dotAVX2Go(a, b []float32) float32 {
	b = b[:len(a)]
	n := len(a) &^ 7
	var s float32
	if n > 0 {
		s = dotAVX2(&a[0], &b[0], n)
	}
	for i := n; i < len(a); i++ {
		s += a[i] * b[i]
	}
	return s
}

func squaredL2AVX2Go(a, b []float32) float32 {
	b = b[:len(a)]
	n := len(a) &^ 7
	var s float32
	if n > 0 {
		s = squaredL2AVX2(&a[0], &b[0], n)
	}
	for i := n; i < len(a); i++ {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}
