package httpapi

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"rosetta/engine"
	"rosetta/store"
)

// fakeEngine is an in-memory Engine with exact search, good enough to drive
// every handler. Its validation mirrors what the real engine promises:
// unknown collections are ErrNotFound, unknown spaces, wrong dimensions and
// bad filters ErrInvalid, model queries on a space without a model
// ErrUnsupported. fail and panicWith inject faults.
type fakeEngine struct {
	ready atomic.Bool

	mu        sync.Mutex // guards everything below
	colls     map[string]*fakeCollection
	nextID    uint64
	err       error                     // returned by every call that can fail, when set
	panicVal  any                       // panicked with by every call, when set
	shortIDs  bool                      // Upsert returns one id too few
	badScores bool                      // Search returns a NaN score
	calls     int                       // engine calls that got past the hooks
	roots     []string                  // server-wide media roots (Options.MediaRoots of the real engine)
	last      []engine.Object           // the last batch Upsert received
	batches   []engine.EncodeBatchStats // what Stats reports of encoder calls
}

// lastUpsert returns the last batch Upsert received, as received.
func (f *fakeEngine) lastUpsert() []engine.Object {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

type fakeCollection struct {
	c     engine.Collection
	v     *engine.Validator // the engine's rules for c
	objs  map[uint64]engine.Object
	keys  map[string]uint64
	roots []string // media roots, as local ingest would record them
}

var _ Engine = (*fakeEngine)(nil)

func newFakeEngine() *fakeEngine {
	f := &fakeEngine{colls: map[string]*fakeCollection{}, nextID: 1}
	f.ready.Store(true)
	return f
}

// fail makes every later call return err (nil restores normal service).
func (f *fakeEngine) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// panicWith makes every later call panic with v (nil stops it).
func (f *fakeEngine) panicWith(v any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.panicVal = v
}

// enter runs the fault hooks; the caller holds f.mu.
func (f *fakeEngine) enter() error {
	if f.panicVal != nil {
		panic(f.panicVal) // the caller's deferred Unlock leaves the fake usable
	}
	if f.err != nil {
		return f.err
	}
	f.calls++
	return nil
}

func (f *fakeEngine) coll(name string) (*fakeCollection, error) {
	fc, ok := f.colls[name]
	if !ok {
		return nil, fmt.Errorf("collection %q: %w", name, engine.ErrNotFound)
	}
	return fc, nil
}

func (fc *fakeCollection) space(name string) (engine.Space, error) {
	if name == "" && len(fc.c.Spaces) == 1 {
		return fc.c.Spaces[0], nil
	}
	for _, s := range fc.c.Spaces {
		if s.Name == name {
			return s, nil
		}
	}
	return engine.Space{}, fmt.Errorf("collection %q has no space %q: %w", fc.c.Name, name, engine.ErrInvalid)
}

func (fc *fakeCollection) snapshot() engine.Collection {
	c := fc.c
	c.Spaces = slices.Clone(c.Spaces)
	c.Count = len(fc.objs)
	return c
}

func (f *fakeEngine) CreateCollection(_ context.Context, c engine.Collection) (engine.Collection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return engine.Collection{}, err
	}
	c.Spaces = slices.Clone(c.Spaces)
	if err := engine.ValidateCollection(&c); err != nil { // the real rules and messages
		return engine.Collection{}, err
	}
	if _, ok := f.colls[c.Name]; ok {
		return engine.Collection{}, fmt.Errorf("collection %q: %w", c.Name, engine.ErrExists)
	}
	c.Created = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	c.Count = 0
	v, err := engine.NewValidator(c)
	if err != nil {
		return engine.Collection{}, err
	}
	fc := &fakeCollection{c: c, v: v, objs: map[uint64]engine.Object{}, keys: map[string]uint64{}}
	f.colls[c.Name] = fc
	return fc.snapshot(), nil
}

func (f *fakeEngine) GetCollection(_ context.Context, name string) (engine.Collection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return engine.Collection{}, err
	}
	fc, err := f.coll(name)
	if err != nil {
		return engine.Collection{}, err
	}
	return fc.snapshot(), nil
}

func (f *fakeEngine) ListCollections(context.Context) ([]engine.Collection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return nil, err
	}
	var out []engine.Collection
	for _, name := range slices.Sorted(maps.Keys(f.colls)) {
		out = append(out, f.colls[name].snapshot())
	}
	return out, nil
}

func (f *fakeEngine) DropCollection(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return err
	}
	if _, err := f.coll(name); err != nil {
		return err
	}
	delete(f.colls, name)
	return nil
}

func (f *fakeEngine) Upsert(_ context.Context, collection string, objs []engine.Object) ([]uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return nil, err
	}
	fc, err := f.coll(collection)
	if err != nil {
		return nil, err
	}
	f.last = slices.Clone(objs)
	// Validate the whole batch, by the engine's rules, before changing anything.
	if err := fc.v.Batch(objs); err != nil {
		return nil, err
	}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	ids := make([]uint64, len(objs))
	for i, o := range objs {
		switch {
		case o.ID != 0:
		case o.Key != "" && fc.keys[o.Key] != 0:
			o.ID = fc.keys[o.Key]
		default:
			o.ID = f.nextID
			f.nextID++
		}
		if o.Key != "" {
			fc.keys[o.Key] = o.ID
		}
		o.Created, o.Updated = now, now
		o.Vectors = maps.Clone(o.Vectors)
		fc.objs[o.ID] = o
		ids[i] = o.ID
	}
	if f.shortIDs {
		ids = ids[:len(ids)-1]
	}
	return ids, nil
}

func (f *fakeEngine) GetObject(_ context.Context, collection string, id uint64) (engine.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return engine.Object{}, err
	}
	fc, err := f.coll(collection)
	if err != nil {
		return engine.Object{}, err
	}
	o, ok := fc.objs[id]
	if !ok {
		return engine.Object{}, fmt.Errorf("object %d: %w", id, engine.ErrNotFound)
	}
	return o, nil
}

func (f *fakeEngine) ListObjects(_ context.Context, collection string, after uint64, limit int) ([]engine.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return nil, err
	}
	fc, err := f.coll(collection)
	if err != nil {
		return nil, err
	}
	ids := make([]uint64, 0, len(fc.objs))
	for id := range fc.objs {
		if id > after {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []engine.Object
	for _, id := range ids[:min(limit, len(ids))] {
		o := fc.objs[id]
		o.Vectors = nil
		out = append(out, o)
	}
	return out, nil
}

func (f *fakeEngine) DeleteObject(_ context.Context, collection string, id uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return err
	}
	fc, err := f.coll(collection)
	if err != nil {
		return err
	}
	o, ok := fc.objs[id]
	if !ok {
		return fmt.Errorf("object %d: %w", id, engine.ErrNotFound)
	}
	delete(fc.objs, id)
	if o.Key != "" {
		delete(fc.keys, o.Key)
	}
	return nil
}

// SearchPage returns the whole result as one page.
func (f *fakeEngine) SearchPage(ctx context.Context, collection string, req engine.SearchRequest) (engine.Page, error) {
	hits, err := f.Search(ctx, collection, req)
	return engine.Page{Hits: hits, Ef: max(req.Ef, req.K)}, err
}

func (f *fakeEngine) Search(_ context.Context, collection string, req engine.SearchRequest) ([]engine.Hit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return nil, err
	}
	fc, err := f.coll(collection)
	if err != nil {
		return nil, err
	}
	if err := fc.v.Search(&req); err != nil { // the engine's rules and defaults
		return nil, err
	}
	sp, err := fc.space(req.Space)
	if err != nil {
		return nil, err
	}
	for _, name := range req.Fields {
		if !fakeFields[name] {
			return nil, fmt.Errorf("unknown field %q: %w", name, engine.ErrInvalid)
		}
	}
	q, err := fc.queryVector(sp, req.Query)
	if err != nil {
		return nil, err
	}
	filter, err := store.ParseFilter(req.Filter) // the real filter language
	if err != nil {
		return nil, err
	}
	var hits []engine.Hit
	for id, o := range fc.objs {
		v, ok := o.Vectors[sp.Name]
		if !ok || !fakeMatch(filter, o.Metadata) {
			continue
		}
		score, dist := fakeDistance(sp.Metric, q, v)
		h := engine.Hit{ID: id, Score: score, Distance: dist}
		if len(req.Fields) > 0 {
			obj := o
			h.Object = &obj
		}
		hits = append(hits, h)
	}
	slices.SortFunc(hits, func(a, b engine.Hit) int {
		return cmp.Or(cmp.Compare(a.Distance, b.Distance), cmp.Compare(a.ID, b.ID))
	})
	if len(hits) > req.K {
		hits = hits[:req.K]
	}
	if f.badScores && len(hits) > 0 {
		hits[0].Score = float32(math.NaN())
	}
	return hits, nil
}

// queryVector resolves a query to a vector in sp. Model queries are
// "encoded" by hashing, which is deterministic and the right dimension.
func (fc *fakeCollection) queryVector(sp engine.Space, q engine.Query) ([]float32, error) {
	switch {
	case q.Vector != nil:
		if len(q.Vector) != sp.Dim {
			return nil, fmt.Errorf("space %q has dimension %d, the query vector has %d: %w",
				sp.Name, sp.Dim, len(q.Vector), engine.ErrInvalid)
		}
		return q.Vector, nil
	case q.Object != nil:
		o, ok := fc.objs[*q.Object]
		if !ok {
			return nil, fmt.Errorf("query object %d: %w", *q.Object, engine.ErrNotFound)
		}
		v, ok := o.Vectors[sp.Name]
		if !ok {
			return nil, fmt.Errorf("query object %d has no vector in space %q: %w", *q.Object, sp.Name, engine.ErrInvalid)
		}
		return v, nil
	}
	if sp.Model == "" {
		return nil, fmt.Errorf("space %q has no model to encode the query: %w", sp.Name, engine.ErrUnsupported)
	}
	h := fnv.New64a()
	h.Write([]byte(q.Text))
	h.Write(q.Image)
	h.Write(q.Audio)
	seed := h.Sum64()
	v := make([]float32, sp.Dim)
	for i := range v {
		seed = seed*6364136223846793005 + 1442695040888963407
		v[i] = float32(seed>>40)/float32(1<<24) - 0.5
	}
	return v, nil
}

// fakeFields are the names SearchRequest.Fields may hold.
var fakeFields = map[string]bool{
	"key": true, "modality": true, "source": true, "hash": true, "metadata": true,
	"text": true, "vectors": true, "created": true, "updated": true, "*": true,
}

// fakeMatch evaluates a parsed store filter on metadata, scalars only.
func fakeMatch(f *store.Filter, md map[string]any) bool {
	switch {
	case f == nil:
		return true
	case f.And != nil:
		for _, sub := range f.And {
			if !fakeMatch(sub, md) {
				return false
			}
		}
		return true
	case f.Or != nil:
		for _, sub := range f.Or {
			if fakeMatch(sub, md) {
				return true
			}
		}
		return false
	case f.Not != nil:
		return !fakeMatch(f.Not, md)
	}
	v, ok := md[f.Field]
	if f.Exists != nil && ok != *f.Exists {
		return false
	}
	if f.Eq != nil && v != f.Eq {
		return false
	}
	if f.Ne != nil && v == f.Ne {
		return false
	}
	if f.In != nil && !slices.Contains(f.In, v) {
		return false
	}
	x, isNum := v.(float64)
	for _, b := range []struct {
		bound *float64
		ok    func(x, b float64) bool
	}{
		{f.Gt, func(x, b float64) bool { return x > b }},
		{f.Gte, func(x, b float64) bool { return x >= b }},
		{f.Lt, func(x, b float64) bool { return x < b }},
		{f.Lte, func(x, b float64) bool { return x <= b }},
	} {
		if b.bound != nil && (!isNum || !b.ok(x, *b.bound)) {
			return false
		}
	}
	return true
}

// fakeDistance returns the score users see and the index's distance.
func fakeDistance(metric string, a, b []float32) (score, dist float32) {
	var dot, na, nb, l2 float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
		l2 += (x - y) * (x - y)
	}
	switch metric {
	case "dot":
		return float32(dot), float32(-dot)
	case "l2":
		d := math.Sqrt(l2)
		return float32(d), float32(d)
	}
	cos := 0.0
	if na > 0 && nb > 0 {
		cos = dot / math.Sqrt(na*nb)
	}
	return float32(cos), float32(1 - cos)
}

func (f *fakeEngine) Ready() bool { return f.ready.Load() }

func (f *fakeEngine) Stats() engine.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panicVal != nil {
		panic(f.panicVal)
	}
	st := engine.Stats{
		Collections:   len(f.colls),
		Objects:       map[string]int{},
		IndexNodes:    map[string]int{},
		EncodeBatches: f.batches,
	}
	for name, fc := range f.colls {
		st.Objects[name] = len(fc.objs)
		for _, sp := range fc.c.Spaces {
			n := 0
			for _, o := range fc.objs {
				if _, ok := o.Vectors[sp.Name]; ok {
					n++
				}
			}
			st.IndexNodes[name+"/"+sp.Name] = n
		}
	}
	return st
}

// clearObjects empties every collection, for fuzzing without growth.
func (f *fakeEngine) clearObjects() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fc := range f.colls {
		clear(fc.objs)
		clear(fc.keys)
	}
}

// CollectionStats counts objects per modality; the fake has no indexes.
func (f *fakeEngine) CollectionStats(_ context.Context, name string) (engine.CollectionStats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return engine.CollectionStats{}, err
	}
	fc, err := f.coll(name)
	if err != nil {
		return engine.CollectionStats{}, err
	}
	st := engine.CollectionStats{Collection: fc.c, Modalities: map[string]int{}, MediaRoots: fc.roots}
	st.Count = len(fc.objs)
	for _, o := range fc.objs {
		st.Modalities[o.Modality]++
		if _, ok := o.Metadata["parent"]; ok {
			st.Segments++
		}
	}
	for _, s := range fc.c.Spaces {
		st.Spaces = append(st.Spaces, engine.SpaceStats{Name: s.Name, Live: len(fc.objs), Slots: len(fc.objs), Storage: "float32"})
	}
	return st, nil
}

// OpenStill is OpenSource: the fake has no videos.
func (f *fakeEngine) OpenStill(ctx context.Context, name string, id uint64) (*engine.Source, error) {
	return f.OpenSource(ctx, name, id)
}

// OpenSource applies the engine's own file policy (engine.OpenUnder) to
// the roots set with addMediaRoot and the fake's server-wide roots.
func (f *fakeEngine) OpenSource(_ context.Context, name string, id uint64) (*engine.Source, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return nil, err
	}
	fc, err := f.coll(name)
	if err != nil {
		return nil, err
	}
	o, ok := fc.objs[id]
	if !ok {
		return nil, fmt.Errorf("object %d: %w", id, engine.ErrNotFound)
	}
	return engine.OpenUnder(o, append(append([]string(nil), fc.roots...), f.roots...))
}

// Health is nil while the fake is ready.
func (f *fakeEngine) Health() error {
	if !f.ready.Load() {
		return fmt.Errorf("%w: collection %q", engine.ErrNotReady, "c")
	}
	return nil
}

// RebuildCollection only checks that the collection exists.
func (f *fakeEngine) RebuildCollection(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter(); err != nil {
		return err
	}
	_, err := f.coll(name)
	return err
}

// addMediaRoot records a media root, as local ingest does.
func (f *fakeEngine) addMediaRoot(name, dir string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.colls[name].roots = append(f.colls[name].roots, dir)
}
