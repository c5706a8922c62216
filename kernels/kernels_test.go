package kernels

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/viterin/vek/vek32"
)

// impls lists the implementations this CPU can run, so every path is
// compared against the plain Go reference.
func impls() []struct {
	name         string
	avx512, avx2 bool
} {
	all := []struct {
		name         string
		avx512, avx2 bool
	}{{"generic", false, false}}
	if hasAVX2 {
		all = append(all, struct {
			name         string
			avx512, avx2 bool
		}{"avx2", false, true})
	}
	if hasAVX512 {
		all = append(all, struct {
			name         string
			avx512, avx2 bool
		}{"avx512", true, true})
	}
	return all
}

func withImpl(t testing.TB, avx512, avx2 bool) {
	selectImpl(avx512, avx2)
	t.Cleanup(func() { selectImpl(hasAVX512, hasAVX2) })
}

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// refDot and refL2 accumulate in float64: the reference for all paths.
func refDot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func refL2(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s
}

// close32 allows float32 rounding that grows with the magnitude of the
// terms summed (|a|·|b| bounds the error of a dot product).
func close32(got float32, want, scale float64) bool {
	return math.Abs(float64(got)-want) <= 1e-5*scale+1e-6
}

func TestDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			withImpl(t, im.avx512, im.avx2)
			if Impl() != im.name {
				t.Fatalf("selected %q, want %q", Impl(), im.name)
			}
			for n := 0; n <= 1100; n++ {
				a, b := randVec(r, n), randVec(r, n)
				scale := math.Sqrt(refDot(a, a)*refDot(b, b)) + 1
				d, err := Dot(a, b)
				if err != nil {
					t.Fatal(err)
				}
				if want := refDot(a, b); !close32(d, want, scale) {
					t.Fatalf("n=%d Dot=%v want %v", n, d, want)
				}
				if g := dotGeneric(a, b); !close32(d, float64(g), scale) {
					t.Fatalf("n=%d Dot=%v generic %v", n, d, g)
				}
				l, err := SquaredL2(a, b)
				if err != nil {
					t.Fatal(err)
				}
				if want := refL2(a, b); !close32(l, want, want+1) {
					t.Fatalf("n=%d SquaredL2=%v want %v", n, l, want)
				}
			}
		})
	}
}

// TestUnalignedSlices runs the kernels on sub-slices that start at every
// offset, so unaligned loads and the masked tail read only what they may.
func TestUnalignedSlices(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			withImpl(t, im.avx512, im.avx2)
			base := randVec(r, 300)
			other := randVec(r, 300)
			for off := 0; off < 17; off++ {
				for n := 0; n+off <= 200; n += 7 {
					a, b := base[off:off+n], other[off:off+n]
					got, _ := Dot(a, b)
					if want := refDot(a, b); !close32(got, want, math.Sqrt(refDot(a, a)*refDot(b, b))+1) {
						t.Fatalf("off=%d n=%d: %v want %v", off, n, got, want)
					}
				}
			}
		})
	}
}

func TestRejectsBadInput(t *testing.T) {
	a, b := make([]float32, 5), make([]float32, 4)
	if _, err := Dot(a, b); !errors.Is(err, ErrLengthMismatch) {
		t.Errorf("Dot: %v", err)
	}
	if _, err := SquaredL2(a, b); !errors.Is(err, ErrLengthMismatch) {
		t.Errorf("SquaredL2: %v", err)
	}
	if _, err := Cosine(a, b); !errors.Is(err, ErrLengthMismatch) {
		t.Errorf("Cosine: %v", err)
	}
	if _, err := Cosine(make([]float32, 3), []float32{1, 2, 3}); !errors.Is(err, ErrZeroVector) {
		t.Errorf("Cosine zero: %v", err)
	}
	if err := Normalize(make([]float32, 8)); !errors.Is(err, ErrZeroVector) {
		t.Errorf("Normalize zero: %v", err)
	}
	if err := Normalize(nil); !errors.Is(err, ErrZeroVector) {
		t.Errorf("Normalize empty: %v", err)
	}
	if d, err := Dot(nil, nil); err != nil || d != 0 {
		t.Errorf("Dot(empty) = %v, %v", d, err)
	}
	if err := CheckFinite([]float32{1, float32(math.NaN())}); !errors.Is(err, ErrNonFinite) {
		t.Errorf("CheckFinite NaN: %v", err)
	}
	if err := CheckFinite([]float32{float32(math.Inf(-1))}); !errors.Is(err, ErrNonFinite) {
		t.Errorf("CheckFinite Inf: %v", err)
	}
	if err := CheckFinite([]float32{1, 2}); err != nil {
		t.Errorf("CheckFinite finite: %v", err)
	}
	out := make([]float32, 2)
	if err := ScoreBlock(MetricDot, make([]float32, 4), make([]float32, 10), out); !errors.Is(err, ErrBadShape) {
		t.Errorf("ScoreBlock ragged: %v", err)
	}
	if err := ScoreBlock(MetricDot, make([]float32, 4), make([]float32, 12), out); !errors.Is(err, ErrBadShape) {
		t.Errorf("ScoreBlock short out: %v", err)
	}
	if err := ScoreBlock(Metric(0), make([]float32, 4), nil, out); !errors.Is(err, ErrBadShape) {
		t.Errorf("ScoreBlock bad metric: %v", err)
	}
}

func TestCosineAndNormalize(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 3, 16, 17, 512} {
		a := randVec(r, n)
		b := make([]float32, n)
		for i := range a {
			b[i] = 3 * a[i]
		}
		c, err := Cosine(a, b)
		if err != nil || math.Abs(float64(c)-1) > 1e-5 {
			t.Fatalf("n=%d cosine(a,3a)=%v %v", n, c, err)
		}
		if err := Normalize(b); err != nil {
			t.Fatal(err)
		}
		if nb := Norm(b); math.Abs(float64(nb)-1) > 1e-5 {
			t.Fatalf("n=%d norm after Normalize = %v", n, nb)
		}
	}
}

func TestScoreBlockMatchesPairwise(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, m := range []Metric{MetricCosine, MetricDot, MetricL2} {
		for _, d := range []int{1, 7, 64, 129} {
			q := randVec(r, d)
			rows := 33
			block := randVec(r, rows*d)
			if m == MetricCosine {
				_ = Normalize(q)
				for i := 0; i < rows; i++ {
					_ = Normalize(block[i*d : (i+1)*d])
				}
			}
			out := make([]float32, rows)
			if err := ScoreBlock(m, q, block, out); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < rows; i++ {
				row := block[i*d : (i+1)*d]
				var want float64
				switch m {
				case MetricCosine:
					want = 1 - refDot(q, row)
				case MetricDot:
					want = -refDot(q, row)
				case MetricL2:
					want = refL2(q, row)
				}
				if math.Abs(float64(out[i])-want) > 1e-4*(math.Abs(want)+1) {
					t.Fatalf("%v d=%d row %d: %v want %v", m, d, i, out[i], want)
				}
			}
		}
	}
}

func TestTopK(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, k := range []int{0, 1, 5, 100} {
		tk := NewTopK(k)
		var all []Candidate
		for i := 0; i < 500; i++ {
			c := Candidate{ID: uint64(i), Dist: float32(r.IntN(200))}
			all = append(all, c)
			tk.Push(c.ID, c.Dist)
		}
		SortCandidates(all)
		got := tk.Sorted()
		if len(got) != min(k, len(all)) {
			t.Fatalf("k=%d: %d results", k, len(got))
		}
		for i := range got {
			if got[i].Dist != all[i].Dist {
				t.Fatalf("k=%d rank %d: dist %v want %v", k, i, got[i].Dist, all[i].Dist)
			}
		}
	}
}

func TestParseMetric(t *testing.T) {
	for _, s := range []string{"cosine", "dot", "l2"} {
		m, err := ParseMetric(s)
		if err != nil || m.String() != s {
			t.Errorf("%s: %v %v", s, m, err)
		}
	}
	if _, err := ParseMetric("hamming"); err == nil {
		t.Error("hamming accepted")
	}
}

var sink float32

func BenchmarkDot(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, d := range []int{128, 512, 768, 1024} {
		x, y := randVec(r, d), randVec(r, d)
		for _, im := range impls() {
			b.Run(fmt.Sprintf("%s/d=%d", im.name, d), func(b *testing.B) {
				withImpl(b, im.avx512, im.avx2)
				for b.Loop() {
					sink += dotImpl(x, y)
				}
				b.ReportMetric(2*float64(d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
			})
		}
		b.Run(fmt.Sprintf("vek/d=%d", d), func(b *testing.B) {
			for b.Loop() {
				sink += vek32.Dot(x, y)
			}
			b.ReportMetric(2*float64(d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

func BenchmarkSquaredL2(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, d := range []int{128, 512, 768, 1024} {
		x, y := randVec(r, d), randVec(r, d)
		for _, im := range impls() {
			b.Run(fmt.Sprintf("%s/d=%d", im.name, d), func(b *testing.B) {
				withImpl(b, im.avx512, im.avx2)
				for b.Loop() {
					sink += squaredL2Impl(x, y)
				}
				b.ReportMetric(3*float64(d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
			})
		}
	}
}

// BenchmarkScoreBlock scores one query against 4096 rows (cache-resident
// for small d, memory-bound for large).
func BenchmarkScoreBlock(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const rows = 4096
	for _, d := range []int{128, 512, 768, 1024} {
		q, block := randVec(r, d), randVec(r, rows*d)
		out := make([]float32, rows)
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			for b.Loop() {
				_ = ScoreBlock(MetricDot, q, block, out)
			}
			b.ReportMetric(2*float64(d)*rows*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

func TestArgmax(t *testing.T) {
	if Argmax(nil) != -1 || Argmax([]float32{1, 3, 3, 2}) != 1 || Argmax([]float32{-5}) != 0 {
		t.Fatal("Argmax")
	}
}
