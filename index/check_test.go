package index

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"rosetta/kernels"
)

// sentinel returns the package error err wraps, or nil.
func sentinel(err error) error {
	for _, s := range []error{ErrDimension, ErrNonFinite, ErrMagnitude, ErrZeroVector} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

type checkIndex struct {
	name   string
	metric kernels.Metric
	half   bool
	idx    Index
}

func checkIndexes(t *testing.T, dim int) []checkIndex {
	t.Helper()
	var out []checkIndex
	for _, m := range []kernels.Metric{kernels.MetricCosine, kernels.MetricDot, kernels.MetricL2} {
		for _, st := range []Storage{StorageFloat32, StorageFloat16} {
			h, err := NewHNSW(Config{Dim: dim, Metric: m, Storage: st, M: 4, EfConstruction: 16})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, checkIndex{"hnsw/" + st.String() + "/" + m.String(), m, st == StorageFloat16, h})
		}
		f, err := NewFlat(dim, m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, checkIndex{"flat/" + m.String(), m, false, f})
	}
	return out
}

// TestCheckTable: Check returns the documented error for every metric and
// storage, and Add returns the same one.
func TestCheckTable(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	const (
		all = iota // the same result for every index
		cos        // ErrZeroVector under cosine, nil otherwise
		f16        // ErrNonFinite with float16 storage unless cosine, nil otherwise
	)
	cases := []struct {
		name string
		v    []float32
		kind int
		err  error
	}{
		{"ok", []float32{1, 2, 3, 4}, all, nil},
		{"wrong dim", []float32{1, 2, 3}, all, ErrDimension},
		{"NaN", []float32{1, nan, 0, 0}, all, ErrNonFinite},
		{"+Inf", []float32{inf, 0, 0, 0}, all, ErrNonFinite},
		{"-Inf", []float32{0, 0, 0, -inf}, all, ErrNonFinite},
		{"zero", []float32{0, 0, 0, 0}, cos, nil},
		{"underflowing norm 1e-30", []float32{1e-30, 1e-30, 0, 0}, cos, nil},
		{"smallest subnormal", []float32{1e-45, 0, 0, 0}, cos, nil},
		{"subnormal norm 1e-19", []float32{1e-19, 0, 0, 0}, cos, nil},
		{"all subnormal", []float32{1e-39, -2e-39, 3e-39, 1e-40}, cos, nil},
		{"tiny normal norm", []float32{1e-18, 0, 0, 0}, all, nil},
		{"subnormal component", []float32{1, 1e-40, 0, -1e-45}, all, nil},
		{"float16 max", []float32{65504, -65504, 0, 1}, all, nil},
		{"float16 overflow", []float32{7e4, 0, 0, 0}, f16, nil},
		{"large but bounded", []float32{6e18, 0, 0, 0}, f16, nil},
		{"norm overflows distances", []float32{1e19, 0, 0, 0}, all, ErrMagnitude},
		{"max float32", []float32{math.MaxFloat32, 0, 0, 0}, all, ErrMagnitude},
		{"spread huge", []float32{4e18, 4e18, 4e18, 4e18}, all, ErrMagnitude},
	}
	for _, ci := range checkIndexes(t, 4) {
		t.Run(ci.name, func(t *testing.T) {
			for _, c := range cases {
				want := c.err
				switch c.kind {
				case cos:
					if ci.metric == kernels.MetricCosine {
						want = ErrZeroVector
					}
				case f16:
					if ci.half && ci.metric != kernels.MetricCosine {
						want = ErrNonFinite
					}
				}
				before := ci.idx.Len()
				got := ci.idx.Check(c.v)
				if sentinel(got) != want {
					t.Errorf("%s: Check = %v, want %v", c.name, got, want)
				}
				if ci.idx.Len() != before {
					t.Errorf("%s: Check changed Len", c.name)
				}
				add := ci.idx.Add(uint64(before), c.v)
				if sentinel(add) != sentinel(got) {
					t.Errorf("%s: Add = %v but Check = %v", c.name, add, got)
				}
			}
		})
	}
}

// TestAcceptedExtremesKeepDistancesFinite: the largest accepted vectors,
// pointing opposite ways, still have finite distances.
func TestAcceptedExtremesKeepDistancesFinite(t *testing.T) {
	big := float32(math.Sqrt(maxNormSquared)) * 0.9999
	for _, m := range []kernels.Metric{kernels.MetricDot, kernels.MetricL2} {
		h, _ := NewHNSW(Config{Dim: 2, Metric: m})
		f, _ := NewFlat(2, m)
		for _, idx := range []Index{h, f} {
			for i, v := range [][]float32{{big, 0}, {-big, 0}, {0, big}} {
				if err := idx.Add(uint64(i), v); err != nil {
					t.Fatalf("%T %v: %v", idx, m, err)
				}
			}
			res, err := idx.Search([]float32{-big, 0}, SearchOptions{K: 3})
			if err != nil || len(res) != 3 {
				t.Fatalf("%T %v: %v %v", idx, m, res, err)
			}
			for _, r := range res {
				if math.IsInf(float64(r.Distance), 0) || math.IsNaN(float64(r.Distance)) {
					t.Fatalf("%T %v: distance %v", idx, m, r.Distance)
				}
			}
		}
	}
}

// TestCheckMatchesAdd is a property test: for random vectors drawn across
// every float32 magnitude, Check(v) == nil exactly when Add(v) succeeds,
// and both report the same error.
func TestCheckMatchesAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	component := func() float32 {
		switch r.IntN(10) {
		case 0:
			return 0
		case 1:
			return float32(math.Ldexp(r.Float64(), -126-r.IntN(24))) // subnormal
		case 2:
			return float32(math.Ldexp(r.Float64(), -r.IntN(127))) // tiny normal
		case 3:
			return float32(math.Ldexp(r.Float64(), 10+r.IntN(118))) // large
		case 4:
			if r.IntN(20) == 0 {
				return []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[r.IntN(3)]
			}
		}
		return float32(r.NormFloat64())
	}
	const dim = 6
	for _, ci := range checkIndexes(t, dim) {
		t.Run(ci.name, func(t *testing.T) {
			accepted := 0
			for i := 0; i < 400; i++ {
				d := dim
				if r.IntN(40) == 0 {
					d = r.IntN(2 * dim)
				}
				v := make([]float32, d)
				scale := r.IntN(4) // 0: mixed; else every component alike
				for j := range v {
					v[j] = component()
					if scale > 0 && j > 0 {
						v[j] = v[0] * float32(r.Float64()+0.5)
					}
					if r.IntN(2) == 0 {
						v[j] = -v[j]
					}
				}
				cerr := ci.idx.Check(v)
				aerr := ci.idx.Add(uint64(i), v)
				if (cerr == nil) != (aerr == nil) || sentinel(cerr) != sentinel(aerr) {
					t.Fatalf("%v: Check = %v, Add = %v", v, cerr, aerr)
				}
				if aerr == nil {
					accepted++
				}
			}
			if accepted == 0 || accepted == 400 {
				t.Fatalf("%d of 400 accepted: the generator does not cover both sides", accepted)
			}
		})
	}
}
