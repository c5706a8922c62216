package store

import (
	"encoding/json"
	"math"
	"sort"
	"sync"

	"github.com/RoaringBitmap/roaring/v2/roaring64"
)

// posting is one (field, typed value) pair of a string or bool field.
type posting struct {
	field string
	typ   byte // 's' string, 'b' bool
	value string
}

// numPosting is one numeric field value.
type numPosting struct {
	field string
	v     float64
}

// indexed is what an object contributes to the filter indexes.
type indexed struct {
	eq     []posting
	nums   []numPosting
	fields []string // fields that exist (have at least one indexed value)
}

// ModalityField is the pseudo-field under which an object's modality is
// indexed, so filters (and SearchRequest.Modality) can select it.
const ModalityField = "_modality"

// indexObject is extract plus the object's modality.
func indexObject(o *Object) indexed {
	ix := extract(o.Metadata)
	if o.Modality != "" {
		ix.eq = append(ix.eq, posting{ModalityField, 's', o.Modality})
		ix.fields = append(ix.fields, ModalityField)
	}
	return ix
}

// extract lists the filterable values of a metadata object: top-level
// strings, bools and numbers, and arrays of them (each element indexed).
// Nested objects and nulls are stored but not filterable.
func extract(md map[string]any) indexed {
	var ix indexed
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n := len(ix.eq) + len(ix.nums)
		addScalar(&ix, k, md[k])
		if arr, ok := md[k].([]any); ok {
			for _, e := range arr {
				addScalar(&ix, k, e)
			}
		}
		if len(ix.eq)+len(ix.nums) > n {
			ix.fields = append(ix.fields, k)
		}
	}
	return ix
}

func addScalar(ix *indexed, field string, v any) {
	switch x := v.(type) {
	case string:
		ix.eq = append(ix.eq, posting{field, 's', x})
	case bool:
		b := "0"
		if x {
			b = "1"
		}
		ix.eq = append(ix.eq, posting{field, 'b', b})
	case float64:
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			ix.nums = append(ix.nums, numPosting{field, x})
		}
	case json.Number:
		if f, err := x.Float64(); err == nil {
			ix.nums = append(ix.nums, numPosting{field, f})
		}
	case int:
		ix.nums = append(ix.nums, numPosting{field, float64(x)})
	case int64:
		ix.nums = append(ix.nums, numPosting{field, float64(x)})
	}
}

// collState is a collection's in-memory state. The committer goroutine is
// its only writer; mu guards it for readers.
type collState struct {
	mu      sync.RWMutex
	meta    Collection
	nextID  uint64 // next id to assign (ids start at 1)
	lastSeq uint64
	applied uint64 // last external log sequence Apply wrote (0: none)
	keys    map[string]uint64
	live    *roaring64.Bitmap
	eq      map[posting]*roaring64.Bitmap
	exists  map[string]*roaring64.Bitmap
}

func newCollState(meta Collection) *collState {
	return &collState{meta: meta, nextID: 1, keys: map[string]uint64{}, live: roaring64.New(),
		eq: map[posting]*roaring64.Bitmap{}, exists: map[string]*roaring64.Bitmap{}}
}

// addIndexed / removeIndexed update the posting bitmaps. Callers hold mu.
func (c *collState) addIndexed(id uint64, ix indexed) {
	for _, p := range ix.eq {
		bm := c.eq[p]
		if bm == nil {
			bm = roaring64.New()
			c.eq[p] = bm
		}
		bm.Add(id)
	}
	for _, f := range ix.fields {
		bm := c.exists[f]
		if bm == nil {
			bm = roaring64.New()
			c.exists[f] = bm
		}
		bm.Add(id)
	}
}

func (c *collState) removeIndexed(id uint64, ix indexed) {
	for _, p := range ix.eq {
		if bm := c.eq[p]; bm != nil {
			bm.Remove(id)
			if bm.IsEmpty() {
				delete(c.eq, p)
			}
		}
	}
	for _, f := range ix.fields {
		if bm := c.exists[f]; bm != nil {
			bm.Remove(id)
			if bm.IsEmpty() {
				delete(c.exists, f)
			}
		}
	}
}
