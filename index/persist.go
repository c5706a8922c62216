package index

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"

	"rosetta/kernels"
)

// HNSW body (after the common header of codec.go):
//
//	dim u32, metric u8, storage u8, M u32, efConstruction u32, efSearch u32, seed u64,
//	exactScanMax u32, compactRatio f64
//	int8 and rabitq storage only: rescore u32, trainSize u32, originals u8,
//	    trained u8, and when trained the quantiser: int8 lo [dim]f32, step
//	    [dim]f32; rabitq pdim u32, centroid [dim]f32, signs [3*pdim]u8 (0 is
//	    +1, 1 is −1)
//	slots u32, entry u32 (0xFFFFFFFF = empty), topLevel i32 (as u32)
//	ext    [slots]u64
//	state  [slots]u8   live / tombstoned / free
//	levels [slots]u8
//	vecs   [slots*dim]f32, or u16 (binary16) with float16 storage and with
//	       untrained int8 or rabitq; trained int8: codes [slots*dim]u8, norms
//	       [slots]f32; trained rabitq: bits [slots*pdim/64]u64, factors
//	       [slots*4]f32; then with originals in memory [slots*dim]u16
//	layer0 [slots*(2M+1)]u32   count then ids, per node
//	upper  per node with level > 0: level*(M+1) u32
//
// Tombstone and free bitmaps are derived from state on load.

// WriteTo implements Index and io.WriterTo: it streams a snapshot to w
// (through a 64 KiB buffer, checksummed as it goes) without copying the
// index and without blocking searches, inserts or deletes for its
// duration. Guarantees:
//
//   - the bytes written are always a valid index: ReadHNSW accepts them;
//   - the snapshot holds, live and with its vector, every id whose Add
//     completed before WriteTo was called and not deleted since, and none
//     whose Delete completed before WriteTo was called (unless re-added);
//   - an Add or Delete concurrent with WriteTo may or may not be in it.
//     The engine records its change sequence before calling WriteTo and
//     replays later changes on load, which is idempotent.
//
// How: WriteTo holds compactMu for its whole run, so no slot is freed
// (a background compaction is skipped, Compact waits); it takes mu
// shared, idMu and no other lock only long enough to capture the slot
// count, the segment table, the live slots and a clone of the tombstones.
// It then writes each slot from that capture: a captured live or
// tombstoned slot with its vector, level and lists (a published slot's
// vector and level do not change while no compaction runs; lists are read
// with atomic loads and lose every link to a slot outside the capture or of
// a level below the layer); any other slot, free or being inserted, as a
// free slot, streaming the segments in slot order. A grow during the
// stream publishes a longer table; the captured segments are never moved
// and hold everything published before the capture.
func (h *HNSW) WriteTo(w io.Writer) (int64, error) {
	h.compactMu.Lock()
	defer h.compactMu.Unlock()

	// Brief capture. The entry point is read first: it is a published
	// node, which is still live or tombstoned below (no compaction runs),
	// and it has level top.
	entry, top := h.entryPoint()
	h.mu.RLock()
	h.idMu.Lock()
	n := h.next.Load()
	live := h.live.Clone()
	tomb := h.tombstones.Clone()
	h.idMu.Unlock()
	segs, mode, sq, rq := h.segs, h.mode, h.sq, h.rbq
	h.mu.RUnlock()
	shift, mask := h.segShift&31, h.segMask // fixed for the index's life
	at := func(i uint32) (*segment, int) { return &segs[i>>shift], int(i & mask) }
	if entry == noNode {
		// The graph was empty; a node published since is not linked yet
		// (it becomes the entry point when it is), so write none.
		live, tomb = roaring.New(), roaring.New()
	}
	// captured is every slot the file holds as a node.
	captured := newBitset(n)
	for _, b := range []*roaring.Bitmap{live, tomb} {
		for it := b.Iterator(); it.HasNext(); {
			captured.add(it.Next())
		}
	}

	e := newEncoder(w, kindHNSW)
	c := h.Config()
	e.u32(uint32(c.Dim))
	e.u8(uint8(c.Metric))
	e.u8(uint8(c.Storage))
	e.u32(uint32(c.M))
	e.u32(uint32(c.EfConstruction))
	e.u32(uint32(c.EfSearch))
	e.u64(c.Seed)
	e.u32(uint32(c.ExactScanMax))
	e.f64(c.CompactRatio)
	if c.Storage.Quantised() {
		e.u32(uint32(c.Rescore))
		e.u32(uint32(c.TrainSize))
		e.u8(uint8(c.Originals))
		switch mode {
		case modeSQ8:
			e.u8(1)
			e.f32s(sq.lo)
			e.f32s(sq.step)
		case modeRBQ:
			e.u8(1)
			e.u32(uint32(rq.pdim))
			e.f32s(rq.c)
			for _, s := range rq.signs {
				for _, x := range s {
					e.u8(uint8(1-x) / 2)
				}
			}
		default:
			e.u8(0)
		}
	}
	e.u32(n)
	e.u32(entry)
	e.u32(uint32(int32(top)))
	for i := uint32(0); i < n; i++ {
		if captured.has(i) {
			sg, o := at(i)
			e.u64(sg.ext[o])
		} else {
			e.u64(0)
		}
	}
	for i := uint32(0); i < n; i++ {
		switch {
		case live.Contains(i):
			e.u8(uint8(stateLive))
		case captured.has(i):
			e.u8(uint8(stateDeleted))
		default:
			e.u8(uint8(stateFree))
		}
	}
	level := func(i uint32) int {
		if captured.has(i) {
			sg, o := at(i)
			return int(sg.levels[o])
		}
		return 0
	}
	for i := uint32(0); i < n; i++ {
		e.u8(uint8(level(i)))
	}
	d := c.Dim
	for i := uint32(0); i < n; i++ {
		if hook := testHookSnapshot.Load(); hook != nil {
			(*hook)(i)
		}
		sg, o := at(i)
		o *= d
		switch {
		case !captured.has(i):
			e.zeros(vecBytes(mode, d, rq))
		case mode == modeF16:
			e.u16s(sg.vecs16[o : o+d])
		case mode == modeSQ8:
			e.u8s(sg.codes[o : o+d])
		case mode == modeRBQ:
			oi := o / d
			e.u64s(sg.bits[oi*rq.words : (oi+1)*rq.words])
		default:
			e.f32s(sg.vecs[o : o+d])
		}
	}
	if mode.quantised() {
		per := 1 // factors per slot
		if mode == modeRBQ {
			per = rbqFac
		}
		for i := uint32(0); i < n; i++ {
			sg, o := at(i)
			switch {
			case !captured.has(i):
				e.zeros(4 * per)
			case mode == modeSQ8:
				e.f32s(sg.norms[o : o+1])
			default:
				e.f32s(sg.fac[rbqFac*o : rbqFac*o+rbqFac])
			}
		}
		if h.keepOriginals {
			for i := uint32(0); i < n; i++ {
				sg, o := at(i)
				if captured.has(i) {
					e.u16s(sg.vecs16[o*d : o*d+d])
				} else {
					e.zeros(2 * d)
				}
			}
		}
	}
	var buf []uint32
	writeList := func(ls []uint32, l int) {
		cnt := min(int(atomic.LoadUint32(&ls[0])), len(ls)-1)
		buf = buf[:0]
		for j := 1; j <= cnt; j++ {
			t := atomic.LoadUint32(&ls[j])
			if t < n && captured.has(t) && level(t) >= l {
				buf = append(buf, t)
			}
		}
		e.u32(uint32(len(buf)))
		e.u32s(buf)
		e.zeros(4 * (len(ls) - 1 - len(buf)))
	}
	s0 := h.maxL0 + 1
	for i := uint32(0); i < n; i++ {
		if !captured.has(i) {
			e.zeros(4 * s0)
			continue
		}
		sg, o := at(i)
		writeList(sg.l0[o*s0:o*s0+s0], 0)
	}
	su := h.maxUp + 1
	for i := uint32(0); i < n; i++ {
		if !captured.has(i) {
			continue
		}
		sg, o := at(i)
		for l := 1; l <= level(i); l++ {
			writeList(upperLists(sg.upper[o], l, su)[(l-1)*su:l*su], l)
		}
	}
	return e.finish()
}

// vecBytes is the bytes per slot in the vecs section.
func vecBytes(m vecMode, dim int, rq *rbq) int {
	switch m {
	case modeF16:
		return 2 * dim
	case modeSQ8:
		return dim
	case modeRBQ:
		return 8 * rq.words
	}
	return 4 * dim
}

// testHookSnapshot, when set, is called by WriteTo before it writes slot
// i's vector, holding compactMu and no other lock.
var testHookSnapshot atomic.Pointer[func(i uint32)]

// ReadHNSW reads an index written by (*HNSW).WriteTo. A corrupt,
// truncated or foreign file returns an error wrapping ErrCorrupt,
// ErrVersion or ErrKind; it never panics.
func ReadHNSW(r io.Reader) (*HNSW, error) {
	h := new(HNSW)
	if _, err := h.ReadFrom(r); err != nil {
		return nil, err
	}
	return h, nil
}

// ReadFrom implements io.ReaderFrom: it replaces h's whole content with the
// index in r. h must not be in use by other goroutines while it loads (use
// ReadHNSW for a fresh index).
func (h *HNSW) ReadFrom(r io.Reader) (int64, error) {
	data, n, err := readAll(r)
	if err != nil {
		return n, err
	}
	d, err := openFile(data, kindHNSW)
	if err != nil {
		return n, err
	}
	var c Config
	c.Dim = int(d.u32())
	c.Metric = kernels.Metric(d.u8())
	c.Storage = Storage(d.u8())
	c.M = int(d.u32())
	c.EfConstruction = int(d.u32())
	c.EfSearch = int(d.u32())
	c.Seed = d.u64()
	c.ExactScanMax = int(d.u32())
	c.CompactRatio = d.f64()
	var sq *sq8
	var rq *rbq
	if c.Storage.Quantised() {
		c.Rescore = int(d.u32())
		c.TrainSize = int(d.u32())
		c.Originals = Originals(d.u8())
		switch d.u8() {
		case 0:
		case 1:
			if c.Dim < 1 || c.Dim > maxDim || !c.Metric.Valid() {
				return n, fmt.Errorf("%w: dim %d metric %d", ErrCorrupt, c.Dim, c.Metric)
			}
			if c.Storage == StorageRaBitQ {
				rq = readRBQ(d, c)
				break
			}
			lo, step := make([]float32, c.Dim), make([]float32, c.Dim)
			d.f32s(lo)
			d.f32s(step)
			for j := range lo {
				if !finite(lo[j]) || !finite(step[j]) || step[j] <= 0 {
					d.fail("quantiser dimension %d has range %v + 255·%v", j, lo[j], step[j])
					break
				}
			}
			sq = newSQ8(lo, step)
		default:
			d.fail("bad trained flag")
		}
		if c.Rescore == 0 || c.TrainSize == 0 || c.Originals == 0 {
			d.fail("zero quantisation field in stored config")
		}
	}
	if d.err != nil {
		return n, d.err
	}
	rawExact := c.ExactScanMax // 0 is a valid run-time setting: never scan
	if c.CompactRatio == 0 || c.Storage == 0 {
		return n, fmt.Errorf("%w: zero field in stored config", ErrCorrupt)
	}
	if err := c.ensureDefaults(); err != nil {
		return n, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	nh, err := NewHNSW(c)
	if err != nil {
		return n, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if sq != nil {
		nh.sq, nh.mode = sq, modeSQ8
		nh.trained.Store(true)
	}
	if rq != nil {
		nh.rbq, nh.mode = rq, modeRBQ
		nh.trained.Store(true)
	}
	slots := d.u32()
	entry := d.u32()
	top := int(int32(d.u32()))
	// Every slot needs at least ext + state + level + its vector and list.
	perSlot := 8 + 1 + 1 + vecBytes(nh.mode, c.Dim, nh.rbq) + 4*(nh.maxL0+1)
	if !d.count(uint64(slots), perSlot) {
		return n, d.err
	}
	ns := int(slots)
	nh.grow(ns)
	nh.next.Store(slots)
	// Each section of the file is every slot in order: read it segment by
	// segment (the last one partly).
	sections := func(read func(sg *segment, cnt int)) {
		for k := range nh.segs {
			lo := k << nh.segShift
			if lo >= ns {
				return
			}
			read(&nh.segs[k], min(1<<nh.segShift, ns-lo))
		}
	}
	sections(func(sg *segment, cnt int) { d.u64s(sg.ext[:cnt]) })
	for i := 0; i < ns; i++ {
		s := uint32(d.u8())
		if s > stateFree {
			d.fail("slot %d has state %d", i, s)
		}
		*nh.statePtr(uint32(i)) = s
	}
	for i := 0; i < ns; i++ {
		l := d.u8()
		if l > maxLevelCap {
			d.fail("slot %d has level %d", i, l)
		}
		sg, o := nh.slot(uint32(i))
		sg.levels[o] = l
	}
	sections(func(sg *segment, cnt int) {
		switch nh.mode {
		case modeF16:
			d.u16s(sg.vecs16[:cnt*c.Dim])
		case modeSQ8:
			d.u8s(sg.codes[:cnt*c.Dim])
		case modeRBQ:
			d.u64s(sg.bits[:cnt*nh.rbq.words])
		default:
			d.f32s(sg.vecs[:cnt*c.Dim])
		}
	})
	if nh.mode.quantised() {
		var facs []float32
		sections(func(sg *segment, cnt int) {
			if nh.mode == modeSQ8 {
				d.f32s(sg.norms[:cnt])
				facs = append(facs[:0], sg.norms[:cnt]...)
			} else {
				d.f32s(sg.fac[:rbqFac*cnt])
				facs = append(facs[:0], sg.fac[:rbqFac*cnt]...)
			}
			for j, x := range facs {
				// A norm (int8), F, ‖r‖ or the error factor (rabitq) is
				// never negative; g (rabitq) may be.
				if !finite(x) || (x < 0 && (nh.mode == modeSQ8 || j%rbqFac != 2)) {
					d.fail("a slot has factor %v", x)
					break
				}
			}
		})
		if nh.keepOriginals {
			sections(func(sg *segment, cnt int) { d.u16s(sg.vecs16[:cnt*c.Dim]) })
		}
	}
	sections(func(sg *segment, cnt int) { d.u32s(sg.l0[:cnt*(nh.maxL0+1)]) })
	for i := 0; i < ns && d.err == nil; i++ {
		if l := nh.level(uint32(i)); l > 0 {
			sz := l * (nh.maxUp + 1)
			if !d.count(uint64(sz), 4) {
				break
			}
			sg, o := nh.slot(uint32(i))
			sg.upper[o] = newUpper(l, nh.maxUp+1)
			d.u32s(upperLists(sg.upper[o], l, nh.maxUp+1))
		}
	}
	if err := d.done(); err != nil {
		return n, err
	}
	if err := nh.validate(entry, top); err != nil {
		return n, err
	}

	// Adopt the loaded state; h's own locks stay as they are.
	h.growMu.Lock()
	defer h.growMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cfg, h.dist, h.distF16, h.half, h.maxL0, h.maxUp, h.levelM = nh.cfg, nh.dist, nh.distF16, nh.half, nh.maxL0, nh.maxUp, nh.levelM
	h.mode, h.sq, h.rbq, h.keepOriginals = nh.mode, nh.sq, nh.rbq, nh.keepOriginals
	h.trained.Store(nh.trained.Load())
	h.segs, h.segShift, h.segMask = nh.segs, nh.segShift, nh.segMask
	h.idMu.Lock()
	h.ids.tab.Store(nh.ids.tab.Load())
	h.ids.used, h.ids.n = nh.ids.used, nh.ids.n
	h.live, h.free, h.tombstones = nh.live, nh.free, nh.tombstones
	h.next.Store(slots)
	h.liveN.Store(int64(nh.ids.len()))
	h.rng = rand.New(rand.NewPCG(c.Seed^uint64(slots), c.Seed^0x9e3779b97f4a7c15))
	h.idMu.Unlock()
	h.epMu.Lock()
	h.setEntry(entry, top)
	h.epMu.Unlock()
	h.exactScanMax.Store(int64(rawExact))
	h.rescoreN.Store(int64(c.Rescore))
	h.dead.Store(int64(h.tombstones.GetCardinality()))
	return n, nil
}

// validate checks the structural invariants a search relies on, so that a
// file that passes cannot make a search index out of range.
func (h *HNSW) validate(entry uint32, top int) error {
	n := h.next.Load()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
	live := 0
	var buf []float32
	state := func(i uint32) uint32 { return *h.statePtr(i) }
	for i := uint32(0); i < n; i++ {
		switch state(i) {
		case stateLive:
			live++
			if _, dup := h.ids.get(h.extID(i)); dup {
				return bad("external id %d stored twice", h.extID(i))
			}
			h.ids.set(h.extID(i), i)
			h.live.Add(i)
		case stateDeleted:
			h.tombstones.Add(i)
		case stateFree:
			h.free.Add(i)
			if h.level(i) != 0 {
				return bad("free slot %d has level %d", i, h.level(i))
			}
		}
		for l := 0; l <= h.level(i); l++ {
			ls := h.list(i, l)
			cnt := ls[0]
			if int(cnt) > h.maxLinks(l) {
				return bad("slot %d layer %d has %d links (max %d)", i, l, cnt, h.maxLinks(l))
			}
			if state(i) == stateFree && cnt != 0 {
				return bad("free slot %d has links", i)
			}
			for _, e := range ls[1 : 1+cnt] {
				if e >= n {
					return bad("slot %d links to %d of %d slots", i, e, n)
				}
				if h.level(e) < l {
					return bad("slot %d links at layer %d to slot %d of level %d", i, l, e, h.level(e))
				}
				if state(e) == stateFree {
					return bad("slot %d links to free slot %d", i, e)
				}
			}
		}
		if h.keepOriginals {
			sg, o := h.slot(i)
			for _, x := range sg.vecs16[o*h.cfg.Dim : (o+1)*h.cfg.Dim] {
				if x&0x7c00 == 0x7c00 {
					return bad("slot %d has a non-finite float16 vector", i)
				}
			}
		}
		if h.mode == modeRBQ {
			continue // bits, not numbers; the factors were checked on reading
		}
		for _, x := range h.load(i, &buf) {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return bad("slot %d has a non-finite vector", i)
			}
		}
	}
	if entry == noNode {
		if live > 0 || top != -1 {
			return bad("no entry point but %d live nodes", live)
		}
		return nil
	}
	if entry >= n || state(entry) == stateFree || h.level(entry) != top {
		return bad("entry point %d (top level %d) is invalid", entry, top)
	}
	return nil
}

func finite(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }
