package index

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"rosetta/kernels"
)

// Scalar quantisation (Storage = StorageInt8).
//
// Each dimension j has a range [lo_j, lo_j + 255·step_j] learned from a
// sample of the index's own vectors, and a vector x is kept as one byte a
// dimension, u_j = round((x_j − lo_j)/step_j) clamped to 0..255; it decodes
// to x̂_j = lo_j + step_j·u_j. A query q is turned once into its "query
// form" q̃_j = q_j·step_j plus two scalars, c0 = Σ q_j·lo_j and ‖q‖², so
// that ⟨q, x̂⟩ = c0 + Σ q̃_j·u_j is one kernels.DotU8 over the code: a
// quarter of float32's bytes per distance and no per-element decode
// arithmetic beyond the widening. Cosine distance is 1 − ⟨q, x̂⟩, dot
// −⟨q, x̂⟩, squared L2 ‖q‖² + ‖x̂‖² − 2⟨q, x̂⟩ with ‖x̂‖² kept per node.
//
// Training. Until Config.TrainSize vectors have been added the index keeps
// them as float16 and searches them as a float16 index does (a small graph
// needs no compression). The Add that reaches TrainSize live nodes learns
// the ranges from every vector then held (min and max per dimension) and
// encodes them all, holding mu exclusively for the ~1 ms a thousand
// vectors take; later vectors outside a range are clamped, which re-scoring
// corrects. A rebuild retrains on the rebuilt index's own first TrainSize
// vectors.
//
// Re-scoring. The graph walk ranks by the codes; a search keeps the
// Rescore·k best candidates (ef is raised to at least that) and re-ranks
// them by the exact distance to the full-precision vector: the float16
// copy the index keeps (Originals = OriginalsMemory) or the vector read
// through the VectorSource the owner sets (OriginalsStore; then the index's
// resident memory is the codes and the links).

// sq8 is a trained scalar quantiser. a, b and c0 make a code's own query
// form cheap (neighbour selection compares stored nodes with each other):
// the decoded x̂_j = lo_j + step_j·u_j has scaled components x̂_j·step_j =
// a_j + b_j·u_j and constant Σ x̂_j·lo_j = c0 + Σ a_j·u_j, one DotU8.
type sq8 struct {
	lo, step []float32
	a, b     []float32 // lo·step and step²
	c0       float32   // Σ lo²
}

func newSQ8(lo, step []float32) *sq8 {
	q := &sq8{lo: lo, step: step, a: make([]float32, len(lo)), b: make([]float32, len(lo))}
	var c0 float64
	for j := range lo {
		q.a[j], q.b[j] = lo[j]*step[j], step[j]*step[j]
		c0 += float64(lo[j]) * float64(lo[j])
	}
	q.c0 = float32(c0)
	return q
}

// codeForm writes the query form of a stored code (whose decoded squared
// norm is n2) into buf: what queryForm(decode(code)) gives, up to float32
// rounding, in one pass and one DotU8.
func (q *sq8) codeForm(code []uint8, n2 float32, buf []float32) []float32 {
	d := len(q.lo)
	if cap(buf) < d+2 {
		buf = make([]float32, d+2)
	}
	buf = buf[:d+2]
	a, b := q.a[:d], q.b[:d]
	for j, u := range code[:d] {
		buf[j] = a[j] + b[j]*float32(u)
	}
	buf[d], buf[d+1] = q.c0+kernels.DotU8(a, code), n2
	return buf
}

// trainSQ8 learns per-dimension min/max ranges from the vectors each
// calls emit with. A dimension with no spread gets a tiny step so that
// its one value decodes exactly.
func trainSQ8(dim int, each func(emit func(v []float32))) *sq8 {
	lo := make([]float32, dim)
	hi := make([]float32, dim)
	for j := range lo {
		lo[j], hi[j] = float32(math.Inf(1)), float32(math.Inf(-1))
	}
	each(func(v []float32) {
		for j, x := range v {
			lo[j] = min(lo[j], x)
			hi[j] = max(hi[j], x)
		}
	})
	step := make([]float32, dim)
	for j := range lo {
		if lo[j] > hi[j] { // no vectors
			lo[j], hi[j] = 0, 0
		}
		step[j] = (hi[j] - lo[j]) / 255
		if step[j] == 0 {
			step[j] = 1
		}
	}
	return newSQ8(lo, step)
}

// encode writes v's code into dst and returns ‖x̂‖², the decoded vector's
// squared norm.
func (q *sq8) encode(dst []uint8, v []float32) float32 {
	var n2 float64
	for j, x := range v {
		u := math.Round(float64((x - q.lo[j]) / q.step[j]))
		u = min(max(u, 0), 255)
		dst[j] = uint8(u)
		d := float64(q.lo[j]) + float64(q.step[j])*u
		n2 += d * d
	}
	return float32(n2)
}

// decode writes the decoded vector x̂ of a code into dst.
func (q *sq8) decode(dst []float32, code []uint8) {
	for j, u := range code {
		dst[j] = q.lo[j] + q.step[j]*float32(u)
	}
}

// queryForm writes v's query form (dim scaled components, c0, ‖v‖²) into
// buf, growing it when needed.
func (q *sq8) queryForm(v []float32, buf []float32) []float32 {
	d := len(q.lo)
	if cap(buf) < d+2 {
		buf = make([]float32, d+2)
	}
	buf = buf[:d+2]
	var c0, n2 float64
	for j, x := range v {
		buf[j] = x * q.step[j]
		c0 += float64(x) * float64(q.lo[j])
		n2 += float64(x) * float64(x)
	}
	buf[d], buf[d+1] = float32(c0), float32(n2)
	return buf
}

// distSQ8 is the distance from a query form qf to a code with decoded
// squared norm n2.
func distSQ8(m kernels.Metric, qf []float32, code []uint8, n2 float32) float32 {
	d := len(qf) - 2
	ip := qf[d] + kernels.DotU8(qf[:d], code)
	switch m {
	case kernels.MetricCosine:
		return 1 - ip
	case kernels.MetricDot:
		return -ip
	default:
		return max(qf[d+1]+n2-2*ip, 0)
	}
}

// VectorSource gives the full-precision vector stored under an external
// id, for re-scoring when the index keeps only codes (OriginalsStore). It
// returns the vector as it was added (the index normalises it again for
// cosine), using buf when it has room. It must be safe for concurrent use.
type VectorSource func(id uint64, buf []float32) ([]float32, error)

// Originals says where a quantised index finds full-precision vectors.
type Originals uint8

const (
	// OriginalsMemory keeps a float16 copy of every vector in the index.
	OriginalsMemory Originals = iota + 1
	// OriginalsStore reads them through the owner's VectorSource.
	OriginalsStore
)

func (o Originals) String() string {
	switch o {
	case OriginalsMemory:
		return "memory"
	case OriginalsStore:
		return "store"
	}
	return fmt.Sprintf("Originals(%d)", uint8(o))
}

// ParseOriginals accepts "memory" (or "") and "store".
func ParseOriginals(s string) (Originals, error) {
	switch s {
	case "memory", "":
		return OriginalsMemory, nil
	case "store":
		return OriginalsStore, nil
	}
	return 0, fmt.Errorf("%w: unknown originals %q (want memory or store)", ErrBadConfig, s)
}

// ErrNoSource: a quantised index that re-scores from the store has no
// VectorSource set.
var ErrNoSource = errors.New("index: no vector source set for re-scoring")

// SetVectorSource sets the function that reads full-precision vectors for
// re-scoring (OriginalsStore). Safe to call at any time.
func (h *HNSW) SetVectorSource(src VectorSource) { h.src.Store(&src) }

// Quantised reports whether searches rank by codes and re-score (a trained
// int8 or rabitq index).
func (h *HNSW) Quantised() bool { return h.trained.Load() }

// maybeTrain trains the quantiser when an int8 or rabitq index has reached
// its training size. The caller holds no lock.
func (h *HNSW) maybeTrain() {
	if !h.cfg.Storage.Quantised() || h.trained.Load() || h.Len() < h.cfg.TrainSize {
		return
	}
	h.train()
}

// train learns the quantiser from every vector the index holds and
// encodes them. Like grow, it publishes a new segment table (the old
// headers plus codes; without their float16 vectors when those are not
// kept), so a snapshot streaming the old table is undisturbed; it holds
// growMu and mu exclusively.
func (h *HNSW) train() {
	h.growMu.Lock()
	defer h.growMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mode.quantised() {
		return
	}
	n := h.next.Load()
	d := h.cfg.Dim
	buf := make([]float32, d)
	held := func(i uint32) bool { return *h.statePtr(i) != stateFree }
	each := func(emit func([]float32)) {
		for i := uint32(0); i < n; i++ {
			if held(i) {
				emit(h.load(i, &buf))
			}
		}
	}
	mode := modeSQ8
	var sq *sq8
	var rq *rbq
	if h.cfg.Storage == StorageRaBitQ {
		mode, rq = modeRBQ, trainRBQ(d, h.cfg.Seed, h.cfg.Metric, each)
	} else {
		sq = trainSQ8(d, each)
	}
	table := slices.Clone(h.segs)
	per := 1 << h.segShift
	var tmp []float32
	if rq != nil {
		tmp = make([]float32, rq.pdim)
	}
	for k := range table {
		sg := &table[k]
		if sq != nil {
			sg.codes, sg.norms = make([]uint8, per*d), make([]float32, per)
		} else {
			sg.bits, sg.fac = make([]uint64, per*rq.words), make([]float32, rbqFac*per)
		}
		for o := 0; o < per; o++ {
			i := uint32(k<<h.segShift + o)
			if i >= n || !held(i) {
				continue
			}
			kernels.DecodeF16(buf, sg.vecs16[o*d:o*d+d])
			if sq != nil {
				sg.norms[o] = sq.encode(sg.codes[o*d:o*d+d], buf)
			} else {
				rq.encode(sg.bits[o*rq.words:(o+1)*rq.words], sg.fac[rbqFac*o:rbqFac*o+rbqFac], buf, tmp)
			}
		}
		if !h.keepOriginals {
			sg.vecs16 = nil
		}
	}
	h.segs, h.sq, h.rbq, h.mode = table, sq, rq, mode
	h.trained.Store(true)
}

// rescoreCount is how many graph candidates a quantised search re-scores
// for k results.
func (h *HNSW) rescoreCount(k int) int {
	return min(max(k, int(h.rescoreN.Load())*k), MaxK)
}

// rescore re-ranks cands (slots with their code distances) by exact
// distances against the full-precision vectors and returns the k best,
// closest first, and how many exact distances it computed. q is the
// prepared query, qf its query form. int8 re-scores every candidate;
// rabitq visits them by lower bound and stops once a lower bound reaches
// the k-th exact distance (rabitq.go). The caller holds mu shared.
func (h *HNSW) rescore(q, qf []float32, cands []item, k int, s *searchScratch) ([]item, int, error) {
	d := h.cfg.Dim
	var src VectorSource
	if !h.keepOriginals {
		p := h.src.Load()
		if p == nil || *p == nil {
			return nil, 0, ErrNoSource
		}
		src = *p
	}
	exact := func(c *item) error {
		if src == nil {
			sg, o := h.slot(c.id)
			c.dist = h.distF16(q, sg.vecs16[o*d:o*d+d])
			return nil
		}
		v, err := src(h.extID(c.id), s.ex)
		if err != nil {
			return fmt.Errorf("index: re-scoring id %d: %w", h.extID(c.id), err)
		}
		s.ex = v
		pv, err := h.rules().prepare(v, s.ex2, false)
		if err != nil {
			return fmt.Errorf("index: re-scoring id %d: stored vector: %w", h.extID(c.id), err)
		}
		s.ex2 = pv
		c.dist = h.dist(q, pv)
		return nil
	}
	byDist := func(a, b item) int {
		if c := cmp.Compare(a.dist, b.dist); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	}
	if h.mode != modeRBQ {
		for i := range cands {
			if err := exact(&cands[i]); err != nil {
				return nil, 0, err
			}
		}
		slices.SortFunc(cands, byDist)
		return cands[:min(k, len(cands))], len(cands), nil
	}
	for i := range cands {
		sg, o := h.slot(cands[i].id)
		cands[i].dist = h.rbq.lowerBound(qf, sg.fac[rbqFac*o:rbqFac*o+rbqFac], cands[i].dist)
	}
	slices.SortFunc(cands, byDist)
	best := s.best[:0]
	n := 0
	for _, c := range cands {
		if len(best) == k && c.dist >= best[k-1].dist {
			break // every later lower bound is at least this one
		}
		if err := exact(&c); err != nil {
			return nil, n, err
		}
		n++
		at, _ := slices.BinarySearchFunc(best, c, byDist)
		if at < k {
			best = slices.Insert(best, at, c)
			best = best[:min(len(best), k)]
		}
	}
	s.best = best
	return best, n, nil
}
