package kernels

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

//go:generate go run ./internal/gengemm gemm_amd64.s gemm_int8_amd64.s

// Blocking of the GotoBLAS/BLIS scheme: a kc×nc panel of B is packed into
// nr-wide micro-panels (kept in L3/L2), an mc×kc block of A into mr-tall
// micro-panels (kept in L2), and the micro-kernel multiplies one A
// micro-panel by one B micro-panel into an mr×nr tile of C held in
// registers.
const (
	gemmKC = 256
	gemmMC = 96 // a multiple of every mr
	gemmNC = 3072
)

// microKernel computes C[0:mr,0:nr] += Apanel·Bpanel over kc steps.
// rows, when set, holds the same kernel for fewer rows (rows[r] computes
// C[0:r,0:nr], reading the first r values of each mr group of the panel),
// so the last panel of an m that is not a multiple of mr costs r rows of
// work, not mr.
type microKernel struct {
	name   string
	mr, nr int
	fn     func(kc int, a, b, c *float32, ldc int)
	rows   []func(kc int, a, b, c *float32, ldc int)
}

// tileMul adds the product of an A and a B micro-panel (kb steps) into the
// mv×nv corner of C, through tile (mr×nr scratch) when nv < nr.
func (kern *microKernel) tileMul(kb int, apanel, bpanel, c []float32, ldc, mv, nv int, tile []float32) {
	switch {
	case mv == kern.mr && nv == kern.nr:
		kern.fn(kb, &apanel[0], &bpanel[0], &c[0], ldc)
	case nv == kern.nr && kern.rows != nil:
		kern.rows[mv](kb, &apanel[0], &bpanel[0], &c[0], ldc)
	default:
		nr := kern.nr
		clear(tile)
		kern.fn(kb, &apanel[0], &bpanel[0], &tile[0], nr)
		for i := 0; i < mv; i++ {
			row := c[i*ldc : i*ldc+nv]
			for j := range row {
				row[j] += tile[i*nr+j]
			}
		}
	}
}

var gemmKernel = microKernel{"generic", 4, 8, sgemmKernelGeneric, nil}

// GemmImpl names the SGEMM micro-kernel in use.
func GemmImpl() string { return gemmKernel.name }

var maxThreads atomic.Int32

func init() { maxThreads.Store(int32(runtime.GOMAXPROCS(0))) }

// SetGemmThreads sets how many goroutines one Gemm call may use (default
// GOMAXPROCS at start-up). n < 1 means 1. It returns the previous value.
func SetGemmThreads(n int) int {
	return int(maxThreads.Swap(int32(max(n, 1))))
}

// GemmThreads returns the current per-call thread limit.
func GemmThreads() int { return int(maxThreads.Load()) }

// Gemm computes C = alpha·op(A)·op(B) + beta·C on row-major matrices, where
// op(A) is m×k and op(B) is k×n. Without transA, A is m×k with row stride
// lda; with it, A is stored k×m. Without transB, B is k×n with row stride
// ldb; with it, B is stored n×k (the PyTorch Linear weight layout, so a
// linear layer is Gemm(false, true, ...)). C is m×n with row stride ldc.
// Shapes are checked; nothing panics on bad input. Safe for concurrent use.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) error {
	if err := checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc); err != nil {
		return err
	}
	gemm(GemmThreads(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	return nil
}

// GemmWith is Gemm on at most threads goroutines (at least 1), for callers
// that run several products in parallel themselves.
func GemmWith(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) error {
	if err := checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc); err != nil {
		return err
	}
	gemm(max(threads, 1), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	return nil
}

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("%w: gemm dimensions %d×%d×%d", ErrBadShape, m, n, k)
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if err := checkMatrix("A", ar, ac, lda, a); err != nil {
		return err
	}
	if err := checkMatrix("B", br, bc, ldb, b); err != nil {
		return err
	}
	return checkMatrix("C", m, n, ldc, c)
}

// checkMatrix verifies that s holds a rows×cols matrix with row stride ld.
func checkMatrix(name string, rows, cols, ld int, s []float32) error {
	if rows == 0 || cols == 0 {
		return nil
	}
	if ld < cols {
		return fmt.Errorf("%w: gemm %s leading dimension %d < %d", ErrBadShape, name, ld, cols)
	}
	if len(s) < (rows-1)*ld+cols {
		return fmt.Errorf("%w: gemm %s has %d elements, needs %d", ErrBadShape, name, len(s), (rows-1)*ld+cols)
	}
	return nil
}

type gemmBufs struct {
	a, b []float32
	tile []float32
}

var gemmPool = sync.Pool{New: func() any { return new(gemmBufs) }}

// gemm splits the work over up to `threads` goroutines: by columns of C
// when there are enough, by rows otherwise. Each part is an independent
// serial GEMM with its own packing buffers.
func gemm(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	scaleC(m, n, beta, c, ldc)
	if k == 0 || alpha == 0 {
		return
	}
	if m == 1 {
		gemv(threads, transB, n, k, alpha, rowOfA(transA, k, a, lda), b, ldb, c[:n])
		return
	}
	mr, nr := gemmKernel.mr, gemmKernel.nr
	// Below ~2 MFLOP per thread the goroutine hand-off costs more than it saves.
	threads = min(threads, max(1, m*n*k/(1<<20)))
	if threads <= 1 {
		gemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc, nil, 0, nil)
		return
	}
	if n >= threads*nr*2 {
		step := (n/nr + threads - 1) / threads * nr
		parallelSteps(n, step, func(j0, j1 int) {
			bb := b[j0:]
			if transB {
				bb = b[j0*ldb:]
			}
			gemmSerial(transA, transB, m, j1-j0, k, alpha, a, lda, bb, ldb, c[j0:], ldc, nil, 0, nil)
		})
		return
	}
	step := max((m/mr+threads-1)/threads*mr, mr)
	parallelSteps(m, step, func(i0, i1 int) {
		aa := a[i0*lda:]
		if transA {
			aa = a[i0:]
		}
		gemmSerial(transA, transB, i1-i0, n, k, alpha, aa, lda, b, ldb, c[i0*ldc:], ldc, nil, 0, nil)
	})
}

func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// Epilogue is work a packed GEMM fuses into its passes over C, done on
// each mr×nr tile while it is in cache and on the GEMM's own threads: the
// bias is written into the tile before its first product (where a separate
// pass would copy it into every row of C first, on one thread), and the
// activation runs on the tile once its last product is added.
type Epilogue struct {
	Bias       []float32       // len n: added to every row of C, or nil
	Act        func([]float32) // applied in place to C's final values, or nil
	Accumulate bool            // C += A·B (+ Bias); otherwise C = A·B (+ Bias)
}

// begin prepares rows×cols of C at off, whose first column is column col
// of the whole product, before the tile's first product is added.
func (e *Epilogue) begin(c []float32, off, ldc, rows, cols, col int) {
	for i := 0; i < rows; i++ {
		row := c[off+i*ldc : off+i*ldc+cols]
		switch {
		case e.Bias == nil:
			if !e.Accumulate {
				clear(row)
			}
		case e.Accumulate:
			for j, v := range e.Bias[col : col+cols] {
				row[j] += v
			}
		default:
			copy(row, e.Bias[col:col+cols])
		}
	}
}

// end applies the activation to the finished tile.
func (e *Epilogue) end(c []float32, off, ldc, rows, cols int) {
	if e.Act == nil {
		return
	}
	for i := 0; i < rows; i++ {
		e.Act(c[off+i*ldc : off+i*ldc+cols])
	}
}

// gemmSerial accumulates alpha·op(A)·op(B) into C on one goroutine. With
// pre != nil, op(B) comes from pre's panels starting at column j0 (a
// multiple of nr) and b/ldb/transB are unused. With epi != nil, C is
// prepared and finished tile by tile as epi says (then k > 0), and its
// bias is indexed from the first column of this part of C.
func gemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, pre *PackedB, j0 int, epi *Epilogue) {
	kern := gemmKernel
	mr, nr := kern.mr, kern.nr
	bufs := gemmPool.Get().(*gemmBufs)
	defer gemmPool.Put(bufs)
	if pre == nil {
		if need := gemmKC * min(gemmNC, roundUp(n, nr)); cap(bufs.b) < need {
			bufs.b = make([]float32, need)
		}
	}
	if need := gemmKC * gemmMC; cap(bufs.a) < need {
		bufs.a = make([]float32, need)
	}
	if cap(bufs.tile) < mr*nr {
		bufs.tile = make([]float32, mr*nr)
	}
	tile := bufs.tile[:mr*nr]
	for jc := 0; jc < n; jc += gemmNC {
		nb := min(gemmNC, n-jc)
		for pc := 0; pc < k; pc += gemmKC {
			kb := min(gemmKC, k-pc)
			first, last := pc == 0, pc+kb == k
			var bp []float32
			if pre != nil {
				bp = pre.data[pc*pre.np+(j0+jc)*kb:]
			} else {
				bp = bufs.b[:kb*roundUp(nb, nr)]
				packB(bp, b, ldb, transB, pc, jc, kb, nb, nr)
			}
			for ic := 0; ic < m; ic += gemmMC {
				mb := min(gemmMC, m-ic)
				ap := bufs.a[:kb*roundUp(mb, mr)]
				packA(ap, a, lda, transA, ic, pc, mb, kb, mr, alpha)
				for jr := 0; jr < nb; jr += nr {
					bpanel := bp[(jr/nr)*nr*kb:]
					nv := min(nr, nb-jr)
					for ir := 0; ir < mb; ir += mr {
						apanel := ap[(ir/mr)*mr*kb:]
						mv := min(mr, mb-ir)
						cOff := (ic+ir)*ldc + jc + jr
						if epi != nil && first {
							epi.begin(c, cOff, ldc, mv, nv, jc+jr)
						}
						kern.tileMul(kb, apanel, bpanel, c[cOff:], ldc, mv, nv, tile)
						if epi != nil && last {
							epi.end(c, cOff, ldc, mv, nv)
						}
					}
				}
			}
		}
	}
}

// PackedB is op(B) (k×n) packed once into the micro-kernel's panel layout,
// for a matrix used many times, such as a linear layer's weight: packing
// then costs nothing per call. It is immutable and safe for concurrent use.
// It is tied to the micro-kernel selected when it was packed.
type PackedB struct {
	k, n   int
	nr     int
	np     int // n rounded up to nr: floats per k row of a KC block
	kernel string
	data   []float32 // KC blocks in order; block pc holds kb×np floats, as panels of nr columns
}

// K and N are op(B)'s dimensions.
func (p *PackedB) K() int { return p.k }

// N is op(B)'s column count.
func (p *PackedB) N() int { return p.n }

// PackB packs op(B) (k×n; with transB, b is stored n×k) for GemmPacked.
func PackB(transB bool, k, n int, b []float32, ldb int) (*PackedB, error) {
	return RepackB(nil, transB, k, n, b, ldb)
}

// checkPackInput verifies that b holds op(B), k×n (stored n×k with
// transB, row stride ldb), for the packers of weights (fn names the caller).
func checkPackInput(fn string, transB bool, k, n int, b []float32, ldb int) error {
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if k <= 0 || n <= 0 {
		return fmt.Errorf("%w: %s dimensions %d×%d", ErrBadShape, fn, k, n)
	}
	if ldb < bc || len(b) < (br-1)*ldb+bc {
		return fmt.Errorf("%w: %s matrix of %d elements (ld %d) is too small for %d×%d", ErrBadShape, fn, len(b), ldb, br, bc)
	}
	return nil
}

// RepackB is PackB into p's memory when it is large enough (p may be nil):
// for callers that pack many short-lived matrices of one shape, such as
// activations used as the B side of several products. It returns p (a new
// PackedB when p is nil); p must not be in use by a GemmPacked call.
func RepackB(p *PackedB, transB bool, k, n int, b []float32, ldb int) (*PackedB, error) {
	if err := checkPackInput("PackB", transB, k, n, b, ldb); err != nil {
		return nil, err
	}
	nr := gemmKernel.nr
	if p == nil {
		p = new(PackedB)
	}
	data := p.data
	*p = PackedB{k: k, n: n, nr: nr, np: roundUp(n, nr), kernel: gemmKernel.name}
	if cap(data) >= k*p.np {
		p.data = data[:k*p.np]
	} else {
		p.data = make([]float32, k*p.np)
	}
	for pc := 0; pc < k; pc += gemmKC {
		kb := min(gemmKC, k-pc)
		packB(p.data[pc*p.np:pc*p.np+kb*p.np], b, ldb, transB, pc, 0, kb, n, nr)
	}
	return p, nil
}

// GemmPacked computes C = alpha·op(A)·B + beta·C with B packed by PackB.
func GemmPacked(transA bool, m int, alpha float32, a []float32, lda int, b *PackedB, beta float32, c []float32, ldc int) error {
	if err := checkPacked(transA, m, a, lda, b, c, ldc); err != nil {
		return err
	}
	if m == 0 {
		return nil
	}
	scaleC(m, b.n, beta, c, ldc)
	if alpha == 0 {
		return nil
	}
	if m == 1 {
		gemvPacked(GemmThreads(), alpha, rowOfA(transA, b.k, a, lda), b, c[:b.n])
		return nil
	}
	gemmPackedParallel(transA, m, alpha, a, lda, b, c, ldc, nil)
	return nil
}

// GemmPackedEpilogue computes C = A·B with B packed by PackB, plus epi's
// bias and activation, fused into the product's passes over C (Epilogue);
// with epi.Accumulate, C += A·B + bias. A is m×k with row stride lda. The
// values equal GemmPacked's followed by a separate bias and activation
// pass (bias first, then the products in the same order).
func GemmPackedEpilogue(m int, a []float32, lda int, b *PackedB, epi Epilogue, c []float32, ldc int) error {
	if err := checkPacked(false, m, a, lda, b, c, ldc); err != nil {
		return err
	}
	if epi.Bias != nil && len(epi.Bias) < b.n {
		return fmt.Errorf("%w: epilogue bias has %d values, want %d", ErrBadShape, len(epi.Bias), b.n)
	}
	if m == 0 {
		return nil
	}
	if m == 1 {
		row := c[:b.n]
		epi.begin(row, 0, b.n, 1, b.n, 0)
		gemvPacked(GemmThreads(), 1, a[:b.k], b, row)
		epi.end(row, 0, b.n, 1, b.n)
		return nil
	}
	gemmPackedParallel(false, m, 1, a, lda, b, c, ldc, &epi)
	return nil
}

func checkPacked(transA bool, m int, a []float32, lda int, b *PackedB, c []float32, ldc int) error {
	if b == nil {
		return fmt.Errorf("%w: nil PackedB", ErrBadShape)
	}
	if b.kernel != gemmKernel.name {
		return fmt.Errorf("%w: B was packed for micro-kernel %s, %s is in use", ErrBadShape, b.kernel, gemmKernel.name)
	}
	if m < 0 {
		return fmt.Errorf("%w: gemm m = %d", ErrBadShape, m)
	}
	ar, ac := m, b.k
	if transA {
		ar, ac = b.k, m
	}
	if err := checkMatrix("A", ar, ac, lda, a); err != nil {
		return err
	}
	return checkMatrix("C", m, b.n, ldc, c)
}

// gemmPackedParallel splits a packed product (m ≥ 2) over up to
// GemmThreads() goroutines. With enough rows for every thread to fill its
// own MC blocks it splits by rows: B's panels are shared read-only, and
// each thread packs only its own rows of A. Otherwise (the short sequences
// of a single image or caption: m = 50 or 77) it splits by columns, each
// thread packing the whole (small) A.
func gemmPackedParallel(transA bool, m int, alpha float32, a []float32, lda int, b *PackedB, c []float32, ldc int, epi *Epilogue) {
	n, k, nr, mr := b.n, b.k, b.nr, gemmKernel.mr
	threads := min(GemmThreads(), max(1, m*n*k/(1<<20)))
	switch {
	case threads > 1 && m >= threads*gemmMC:
		step := roundUp((m+threads-1)/threads, mr)
		parallelSteps(m, step, func(i0, i1 int) {
			aa := a[i0*lda:]
			if transA {
				aa = a[i0:]
			}
			gemmSerial(transA, false, i1-i0, n, k, alpha, aa, lda, nil, 0, c[i0*ldc:], ldc, b, 0, epi)
		})
	case threads > 1 && n >= threads*nr*2:
		step := (n/nr + threads - 1) / threads * nr
		parallelSteps(n, step, func(j0, j1 int) {
			part := epi
			if epi != nil && epi.Bias != nil {
				e := *epi
				e.Bias = epi.Bias[j0:]
				part = &e
			}
			gemmSerial(transA, false, m, j1-j0, k, alpha, a, lda, nil, 0, c[j0:], ldc, b, j0, part)
		})
	default:
		gemmSerial(transA, false, m, n, k, alpha, a, lda, nil, 0, c, ldc, b, 0, epi)
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// packA copies op(A)[ic:ic+mb, pc:pc+kb] scaled by alpha into mr-row
// micro-panels: panel q holds, for each p, rows q*mr..q*mr+mr-1 (zero past mb).
func packA(dst, a []float32, lda int, trans bool, ic, pc, mb, kb, mr int, alpha float32) {
	for q := 0; q*mr < mb; q++ {
		panel := dst[q*mr*kb : (q+1)*mr*kb]
		rows := min(mr, mb-q*mr)
		if !trans && rows == mr {
			packRows(panel, a, lda, ic+q*mr, pc, kb, mr, alpha)
			continue
		}
		if !trans {
			for i := 0; i < rows; i++ {
				src := a[(ic+q*mr+i)*lda+pc : (ic+q*mr+i)*lda+pc+kb]
				for p, v := range src {
					panel[p*mr+i] = alpha * v
				}
			}
		} else {
			for p := 0; p < kb; p++ {
				src := a[(pc+p)*lda+ic+q*mr : (pc+p)*lda+ic+q*mr+rows]
				d := panel[p*mr : p*mr+rows]
				for i, v := range src {
					d[i] = alpha * v
				}
			}
		}
		if rows < mr {
			for p := 0; p < kb; p++ {
				clear(panel[p*mr+rows : p*mr+mr])
			}
		}
	}
}

// packRows is packA's common case (A not transposed, a full panel): it
// interleaves mr rows a k step at a time, reading each row sequentially
// and writing the panel sequentially, with the rows sliced to kb so the
// loop runs without bounds checks.
func packRows(panel, a []float32, lda, i0, pc, kb, mr int, alpha float32) {
	if mr == 12 {
		var r [12][]float32
		for i := range r {
			off := (i0+i)*lda + pc
			r[i] = a[off : off+kb : off+kb]
		}
		panel = panel[:kb*12]
		for p := 0; p < kb; p++ {
			d := (*[12]float32)(panel[p*12 : p*12+12])
			d[0], d[1], d[2], d[3] = alpha*r[0][p], alpha*r[1][p], alpha*r[2][p], alpha*r[3][p]
			d[4], d[5], d[6], d[7] = alpha*r[4][p], alpha*r[5][p], alpha*r[6][p], alpha*r[7][p]
			d[8], d[9], d[10], d[11] = alpha*r[8][p], alpha*r[9][p], alpha*r[10][p], alpha*r[11][p]
		}
		return
	}
	for i := 0; i < mr; i++ {
		off := (i0+i)*lda + pc
		for p, v := range a[off : off+kb] {
			panel[p*mr+i] = alpha * v
		}
	}
}

// packColsT is packB's transposed case for a full panel: B stored n×k,
// nr of its rows (columns of op(B)) interleaved a k step at a time, each
// read sequentially and the panel written sequentially (the column-wise
// loop wrote every value nr floats from the last, and the fused attention
// packs a head's keys this way for every head).
func packColsT(panel, b []float32, ldb, j0, pc, kb, nr int) {
	var rows [32]unsafe.Pointer
	for j := 0; j < nr; j++ {
		off := (j0+j)*ldb + pc
		_ = b[off+kb-1] // the row's kb values are in b
		rows[j] = unsafe.Pointer(&b[off])
	}
	panel = panel[:kb*nr]
	for p := 0; p < kb; p++ {
		d := panel[p*nr : p*nr+nr]
		for j := range d {
			d[j] = *(*float32)(unsafe.Add(rows[j], 4*p))
		}
	}
}

// packB copies op(B)[pc:pc+kb, jc:jc+nb] into nr-column micro-panels:
// panel q holds, for each p, columns q*nr..q*nr+nr-1 (zero past nb).
func packB(dst, b []float32, ldb int, trans bool, pc, jc, kb, nb, nr int) {
	for q := 0; q*nr < nb; q++ {
		panel := dst[q*nr*kb : (q+1)*nr*kb]
		cols := min(nr, nb-q*nr)
		if trans && cols == nr && nr <= 32 {
			packColsT(panel, b, ldb, jc+q*nr, pc, kb, nr)
			continue
		}
		if !trans {
			for p := 0; p < kb; p++ {
				copy(panel[p*nr:p*nr+cols], b[(pc+p)*ldb+jc+q*nr:(pc+p)*ldb+jc+q*nr+cols])
			}
		} else {
			for j := 0; j < cols; j++ {
				src := b[(jc+q*nr+j)*ldb+pc : (jc+q*nr+j)*ldb+pc+kb]
				for p, v := range src {
					panel[p*nr+j] = v
				}
			}
		}
		if cols < nr {
			for p := 0; p < kb; p++ {
				clear(panel[p*nr+cols : p*nr+nr])
			}
		}
	}
}
