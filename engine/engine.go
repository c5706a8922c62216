package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

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
	// BuildThreads bounds the goroutines that rebuild an index (default
	// GOMAXPROCS).
	BuildThreads int
	// LoadModel loads the encoder a space names (Space.Model); nil means
	// no models: text and image content and queries are refused.
	LoadModel func(name string) (Encoder, error)
	// MaxImagePixels bounds decoded images (decompression bombs); 0 means
	// imageproc's default (64 Mpx).
	MaxImagePixels int
}

// Engine is the database. Safe for concurrent use; Close when done.
type Engine struct {
	opts Options
	log  *slog.Logger
	db   *store.DB

	// applyMu serialises index updates from the committer against
	// snapshots, so a snapshot's sequence matches its contents. It also
	// guards idx and applied.
	applyMu sync.RWMutex
	idx     map[string][]*index.HNSW // collection → one index per space
	applied map[string]uint64        // collection → last sequence applied

	models models

	written, deleted, searches atomic.Uint64

	ready  atomic.Bool
	stop   chan struct{}
	wg     sync.WaitGroup
	closed atomic.Bool
}

// Open opens (or creates) a data directory. The indexes load in the
// background (snapshot + change-log replay, or a rebuild from the store);
// until then Ready is false and object and search calls return
// ErrNotReady.
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
	if err := os.MkdirAll(filepath.Join(opts.Dir, "index"), 0o755); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e := &Engine{opts: opts, log: opts.Logger, idx: map[string][]*index.HNSW{}, applied: map[string]uint64{}, stop: make(chan struct{}),
		models: models{load: opts.LoadModel, m: map[string]Encoder{}}}
	db, err := store.Open(filepath.Join(opts.Dir, "db"), &store.Options{Logger: opts.Logger, OnCommit: e.onCommit})
	if err != nil {
		return nil, err
	}
	e.db = db
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		start := time.Now()
		if err := e.loadIndexes(); err != nil {
			e.log.Error("loading indexes failed", "err", err)
			return
		}
		e.ready.Store(true)
		e.log.Info("indexes ready", "took", time.Since(start).Round(time.Millisecond))
		e.snapshotLoop()
	}()
	return e, nil
}

// Ready reports whether the indexes are loaded.
func (e *Engine) Ready() bool { return e.ready.Load() && !e.closed.Load() }

// WaitReady blocks until the indexes are loaded or ctx ends.
func (e *Engine) WaitReady(ctx context.Context) error {
	for !e.Ready() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
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
	var errs []error
	if e.ready.Load() {
		errs = append(errs, e.Snapshot())
	}
	errs = append(errs, e.db.Close())
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

func newIndex(s store.Space, p store.IndexParams) (*index.HNSW, error) {
	m, err := kernels.ParseMetric(s.Metric)
	if err != nil {
		return nil, err
	}
	st, err := index.ParseStorage(p.Storage)
	if err != nil {
		return nil, err
	}
	cfg := index.Config{Dim: s.Dim, Metric: m, M: p.M, EfConstruction: p.EfConstruction, EfSearch: p.EfSearch, Storage: st}
	return index.NewHNSW(cfg)
}

// onCommit is the store's commit hook: it applies committed changes to the
// indexes in sequence order. Changes that arrive before the indexes are
// loaded are picked up by the change-log replay instead.
func (e *Engine) onCommit(coll string, changes []store.Change) {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	idxs, ok := e.idx[coll]
	if !ok {
		return
	}
	meta, err := e.db.Collection(coll)
	if err != nil {
		return
	}
	for _, c := range changes {
		for si, s := range meta.Spaces {
			if c.Op == store.OpDelete {
				idxs[si].Delete(c.ID)
				continue
			}
			if v, ok := c.Vectors[s.Name]; ok {
				if err := idxs[si].Add(c.ID, v); err != nil {
					// The store validated the vector; this is a bug.
					e.log.Error("index insert failed", "collection", coll, "space", s.Name, "id", c.ID, "err", err)
				}
			} else {
				idxs[si].Delete(c.ID)
			}
		}
		e.applied[coll] = c.Seq
	}
}

func (e *Engine) notReady() error {
	if e.closed.Load() {
		return ErrClosed
	}
	if !e.ready.Load() {
		return ErrNotReady
	}
	return nil
}
