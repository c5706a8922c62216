package engine

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"rosetta/encoders"
	"rosetta/index"
	"rosetta/kernels"
	"rosetta/store"
)

// Options configure Open.
type Options struct {
	// Dir is the data directory: Pebble under db/, index snapshots under index/.
	Dir    string
	Logger *slog.Logger
	// SnapshotEvery is how often indexes are snapshotted while running
	// (default 5 minutes; <0 disables periodic snapshots). They are
	// always snapshotted on Close.
	SnapshotEvery time.Duration
	// BuildThreads bounds the goroutines that rebuild an index while it
	// loads (default GOMAXPROCS).
	BuildThreads int
	// ApplyThreads bounds the goroutines that apply a committed batch to
	// an index (default GOMAXPROCS-1, at least 1): one CPU is left for the
	// searches that run meanwhile.
	ApplyThreads int
	// LoadModel loads the encoder a space names (Space.Model); nil means
	// no models: text and image content and queries are refused.
	LoadModel func(name string) (Encoder, error)
	// CheckModelName vets a model name that arrives from an untrusted
	// caller (a space's model in CreateCollection, a rerank model) before
	// anything is loaded: the server allows only catalogue names and
	// directories under its models directory. nil allows every name.
	// Callers marked with Trusted(ctx) (local tools) are not checked.
	CheckModelName func(name string) error
	// DefaultPrecision is the precision of the models of spaces that do
	// not name one: "" or "float32" (the default), or "int8". An int8
	// model is a copy of its own, loaded with LoadModel and quantised
	// (encoders.SetPrecision), cached beside the float32 one.
	DefaultPrecision string
	// LoadTranscriber loads the speech-to-text model a collection's
	// Transcribe names; nil means none: such collections are refused.
	LoadTranscriber func(name string) (Transcriber, error)
	// MediaRoots are folders whose files may be read as objects' media in
	// every collection, besides the roots each collection records
	// (AddMediaRoot). See OpenSource.
	MediaRoots []string
	// Limits bound decoded pixels, audio seconds and concurrent encodes.
	Limits Limits
	// EncodeBatchWait is how long a small text or image encode (a query,
	// an upsert of a few objects) waits for others of the same model to
	// share its forward pass, when others are running already; an encode
	// with none running never waits (default DefaultEncodeBatchWait, 2 ms;
	// <0 disables batching across requests). EncodeBatchMax is the most
	// inputs one such pass takes (default: the encoder's BatchSizes, else
	// DefaultEncodeBatchMax). See batch.go.
	EncodeBatchWait time.Duration
	EncodeBatchMax  int
	// Store passes options through to the store (disk reserve, ...).
	Store store.Options
}

// Engine is the database. Safe for concurrent use; Close when done.
type Engine struct {
	opts Options
	log  *slog.Logger
	db   *store.DB

	// mu guards colls, the registry of collections. It is held only to
	// look up, add or remove an entry: never across I/O, index work or a
	// store commit, so searches never wait behind a write.
	mu    sync.RWMutex
	colls map[string]*coll

	models       models[Encoder]
	models8      models[Encoder] // the int8 copies (precision.go)
	transcribers models[Transcriber]

	pixels, audioSecs, encodes *budget

	// batch gathers concurrent small encodes into one forward pass.
	batch batchers

	// blobs keeps originals uploaded through the API; blobGC receives the
	// blobs a commit unreferenced ("" asks for a full sweep).
	blobs  *blobStore
	blobGC chan string

	written, deleted, searches, busy atomic.Uint64

	// snapMu serialises snapshots (periodic, Close, tests).
	snapMu sync.Mutex

	loading atomic.Bool // the initial load is running
	stop    chan struct{}
	wg      sync.WaitGroup
	closed  atomic.Bool
}

// Open opens (or creates) a data directory. The indexes load in the
// background (snapshot + change-log replay, or a rebuild from the store);
// until a collection's indexes are loaded, calls on it return ErrNotReady.
func Open(opts Options) (*Engine, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("%w: no data directory", ErrInvalid)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SnapshotEvery == 0 {
		opts.SnapshotEvery = 5 * time.Minute
	}
	opts.Limits = opts.Limits.withDefaults()
	if err := encoders.CheckPrecision(opts.DefaultPrecision); err != nil {
		return nil, fmt.Errorf("%w: default precision: %v", ErrInvalid, err)
	}
	if opts.EncodeBatchWait == 0 {
		opts.EncodeBatchWait = DefaultEncodeBatchWait
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "index"), 0o755); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e := &Engine{opts: opts, log: opts.Logger, colls: map[string]*coll{}, stop: make(chan struct{}),
		models:       newModels(opts.LoadModel),
		models8:      newModels(int8Loader(opts.LoadModel)),
		transcribers: newModels(opts.LoadTranscriber),
		pixels:       newBudget("decoded-pixel", opts.Limits.DecodePixels),
		audioSecs:    newBudget("audio-seconds", int64(opts.Limits.AudioSeconds*1000)),
		encodes:      newBudget("encode", int64(opts.Limits.Encodes)),
		batch:        batchers{texts: map[string]*batcher[string]{}, images: map[string]*batcher[image.Image]{}},
	}
	e.removeSnapshotLeftovers()
	bs, err := newBlobStore(filepath.Join(opts.Dir, "blobs"), opts.Logger)
	if err != nil {
		return nil, err
	}
	e.blobs, e.blobGC = bs, make(chan string, 1024)
	so := opts.Store
	so.Logger = opts.Logger
	so.OnCommit = e.onCommit
	db, err := store.Open(filepath.Join(opts.Dir, "db"), &so)
	if err != nil {
		return nil, err
	}
	e.db = db
	for _, m := range db.Collections() {
		e.colls[m.Name] = newColl(m)
	}
	e.loading.Store(true)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		start := time.Now()
		failed := e.loadAll()
		e.loading.Store(false)
		e.log.Info("indexes loaded", "took", time.Since(start).Round(time.Millisecond), "failed", failed)
		e.snapshotLoop()
	}()
	e.blobGC <- "" // sweep the orphans a kill may have left
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.blobLoop()
	}()
	return e, nil
}

// Ready reports whether every collection's indexes are loaded and the
// store accepts writes; Health says why not.
func (e *Engine) Ready() bool { return e.Health() == nil }

// Health is nil when the engine serves every collection and the store
// accepts writes; otherwise it says what is wrong: still loading, a
// collection whose indexes failed to load (with the reason), or a store
// refusing writes (a full disk).
func (e *Engine) Health() error {
	if e.closed.Load() {
		return ErrClosed
	}
	var errs []error
	for _, c := range e.collList() {
		switch st, err := c.status(); st {
		case stateLoading:
			errs = append(errs, fmt.Errorf("%w: collection %q", ErrNotReady, c.name))
		case stateFailed:
			errs = append(errs, fmt.Errorf("%w: collection %q: indexes failed to load: %v (drop or rebuild it)", ErrUnavailable, c.name, err))
		}
	}
	if err := e.db.Health(); err != nil {
		errs = append(errs, storeErr(err))
	}
	return errors.Join(errs...)
}

// WaitReady blocks until the initial load has finished (whether or not
// every collection loaded: see Health) or ctx ends.
func (e *Engine) WaitReady(ctx context.Context) error {
	for e.loading.Load() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	if e.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Close stops background work, snapshots the indexes and closes the store.
func (e *Engine) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	close(e.stop)
	e.wg.Wait()
	errs := []error{e.Snapshot()}
	errs = append(errs, e.db.Close())
	for _, c := range e.collList() {
		for _, h := range c.indexes() {
			h.Close()
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) snapshotLoop() {
	if e.opts.SnapshotEvery < 0 {
		<-e.stop
		return
	}
	t := time.NewTicker(e.opts.SnapshotEvery)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			if err := e.Snapshot(); err != nil {
				e.log.Error("periodic snapshot failed", "err", err)
			}
		}
	}
}

// coll looks a collection up in the registry.
func (e *Engine) coll(name string) (*coll, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	e.mu.RLock()
	c := e.colls[name]
	e.mu.RUnlock()
	if c == nil {
		return nil, fmt.Errorf("%w: collection %q not found", ErrNotFound, name)
	}
	return c, nil
}

// ready returns a collection whose indexes are loaded.
func (e *Engine) ready(name string) (*coll, error) {
	c, err := e.coll(name)
	if err != nil {
		return nil, err
	}
	switch st, lerr := c.status(); st {
	case stateReady:
		return c, nil
	case stateLoading:
		return nil, fmt.Errorf("%w: collection %q", ErrNotReady, name)
	case stateFailed:
		return nil, fmt.Errorf("%w: collection %q: indexes failed to load: %v (drop or rebuild it)", ErrUnavailable, name, lerr)
	default:
		return nil, fmt.Errorf("%w: collection %q not found", ErrNotFound, name)
	}
}

// collList returns the registered collections sorted by name.
func (e *Engine) collList() []*coll {
	e.mu.RLock()
	out := make([]*coll, 0, len(e.colls))
	for _, c := range e.colls {
		out = append(out, c)
	}
	e.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func newIndex(s Space, p IndexParams) (*index.HNSW, error) {
	cfg, err := indexConfig(s, p)
	if err != nil {
		return nil, err
	}
	return index.NewHNSW(cfg)
}

// indexConfig is the one translation of a space and its collection's
// index parameters into an index configuration; the index validates it.
func indexConfig(s Space, p IndexParams) (index.Config, error) {
	m, err := kernels.ParseMetric(s.Metric)
	if err != nil {
		return index.Config{}, err
	}
	st, err := index.ParseStorage(p.Storage)
	if err != nil {
		return index.Config{}, err
	}
	org, err := index.ParseOriginals(p.RescoreFrom)
	if err != nil {
		return index.Config{}, err
	}
	if !st.Quantised() && (p.Rescore != 0 || p.RescoreFrom != "") {
		return index.Config{}, fmt.Errorf("%w: rescore and rescore_from apply to int8 and rabitq storage only", index.ErrBadConfig)
	}
	if p.Rescore < 0 {
		return index.Config{}, fmt.Errorf("%w: rescore %d is negative", index.ErrBadConfig, p.Rescore)
	}
	return index.Config{Dim: s.Dim, Metric: m, M: p.M, EfConstruction: p.EfConstruction, EfSearch: p.EfSearch,
		Storage: st, Rescore: p.Rescore, Originals: org}, nil
}

// attachSources gives each int8 index that re-scores from the store its
// reader of the space's stored vectors. The caller publishes idxs next.
func (e *Engine) attachSources(c *coll, idxs []*index.HNSW) {
	for si, h := range idxs {
		if h.Config().Originals != index.OriginalsStore {
			continue
		}
		meta := c.smeta
		h.SetVectorSource(func(id uint64, _ []float32) ([]float32, error) { return e.db.Vector(meta, si, id) })
	}
}

// Store exposes the underlying store (for tools and tests).
func (e *Engine) Store() *store.DB { return e.db }

// storeErr maps the store's disk and availability errors onto the
// engine's; everything else passes through (the shared sentinels already
// match).
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrDiskFull):
		return fmt.Errorf("%w: disk full: %s", ErrDiskFull, Message(err))
	case errors.Is(err, store.ErrUnavailable):
		return fmt.Errorf("%w: the store is unavailable: %s", ErrUnavailable, Message(err))
	}
	return err
}
