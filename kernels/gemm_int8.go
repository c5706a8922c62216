package kernels

import (
	"fmt"
	"math"
	"sync"
	"unsafe"
)

// Int8 GEMM, as ONNX Runtime's dynamic quantisation computes a MatMul:
// weights are quantised once, symmetrically per output column, to int8
// (w ≈ s_j·q_w); activations are quantised on every call, per row, to
// uint8 with a zero point (x ≈ s_i·(q_x − z_i), DynamicQuantizeLinear's
// rule on each row); the products are summed exactly in int32 and
//
//	C[i][j] = s_i · s_j · (Σ_k q_x[i][k]·q_w[k][j] − z_i·Σ_k q_w[k][j]) + bias[j]
//
// where the column sums Σ_k q_w[k][j] are computed when B is packed. The
// micro-kernel multiplies an i8MR×4·kg panel of quantised A by a
// 4·kg×i8NR panel of B: with AVX-512 VNNI one VPDPBUSD adds four u8×s8
// products into each of 16 int32 lanes, so k is packed in groups of four
// bytes. The sum over all of k stays in registers (no KC blocking: an
// int32 accumulator cannot be rounded between blocks, and a 12×32 tile of
// them is 24 zmm), and the epilogue above is applied before the tile is
// stored. Every implementation reads the same packing and computes the
// same int32 sums and the same float32 epilogue, so their outputs are
// bit-identical (TestGemmInt8Differential).
const (
	i8MR = 12 // rows of A per micro-tile
	i8NR = 32 // columns of B per micro-tile (two zmm of int32)
	// Int8MaxK bounds k so that no int32 sum can overflow:
	// 66000·255·127 < 2³¹.
	Int8MaxK = 66000
)

// int8Kernel computes one i8MR×i8NR tile of C from kg groups of four k:
// a is an A micro-panel (per group, i8MR rows × 4 bytes), b a B
// micro-panel (per group, i8NR columns × 4 bytes); rs and zp are the tile
// rows' scales and zero points, cs, ws and bias the tile columns' weight
// sums, scales and biases. C's rows are ldc floats apart.
type int8Kernel struct {
	name string
	fn   func(kg int, a *uint8, b *int8, c *float32, ldc int, rs *float32, zp *int32, cs *int32, ws *float32, bias *float32)
	// quant and minMax, when set, process a row's multiple-of-16 head.
	quant  func(x *float32, n int, inv float32, zp int32, dst *uint8, stride int)
	minMax func(x *float32, n int) (lo, hi, sum float32)
}

var int8Impl = int8Kernel{name: "generic", fn: gemmU8S8Generic}

// Int8Impl names the int8 GEMM micro-kernel in use: "avx512vnni-12x32",
// or "generic" (the portable Go reference, several times slower than the
// float32 SGEMM: int8 weights pay off only with VNNI).
func Int8Impl() string { return int8Impl.name }

// HasInt8Kernel reports whether the int8 GEMM runs on a SIMD micro-kernel
// here (AVX-512 VNNI), not on the Go reference.
func HasInt8Kernel() bool { return int8Impl.name != "generic" }

// PackedInt8 is op(B) (k×n) quantised to int8, symmetric per column
// (scale max|column|/127, values in [-127, 127]), and packed for GemmInt8.
// For a linear layer's weight a column of op(B) is an output channel. It
// is immutable and safe for concurrent use, and takes about a quarter of
// a PackedB's memory.
type PackedInt8 struct {
	k, n   int
	kg     int       // groups of four k: k/4 rounded up
	np     int       // n rounded up to i8NR
	data   []int8    // panels of i8NR columns; panel q: kg groups × i8NR columns × 4 k (zero past k and n)
	scale  []float32 // [np] dequantisation step of each column, 0 past n
	colSum []int32   // [np] Σ_k q[k][j]
}

// K is op(B)'s row count.
func (p *PackedInt8) K() int { return p.k }

// N is op(B)'s column count.
func (p *PackedInt8) N() int { return p.n }

// Bytes is the memory the packed matrix holds.
func (p *PackedInt8) Bytes() int { return len(p.data) + 8*len(p.scale) }

// Scale returns column j's dequantisation step (w ≈ Scale(j)·q).
func (p *PackedInt8) Scale(j int) float32 { return p.scale[j] }

// PackInt8 quantises op(B) (k×n; with transB, b is stored n×k, the
// PyTorch Linear weight layout) per column and packs it for GemmInt8.
func PackInt8(transB bool, k, n int, b []float32, ldb int) (*PackedInt8, error) {
	if err := checkPackInput("PackInt8", transB, k, n, b, ldb); err != nil {
		return nil, err
	}
	return packInt8(k, n, func(j int, dst []float32) {
		if transB {
			copy(dst, b[j*ldb:j*ldb+k])
			return
		}
		for p := range dst {
			dst[p] = b[p*ldb+j]
		}
	})
}

// PackInt8FromPacked quantises a float32 PackedB, for a layer that kept
// only its packed weight.
func PackInt8FromPacked(b *PackedB) (*PackedInt8, error) {
	if b == nil {
		return nil, fmt.Errorf("%w: nil PackedB", ErrBadShape)
	}
	return packInt8(b.k, b.n, b.column)
}

// column copies op(B)'s column j (k values) into dst.
func (p *PackedB) column(j int, dst []float32) {
	q, jj := j/p.nr, j%p.nr
	for pc := 0; pc < p.k; pc += gemmKC {
		kb := min(gemmKC, p.k-pc)
		panel := p.data[pc*p.np+q*p.nr*kb:]
		for i := 0; i < kb; i++ {
			dst[pc+i] = panel[i*p.nr+jj]
		}
	}
}

func packInt8(k, n int, column func(j int, dst []float32)) (*PackedInt8, error) {
	if k > Int8MaxK {
		return nil, fmt.Errorf("%w: int8 GEMM with k = %d (at most %d)", ErrBadShape, k, Int8MaxK)
	}
	kg := (k + 3) / 4
	p := &PackedInt8{k: k, n: n, kg: kg, np: roundUp(n, i8NR)}
	p.data = make([]int8, kg*4*p.np)
	p.scale = make([]float32, p.np)
	p.colSum = make([]int32, p.np)
	col := make([]float32, k)
	for j := 0; j < n; j++ {
		column(j, col)
		var amax float32
		for _, v := range col {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%w: int8 weight column %d holds %v", ErrBadShape, j, v)
			}
			amax = max(amax, abs32(v))
		}
		if amax == 0 {
			continue // all zero: scale 0, q 0
		}
		s := amax / 127
		p.scale[j] = s
		panel := p.data[(j/i8NR)*kg*4*i8NR:]
		jj := j % i8NR
		var sum int32
		for kk, v := range col {
			q := int32(math.RoundToEven(float64(v / s)))
			q = min(max(q, -127), 127)
			panel[(kk/4)*4*i8NR+jj*4+kk%4] = int8(q)
			sum += q
		}
		p.colSum[j] = sum
	}
	return p, nil
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// rowQuant gives a row's uint8 quantisation from its range, as ONNX's
// DynamicQuantizeLinear does for a tensor: the range is widened to hold 0,
// scale = (hi − lo)/255, zero point = round(−lo/scale), so that 0 is exact.
// inv is what values are multiplied by (q = round(x·inv) + zp, clamped to
// [0, 255]). A row of zeros (or of values too small to invert the step)
// quantises to zeros with scale 0; a row holding NaN or ±Inf gets a NaN
// scale, so that its outputs are NaN as the float32 product's would be.
func rowQuant(lo, hi, sum float32) (scale, inv float32, zp int32, skip bool) {
	if sum != sum || math.IsInf(float64(lo), 0) || math.IsInf(float64(hi), 0) {
		return float32(math.NaN()), 0, 0, true
	}
	lo, hi = min(lo, 0), max(hi, 0)
	scale = (hi - lo) / 255
	if scale == 0 {
		return 0, 0, 0, true
	}
	inv = 1 / scale
	if math.IsInf(float64(inv), 0) {
		return 0, 0, 0, true
	}
	zp = int32(math.RoundToEven(float64(-lo / scale)))
	return scale, inv, min(max(zp, 0), 255), false
}

// quantU8 is the reference rounding of one value: round half to even (as
// VCVTPS2DQ does under the default MXCSR), NaN to the integer indefinite
// 0x80000000 as the instruction gives it, then the zero point and the
// clamp to [0, 255].
func quantU8(x, inv float32, zp int32) uint8 {
	p := float64(x * inv)
	var r int32
	if p != p || p >= 1<<31 || p < -(1<<31) {
		r = math.MinInt32
	} else {
		r = int32(math.RoundToEven(p))
	}
	return uint8(min(max(r+zp, 0), 255))
}

func minMaxGeneric(x []float32) (lo, hi, sum float32) {
	lo, hi = x[0], x[0]
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
		sum += v
	}
	return lo, hi, sum
}

type int8Bufs struct {
	a  []uint8
	rs []float32
	zp []int32
}

var int8Pool = sync.Pool{New: func() any { return new(int8Bufs) }}

// quantizeA quantises A's m rows (k values each, lda apart) into the
// micro-kernel's A layout in bufs: row panel r (i8MR rows) holds, for each
// group of four k, the panel's rows' four bytes in turn.
func quantizeA(kern int8Kernel, m, k int, a []float32, lda int, bufs *int8Bufs) {
	kg := (k + 3) / 4
	mp := roundUp(m, i8MR)
	if need := mp * kg * 4; cap(bufs.a) < need {
		bufs.a = make([]uint8, need)
	}
	if cap(bufs.rs) < mp {
		bufs.rs, bufs.zp = make([]float32, mp), make([]int32, mp)
	}
	q := bufs.a[:mp*kg*4]
	rs, zps := bufs.rs[:mp], bufs.zp[:mp]
	head := 0
	if kern.quant != nil {
		head = k &^ 15
	}
	const stride = 4 * i8MR
	for i := 0; i < mp; i++ {
		dst := q[(i/i8MR)*i8MR*kg*4+(i%i8MR)*4:]
		if i >= m {
			rs[i], zps[i] = 0, 0
			for g := 0; g < kg; g++ {
				clear(dst[g*stride : g*stride+4])
			}
			continue
		}
		row := a[i*lda : i*lda+k]
		var lo, hi, sum float32
		if head > 0 {
			lo, hi, sum = kern.minMax(&row[0], head)
			if head < k {
				l2, h2, s2 := minMaxGeneric(row[head:])
				lo, hi, sum = min(lo, l2), max(hi, h2), sum+s2
			}
		} else {
			lo, hi, sum = minMaxGeneric(row)
		}
		scale, inv, zp, skip := rowQuant(lo, hi, sum)
		rs[i], zps[i] = scale, zp
		if skip {
			for g := 0; g < kg; g++ {
				clear(dst[g*stride : g*stride+4])
			}
			continue
		}
		if head > 0 {
			kern.quant(&row[0], head, inv, zp, &dst[0], stride)
		}
		for p := head; p < kg*4; p++ {
			var v uint8
			if p < k {
				v = quantU8(row[p], inv, zp)
			}
			dst[(p/4)*stride+p%4] = v
		}
	}
}

// zeroBias stands in for a missing bias.
var zeroBias [i8NR]float32

// GemmInt8 computes C = dequant(quant(A)·B) + bias: A is m×k (row stride
// lda), quantised per row to uint8 on the fly; B is packed by PackInt8;
// bias is nil or holds n values; C (m×n, row stride ldc) is overwritten.
// It splits the columns over up to GemmThreads() goroutines when the
// product is large enough. Safe for concurrent use.
func GemmInt8(m int, a []float32, lda int, b *PackedInt8, bias []float32, c []float32, ldc int) error {
	return gemmInt8(GemmThreads(), m, a, lda, b, Epilogue{Bias: bias}, c, ldc)
}

// GemmInt8Epilogue is GemmInt8 with epi's bias, activation and
// accumulation (C += …) fused into its tiles, as GemmPackedEpilogue does
// for float32.
func GemmInt8Epilogue(m int, a []float32, lda int, b *PackedInt8, epi Epilogue, c []float32, ldc int) error {
	return gemmInt8(GemmThreads(), m, a, lda, b, epi, c, ldc)
}

func gemmInt8(threads, m int, a []float32, lda int, b *PackedInt8, epi Epilogue, c []float32, ldc int) error {
	bias := epi.Bias
	if b == nil {
		return fmt.Errorf("%w: nil PackedInt8", ErrBadShape)
	}
	n, k := b.n, b.k
	if m < 0 {
		return fmt.Errorf("%w: gemm m = %d", ErrBadShape, m)
	}
	if bias != nil && len(bias) != n {
		return fmt.Errorf("%w: int8 gemm bias has %d values, want %d", ErrBadShape, len(bias), n)
	}
	if err := checkMatrix("A", m, k, lda, a); err != nil {
		return err
	}
	if err := checkMatrix("C", m, n, ldc, c); err != nil {
		return err
	}
	if m == 0 {
		return nil
	}
	kern := int8Impl
	bufs := int8Pool.Get().(*int8Bufs)
	defer int8Pool.Put(bufs)
	quantizeA(kern, m, k, a, lda, bufs)
	panels := b.np / i8NR
	// The int8 kernel does ~4× the multiply-adds of the float32 one per
	// cycle: below ~4 M of them a thread the hand-off costs more than it saves.
	threads = min(threads, panels, max(1, m*n*k/(1<<22)))
	if threads <= 1 {
		gemmInt8Part(kern, m, b, &epi, bufs, c, ldc, 0, panels)
		return nil
	}
	step := (panels + threads - 1) / threads
	parallelSteps(panels, step, func(q0, q1 int) {
		gemmInt8Part(kern, m, b, &epi, bufs, c, ldc, q0, q1)
	})
	return nil
}

// gemmInt8Part computes C's column panels [q0, q1) from the quantised A in
// bufs, a block of row panels at a time so that the block stays in L2
// while every B panel of the part streams past it.
func gemmInt8Part(kern int8Kernel, m int, b *PackedInt8, epi *Epilogue, bufs *int8Bufs, c []float32, ldc, q0, q1 int) {
	kg, n := b.kg, b.n
	bias := epi.Bias
	mp := roundUp(m, i8MR)
	blockRows := max(i8MR, (1<<17)/(kg*4)/i8MR*i8MR)
	var tile [i8MR * i8NR]float32
	var biasTile [i8NR]float32
	for ic := 0; ic < mp; ic += blockRows {
		ie := min(mp, ic+blockRows)
		for q := q0; q < q1; q++ {
			j0 := q * i8NR
			nv := min(i8NR, n-j0)
			bp := &b.data[q*kg*4*i8NR]
			bb := &zeroBias[0]
			if bias != nil {
				if nv == i8NR {
					bb = &bias[j0]
				} else {
					clear(biasTile[:])
					copy(biasTile[:], bias[j0:])
					bb = &biasTile[0]
				}
			}
			for ir := ic; ir < ie; ir += i8MR {
				ap := &bufs.a[ir*kg*4]
				mv := min(i8MR, m-ir)
				rs, zp := &bufs.rs[ir], &bufs.zp[ir]
				switch {
				case mv == i8MR && nv == i8NR && !epi.Accumulate:
					kern.fn(kg, ap, bp, &c[ir*ldc+j0], ldc, rs, zp, &b.colSum[j0], &b.scale[j0], bb)
				default:
					kern.fn(kg, ap, bp, &tile[0], i8NR, rs, zp, &b.colSum[j0], &b.scale[j0], bb)
					for i := 0; i < mv; i++ {
						dst := c[(ir+i)*ldc+j0 : (ir+i)*ldc+j0+nv]
						if epi.Accumulate {
							for j, v := range tile[i*i8NR : i*i8NR+nv] {
								dst[j] += v
							}
						} else {
							copy(dst, tile[i*i8NR:i*i8NR+nv])
						}
					}
				}
				epi.end(c, ir*ldc+j0, ldc, mv, nv)
			}
		}
	}
}

// gemmU8S8Generic is the portable micro-kernel and the reference the
// assembly is tested against: the same int32 sums and the same float32
// epilogue, each operation rounded separately (the conversions keep the
// compiler from fusing a multiply and an add).
func gemmU8S8Generic(kg int, a *uint8, b *int8, c *float32, ldc int, rs *float32, zp *int32, cs *int32, ws *float32, bias *float32) {
	as := unsafe.Slice(a, kg*4*i8MR)
	bs := unsafe.Slice(b, kg*4*i8NR)
	var acc [i8MR][i8NR]int32
	for g := 0; g < kg; g++ {
		ag := as[g*4*i8MR : (g+1)*4*i8MR]
		bg := bs[g*4*i8NR : (g+1)*4*i8NR]
		for i := 0; i < i8MR; i++ {
			a0, a1, a2, a3 := int32(ag[4*i]), int32(ag[4*i+1]), int32(ag[4*i+2]), int32(ag[4*i+3])
			row := &acc[i]
			for j := 0; j < i8NR; j++ {
				w := bg[4*j : 4*j+4]
				row[j] += a0*int32(w[0]) + a1*int32(w[1]) + a2*int32(w[2]) + a3*int32(w[3])
			}
		}
	}
	rss := unsafe.Slice(rs, i8MR)
	zps := unsafe.Slice(zp, i8MR)
	css := unsafe.Slice(cs, i8NR)
	wss := unsafe.Slice(ws, i8NR)
	bss := unsafe.Slice(bias, i8NR)
	cc := unsafe.Slice(c, (i8MR-1)*ldc+i8NR)
	for i := 0; i < i8MR; i++ {
		out := cc[i*ldc : i*ldc+i8NR]
		for j := range out {
			v := float32(acc[i][j] - zps[i]*css[j])
			v = float32(v * wss[j])
			v = float32(v * rss[i])
			out[j] = float32(v + bss[j])
		}
	}
}
