package kernels

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// int8Impls lists the int8 kernels this CPU can run.
func int8Impls() []bool {
	if hasVNNI {
		return []bool{false, true}
	}
	return []bool{false}
}

func withInt8(t testing.TB, vnni bool) {
	selectInt8(vnni)
	t.Cleanup(func() { selectInt8(hasVNNI) })
}

// TestInt8KernelsExactInt32 gives every micro-kernel random u8 and s8
// panels with unit scales, so its output is its int32 sum, which must be
// the exact Σ (a − zp)·b (small enough, kg ≤ 128, to be exact in float32).
func TestInt8KernelsExactInt32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, vnni := range int8Impls() {
		withInt8(t, vnni)
		kern := int8Impl
		for _, kg := range []int{0, 1, 2, 7, 64, 128} {
			a := make([]uint8, kg*4*i8MR)
			b := make([]int8, kg*4*i8NR)
			for i := range a {
				a[i] = uint8(r.IntN(256))
			}
			for i := range b {
				b[i] = int8(r.IntN(256) - 128)
			}
			rs, zp := make([]float32, i8MR), make([]int32, i8MR)
			cs, ws := make([]int32, i8NR), make([]float32, i8NR)
			for i := range rs {
				rs[i], zp[i] = 1, int32(r.IntN(256))
			}
			for j := range ws {
				ws[j] = 1
				for g := 0; g < kg; g++ {
					for q := 0; q < 4; q++ {
						cs[j] += int32(b[g*4*i8NR+4*j+q])
					}
				}
			}
			const ldc = i8NR + 5
			c := make([]float32, i8MR*ldc)
			ap, bp := &zeroU8, &zeroI8
			if kg > 0 {
				ap, bp = &a[0], &b[0]
			}
			kern.fn(kg, ap, bp, &c[0], ldc, &rs[0], &zp[0], &cs[0], &ws[0], &zeroBias[0])
			for i := 0; i < i8MR; i++ {
				for j := 0; j < i8NR; j++ {
					var want int32
					for g := 0; g < kg; g++ {
						for q := 0; q < 4; q++ {
							want += (int32(a[g*4*i8MR+4*i+q]) - zp[i]) * int32(b[g*4*i8NR+4*j+q])
						}
					}
					if got := c[i*ldc+j]; got != float32(want) {
						t.Fatalf("%s kg=%d: c[%d][%d] = %v, want %d", kern.name, kg, i, j, got, want)
					}
				}
			}
		}
	}
}

var (
	zeroU8 uint8
	zeroI8 int8
)

// naiveInt8 is the whole computation spelled out from its definition:
// DynamicQuantizeLinear per row, symmetric per-column weights, exact
// integer sums, the same float32 epilogue.
func naiveInt8(m, n, k int, a []float32, lda int, w []float32, bias []float32) []float32 {
	ws := make([]float32, n)
	qw := make([]int32, n*k)
	for j := 0; j < n; j++ {
		var amax float32
		for p := 0; p < k; p++ {
			amax = max(amax, abs32(w[j*k+p]))
		}
		if amax == 0 {
			continue
		}
		ws[j] = amax / 127
		for p := 0; p < k; p++ {
			qw[j*k+p] = int32(math.RoundToEven(float64(w[j*k+p] / ws[j])))
		}
	}
	c := make([]float32, m*n)
	for i := 0; i < m; i++ {
		row := a[i*lda : i*lda+k]
		lo, hi, sum := minMaxGeneric(row)
		scale, inv, zp, skip := rowQuant(lo, hi, sum)
		for j := 0; j < n; j++ {
			var acc int32
			if !skip {
				for p := 0; p < k; p++ {
					acc += (int32(quantU8(row[p], inv, zp)) - zp) * qw[j*k+p]
				}
			}
			v := float32(float32(acc) * ws[j])
			v = float32(v * scale)
			var b float32 // a missing bias adds +0, as the kernels do
			if bias != nil {
				b = bias[j]
			}
			c[i*n+j] = float32(v + b)
		}
	}
	return c
}

// TestGemmInt8Differential runs every kernel, on 1–3 threads, over ragged
// m, n and k (past the 16-wide quantiser, the 4-byte groups, the 12×32
// tile), and wants the naive computation's float32 results bit for bit.
func TestGemmInt8Differential(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	shapes := [][3]int{{1, 1, 1}, {1, 32, 16}, {12, 32, 4}, {13, 33, 17}, {11, 31, 15}, {3, 5, 7}, {25, 65, 35}, {50, 70, 300}, {97, 100, 257}, {1, 300, 768}, {24, 64, 1030}, {130, 200, 64}}
	for _, vnni := range int8Impls() {
		withInt8(t, vnni)
		for _, threads := range []int{1, 2, 3} {
			for _, sh := range shapes {
				m, n, k := sh[0], sh[1], sh[2]
				name := fmt.Sprintf("%s/t%d/%dx%dx%d", Int8Impl(), threads, m, n, k)
				lda, ldc := k+3, n+2
				a := randVec(r, m*lda)
				for i := 0; i < m; i += 3 { // some rows all positive: zero point 0
					for p := 0; p < k; p++ {
						a[i*lda+p] = float32(math.Abs(float64(a[i*lda+p])))
					}
				}
				w := randVec(r, n*k)
				var bias []float32
				if m%2 == 1 {
					bias = randVec(r, n)
				}
				p, err := PackInt8(true, k, n, w, k)
				if err != nil {
					t.Fatal(err)
				}
				c := randVec(r, m*ldc)
				if err := gemmInt8(threads, m, a, lda, p, Epilogue{Bias: bias}, c, ldc); err != nil {
					t.Fatal(err)
				}
				want := naiveInt8(m, n, k, a, lda, w, bias)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						if got := c[i*ldc+j]; math.Float32bits(got) != math.Float32bits(want[i*n+j]) {
							t.Fatalf("%s: c[%d][%d] = %v, want %v", name, i, j, got, want[i*n+j])
						}
					}
				}
			}
		}
	}
}

// TestGemmInt8Accuracy bounds the quantisation error against the float64
// product: each term's error is at most |x|·Δw + Δx·|w| + Δx·Δw with
// Δx = s_x/2 and Δw = s_w/2 (rounding to the nearest step), and the
// rows' cosine to the float product stays above 0.999 on Gaussian data.
func TestGemmInt8Accuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m, n, k := 20, 96, 512
	a, w, bias := randVec(r, m*k), randVec(r, n*k), randVec(r, n)
	p, err := PackInt8(true, k, n, w, k)
	if err != nil {
		t.Fatal(err)
	}
	c := make([]float32, m*n)
	if err := GemmInt8(m, a, k, p, bias, c, n); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < m; i++ {
		lo, hi, _ := minMaxGeneric(a[i*k : (i+1)*k])
		sx := float64(max(hi, 0)-min(lo, 0)) / 255
		var dot, nw, ng float64
		for j := 0; j < n; j++ {
			want := float64(bias[j])
			var bound float64
			sw := float64(p.Scale(j))
			for q := 0; q < k; q++ {
				x, y := float64(a[i*k+q]), float64(w[j*k+q])
				want += x * y
				bound += math.Abs(x)*sw/2 + sx/2*math.Abs(y) + sx*sw/4
			}
			got := float64(c[i*n+j])
			if math.Abs(got-want) > bound*1.001+1e-4 {
				t.Fatalf("c[%d][%d] = %v, want %v ± %v", i, j, got, want, bound)
			}
			dot, nw, ng = dot+got*want, nw+want*want, ng+got*got
		}
		if cos := dot / math.Sqrt(nw*ng); cos < 0.999 {
			t.Errorf("row %d: cosine to float64 %.5f < 0.999", i, cos)
		}
	}
}

// TestGemmInt8Edges: zero rows give the bias, rows of one sign quantise
// with the zero point at an end, a row holding NaN or Inf gives NaN (as
// the float product would), zero weight columns give the bias.
func TestGemmInt8Edges(t *testing.T) {
	for _, vnni := range int8Impls() {
		withInt8(t, vnni)
		const m, n, k = 5, 40, 37
		r := rand.New(rand.NewPCG(7, 8))
		a, w, bias := randVec(r, m*k), randVec(r, n*k), randVec(r, n)
		clear(a[:k])
		a[2*k+5] = float32(math.NaN())
		a[3*k+30] = float32(math.Inf(-1))
		clear(w[7*k : 8*k])
		p, err := PackInt8(true, k, n, w, k)
		if err != nil {
			t.Fatal(err)
		}
		c := make([]float32, m*n)
		if err := GemmInt8(m, a, k, p, bias, c, n); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < n; j++ {
			if c[j] != bias[j] {
				t.Errorf("%s: zero row: c[0][%d] = %v, want the bias %v", Int8Impl(), j, c[j], bias[j])
			}
			if !math.IsNaN(float64(c[2*n+j])) || !math.IsNaN(float64(c[3*n+j])) {
				t.Fatalf("%s: rows with NaN/Inf give %v, %v, want NaN", Int8Impl(), c[2*n+j], c[3*n+j])
			}
		}
		for _, i := range []int{1, 4} {
			if c[i*n+7] != bias[7] {
				t.Errorf("%s: zero column: c[%d][7] = %v, want %v", Int8Impl(), i, c[i*n+7], bias[7])
			}
		}
	}
	// 0 maps exactly to the zero point, the row's ends to 0 and 255.
	for _, row := range [][]float32{{-1, 0, 3}, {0, 2, 5}, {-4, -2, 0}} {
		lo, hi, sum := minMaxGeneric(row)
		_, inv, zp, _ := rowQuant(lo, hi, sum)
		if q := quantU8(0, inv, zp); int32(q) != zp {
			t.Errorf("%v: 0 → %d, want the zero point %d", row, q, zp)
		}
		if quantU8(min(lo, 0), inv, zp) != 0 || quantU8(max(hi, 0), inv, zp) != 255 {
			t.Errorf("%v: ends quantise to %d, %d", row, quantU8(lo, inv, zp), quantU8(hi, inv, zp))
		}
	}
}

// TestPackInt8FromPacked: quantising a float32 PackedB gives the same
// packing as quantising the matrix it came from, in both layouts, past a
// KC block of k.
func TestPackInt8FromPacked(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, sh := range [][2]int{{1, 1}, {300, 45}, {513, 70}} {
		k, n := sh[0], sh[1]
		w := randVec(r, n*k)
		want, err := PackInt8(true, k, n, w, k)
		if err != nil {
			t.Fatal(err)
		}
		fp, err := PackB(true, k, n, w, k)
		if err != nil {
			t.Fatal(err)
		}
		got, err := PackInt8FromPacked(fp)
		if err != nil {
			t.Fatal(err)
		}
		wt := make([]float32, k*n) // the same matrix stored k×n
		for j := 0; j < n; j++ {
			for p := 0; p < k; p++ {
				wt[p*n+j] = w[j*k+p]
			}
		}
		plain, err := PackInt8(false, k, n, wt, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range []*PackedInt8{got, plain} {
			if fmt.Sprint(o.data) != fmt.Sprint(want.data) || fmt.Sprint(o.scale) != fmt.Sprint(want.scale) || fmt.Sprint(o.colSum) != fmt.Sprint(want.colSum) {
				t.Fatalf("%d×%d: packings differ", k, n)
			}
		}
		if k > 1 && 3*want.Bytes() > 4*len(fp.data) {
			t.Errorf("%d×%d: int8 packing holds %d bytes, more than a third of float32's %d", k, n, want.Bytes(), 4*len(fp.data))
		}
	}
}

func TestGemmInt8RejectsBadInput(t *testing.T) {
	w := make([]float32, 6)
	if _, err := PackInt8(true, 3, 3, w, 3); !errors.Is(err, ErrBadShape) {
		t.Errorf("short weight: %v", err)
	}
	if _, err := PackInt8(true, 0, 3, w, 3); !errors.Is(err, ErrBadShape) {
		t.Errorf("k = 0: %v", err)
	}
	w[2] = float32(math.Inf(1))
	if _, err := PackInt8(true, 3, 2, w, 3); !errors.Is(err, ErrBadShape) {
		t.Errorf("Inf weight: %v", err)
	}
	if _, err := PackInt8(true, Int8MaxK+1, 1, make([]float32, Int8MaxK+1), Int8MaxK+1); !errors.Is(err, ErrBadShape) {
		t.Errorf("k past Int8MaxK: %v", err)
	}
	p, _ := PackInt8(true, 3, 2, make([]float32, 6), 3)
	c := make([]float32, 4)
	for name, err := range map[string]error{
		"nil B":      GemmInt8(1, make([]float32, 3), 3, nil, nil, c, 2),
		"short A":    GemmInt8(2, make([]float32, 5), 3, p, nil, c, 2),
		"short C":    GemmInt8(2, make([]float32, 6), 3, p, nil, c[:3], 2),
		"bad bias":   GemmInt8(2, make([]float32, 6), 3, p, []float32{1}, c, 2),
		"negative m": GemmInt8(-1, nil, 3, p, nil, c, 2),
	} {
		if !errors.Is(err, ErrBadShape) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzGemmInt8 compares the kernel in use with the Go reference on
// shapes and data from the fuzzer.
func FuzzGemmInt8(f *testing.F) {
	f.Add(uint8(13), uint8(33), uint16(17), uint64(1), false)
	f.Add(uint8(1), uint8(1), uint16(1), uint64(2), true)
	f.Add(uint8(40), uint8(64), uint16(300), uint64(3), true)
	f.Fuzz(func(t *testing.T, m8, n8 uint8, k16 uint16, seed uint64, withBias bool) {
		m, n, k := int(m8%64)+1, int(n8%96)+1, int(k16%1100)+1
		r := rand.New(rand.NewPCG(seed, 99))
		a, w := randVec(r, m*k), randVec(r, n*k)
		for i := range a { // wide-ranged rows: outliers as transformers have
			if r.IntN(50) == 0 {
				a[i] *= 40
			}
		}
		var bias []float32
		if withBias {
			bias = randVec(r, n)
		}
		p, err := PackInt8(true, k, n, w, k)
		if err != nil {
			t.Fatal(err)
		}
		got, want := make([]float32, m*n), make([]float32, m*n)
		if err := gemmInt8(2, m, a, k, p, Epilogue{Bias: bias}, got, n); err != nil {
			t.Fatal(err)
		}
		selectInt8(false)
		err = gemmInt8(1, m, a, k, p, Epilogue{Bias: bias}, want, n)
		selectInt8(hasVNNI)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%d×%d×%d: c[%d] = %v, reference %v", m, n, k, i, got[i], want[i])
			}
		}
	})
}

func BenchmarkGemmInt8(b *testing.B) {
	for _, sh := range [][3]int{{50, 768, 768}, {50, 3072, 768}, {50, 768, 3072}, {400, 768, 768}} {
		m, n, k := sh[0], sh[1], sh[2]
		b.Run(fmt.Sprintf("%s/%dx%dx%d", Int8Impl(), m, n, k), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			a, w := randVec(r, m*k), randVec(r, n*k)
			p, err := PackInt8(true, k, n, w, k)
			if err != nil {
				b.Fatal(err)
			}
			c := make([]float32, m*n)
			for b.Loop() {
				GemmInt8(m, a, k, p, nil, c, n)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOPS")
		})
	}
}

// TestGemmInt8Epilogue: the fused activation and accumulation give exactly
// GemmInt8's values followed by separate passes, on ragged shapes and
// every split.
func TestGemmInt8Epilogue(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	act := func(x []float32) {
		for i, v := range x {
			x[i] = v * v
		}
	}
	for _, sh := range [][3]int{{1, 40, 16}, {13, 97, 70}, {50, 768, 64}, {30, 64, 257}} {
		m, n, k := sh[0], sh[1], sh[2]
		p, err := PackInt8(true, k, n, randVec(r, n*k), k)
		if err != nil {
			t.Fatal(err)
		}
		a, bias := randVec(r, m*k), randVec(r, n)
		for _, threads := range []int{1, 2, 3} {
			for _, acc := range []bool{false, true} {
				c0 := randVec(r, m*n)
				want := make([]float32, m*n)
				if err := gemmInt8(threads, m, a, k, p, Epilogue{Bias: bias}, want, n); err != nil {
					t.Fatal(err)
				}
				if acc {
					for i := range want {
						want[i] += c0[i]
					}
				}
				act(want)
				got := append([]float32(nil), c0...)
				if err := gemmInt8(threads, m, a, k, p, Epilogue{Bias: bias, Act: act, Accumulate: acc}, got, n); err != nil {
					t.Fatal(err)
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%v threads=%d acc=%v: [%d] = %v, want %v", sh, threads, acc, i, got[i], want[i])
					}
				}
			}
		}
	}
}
