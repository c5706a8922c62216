package kernels

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
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
type microKernel struct {
	name   string
	mr, nr int
	fn     func(kc int, a, b, c *float32, ldc int)
}

var gemmKernel = microKernel{"generic", 4, 8, sgemmKernelGeneric}

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
		gemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc, nil, 0)
		return
	}
	var wg sync.WaitGroup
	if n >= threads*nr*2 {
		step := (n/nr + threads - 1) / threads * nr
		for j0 := 0; j0 < n; j0 += step {
			j1 := min(n, j0+step)
			wg.Add(1)
			go func() {
				defer wg.Done()
				bb := b[j0:]
				if transB {
					bb = b[j0*ldb:]
				}
				gemmSerial(transA, transB, m, j1-j0, k, alpha, a, lda, bb, ldb, c[j0:], ldc, nil, 0)
			}()
		}
	} else {
		step := (m/mr + threads - 1) / threads * mr
		step = max(step, mr)
		for i0 := 0; i0 < m; i0 += step {
			i1 := min(m, i0+step)
			wg.Add(1)
			go func() {
				defer wg.Done()
				aa := a[i0*lda:]
				if transA {
					aa = a[i0:]
				}
				gemmSerial(transA, transB, i1-i0, n, k, alpha, aa, lda, b, ldb, c[i0*ldc:], ldc, nil, 0)
			}()
		}
	}
	wg.Wait()
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

// gemmSerial accumulates alpha·op(A)·op(B) into C on one goroutine. With
// pre != nil, op(B) comes from pre's panels starting at column j0 (a
// multiple of nr) and b/ldb/transB are unused.
func gemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, pre *PackedB, j0 int) {
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
						if mv == mr && nv == nr {
							kern.fn(kb, &apanel[0], &bpanel[0], &c[cOff], ldc)
							continue
						}
						clear(tile)
						kern.fn(kb, &apanel[0], &bpanel[0], &tile[0], nr)
						for i := 0; i < mv; i++ {
							row := c[cOff+i*ldc : cOff+i*ldc+nv]
							for j := range row {
								row[j] += tile[i*nr+j]
							}
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
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if k <= 0 || n <= 0 {
		return nil, fmt.Errorf("%w: PackB dimensions %d×%d", ErrBadShape, k, n)
	}
	if ldb < bc || len(b) < (br-1)*ldb+bc {
		return nil, fmt.Errorf("%w: PackB matrix of %d elements (ld %d) is too small for %d×%d", ErrBadShape, len(b), ldb, br, bc)
	}
	nr := gemmKernel.nr
	p := &PackedB{k: k, n: n, nr: nr, np: roundUp(n, nr), kernel: gemmKernel.name}
	p.data = make([]float32, k*p.np)
	for pc := 0; pc < k; pc += gemmKC {
		kb := min(gemmKC, k-pc)
		packB(p.data[pc*p.np:pc*p.np+kb*p.np], b, ldb, transB, pc, 0, kb, n, nr)
	}
	return p, nil
}

// GemmPacked computes C = alpha·op(A)·B + beta·C with B packed by PackB.
func GemmPacked(transA bool, m int, alpha float32, a []float32, lda int, b *PackedB, beta float32, c []float32, ldc int) error {
	if b == nil {
		return fmt.Errorf("%w: nil PackedB", ErrBadShape)
	}
	if b.kernel != gemmKernel.name {
		return fmt.Errorf("%w: B was packed for micro-kernel %s, %s is in use", ErrBadShape, b.kernel, gemmKernel.name)
	}
	n, k := b.n, b.k
	if m < 0 {
		return fmt.Errorf("%w: gemm m = %d", ErrBadShape, m)
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	if err := checkMatrix("A", ar, ac, lda, a); err != nil {
		return err
	}
	if err := checkMatrix("C", m, n, ldc, c); err != nil {
		return err
	}
	if m == 0 {
		return nil
	}
	scaleC(m, n, beta, c, ldc)
	if alpha == 0 || k == 0 {
		return nil
	}
	if m == 1 {
		gemvPacked(GemmThreads(), alpha, rowOfA(transA, k, a, lda), b, c[:n])
		return nil
	}
	nr := b.nr
	threads := min(GemmThreads(), max(1, m*n*k/(1<<20)))
	if threads <= 1 || n < threads*nr*2 {
		gemmSerial(transA, false, m, n, k, alpha, a, lda, nil, 0, c, ldc, b, 0)
		return nil
	}
	var wg sync.WaitGroup
	step := (n/nr + threads - 1) / threads * nr
	for j0 := 0; j0 < n; j0 += step {
		j1 := min(n, j0+step)
		wg.Add(1)
		go func() {
			defer wg.Done()
			gemmSerial(transA, false, m, j1-j0, k, alpha, a, lda, nil, 0, c[j0:], ldc, b, j0)
		}()
	}
	wg.Wait()
	return nil
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// packA copies op(A)[ic:ic+mb, pc:pc+kb] scaled by alpha into mr-row
// micro-panels: panel q holds, for each p, rows q*mr..q*mr+mr-1 (zero past mb).
func packA(dst, a []float32, lda int, trans bool, ic, pc, mb, kb, mr int, alpha float32) {
	for q := 0; q*mr < mb; q++ {
		panel := dst[q*mr*kb : (q+1)*mr*kb]
		rows := min(mr, mb-q*mr)
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

// packB copies op(B)[pc:pc+kb, jc:jc+nb] into nr-column micro-panels:
// panel q holds, for each p, columns q*nr..q*nr+nr-1 (zero past nb).
func packB(dst, b []float32, ldb int, trans bool, pc, jc, kb, nb, nr int) {
	for q := 0; q*nr < nb; q++ {
		panel := dst[q*nr*kb : (q+1)*nr*kb]
		cols := min(nr, nb-q*nr)
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
