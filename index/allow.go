package index

import "github.com/RoaringBitmap/roaring/v2/roaring64"

// allowSet is a filtered query's allow-list as the graph walk tests it:
// a flat bitset over the external ids from the list's minimum to its
// maximum, built once per query, so that each candidate costs one load of
// its external id and one bit test instead of a roaring64 lookup (a
// search over 100k nodes tests thousands of candidates). It is used when
// the span is dense enough that the bitset stays small (at most
// allowDenseFactor bits per allowed id and allowMaxBytes in all);
// otherwise the roaring64 bitmap is asked directly.
type allowSet struct {
	lo, span uint64
	bits     []uint64
	sparse   *roaring64.Bitmap
}

const (
	allowDenseFactor = 256
	allowMaxBytes    = 32 << 20
)

// build fills a from allow, reusing its bitset's memory.
func (a *allowSet) build(allow *roaring64.Bitmap) {
	a.sparse = nil
	card := allow.GetCardinality()
	if card == 0 {
		a.lo, a.span, a.bits = 0, 0, a.bits[:0]
		return
	}
	lo, hi := allow.Minimum(), allow.Maximum()
	span := hi - lo + 1
	if span == 0 || span/card > allowDenseFactor || span/8 > allowMaxBytes {
		a.sparse = allow
		return
	}
	words := int((span + 63) / 64)
	if cap(a.bits) < words {
		a.bits = make([]uint64, words)
	} else {
		a.bits = a.bits[:words]
		clear(a.bits)
	}
	a.lo, a.span = lo, span
	var buf [256]uint64
	it := allow.ManyIterator()
	for n := it.NextMany(buf[:]); n > 0; n = it.NextMany(buf[:]) {
		for _, id := range buf[:n] {
			x := id - lo
			a.bits[x>>6] |= 1 << (x & 63)
		}
	}
}

// has reports whether external id is allowed.
func (a *allowSet) has(id uint64) bool {
	if a.sparse != nil {
		return a.sparse.Contains(id)
	}
	x := id - a.lo
	return x < a.span && a.bits[x>>6]&(1<<(x&63)) != 0
}
