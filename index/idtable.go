package index

import "sync/atomic"

// idTable maps external ids to internal slots. Readers (Search, Contains)
// take no lock: they load the table pointer and its entries atomically.
// Writers hold HNSW.idMu, so there is one writer at a time.
//
// It is open addressing with linear probing. An entry's key is written
// once, before its value, and never changes, so a reader that sees a value
// sees its key. A value is 0 (empty: probing stops), 1 (removed: probing
// continues, and the key may be set again) or slot+2, in 32 bits (slots
// stop at 2^32−3, see allocSlot): 12 bytes an entry. When keys in use
// pass 3/4 of the entries, the writer builds a table sized for the present
// ids and publishes it; a reader still on the old table sees the ids as
// they were before that write, which is all a concurrent read may expect.
type idTable struct {
	tab  atomic.Pointer[idTab]
	used int // entries holding a key, removed or not (idMu)
	n    int // ids present (idMu)
}

type idTab struct {
	keys []atomic.Uint64
	vals []atomic.Uint32
	mask uint64
}

const (
	idEmpty   = 0
	idRemoved = 1
)

func newIDTab(size int) *idTab {
	c := 16
	for c < size {
		c *= 2
	}
	return &idTab{keys: make([]atomic.Uint64, c), vals: make([]atomic.Uint32, c), mask: uint64(c - 1)}
}

// idHash is the splitmix64 finaliser: external ids are often sequential.
func idHash(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// get returns id's slot. Safe without any lock.
func (t *idTable) get(id uint64) (uint32, bool) {
	tb := t.tab.Load()
	if tb == nil {
		return 0, false
	}
	for i := idHash(id) & tb.mask; ; i = (i + 1) & tb.mask {
		v := tb.vals[i].Load()
		if v == idEmpty {
			return 0, false
		}
		if tb.keys[i].Load() == id {
			if v == idRemoved {
				return 0, false
			}
			return v - 2, true
		}
	}
}

// len is the number of ids present; the caller holds idMu.
func (t *idTable) len() int { return t.n }

// set maps id to slot; the caller holds idMu.
func (t *idTable) set(id uint64, slot uint32) {
	tb := t.tab.Load()
	if tb == nil || 4*(t.used+1) > 3*len(tb.keys) {
		tb = t.rehash(tb, t.n+1)
	}
	for i := idHash(id) & tb.mask; ; i = (i + 1) & tb.mask {
		v := tb.vals[i].Load()
		if v == idEmpty {
			tb.keys[i].Store(id)
			tb.vals[i].Store(slot + 2)
			t.used++
			t.n++
			return
		}
		if tb.keys[i].Load() == id {
			if v == idRemoved {
				t.n++
			}
			tb.vals[i].Store(slot + 2)
			return
		}
	}
}

// remove drops id and reports whether it was present; the caller holds
// idMu.
func (t *idTable) remove(id uint64) bool {
	tb := t.tab.Load()
	if tb == nil {
		return false
	}
	for i := idHash(id) & tb.mask; ; i = (i + 1) & tb.mask {
		v := tb.vals[i].Load()
		if v == idEmpty {
			return false
		}
		if tb.keys[i].Load() == id {
			if v == idRemoved {
				return false
			}
			tb.vals[i].Store(idRemoved)
			t.n--
			return true
		}
	}
}

// rehash publishes a table with room for want ids holding the present
// ones (removed keys are dropped); the caller holds idMu.
func (t *idTable) rehash(old *idTab, want int) *idTab {
	nt := newIDTab(2 * max(want, 8))
	used := 0
	if old != nil {
		for i := range old.vals {
			v := old.vals[i].Load()
			if v < 2 {
				continue
			}
			k := old.keys[i].Load()
			for j := idHash(k) & nt.mask; ; j = (j + 1) & nt.mask {
				if nt.vals[j].Load() == idEmpty {
					nt.keys[j].Store(k)
					nt.vals[j].Store(v)
					used++
					break
				}
			}
		}
	}
	t.used = used
	t.tab.Store(nt)
	return nt
}
