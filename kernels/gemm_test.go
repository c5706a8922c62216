package kernels

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/viterin/vek/vek32"
)

func naiveGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			c[i*ldc+j] = alpha*float32(s) + beta*c[i*ldc+j]
		}
	}
}

func TestGemmDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	// m = 1 takes the one-row paths (gemv.go), split over threads when
	// large enough.
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {12, 32, 1}, {13, 33, 17}, {50, 70, 300}, {97, 65, 257}, {200, 3, 40}, {5, 400, 9}, {130, 100, 600},
		{1, 3001, 300}, {1, 77, 1500}, {1, 1500, 64}, {1, 9, 2}}
	for _, im := range impls() {
		withImpl(t, im.avx512, im.avx2)
		for _, threads := range []int{1, 2, 3} {
			for _, sh := range shapes {
				m, n, k := sh[0], sh[1], sh[2]
				for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
					name := fmt.Sprintf("%s/t%d/%dx%dx%d/%v", GemmImpl(), threads, m, n, k, tr)
					lda, ldb, ldc := k+2, n+1, n+3
					if tr[0] {
						lda = m + 1
					}
					if tr[1] {
						ldb = k + 3
					}
					ar, br := m, k
					if tr[0] {
						ar = k
					}
					if tr[1] {
						br = n
					}
					a, b := randVec(r, ar*lda), randVec(r, br*ldb)
					c := randVec(r, m*ldc)
					want := append([]float32(nil), c...)
					alpha, beta := float32(0.7), float32(-1.5)
					if m%2 == 0 {
						beta = 0
					}
					naiveGemm(tr[0], tr[1], m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
					gemm(threads, tr[0], tr[1], m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
					for i := range c {
						tol := 1e-4 * (math.Sqrt(float64(k)) + math.Abs(float64(want[i])))
						if math.Abs(float64(c[i]-want[i])) > tol {
							t.Fatalf("%s: c[%d] = %v, want %v", name, i, c[i], want[i])
						}
					}
				}
			}
		}
	}
}

func TestGemmPackedMatchesGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, im := range impls() {
		withImpl(t, im.avx512, im.avx2)
		for _, sh := range [][3]int{{1, 1, 1}, {7, 45, 300}, {50, 200, 600}, {130, 1000, 70}, {1, 3001, 600}, {1, 17, 5}, {1, 64, 257}} {
			m, n, k := sh[0], sh[1], sh[2]
			for _, trB := range []bool{false, true} {
				a := randVec(r, m*k)
				b := randVec(r, n*k)
				ldb := n
				if trB {
					ldb = k
				}
				p, err := PackB(trB, k, n, b, ldb)
				if err != nil {
					t.Fatal(err)
				}
				want := make([]float32, m*n)
				alpha := float32(1)
				if m == 1 {
					alpha = 0.5
				}
				naiveGemm(false, trB, m, n, k, alpha, a, k, b, ldb, 0, want, n)
				for _, threads := range []int{1, 2} {
					old := SetGemmThreads(threads)
					got := randVec(r, m*n)
					if err := GemmPacked(false, m, alpha, a, k, p, 0, got, n); err != nil {
						t.Fatal(err)
					}
					SetGemmThreads(old)
					for i := range got {
						if math.Abs(float64(got[i]-want[i])) > 1e-4*(math.Sqrt(float64(k))+math.Abs(float64(want[i]))) {
							t.Fatalf("%s %v trB=%v threads=%d: [%d] %v want %v", GemmImpl(), sh, trB, threads, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
	p, _ := PackB(false, 2, 2, make([]float32, 4), 2)
	if err := GemmPacked(false, 2, 1, make([]float32, 3), 2, p, 0, make([]float32, 4), 2); !errors.Is(err, ErrBadShape) {
		t.Errorf("short A: %v", err)
	}
	if _, err := PackB(true, 3, 2, make([]float32, 5), 3); !errors.Is(err, ErrBadShape) {
		t.Errorf("short B: %v", err)
	}
}

// TestRepackB: repacking into a used PackedB (smaller, then larger, then
// transposed) gives the products a fresh PackB would, reusing its memory
// when it is large enough.
func TestRepackB(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	var p *PackedB
	var first *float32
	for i, sh := range [][4]int{{9, 300, 200, 0}, {5, 37, 70, 0}, {12, 577, 400, 1}, {3, 20, 640, 0}} {
		m, n, k, trB := sh[0], sh[1], sh[2], sh[3] == 1
		a, b := randVec(r, m*k), randVec(r, n*k)
		ldb := n
		if trB {
			ldb = k
		}
		q, err := RepackB(p, trB, k, n, b, ldb)
		if err != nil {
			t.Fatal(err)
		}
		if p != nil && q != p {
			t.Fatal("RepackB did not return p")
		}
		if i == 0 {
			first = &q.data[0]
		}
		if i == 1 && &q.data[0] != first {
			t.Error("a smaller matrix did not reuse the packed memory")
		}
		p = q
		want := make([]float32, m*n)
		naiveGemm(false, trB, m, n, k, 1, a, k, b, ldb, 0, want, n)
		got := make([]float32, m*n)
		if err := GemmPacked(false, m, 1, a, k, p, 0, got, n); err != nil {
			t.Fatal(err)
		}
		for j := range got {
			if math.Abs(float64(got[j]-want[j])) > 1e-4*(math.Sqrt(float64(k))+math.Abs(float64(want[j]))) {
				t.Fatalf("shape %v: [%d] %v want %v", sh, j, got[j], want[j])
			}
		}
	}
}

// TestGemmPackedRowIndependentOfM: a row of A gives the same bits whether
// it is multiplied alone (the one-row GEMV path) or among other rows (the
// blocked micro-kernels), with a bias in C, alpha ≠ 1, K over one KC block
// and N that leaves partial panels and odd 16-column groups. Encoders rely
// on it: an input's embedding must not depend on its batch.
func TestGemmPackedRowIndependentOfM(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for _, im := range impls() {
		withImpl(t, im.avx512, im.avx2)
		for _, sh := range [][2]int{{1, 1}, {16, 7}, {17, 33}, {48, 256}, {64, 257}, {100, 600}, {3001, 70}} {
			n, k := sh[0], sh[1]
			for _, trB := range []bool{false, true} {
				b := randVec(r, n*k)
				ldb := n
				if trB {
					ldb = k
				}
				p, err := PackB(trB, k, n, b, ldb)
				if err != nil {
					t.Fatal(err)
				}
				const m = 7
				a := randVec(r, m*k)
				bias := randVec(r, n)
				for _, threads := range []int{1, 2} {
					old := SetGemmThreads(threads)
					all := make([]float32, m*n)
					for i := range m {
						copy(all[i*n:], bias)
					}
					if err := GemmPacked(false, m, 0.75, a, k, p, 1, all, n); err != nil {
						t.Fatal(err)
					}
					for i := range m {
						one := append([]float32(nil), bias...)
						if err := GemmPacked(false, 1, 0.75, a[i*k:(i+1)*k], k, p, 1, one, n); err != nil {
							t.Fatal(err)
						}
						for j := range one {
							if math.Float32bits(one[j]) != math.Float32bits(all[i*n+j]) {
								t.Fatalf("%s n=%d k=%d trB=%v threads=%d: row %d col %d alone %v, among %d rows %v",
									GemmImpl(), n, k, trB, threads, i, j, one[j], m, all[i*n+j])
							}
						}
					}
					SetGemmThreads(old)
				}
			}
		}
	}
}

func TestGemmRejectsBadShapes(t *testing.T) {
	a, b, c := make([]float32, 6), make([]float32, 6), make([]float32, 4)
	if err := Gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"negative": Gemm(false, false, -1, 2, 3, 1, a, 3, b, 2, 0, c, 2),
		"short A":  Gemm(false, false, 3, 2, 3, 1, a, 3, b, 2, 0, c, 2),
		"small ld": Gemm(false, false, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2),
		"short C":  Gemm(false, false, 2, 3, 3, 1, a, 3, b, 2, 0, c, 3),
	} {
		if !errors.Is(err, ErrBadShape) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := Gemm(false, false, 0, 0, 0, 1, nil, 0, nil, 0, 0, nil, 0); err != nil {
		t.Errorf("empty: %v", err)
	}
}

// BenchmarkGemm reports GFLOPS on the anchor shapes: a ViT-B MLP
// (50×768×3072) and 512³, linear-layer layout (B transposed), 1 and 2
// threads, with vek32.MatMul as the reference.
func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, sh := range [][3]int{{50, 3072, 768}, {512, 512, 512}, {50, 768, 3072}, {77, 2048, 512}} {
		m, n, k := sh[0], sh[1], sh[2]
		a, w, c := randVec(r, m*k), randVec(r, n*k), make([]float32, m*n)
		flops := 2 * float64(m) * float64(n) * float64(k)
		pw, _ := PackB(true, k, n, w, k)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%dx%d/threads=%d", m, n, k, threads), func(b *testing.B) {
				for b.Loop() {
					gemm(threads, false, true, m, n, k, 1, a, k, w, k, 0, c, n)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
			})
			b.Run(fmt.Sprintf("%dx%dx%d/packed/threads=%d", m, n, k, threads), func(b *testing.B) {
				old := SetGemmThreads(threads)
				defer SetGemmThreads(old)
				for b.Loop() {
					GemmPacked(false, m, 1, a, k, pw, 0, c, n)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
			})
		}
		bt := randVec(r, k*n)
		b.Run(fmt.Sprintf("%dx%dx%d/vek", m, n, k), func(b *testing.B) {
			for b.Loop() {
				vek32.MatMul(a, bt, k)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

// TestGemmPackedEpilogue: the fused bias, activation and accumulation give
// exactly the values of GemmPacked with a separate bias pass before and an
// activation pass after, on every split (rows, columns, one thread) and
// both edges (m not a multiple of mr, n not a multiple of nr).
func TestGemmPackedEpilogue(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	relu := func(x []float32) {
		for i, v := range x {
			if v < 0 {
				x[i] = 0.25 * v
			}
		}
	}
	for _, im := range impls() {
		withImpl(t, im.avx512, im.avx2)
		for _, sh := range [][3]int{{1, 70, 33}, {2, 64, 300}, {13, 97, 257}, {50, 768, 64}, {77, 96, 512}, {200, 64, 40}, {250, 130, 600}} {
			m, n, k := sh[0], sh[1], sh[2]
			w := randVec(r, n*k)
			p, err := PackB(true, k, n, w, k)
			if err != nil {
				t.Fatal(err)
			}
			a := randVec(r, m*k)
			bias := randVec(r, n)
			for _, threads := range []int{1, 2, 3} {
				for _, withBias := range []bool{false, true} {
					for _, act := range []func([]float32){nil, relu} {
						for _, acc := range []bool{false, true} {
							c0 := randVec(r, m*n)
							want := append([]float32(nil), c0...)
							if !acc {
								clear(want)
							}
							if withBias {
								for i := 0; i < m; i++ {
									for j := range n {
										want[i*n+j] += bias[j]
									}
								}
							}
							old := SetGemmThreads(threads)
							if err := GemmPacked(false, m, 1, a, k, p, 1, want, n); err != nil {
								t.Fatal(err)
							}
							if act != nil {
								act(want)
							}
							epi := Epilogue{Act: act, Accumulate: acc}
							if withBias {
								epi.Bias = bias
							}
							got := append([]float32(nil), c0...)
							if err := GemmPackedEpilogue(m, a, k, p, epi, got, n); err != nil {
								t.Fatal(err)
							}
							SetGemmThreads(old)
							for i := range got {
								if got[i] != want[i] {
									t.Fatalf("%s %v threads=%d bias=%v act=%v acc=%v: [%d] = %v, want %v", GemmImpl(), sh, threads, withBias, act != nil, acc, i, got[i], want[i])
								}
							}
						}
					}
				}
			}
		}
	}
	p, _ := PackB(false, 2, 3, make([]float32, 6), 3)
	if err := GemmPackedEpilogue(2, make([]float32, 4), 2, p, Epilogue{Bias: make([]float32, 2)}, make([]float32, 6), 3); !errors.Is(err, ErrBadShape) {
		t.Errorf("short bias: %v", err)
	}
}

// TestGemmRowKernels: the fewer-row micro-kernels give exactly what the
// full kernel gives through a zeroed tile.
func TestGemmRowKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, im := range impls() {
		withImpl(t, im.avx512, im.avx2)
		if gemmKernel.rows == nil {
			continue
		}
		mr := gemmKernel.mr
		for m := 2; m <= 3*mr+1; m++ {
			n, k := 2*gemmKernel.nr, 300
			w := randVec(r, n*k)
			p, _ := PackB(true, k, n, w, k)
			a := randVec(r, m*k)
			got := make([]float32, m*n)
			if err := GemmPacked(false, m, 1, a, k, p, 0, got, n); err != nil {
				t.Fatal(err)
			}
			rows := gemmKernel.rows
			gemmKernel.rows = nil
			want := make([]float32, m*n)
			err := GemmPacked(false, m, 1, a, k, p, 0, want, n)
			gemmKernel.rows = rows
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s m=%d: [%d] = %v, want %v", GemmImpl(), m, i, got[i], want[i])
				}
			}
		}
	}
}
