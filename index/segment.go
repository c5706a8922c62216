package index

import (
	"math/bits"
	"sync/atomic"
)

// segment holds the storage of 1<<HNSW.segShift consecutive slots: slot i
// is at offset o = i&segMask of segment i>>segShift, its vector at o*Dim
// of vecs (or vecs16) and its layer-0 list at o*(2M+1) of l0. A vector is
// contiguous within its segment, so a distance reads one run of memory as
// it did from a single slab.
//
// Every per-node array is segmented, not only the large ones: ext, levels,
// state and the upper pointers are ~21 bytes a node (2.1 MB at 100k nodes,
// 21 MB at 1M), far more than the few MB a grow may copy under mu, and a
// copy of them would have to be made under mu, since inserts, deletes and
// compaction write them. Segmented, they cost each access the same one
// extra load as the vectors.
type segment struct {
	vecs   []float32 // float32 storage: segNodes*Dim
	vecs16 []uint16  // float16 storage (and int8 originals): segNodes*Dim
	codes  []uint8   // trained int8: segNodes*Dim
	norms  []float32 // trained int8: squared norm of each decoded code
	bits   []uint64  // trained rabitq: segNodes*words
	fac    []float32 // trained rabitq: segNodes*rbqFac (F, ‖r‖, g, error factor)
	l0     []uint32  // segNodes*(2M+1): count then ids
	ext    []uint64  // internal → external id
	levels []uint8   // top layer
	state  []uint32  // stateLive/Deleted/Free, atomic; stored under idMu
	upper  []*uint32 // per node: the first of level*(M+1) for layers 1..level (nil at level 0)
}

// Segment sizing. A segment is the largest power of two of slots whose
// storage fits in segTargetBytes, and at most 1<<maxSegShift slots:
//
//   - at 512 float32 dimensions and M = 16 a slot is ~2.2 KB, so 1024
//     slots (2.2 MB) a segment: a 1M-node index has 977 segments, and a
//     grow copies 977 segment headers (264 B each, 258 KB; 26 KB at 100k)
//     holding growMu, and under mu stores one slice header;
//   - the cap keeps an empty small-dimension index from reserving megabytes
//     (at 8 dimensions a 4096-slot segment is 0.8 MB) and is still only 245
//     segments at 1M nodes;
//   - segments are allocated and zeroed outside every lock, so their size
//     costs searches nothing; it bounds the memory a growth commits ahead.
//
// The shift is fixed per index (the snapshot format does not depend on it).
const (
	segTargetBytes = 4 << 20
	maxSegShift    = 12
)

// testSegShift, when positive, overrides the segment shift of indexes made
// afterwards (tests use tiny segments to cross many growths).
var testSegShift atomic.Int32

// testHookGrow, when set, is called by grow after it has allocated the new
// segments and before it takes mu to publish them, holding growMu only.
var testHookGrow atomic.Pointer[func(*HNSW)]

// segShiftFor picks the segment shift for a configuration (see above).
func segShiftFor(c Config, maxL0 int) uint {
	if s := testSegShift.Load(); s > 0 {
		return uint(s)
	}
	elem := map[Storage]int{StorageFloat32: 4, StorageFloat16: 2, StorageInt8: 3, StorageRaBitQ: 2}[c.Storage]
	per := c.Dim*elem + 4*(maxL0+1) + 8 + 1 + 4 + 8
	nodes := max(segTargetBytes/per, 1)
	return uint(min(bits.Len(uint(nodes))-1, maxSegShift))
}

// capacity in node slots; callers hold mu (or growMu).
func (h *HNSW) capacity() int { return len(h.segs) << h.segShift }

// newSegment allocates the zeroed storage of one segment.
func (h *HNSW) newSegment() segment {
	n := 1 << h.segShift
	sg := segment{
		l0:     make([]uint32, n*(h.maxL0+1)),
		ext:    make([]uint64, n),
		levels: make([]uint8, n),
		state:  make([]uint32, n),
		upper:  make([]*uint32, n),
	}
	d := h.cfg.Dim
	switch h.mode {
	case modeF16:
		sg.vecs16 = make([]uint16, n*d)
	case modeSQ8, modeRBQ:
		if h.mode == modeSQ8 {
			sg.codes, sg.norms = make([]uint8, n*d), make([]float32, n)
		} else {
			sg.bits, sg.fac = make([]uint64, n*h.rbq.words), make([]float32, rbqFac*n)
		}
		if h.keepOriginals {
			sg.vecs16 = make([]uint16, n*d)
		}
	default:
		sg.vecs = make([]float32, n*d)
	}
	return sg
}

// grow makes room for at least want slots. It allocates whole segments
// (enough for want, and at least 1/8 more than the present capacity so
// that the exclusive sections stay few) holding growMu only, then takes mu
// exclusively just to publish a new segment table: a copy of the segment
// headers, never of node data. Segments already in use are not touched,
// so searches and inserts run on while the new ones are allocated.
func (h *HNSW) grow(want int) {
	h.growMu.Lock()
	defer h.growMu.Unlock()
	if want <= h.capacity() {
		return
	}
	have := len(h.segs)
	maxSegs := (1 << 32) >> h.segShift // slot ids are uint32
	n := max((want+(1<<h.segShift)-1)>>h.segShift, have+(have+7)/8)
	n = min(n, maxSegs)
	table := make([]segment, n)
	copy(table, h.segs)
	for i := have; i < n; i++ {
		table[i] = h.newSegment()
	}
	if hook := testHookGrow.Load(); hook != nil {
		(*hook)(h)
	}
	h.mu.Lock()
	h.segs = table
	h.mu.Unlock()
}
