package index

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/RoaringBitmap/roaring/v2/roaring64"

	"rosetta/internal/vecgen"
	"rosetta/kernels"
)

// TestSQ8Codes: a value inside its dimension's range decodes within half a
// step, one outside is clamped to the range's end, and a dimension with
// no spread decodes exactly.
func TestSQ8Codes(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	const dim = 37
	sample := make([][]float32, 200)
	for i := range sample {
		sample[i] = randUnit(r, dim)
		sample[i][5] = 0.25 // no spread
	}
	q := trainSQ8(dim, func(emit func([]float32)) {
		for _, v := range sample {
			emit(v)
		}
	})
	code := make([]uint8, dim)
	dec := make([]float32, dim)
	for _, v := range sample {
		n2 := q.encode(code, v)
		q.decode(dec, code)
		var want float64
		for j := range v {
			if d := math.Abs(float64(v[j] - dec[j])); d > float64(q.step[j])/2*1.0001 {
				t.Fatalf("dim %d: %v decodes to %v (step %v)", j, v[j], dec[j], q.step[j])
			}
			want += float64(dec[j]) * float64(dec[j])
		}
		if math.Abs(float64(n2)-want) > 1e-5*want {
			t.Fatalf("norm² %v, decoded %v", n2, want)
		}
		if dec[5] != 0.25 {
			t.Fatalf("constant dimension decodes to %v", dec[5])
		}
	}
	out := make([]float32, dim)
	for j := range out {
		out[j] = 10 * float32(1-2*(j%2))
	}
	q.encode(code, out)
	q.decode(dec, code)
	for j := range out {
		want := q.lo[j]
		if out[j] > 0 {
			want = q.lo[j] + 255*q.step[j]
		}
		if j != 5 && math.Abs(float64(dec[j]-want)) > 1e-6 {
			t.Fatalf("dim %d: out-of-range %v decodes to %v, want the range end %v", j, out[j], dec[j], want)
		}
	}
}

// TestSQ8DistanceIsDecodedDistance: distSQ8 over the query form equals the
// metric's distance to the decoded vector, for every metric.
func TestSQ8DistanceIsDecodedDistance(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 1))
	for _, dim := range []int{1, 7, 8, 33, 512} {
		var sample [][]float32
		for range 64 {
			sample = append(sample, randVec(r, dim))
		}
		q := trainSQ8(dim, func(emit func([]float32)) {
			for _, v := range sample {
				emit(v)
			}
		})
		code := make([]uint8, dim)
		dec := make([]float32, dim)
		for _, m := range []kernels.Metric{kernels.MetricCosine, kernels.MetricDot, kernels.MetricL2} {
			for i := range 20 {
				x, qv := randVec(r, dim), randVec(r, dim)
				n2 := q.encode(code, x)
				q.decode(dec, code)
				got := distSQ8(m, q.queryForm(qv, nil), code, n2)
				var ip, l2 float64
				for j := range dec {
					ip += float64(qv[j]) * float64(dec[j])
					d := float64(qv[j]) - float64(dec[j])
					l2 += d * d
				}
				want := map[kernels.Metric]float64{kernels.MetricCosine: 1 - ip, kernels.MetricDot: -ip, kernels.MetricL2: l2}[m]
				scale := 1e-4 * (1 + math.Abs(want) + math.Sqrt(float64(dim)))
				if math.Abs(float64(got)-want) > scale {
					t.Fatalf("dim %d %v #%d: distSQ8 %v, decoded distance %v", dim, m, i, got, want)
				}
			}
		}
	}
}

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func randUnit(r *rand.Rand, n int) []float32 {
	v := randVec(r, n)
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / math.Sqrt(s))
	}
	return v
}

// mapSource is a VectorSource over a map, as an owner's store would be.
type mapSource struct {
	mu    sync.Mutex
	v     map[uint64][]float32
	reads int
	fail  error
}

func (m *mapSource) get(id uint64, buf []float32) ([]float32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	if m.fail != nil {
		return nil, m.fail
	}
	v, ok := m.v[id]
	if !ok {
		return nil, ErrNotFound
	}
	return append(buf[:0], v...), nil
}

// TestInt8Index: an int8 index trains at TrainSize, ranks by codes and
// returns exact distances after re-scoring, with recall close to float32,
// from in-memory float16 originals and from a store.
func TestInt8Index(t *testing.T) {
	for _, st := range []Storage{StorageInt8, StorageRaBitQ} {
		t.Run(st.String(), func(t *testing.T) { testQuantised(t, st) })
	}
}

func testQuantised(t *testing.T, st Storage) {
	// -short (the race run) checks fewer vectors and metrics.
	n, metrics := 4000, []kernels.Metric{kernels.MetricCosine, kernels.MetricL2, kernels.MetricDot}
	if testing.Short() {
		n, metrics = 1500, metrics[:2]
	}
	const dim = 48
	set := vecgen.Clustered(n, 100, dim, 40, 0.08, 21)
	for _, org := range []Originals{OriginalsMemory, OriginalsStore} {
		for _, m := range metrics {
			t.Run(org.String()+"/"+m.String(), func(t *testing.T) {
				cfg := Config{Dim: dim, Metric: m, Storage: st, Originals: org, TrainSize: 500, CompactRatio: -1}
				h, err := NewHNSW(cfg)
				if err != nil {
					t.Fatal(err)
				}
				src := &mapSource{v: map[uint64][]float32{}}
				h.SetVectorSource(src.get)
				f, _ := NewFlat(dim, m)
				for i := 0; i < n; i++ {
					v := vecgen.Row(set.Base, dim, i)
					src.v[uint64(i)] = v
					if err := h.Add(uint64(i), v); err != nil {
						t.Fatal(err)
					}
					f.Add(uint64(i), v)
					if i == 498 && h.Quantised() {
						t.Fatal("trained before TrainSize")
					}
				}
				if !h.Quantised() {
					t.Fatal("not trained after TrainSize")
				}
				if org == OriginalsStore {
					h.mu.RLock()
					if h.segs[0].vecs16 != nil {
						t.Error("store originals: float16 vectors still held after training")
					}
					h.mu.RUnlock()
				}
				if r := recallAt(t, h, f, set.Queries, dim, 10, 64, nil); r < 0.95 {
					t.Fatalf("recall@10 %.3f", r)
				}
				// Distances after re-scoring are the exact ones (to the
				// float16 original in memory, to the float32 one from the
				// store).
				for i := 0; i < 20; i++ {
					q := vecgen.Row(set.Queries, dim, i)
					var stats SearchStats
					res, err := h.Search(q, SearchOptions{K: 5, Stats: &stats})
					if err != nil {
						t.Fatal(err)
					}
					// int8 re-scores every candidate; rabitq stops at
					// the bound, after at least k.
					pool := 5 * h.Config().Rescore
					if (st == StorageInt8 && stats.Rescored != pool) || stats.Rescored < 5 || stats.Rescored > pool {
						t.Fatalf("re-scored %d of %d candidates", stats.Rescored, pool)
					}
					pq, _ := h.rules().prepare(q, nil, false)
					for _, r := range res {
						pv, _ := h.rules().prepare(src.v[r.ID], nil, false)
						if org == OriginalsMemory {
							b := make([]uint16, dim)
							kernels.EncodeF16(b, pv)
							kernels.DecodeF16(pv, b)
						}
						if want := m.Distance()(pq, pv); math.Abs(float64(r.Distance-want)) > 1e-5 {
							t.Fatalf("id %d: distance %v, exact %v", r.ID, r.Distance, want)
						}
					}
				}
				// Filtered (exact scan over codes, then re-scoring) agrees
				// with the flat index.
				allow := roaring64.New()
				for i := 0; i < n; i += 50 {
					allow.Add(uint64(i))
				}
				if r := recallAt(t, h, f, set.Queries, dim, 10, 64, allow); r < 0.99 {
					t.Fatalf("filtered recall@10 %.3f", r)
				}
				// Snapshot round trip: same results.
				h2 := snapshot(t, h)
				h2.SetVectorSource(src.get)
				if !h2.Quantised() || h2.Config().Storage != st || h2.Config().Originals != org {
					t.Fatalf("reloaded config %+v", h2.Config())
				}
				for i := 0; i < 20; i++ {
					q := vecgen.Row(set.Queries, dim, i)
					a, _ := h.Search(q, SearchOptions{K: 10})
					b, err := h2.Search(q, SearchOptions{K: 10})
					if err != nil || len(a) != len(b) {
						t.Fatalf("reloaded search: %v %v", b, err)
					}
					for j := range a {
						if a[j] != b[j] {
							t.Fatalf("query %d rank %d: %+v before, %+v after reload", i, j, a[j], b[j])
						}
					}
				}
				if org == OriginalsStore {
					h3 := snapshot(t, h)
					if _, err := h3.Search(vecgen.Row(set.Queries, dim, 0), SearchOptions{K: 3}); !errors.Is(err, ErrNoSource) {
						t.Fatalf("no source: %v", err)
					}
					src.fail = errors.New("disk on fire")
					if _, err := h.Search(vecgen.Row(set.Queries, dim, 0), SearchOptions{K: 3}); err == nil || !errors.Is(err, src.fail) {
						t.Fatalf("source error: %v", err)
					}
				}
			})
		}
	}
}

// TestInt8Untrained: below TrainSize an int8 index is a float16 one, and
// its snapshot reloads untrained and trains when it reaches the size.
func TestInt8Untrained(t *testing.T) {
	const dim = 16
	set := vecgen.Clustered(300, 20, dim, 10, 0.1, 3)
	h, err := NewHNSW(Config{Dim: dim, Storage: StorageInt8, TrainSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 150; i++ {
		h.Add(uint64(i), vecgen.Row(set.Base, dim, i))
	}
	h2 := snapshot(t, h)
	if h2.Quantised() || h2.Len() != 150 {
		t.Fatalf("reloaded untrained index: quantised %v len %d", h2.Quantised(), h2.Len())
	}
	for i := 150; i < 300; i++ {
		h2.Add(uint64(i), vecgen.Row(set.Base, dim, i))
	}
	if !h2.Quantised() {
		t.Fatal("reloaded index did not train")
	}
	for i := 0; i < 300; i += 7 {
		res, err := h2.Search(vecgen.Row(set.Base, dim, i), SearchOptions{K: 1})
		if err != nil || len(res) != 1 || res[0].ID != uint64(i) {
			t.Fatalf("id %d not found by its own vector: %v %v", i, res, err)
		}
	}
	var b bytes.Buffer
	if _, err := h2.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	// A snapshot of another storage is read as what it is, never as int8.
	f32, _ := NewHNSW(Config{Dim: dim})
	f32.Add(1, vecgen.Row(set.Base, dim, 0))
	if got := snapshot(t, f32).Config().Storage; got != StorageFloat32 {
		t.Fatalf("float32 snapshot reloads as %v", got)
	}
}

// TestAllowSet: the flat bitset and the sparse fallback answer exactly as
// the roaring64 bitmap, at the edges of the span too.
func TestAllowSet(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	var a allowSet
	for _, tc := range []struct {
		name   string
		lo, n  uint64
		stride uint64
	}{{"dense", 0, 5000, 3}, {"offset", 1 << 40, 3000, 1}, {"sparse", 7, 100, 100_000}, {"one", 99, 1, 1}, {"top", math.MaxUint64 - 500, 100, 5}} {
		allow := roaring64.New()
		for i := uint64(0); i < tc.n; i++ {
			allow.Add(tc.lo + i*tc.stride)
		}
		a.build(allow)
		if (a.sparse != nil) != (tc.name == "sparse") {
			t.Fatalf("%s: sparse %v", tc.name, a.sparse != nil)
		}
		probe := []uint64{0, tc.lo - 1, tc.lo, tc.lo + 1, allow.Maximum(), allow.Maximum() + 1, math.MaxUint64}
		for range 2000 {
			probe = append(probe, tc.lo+r.Uint64N(tc.n*tc.stride+10))
		}
		for _, id := range probe {
			if a.has(id) != allow.Contains(id) {
				t.Fatalf("%s: has(%d) = %v", tc.name, id, a.has(id))
			}
		}
	}
	a.build(roaring64.New())
	if a.has(0) {
		t.Fatal("empty allow-list allows 0")
	}
}

// TestSQ8CodeForm: the one-pass query form of a stored code equals the
// query form of its decoded vector.
func TestSQ8CodeForm(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 7))
	for _, dim := range []int{1, 9, 64, 300} {
		var sample [][]float32
		for range 50 {
			sample = append(sample, randVec(r, dim))
		}
		q := trainSQ8(dim, func(emit func([]float32)) {
			for _, v := range sample {
				emit(v)
			}
		})
		code, dec := make([]uint8, dim), make([]float32, dim)
		for _, v := range sample {
			n2 := q.encode(code, v)
			q.decode(dec, code)
			want := q.queryForm(dec, nil)
			got := q.codeForm(code, n2, nil)
			// The constants sum dim float32 products (with cancellation
			// between Σlo² and Σ lo·step·u): allow float32 rounding of the
			// terms' magnitude.
			var mag float64
			for j := range dec {
				mag += math.Abs(float64(q.lo[j]) * float64(dec[j]))
			}
			for j := range want {
				tol := 1e-5 * (1 + math.Abs(float64(want[j])))
				if j >= dim {
					tol = 1e-5 * (1 + mag)
				}
				if math.Abs(float64(got[j]-want[j])) > tol {
					t.Fatalf("dim %d [%d]: codeForm %v, queryForm(decode) %v", dim, j, got[j], want[j])
				}
			}
		}
	}
}
