package kernels

// One row of A (m == 1: a decoder's step, one query against cached keys)
// makes the blocked GEMM wasteful: the micro-kernel computes mr rows for
// one, and an unpacked B is copied into panels on every call to be read
// once. These paths stream B once instead.

// axpyImpl is y[i] += alpha·x[i] over len(x) elements (len(y) >= len(x)).
var axpyImpl = axpyGeneric

func axpyGeneric(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// gemv16Impl, when set, is c[0:16] += Σ_p a[p]·panel[stride·p:stride·p+16]
// over kb rows of a packed micro-panel (16 of its columns), and gemv32Impl
// the same for two 16-column groups into c[0:32]. Each column is summed
// as the micro-kernels sum it: one FMA chain from zero over p, then added
// to c.
var (
	gemv16Impl func(kb int, a, panel, c []float32, stride int)
	gemv32Impl func(kb int, a, p0, p1, c []float32, stride int)
)

// gemvThreads is how many goroutines a one-row product of n×k may use:
// below ~0.25 M multiply-adds a thread the hand-off costs more than it
// saves.
func gemvThreads(threads, n, k int) int {
	return min(threads, max(1, n*k/(1<<18)))
}

// rowOfA returns op(A)'s single row, contiguous.
func rowOfA(transA bool, k int, a []float32, lda int) []float32 {
	if !transA {
		return a[:k]
	}
	row := make([]float32, k)
	for p := range row {
		row[p] = a[p*lda]
	}
	return row
}

// gemv accumulates alpha·a·op(B) into c[0:n] (C already scaled by beta):
// dot products of a with B's rows when B is stored n×k (transB), else
// alpha·a[p] times B's row p added into c for each p.
func gemv(threads int, transB bool, n, k int, alpha float32, a []float32, b []float32, ldb int, c []float32) {
	part := func(j0, j1 int) {
		if transB {
			for j := j0; j < j1; j++ {
				c[j] += alpha * dotImpl(a, b[j*ldb:j*ldb+k])
			}
			return
		}
		for p := 0; p < k; p++ {
			if s := alpha * a[p]; s != 0 {
				axpyImpl(s, b[p*ldb+j0:p*ldb+j1], c[j0:j1])
			}
		}
	}
	splitColumns(gemvThreads(threads, n, k), n, 16, part)
}

// gemvPacked accumulates alpha·a·B into c[0:n] with B packed (PackB): each
// micro-panel of nr columns is streamed once per KC block. Every element
// is summed in the order gemmSerial's micro-kernel sums it (per KC block,
// one chain over p from zero, then added to C), so a one-row product gives
// bit for bit the row it would be in a product of many rows: a model's
// output for one input does not depend on how many inputs share its
// forward pass.
func gemvPacked(threads int, alpha float32, a []float32, b *PackedB, c []float32) {
	n, k, nr := b.n, b.k, b.nr
	if alpha != 1 {
		s := make([]float32, k)
		for p, v := range a[:k] {
			s[p] = alpha * v
		}
		a = s
	}
	simd := nr%16 == 0 && gemv16Impl != nil && gemv32Impl != nil
	part := func(j0, j1 int) {
		tmp := make([]float32, 32)
		acc := make([]float32, nr)
		for pc := 0; pc < k; pc += gemmKC {
			kb := min(gemmKC, k-pc)
			blk := b.data[pc*b.np:]
			ap := a[pc : pc+kb]
			if simd {
				gemvGroups16(kb, ap, blk, nr, j0, min(j1, n), c, tmp)
				continue
			}
			for q := j0 / nr; q*nr < j1; q++ {
				panel := blk[q*nr*kb : (q+1)*nr*kb]
				cols := min(nr, n-q*nr)
				clear(acc)
				for p, v := range ap {
					row := panel[p*nr : p*nr+cols]
					for j, w := range row {
						acc[j] += v * w
					}
				}
				out := c[q*nr : q*nr+cols]
				for j := range out {
					out[j] += acc[j]
				}
			}
		}
	}
	splitColumns(gemvThreads(threads, n, k), n, nr, part)
}

// gemvGroups16 runs the SIMD one-row kernels over columns [j0, j1) of one
// KC block of packed panels (j0 a multiple of nr), two 16-column groups
// at a time where both are whole; a group past n goes through tmp.
func gemvGroups16(kb int, ap, blk []float32, nr, j0, j1 int, c, tmp []float32) {
	group := func(g int) []float32 { // the packed data of columns [16g, 16g+16)
		q, h := g*16/nr, g*16%nr
		return blk[q*nr*kb+h:]
	}
	g, end := j0/16, (j1+15)/16
	for ; g+1 < end && (g+2)*16 <= j1; g += 2 {
		gemv32Impl(kb, ap, group(g), group(g+1), c[g*16:], nr)
	}
	for ; g < end; g++ {
		if (g+1)*16 <= j1 {
			gemv16Impl(kb, ap, group(g), c[g*16:], nr)
			continue
		}
		clear(tmp[:16])
		gemv16Impl(kb, ap, group(g), tmp, nr)
		for j := range c[g*16 : j1] {
			c[g*16+j] += tmp[j]
		}
	}
}

// splitColumns runs part over [0, n) in up to threads pieces whose starts
// are multiples of align.
func splitColumns(threads, n, align int, part func(j0, j1 int)) {
	if threads <= 1 || n < 2*align*threads {
		part(0, n)
		return
	}
	parallelSteps(n, (n/align+threads-1)/threads*align, part)
}

// SplitRange runs part over [0, n) on up to GemmThreads() goroutines, in
// pieces of at least grain items (starts at multiples of grain), or on the
// calling goroutine when n is too small to split. It is how the work
// between matrix products (layer norms, residual adds, im2col) keeps both
// cores busy.
func SplitRange(n, grain int, part func(lo, hi int)) {
	grain = max(grain, 1)
	splitColumns(min(GemmThreads(), n/grain), n, (grain+1)/2, part)
}
