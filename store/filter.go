package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/RoaringBitmap/roaring/v2/roaring64"
	"github.com/cockroachdb/pebble/v2"
)

// Filter is a parsed metadata filter. The JSON language:
//
//	{"and": [F, ...]}   {"or": [F, ...]}   {"not": F}
//	{"field": "color", "eq": "red"}          string, bool or number
//	{"field": "color", "ne": "red"}          objects without that value (including those without the field)
//	{"field": "tag", "in": ["a", "b"]}      any of the values
//	{"field": "year", "gte": 2000, "lt": 2010}   gt/gte/lt/lte on numbers, combinable
//	{"field": "caption", "exists": true}
//
// Fields are top-level metadata keys; arrays match when any element does.
// Unknown keys, wrong value types and empty and/or lists are errors.
type Filter struct {
	And    []*Filter
	Or     []*Filter
	Not    *Filter
	Field  string
	Eq     any // string, bool or float64
	Ne     any
	In     []any
	Gt     *float64
	Gte    *float64
	Lt     *float64
	Lte    *float64
	Exists *bool
}

// MaxFilterDepth bounds nesting so a hostile filter cannot exhaust the stack.
const MaxFilterDepth = 32

// MaxFilterNodes bounds the number of clauses.
const MaxFilterNodes = 1024

// ParseFilter parses and validates a JSON filter. An empty or "null"
// input returns nil (no filter).
func ParseFilter(raw []byte) (*Filter, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: filter is not valid JSON: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: filter has trailing data", ErrInvalid)
	}
	nodes := 0
	f, err := parseNode(v, 0, &nodes, "filter")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return f, nil
}

func parseNode(v any, depth int, nodes *int, path string) (*Filter, error) {
	if depth > MaxFilterDepth {
		return nil, fmt.Errorf("%s: nested deeper than %d", path, MaxFilterDepth)
	}
	*nodes++
	if *nodes > MaxFilterNodes {
		return nil, fmt.Errorf("filter has more than %d clauses", MaxFilterNodes)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want an object", path)
	}
	f := &Filter{}
	list := func(key string) ([]*Filter, error) {
		arr, ok := m[key].([]any)
		if !ok || len(arr) == 0 {
			return nil, fmt.Errorf("%s.%s: want a non-empty array of filters", path, key)
		}
		out := make([]*Filter, len(arr))
		for i, e := range arr {
			sub, err := parseNode(e, depth+1, nodes, fmt.Sprintf("%s.%s[%d]", path, key, i))
			if err != nil {
				return nil, err
			}
			out[i] = sub
		}
		return out, nil
	}
	switch {
	case has(m, "and"):
		if len(m) != 1 {
			return nil, fmt.Errorf("%s: \"and\" cannot be combined with other keys", path)
		}
		var err error
		f.And, err = list("and")
		return f, err
	case has(m, "or"):
		if len(m) != 1 {
			return nil, fmt.Errorf("%s: \"or\" cannot be combined with other keys", path)
		}
		var err error
		f.Or, err = list("or")
		return f, err
	case has(m, "not"):
		if len(m) != 1 {
			return nil, fmt.Errorf("%s: \"not\" cannot be combined with other keys", path)
		}
		sub, err := parseNode(m["not"], depth+1, nodes, path+".not")
		f.Not = sub
		return f, err
	}
	field, ok := m["field"].(string)
	if !ok || field == "" {
		return nil, fmt.Errorf("%s: want \"and\", \"or\", \"not\" or a \"field\" name", path)
	}
	f.Field = field
	ops := 0
	for k, val := range m {
		var err error
		switch k {
		case "field":
			continue
		case "eq":
			f.Eq, err = scalar(val, path+".eq")
		case "ne":
			f.Ne, err = scalar(val, path+".ne")
		case "in":
			arr, ok := val.([]any)
			if !ok || len(arr) == 0 {
				return nil, fmt.Errorf("%s.in: want a non-empty array", path)
			}
			for i, e := range arr {
				s, err := scalar(e, fmt.Sprintf("%s.in[%d]", path, i))
				if err != nil {
					return nil, err
				}
				f.In = append(f.In, s)
			}
		case "gt", "gte", "lt", "lte":
			var x float64
			x, err = number(val, path+"."+k)
			p := &x
			switch k {
			case "gt":
				f.Gt = p
			case "gte":
				f.Gte = p
			case "lt":
				f.Lt = p
			case "lte":
				f.Lte = p
			}
		case "exists":
			b, ok := val.(bool)
			if !ok {
				return nil, fmt.Errorf("%s.exists: want true or false", path)
			}
			f.Exists = &b
		default:
			return nil, fmt.Errorf("%s: unknown key %q (want eq, ne, in, gt, gte, lt, lte or exists)", path, k)
		}
		if err != nil {
			return nil, err
		}
		ops++
	}
	if ops == 0 {
		return nil, fmt.Errorf("%s: field %q has no condition", path, field)
	}
	rangeOps := f.Gt != nil || f.Gte != nil || f.Lt != nil || f.Lte != nil
	kinds := 0
	for _, b := range []bool{f.Eq != nil, f.Ne != nil, f.In != nil, rangeOps, f.Exists != nil} {
		if b {
			kinds++
		}
	}
	if kinds > 1 {
		return nil, fmt.Errorf("%s: combine different conditions with \"and\"", path)
	}
	if f.Gt != nil && f.Gte != nil || f.Lt != nil && f.Lte != nil {
		return nil, fmt.Errorf("%s: give at most one lower and one upper bound", path)
	}
	return f, nil
}

func has(m map[string]any, k string) bool { _, ok := m[k]; return ok }

func scalar(v any, path string) (any, error) {
	switch x := v.(type) {
	case string, bool:
		return x, nil
	case json.Number:
		return number(x, path)
	}
	return nil, fmt.Errorf("%s: want a string, bool or number", path)
}

func number(v any, path string) (float64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%s: want a number", path)
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%s: %q is not a finite number", path, n)
	}
	return f, nil
}

// Fields lists the field names a filter mentions, sorted.
func (f *Filter) Fields() []string {
	set := map[string]bool{}
	var walk func(*Filter)
	walk = func(f *Filter) {
		if f == nil {
			return
		}
		if f.Field != "" {
			set[f.Field] = true
		}
		for _, s := range f.And {
			walk(s)
		}
		for _, s := range f.Or {
			walk(s)
		}
		walk(f.Not)
	}
	walk(f)
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Eval returns the live object ids of coll that pass f (all live ids for
// a nil filter). The bitmap is the caller's.
func (db *DB) Eval(coll string, f *Filter) (*roaring64.Bitmap, error) {
	cs, err := db.coll(coll)
	if err != nil {
		return nil, err
	}
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	if f == nil {
		return cs.live.Clone(), nil
	}
	bm, err := db.eval(cs, f)
	if err != nil {
		return nil, err
	}
	bm.And(cs.live)
	return bm, nil
}

// eval runs under cs.mu (read).
func (db *DB) eval(cs *collState, f *Filter) (*roaring64.Bitmap, error) {
	switch {
	case f.And != nil:
		var acc *roaring64.Bitmap
		for _, s := range f.And {
			bm, err := db.eval(cs, s)
			if err != nil {
				return nil, err
			}
			if acc == nil {
				acc = bm
			} else {
				acc.And(bm)
			}
		}
		return acc, nil
	case f.Or != nil:
		acc := roaring64.New()
		for _, s := range f.Or {
			bm, err := db.eval(cs, s)
			if err != nil {
				return nil, err
			}
			acc.Or(bm)
		}
		return acc, nil
	case f.Not != nil:
		bm, err := db.eval(cs, f.Not)
		if err != nil {
			return nil, err
		}
		out := cs.live.Clone()
		out.AndNot(bm)
		return out, nil
	case f.Eq != nil:
		return db.eqBitmap(cs, f.Field, f.Eq)
	case f.Ne != nil:
		bm, err := db.eqBitmap(cs, f.Field, f.Ne)
		if err != nil {
			return nil, err
		}
		out := cs.live.Clone()
		out.AndNot(bm)
		return out, nil
	case f.In != nil:
		acc := roaring64.New()
		for _, v := range f.In {
			bm, err := db.eqBitmap(cs, f.Field, v)
			if err != nil {
				return nil, err
			}
			acc.Or(bm)
		}
		return acc, nil
	case f.Exists != nil:
		bm := roaring64.New()
		if e := cs.exists[f.Field]; e != nil {
			bm = e.Clone()
		}
		if *f.Exists {
			return bm, nil
		}
		out := cs.live.Clone()
		out.AndNot(bm)
		return out, nil
	default:
		lo, loInc := math.Inf(-1), true
		hi, hiInc := math.Inf(1), true
		if f.Gt != nil {
			lo, loInc = *f.Gt, false
		}
		if f.Gte != nil {
			lo, loInc = *f.Gte, true
		}
		if f.Lt != nil {
			hi, hiInc = *f.Lt, false
		}
		if f.Lte != nil {
			hi, hiInc = *f.Lte, true
		}
		return db.numRange(cs.meta.CID, f.Field, lo, loInc, hi, hiInc)
	}
}

func (db *DB) eqBitmap(cs *collState, field string, v any) (*roaring64.Bitmap, error) {
	switch x := v.(type) {
	case string:
		return cloneOrNew(cs.eq[posting{field, 's', x}]), nil
	case bool:
		b := "0"
		if x {
			b = "1"
		}
		return cloneOrNew(cs.eq[posting{field, 'b', b}]), nil
	case float64:
		return db.numRange(cs.meta.CID, field, x, true, x, true)
	}
	return nil, fmt.Errorf("%w: unsupported value %v", ErrInvalid, v)
}

func cloneOrNew(bm *roaring64.Bitmap) *roaring64.Bitmap {
	if bm == nil {
		return roaring64.New()
	}
	return bm.Clone()
}

// numRange scans the ordered numeric postings of field.
func (db *DB) numRange(cid uint32, field string, lo float64, loInc bool, hi float64, hiInc bool) (*roaring64.Bitmap, error) {
	p := numPrefix(cid, field)
	lower := appendU64(append([]byte(nil), p...), sortableF64(lo))
	upper := prefixEnd(appendU64(append([]byte(nil), p...), sortableF64(hi)))
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	out := roaring64.New()
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) != len(p)+16 {
			continue
		}
		v := binary.BigEndian.Uint64(k[len(p):])
		if (!loInc && v == sortableF64(lo)) || (!hiInc && v == sortableF64(hi)) {
			continue
		}
		out.Add(binary.BigEndian.Uint64(k[len(p)+8:]))
	}
	return out, it.Close()
}
