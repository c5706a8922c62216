package index

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"

	"rosetta/kernels"
)

// Config describes an HNSW index. Zero fields take the defaults of
// DefaultConfig when passed to NewHNSW.
type Config struct {
	// Dim is the vector dimension (required, 1..65536).
	Dim int
	// Metric is the comparison (default cosine).
	Metric kernels.Metric
	// M is the number of links per node on upper layers; layer 0 keeps 2M.
	M int
	// EfConstruction is the candidate list size while inserting.
	EfConstruction int
	// EfSearch is the default per-query ef when a query gives none.
	EfSearch int
	// Seed makes level assignment reproducible.
	Seed uint64
	// ExactScanMax: a filtered query whose allow-list has at most this many
	// ids is always answered by an exact scan of those ids; above it an
	// adaptive rule (see preferExact) picks the scan or a filtered graph
	// traversal by their estimated cost. See index/doc.go.
	ExactScanMax int
	// Storage is how the graph keeps vectors: float32 (default, exact),
	// float16 (half the memory and memory traffic; distances carry the
	// rounding of the stored side, relative error <= 2^-11 per component),
	// int8 (one byte a dimension, scalar-quantised, with exact
	// re-scoring; see sq8.go) or rabitq (one bit a dimension, RaBitQ, with
	// exact re-scoring; see rabitq.go).
	Storage Storage
	// Rescore (int8, rabitq): a search re-scores the Rescore·k best
	// candidates by the code distance against full-precision vectors (ef
	// is raised to at least that). 0 is the storage's default, chosen by
	// measurement (bench/RESULTS.md §15): 2 for int8, 40 for rabitq
	// (whose re-scoring stops at the estimator's bound, so most of the
	// 40·k candidates cost no exact distance).
	Rescore int
	// TrainSize (int8, rabitq): the quantiser is learned when this many
	// vectors are live (default 4096); until then vectors are kept as
	// float16.
	TrainSize int
	// Originals (int8, rabitq): where full-precision vectors for re-scoring live,
	// in the index as float16 (default) or in the owner's store, read
	// through SetVectorSource.
	Originals Originals
	// Capacity reserves node slots up front (whole storage segments), so
	// that a bulk build of a known size keeps no growth slack and takes no
	// exclusive lock to grow. It is a hint, not a limit; it is not
	// persisted.
	Capacity int
	// CompactRatio: when tombstones exceed this fraction of the node slots,
	// Delete starts a background compaction. 0 means the default; a
	// negative value disables automatic compaction (Compact still works).
	CompactRatio float64
}

// DefaultConfig returns the defaults for a dimension: cosine, M=16,
// efConstruction=200, efSearch=64.
func DefaultConfig(dim int) Config {
	return Config{
		Dim:            dim,
		Metric:         kernels.MetricCosine,
		M:              16,
		EfConstruction: 200,
		EfSearch:       64,
		Seed:           42,
		ExactScanMax:   defaultExactScanMax,
		CompactRatio:   0.2,
		TrainSize:      defaultTrainSize,
		Originals:      OriginalsMemory,
	}
}

// Quantisation defaults (see Config).
const (
	defaultTrainSize = 4096
	maxRescore       = 1000
)

// defaultRescore is the measured re-scoring factor of a storage.
func defaultRescore(s Storage) int {
	if s == StorageRaBitQ {
		return 40
	}
	return 2
}

// defaultExactScanMax is the allow-list size at or below which an exact
// scan is used whatever the index size (measured; see doc.go).
const defaultExactScanMax = 1000

const maxDim = 65536

// ensureDefaults fills zero fields and validates, reporting every problem.
func (c *Config) ensureDefaults() error {
	d := DefaultConfig(c.Dim)
	if c.Metric == 0 {
		c.Metric = d.Metric
	}
	if c.Storage == 0 {
		c.Storage = StorageFloat32
	}
	if c.M == 0 {
		c.M = d.M
	}
	if c.EfConstruction == 0 {
		c.EfConstruction = d.EfConstruction
	}
	if c.EfSearch == 0 {
		c.EfSearch = d.EfSearch
	}
	if c.ExactScanMax == 0 {
		c.ExactScanMax = d.ExactScanMax
	}
	if c.CompactRatio == 0 {
		c.CompactRatio = d.CompactRatio
	}
	if c.Rescore == 0 {
		c.Rescore = defaultRescore(c.Storage)
	}
	if c.TrainSize == 0 {
		c.TrainSize = d.TrainSize
	}
	if c.Originals == 0 {
		c.Originals = d.Originals
	}
	var errs []error
	if c.Dim < 1 || c.Dim > maxDim {
		errs = append(errs, fmt.Errorf("dim %d not in 1..%d", c.Dim, maxDim))
	}
	if !c.Metric.Valid() {
		errs = append(errs, fmt.Errorf("metric %d unknown", c.Metric))
	}
	if c.M < 2 || c.M > 256 {
		errs = append(errs, fmt.Errorf("m %d not in 2..256", c.M))
	}
	if c.EfConstruction < 1 || c.EfConstruction > MaxK {
		errs = append(errs, fmt.Errorf("efConstruction %d not in 1..%d", c.EfConstruction, MaxK))
	}
	if c.EfSearch < 1 || c.EfSearch > MaxK {
		errs = append(errs, fmt.Errorf("efSearch %d not in 1..%d", c.EfSearch, MaxK))
	}
	if c.Storage < StorageFloat32 || c.Storage > StorageRaBitQ {
		errs = append(errs, fmt.Errorf("storage %d unknown", c.Storage))
	}
	if c.Rescore < 1 || c.Rescore > maxRescore {
		errs = append(errs, fmt.Errorf("rescore %d not in 1..%d", c.Rescore, maxRescore))
	}
	if c.TrainSize < 1 || c.TrainSize > 1<<24 {
		errs = append(errs, fmt.Errorf("trainSize %d not in 1..%d", c.TrainSize, 1<<24))
	}
	if c.Originals != OriginalsMemory && c.Originals != OriginalsStore {
		errs = append(errs, fmt.Errorf("originals %d unknown", c.Originals))
	}
	if c.Capacity < 0 {
		errs = append(errs, fmt.Errorf("capacity %d negative", c.Capacity))
	}
	if c.ExactScanMax < 0 {
		errs = append(errs, fmt.Errorf("exactScanMax %d negative", c.ExactScanMax))
	}
	if c.CompactRatio > 1 || math.IsNaN(c.CompactRatio) {
		errs = append(errs, fmt.Errorf("compactRatio %v > 1", c.CompactRatio))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrBadConfig, errors.Join(errs...))
	}
	return nil
}

// Node states, kept in HNSW.state for lock-free reads on the search path.
const (
	stateLive    uint32 = 0
	stateDeleted uint32 = 1 // tombstoned: routes searches, never returned
	stateFree    uint32 = 2 // unlinked by compaction, slot reusable
)

const noNode = math.MaxUint32

// maxLevel caps the layer count; with M >= 2 a level above 30 has
// probability < 2^-30 per node.
const maxLevelCap = 30

// lockStripes is the number of striped node locks guarding neighbour lists
// against concurrent writers.
const lockStripes = 1024

// HNSW is a hierarchical navigable small world graph (Malkov & Yashunin,
// 2018) over float32 vectors. See doc.go for the layout and locking.
type HNSW struct {
	cfg     Config
	dist    kernels.DistanceFunc
	distF16 kernels.DistanceF16Func
	half    bool // stored vectors must fit float16 (every storage but float32)
	// mode is how distQ, load and store reach a node's vector. It changes
	// once, when an int8 or rabitq index trains (from modeF16 to modeSQ8
	// or modeRBQ), under growMu and mu exclusively; everyone else reads it
	// under mu.
	mode vecMode
	// sq and rbq are the trained quantiser (modeSQ8, modeRBQ), set with
	// mode.
	sq  *sq8
	rbq *rbq
	// keepOriginals: a quantised index keeps float16 vectors for
	// re-scoring (OriginalsMemory).
	keepOriginals bool
	// trained mirrors mode.quantised() for lock-free readers.
	trained atomic.Bool
	// src reads full-precision vectors for re-scoring (OriginalsStore).
	src    atomic.Pointer[VectorSource]
	maxL0  int     // 2M
	maxUp  int     // M
	levelM float64 // 1/ln(M)

	// mu guards the segment table (segs): searches, inserts and deletes
	// hold it shared, for one operation at a time; grow swaps in a longer
	// table under it exclusively (copying segment headers only, never node
	// data), and compaction takes it exclusively only for its short final
	// phase. The table is not replaced while mu is held shared. Nothing
	// long-running holds it shared either: RWMutex prefers a waiting
	// writer, so one long reader would stall every search behind a grow.
	mu sync.RWMutex

	// Node storage in fixed-size segments of 1<<segShift slots (see
	// segment and segShiftFor): slot i lives in segs[i>>segShift] at offset
	// i&segMask. Growing appends segments and never moves one, so a
	// segment, once allocated, stays put until ReadFrom replaces the whole
	// table. segs itself (the table of segment headers) is replaced by grow
	// under mu exclusively; everyone else reads it under mu (shared).
	// A slot's vector, ext, level and upper slice are written before it is
	// published (state live, under idMu) and do not change until
	// compaction frees it (under mu exclusively).
	segs     []segment
	segShift uint   // log2 of slots per segment, fixed at NewHNSW
	segMask  uint32 // 1<<segShift - 1

	// growMu serialises growers (grow, ReadFrom's adoption): it is held
	// while new segments are allocated, outside mu, so that two Adds that
	// find the index full do not both allocate. Lock order: growMu, mu.
	growMu sync.Mutex

	// links guards writes to a node's neighbour lists (stripe id%lockStripes).
	// Readers load list entries atomically and take no lock. No goroutine
	// holds two stripes at once.
	links [lockStripes]sync.Mutex

	// idMu serialises writers of the id map, the slot sets and bitmaps, the
	// allocation cursor and the level RNG. Readers on the search path take
	// no lock: ids, next, liveN and state are read atomically.
	idMu       sync.Mutex
	ids        idTable         // external → internal, live nodes only
	next       atomic.Uint32   // next never-used slot (stored under idMu)
	liveN      atomic.Int64    // live (published, not deleted) nodes
	live       *roaring.Bitmap // slots of live nodes (idMu)
	free       *roaring.Bitmap // slots unlinked by compaction (idMu)
	tombstones *roaring.Bitmap // deleted but still linked (idMu)
	rng        *rand.Rand

	// epMu serialises writers of the entry point. An insert that raises
	// the top level holds it for its whole insertion (as hnswlib does).
	// Readers load ep atomically: entry in the low 32 bits, topLevel+1 in
	// the high ones (so the empty graph, noNode and -1, is noEntry).
	epMu sync.Mutex
	ep   atomic.Uint64

	// dead counts tombstoned slots, so searches can skip the liveness check
	// when there are none (the common case).
	dead atomic.Int64

	// exactScanMax mirrors cfg.ExactScanMax so that an operator (or the
	// benchmark that measures the switch point) can tune it at run time.
	exactScanMax atomic.Int64
	// rescore mirrors cfg.Rescore, tunable at run time (SetRescore).
	rescoreN atomic.Int64

	// compactMu serialises compactions and snapshots (WriteTo): while it
	// is held no slot is freed, so a published slot's contents stay put.
	// bg tracks a background compaction.
	compactMu sync.Mutex
	bg        sync.WaitGroup
}

var _ Index = (*HNSW)(nil)

// NewHNSW returns an empty index. cfg is copied; zero fields take defaults.
func NewHNSW(cfg Config) (*HNSW, error) {
	if err := cfg.ensureDefaults(); err != nil {
		return nil, err
	}
	h := &HNSW{
		cfg:           cfg,
		dist:          cfg.Metric.Distance(),
		distF16:       cfg.Metric.DistanceF16(),
		half:          cfg.Storage != StorageFloat32,
		mode:          modeFor(cfg.Storage),
		keepOriginals: cfg.Storage.Quantised() && cfg.Originals == OriginalsMemory,
		maxL0:         2 * cfg.M,
		maxUp:         cfg.M,
		levelM:        1 / math.Log(float64(cfg.M)),
		live:          roaring.New(),
		free:          roaring.New(),
		tombstones:    roaring.New(),
		rng:           rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}
	h.segShift = segShiftFor(cfg, h.maxL0)
	h.segMask = 1<<h.segShift - 1
	h.ep.Store(noEntry)
	h.exactScanMax.Store(int64(cfg.ExactScanMax))
	h.rescoreN.Store(int64(cfg.Rescore))
	if cfg.Capacity > 0 {
		h.grow(cfg.Capacity)
	}
	return h, nil
}

// Config returns the configuration in use (defaults filled).
func (h *HNSW) Config() Config {
	c := h.cfg
	c.ExactScanMax = int(h.exactScanMax.Load())
	c.Rescore = int(h.rescoreN.Load())
	return c
}

// SetRescore changes how many candidates per result a quantised search
// re-scores (Config.Rescore), clamped to 1..1000; safe at any time (the
// benchmark sweeps it on one index).
func (h *HNSW) SetRescore(n int) { h.rescoreN.Store(int64(min(max(n, 1), maxRescore))) }

// SetExactScanMax changes the allow-list size at or below which filtered
// queries are answered by an exact scan. It is an index-wide tuning knob,
// safe to call at any time; n <= 0 always uses the graph (the benchmark
// uses this to measure both paths).
func (h *HNSW) SetExactScanMax(n int) { h.exactScanMax.Store(int64(max(n, 0))) }

// Dim implements Index.
func (h *HNSW) Dim() int { return h.cfg.Dim }

// Metric implements Index.
func (h *HNSW) Metric() kernels.Metric { return h.cfg.Metric }

// Len implements Index: the number of live vectors. It takes no lock.
func (h *HNSW) Len() int { return int(h.liveN.Load()) }

// Contains implements Index. It takes no lock.
func (h *HNSW) Contains(id uint64) bool {
	_, ok := h.ids.get(id)
	return ok
}

// Tombstones returns a copy of the internal ids that are deleted but still
// linked into the graph (waiting for compaction).
func (h *HNSW) Tombstones() *roaring.Bitmap {
	h.idMu.Lock()
	defer h.idMu.Unlock()
	return h.tombstones.Clone()
}

// Slots is the number of node slots in use (live, tombstoned and free).
func (h *HNSW) Slots() int { return int(h.next.Load()) }

// noEntry is ep for the empty graph.
const noEntry = uint64(noNode)

// entryPoint returns the entry node and the top level (noNode, -1 when the
// graph is empty). It takes no lock.
func (h *HNSW) entryPoint() (uint32, int) {
	v := h.ep.Load()
	return uint32(v), int(v>>32) - 1
}

// setEntry publishes the entry point; the caller holds epMu (or mu
// exclusively).
func (h *HNSW) setEntry(e uint32, top int) {
	h.ep.Store(uint64(e) | uint64(top+1)<<32)
}

// slot returns the segment holding slot i and i's offset in it. The
// caller holds mu (shared or exclusive) or growMu.
func (h *HNSW) slot(i uint32) (*segment, int) {
	return &h.segs[i>>(h.segShift&31)], int(i & h.segMask)
}

// vecMode is how a node's vector is kept in its segment.
type vecMode uint8

const (
	modeF32 vecMode = iota // vecs, float32
	modeF16                // vecs16, binary16 (float16, and int8 before training)
	modeSQ8                // codes and norms, scalar-quantised (trained int8)
	modeRBQ                // bits and factors, RaBitQ (trained rabitq)
)

// quantised reports whether a mode ranks by codes and re-scores.
func (m vecMode) quantised() bool { return m >= modeSQ8 }

func modeFor(s Storage) vecMode {
	if s == StorageFloat32 {
		return modeF32
	}
	return modeF16
}

// distQ is the distance from a vector in query form q (see queryForm) to
// node i.
func (h *HNSW) distQ(q []float32, i uint32) float32 {
	d := h.cfg.Dim
	sg := &h.segs[i>>(h.segShift&31)]
	oi := int(i & h.segMask)
	o := oi * d
	switch h.mode {
	case modeF16:
		return h.distF16(q, sg.vecs16[o:o+d])
	case modeSQ8:
		return distSQ8(h.cfg.Metric, q, sg.codes[o:o+d], sg.norms[oi])
	case modeRBQ:
		w := h.rbq.words
		return h.rbq.dist(q, sg.bits[oi*w:oi*w+w], sg.fac[rbqFac*oi:rbqFac*oi+rbqFac])
	}
	return h.dist(q, sg.vecs[o:o+d])
}

// queryForm returns the form of a prepared vector that distQ takes: the
// vector itself, or for a trained index the quantiser's form (int8: scaled
// components and two constants; rabitq: the rotated query's 4-bit planes
// and constants), written into *buf. The caller holds mu.
func (h *HNSW) queryForm(v []float32, buf *[]float32) []float32 {
	switch h.mode {
	case modeSQ8:
		*buf = h.sq.queryForm(v, *buf)
	case modeRBQ:
		*buf = h.rbq.queryForm(v, *buf)
	default:
		return v
	}
	return *buf
}

// load returns node i's vector in query form: an alias of its segment
// (float32 storage, read-only) or a decoding into *buf (float16; for int8
// the decoded code's query form; for rabitq the code itself, which distQ
// compares by Hamming distance), growing *buf when needed. The result
// must not be written or kept.
func (h *HNSW) load(i uint32, buf *[]float32) []float32 {
	d := h.cfg.Dim
	sg := &h.segs[i>>(h.segShift&31)]
	o := int(i&h.segMask) * d
	switch h.mode {
	case modeF16:
		if cap(*buf) < d {
			*buf = make([]float32, d)
		}
		b := (*buf)[:d]
		kernels.DecodeF16(b, sg.vecs16[o:o+d])
		return b
	case modeSQ8:
		*buf = h.sq.codeForm(sg.codes[o:o+d], sg.norms[o/d], *buf)
		return *buf
	case modeRBQ:
		oi, w := o/d, h.rbq.words
		*buf = h.rbq.nodeForm(sg.bits[oi*w:oi*w+w], sg.fac[rbqFac*oi:rbqFac*oi+rbqFac], *buf)
		return *buf
	}
	return sg.vecs[o : o+d]
}

// store writes a prepared vector into node i's slot.
func (h *HNSW) store(i uint32, v []float32) {
	d := h.cfg.Dim
	sg := &h.segs[i>>(h.segShift&31)]
	oi := int(i & h.segMask)
	o := oi * d
	switch h.mode {
	case modeF16:
		kernels.EncodeF16(sg.vecs16[o:o+d], v)
	case modeSQ8, modeRBQ:
		if h.mode == modeSQ8 {
			sg.norms[oi] = h.sq.encode(sg.codes[o:o+d], v)
		} else {
			w := h.rbq.words
			h.rbq.encode(sg.bits[oi*w:oi*w+w], sg.fac[rbqFac*oi:rbqFac*oi+rbqFac], v, make([]float32, h.rbq.pdim))
		}
		if h.keepOriginals {
			kernels.EncodeF16(sg.vecs16[o:o+d], v)
		}
	default:
		copy(sg.vecs[o:o+d], v)
	}
}

// prefetch starts loading the first cache lines of node i's vector.
func (h *HNSW) prefetch(i uint32) {
	d := h.cfg.Dim
	sg := &h.segs[i>>(h.segShift&31)]
	o := int(i&h.segMask) * d
	switch h.mode {
	case modeF16:
		kernels.PrefetchF16(sg.vecs16[o : o+min(d, 32)])
	case modeSQ8:
		kernels.PrefetchU8(sg.codes[o : o+d])
	case modeRBQ:
		oi, w := o/d, h.rbq.words
		kernels.PrefetchU8(unsafe.Slice((*uint8)(unsafe.Pointer(&sg.bits[oi*w])), 8*w))
	default:
		kernels.Prefetch(sg.vecs[o : o+min(d, 16)])
	}
}

// list returns the neighbour list storage of node i at layer l: element 0
// is the count, then the ids. Entries are read with atomic loads and
// written under the node's stripe lock with atomic stores.
func (h *HNSW) list(i uint32, l int) []uint32 {
	sg := &h.segs[i>>(h.segShift&31)]
	o := int(i & h.segMask)
	if l == 0 {
		s := h.maxL0 + 1
		return sg.l0[o*s : o*s+s]
	}
	s := h.maxUp + 1
	return upperLists(sg.upper[o], l, s)[(l-1)*s : l*s]
}

// upperLists views the upper-layer lists of a node from their first
// element, up to layer l (its level at most). A pointer, not a slice
// header, is kept per node: 8 bytes instead of 24, for the nodes of level
// 0 too.
func upperLists(p *uint32, l, s int) []uint32 { return unsafe.Slice(p, l*s) }

// newUpper allocates the upper-layer lists of a node of level l > 0.
func newUpper(l, s int) *uint32 { return &make([]uint32, l*s)[0] }

func (h *HNSW) maxLinks(l int) int {
	if l == 0 {
		return h.maxL0
	}
	return h.maxUp
}

// neighbours copies node i's layer-l neighbour ids into buf.
func (h *HNSW) neighbours(i uint32, l int, buf []uint32) []uint32 {
	ls := h.list(i, l)
	n := int(atomic.LoadUint32(&ls[0]))
	if n > len(ls)-1 {
		n = len(ls) - 1
	}
	buf = buf[:0]
	for j := 1; j <= n; j++ {
		buf = append(buf, atomic.LoadUint32(&ls[j]))
	}
	return buf
}

// setNeighbours overwrites node i's layer-l list. The caller holds the
// node's stripe lock (or mu exclusively).
func (h *HNSW) setNeighbours(i uint32, l int, ids []uint32) {
	ls := h.list(i, l)
	for j, id := range ids {
		atomic.StoreUint32(&ls[j+1], id)
	}
	atomic.StoreUint32(&ls[0], uint32(len(ids)))
}

func (h *HNSW) lockNode(i uint32)   { h.links[i%lockStripes].Lock() }
func (h *HNSW) unlockNode(i uint32) { h.links[i%lockStripes].Unlock() }

// isLive reports whether node i is live, with an atomic load of its state.
func (h *HNSW) isLive(i uint32) bool { return atomic.LoadUint32(h.statePtr(i)) == stateLive }

// statePtr is node i's state word, to be loaded and stored atomically
// (stores under idMu, or mu exclusively).
func (h *HNSW) statePtr(i uint32) *uint32 {
	return &h.segs[i>>(h.segShift&31)].state[i&h.segMask]
}

// extID is node i's external id.
func (h *HNSW) extID(i uint32) uint64 { return h.segs[i>>(h.segShift&31)].ext[i&h.segMask] }

// level is node i's top layer.
func (h *HNSW) level(i uint32) int { return int(h.segs[i>>(h.segShift&31)].levels[i&h.segMask]) }

// randomLevel draws a layer from the exponential distribution with
// normalisation factor 1/ln(M). The caller holds idMu.
func (h *HNSW) randomLevel() int {
	u := h.rng.Float64()
	for u == 0 {
		u = h.rng.Float64()
	}
	l := int(-math.Log(u) * h.levelM)
	return min(l, maxLevelCap)
}

// Close waits for a background compaction to finish. The index stays
// usable; Close exists so that owners can stop cleanly.
func (h *HNSW) Close() error {
	h.bg.Wait()
	return nil
}

// Storage is the element type of the vectors held in the graph.
type Storage uint8

const (
	// StorageFloat32 keeps vectors exactly.
	StorageFloat32 Storage = iota + 1
	// StorageFloat16 keeps IEEE binary16 vectors: half the memory.
	StorageFloat16
	// StorageInt8 keeps scalar-quantised codes (one byte a dimension) and
	// re-scores candidates exactly (sq8.go).
	StorageInt8
	// StorageRaBitQ keeps RaBitQ codes (one bit a dimension and three
	// floats) and re-scores candidates exactly (rabitq.go).
	StorageRaBitQ
)

// Quantised reports whether a storage ranks by codes and re-scores.
func (s Storage) Quantised() bool { return s == StorageInt8 || s == StorageRaBitQ }

// String returns "float32", "float16", "int8" or "rabitq".
func (s Storage) String() string {
	switch s {
	case StorageFloat32:
		return "float32"
	case StorageFloat16:
		return "float16"
	case StorageInt8:
		return "int8"
	case StorageRaBitQ:
		return "rabitq"
	}
	return fmt.Sprintf("Storage(%d)", uint8(s))
}

// ParseStorage accepts "float32"/"f32" and "float16"/"f16"/"half".
func ParseStorage(s string) (Storage, error) {
	switch s {
	case "float32", "f32", "":
		return StorageFloat32, nil
	case "float16", "f16", "fp16", "half":
		return StorageFloat16, nil
	case "int8", "sq8":
		return StorageInt8, nil
	case "rabitq":
		return StorageRaBitQ, nil
	}
	return 0, fmt.Errorf("%w: unknown storage %q (want float32, float16, int8 or rabitq)", ErrBadConfig, s)
}
