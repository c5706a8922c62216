package engine

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"rosetta/index"
	"rosetta/internal/atomicfile"
	"rosetta/store"
)

// Snapshot file: magic "RSTSNAP1", the change sequence the index reflects
// (u64, little-endian), CRC-32C of those 16 bytes, then the index in its
// own checksummed format (index.WriteTo).
const snapMagic = "RSTSNAP1"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func defaultThreads() int { return runtime.GOMAXPROCS(0) }

func (e *Engine) snapDir() string { return filepath.Join(e.opts.Dir, "index") }

func (e *Engine) snapPath(c *coll, space int) string {
	return filepath.Join(e.snapDir(), fmt.Sprintf("%d-%d.snap", c.smeta.CID, space))
}

// removeSnapshotLeftovers deletes temporary files of snapshots that a
// kill interrupted; nothing else writes in the index directory yet.
func (e *Engine) removeSnapshotLeftovers() {
	n, err := atomicfile.RemoveTemps(e.snapDir())
	if err != nil {
		e.log.Warn("removing interrupted snapshot files", "err", err)
	} else if n > 0 {
		e.log.Info("removed files of interrupted snapshots", "files", n)
	}
}

// loadAll loads every collection's indexes in turn and reports how many
// failed. A failed collection is reported by Health and can be dropped or
// rebuilt; the others serve.
func (e *Engine) loadAll() int {
	failed := 0
	for _, c := range e.collList() {
		select {
		case <-e.stop:
			return failed
		default:
		}
		if err := e.load(c, false); err != nil {
			failed++
		}
	}
	return failed
}

// load loads (or, with rebuild, rebuilds) a collection's indexes: each
// space from its snapshot plus a replay of the change log after it, or
// from every vector in the store when the snapshot is missing, corrupt or
// for another schema. Vectors an index refuses are logged, counted and
// left out. The bulk of the work runs while writes proceed; the final
// replay and the switch to the new indexes hold applyMu, so that no
// committed change is missed.
func (e *Engine) load(c *coll, rebuild bool) error {
	c.state.Store(stateLoading)
	err := e.loadIndexes(c, rebuild)
	if err != nil {
		if c.state.Load() != stateDropped {
			c.fail(err)
		}
		e.log.Error("loading indexes failed", "collection", c.name, "err", err)
	}
	return err
}

func (e *Engine) loadIndexes(c *coll, rebuild bool) error {
	last, err := e.db.LastSeq(c.name)
	if err != nil {
		return err
	}
	idxs := make([]*index.HNSW, len(c.meta.Spaces))
	seqs := make([]uint64, len(c.meta.Spaces))
	for si, s := range c.meta.Spaces {
		c.skipped[si].Store(0)
		var h *index.HNSW
		var seq uint64
		err := os.ErrNotExist
		if !rebuild {
			h, seq, err = e.readSnapshot(c, si, last)
		}
		if err != nil {
			switch {
			case rebuild:
				e.log.Info("rebuilding index from the store", "collection", c.name, "space", s.Name)
			case !errors.Is(err, os.ErrNotExist):
				e.log.Warn("index snapshot unusable, rebuilding from the store", "collection", c.name, "space", s.Name, "err", err)
			case last > 0:
				e.log.Info("no index snapshot, rebuilding from the store", "collection", c.name, "space", s.Name)
			}
			start := time.Now()
			if h, err = e.rebuildSpace(c, si); err != nil {
				return fmt.Errorf("space %q: %w", s.Name, err)
			}
			seq = last
			e.log.Info("index rebuilt", "collection", c.name, "space", s.Name, "vectors", h.Len(),
				"skipped", c.skipped[si].Load(), "took", time.Since(start).Round(time.Millisecond))
		}
		idxs[si], seqs[si] = h, seq
	}
	text, textSeq, err := e.loadKeyword(c, rebuild, last)
	if err != nil {
		return err
	}
	// Replay what was committed after each snapshot (or after the scan)
	// and publish, with commits held back.
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	if c.state.Load() == stateDropped {
		return nil
	}
	now, err := e.db.LastSeq(c.name)
	if err != nil {
		return err
	}
	for si, s := range c.meta.Spaces {
		n, err := e.replay(c, si, idxs[si], seqs[si])
		if err != nil {
			return fmt.Errorf("space %q: replay: %w", s.Name, err)
		}
		if n > 0 {
			e.log.Info("replayed change log", "collection", c.name, "space", s.Name, "changes", n)
		}
	}
	if n, err := e.replayKeyword(c, text, textSeq); err != nil {
		return fmt.Errorf("keyword index: replay: %w", err)
	} else if n > 0 {
		e.log.Info("replayed change log into the keyword index", "collection", c.name, "changes", n)
	}
	if old := c.indexes(); old != nil {
		for _, h := range old {
			defer h.Close()
		}
	}
	e.attachSources(c, idxs)
	c.publish(idxs, text, now)
	return nil
}

// replay applies the logged changes after seq to one space's index,
// reading each object's current vector (so replaying a change twice is
// harmless).
func (e *Engine) replay(c *coll, si int, h *index.HNSW, seq uint64) (int, error) {
	n := 0
	err := e.db.ChangesSince(c.smeta, seq, func(ch store.Change) error {
		n++
		if ch.Op == store.OpDelete {
			h.Delete(ch.ID)
			return nil
		}
		v, err := e.db.Vector(c.smeta, si, ch.ID)
		if errors.Is(err, store.ErrNotFound) {
			h.Delete(ch.ID) // deleted later, or upserted without this space
			return nil
		}
		if err != nil {
			return err
		}
		if err := h.Add(ch.ID, v); err != nil {
			h.Delete(ch.ID)
			e.skipVector(c, si, ch.ID, err)
		}
		return nil
	})
	return n, err
}

// skipVector logs and counts a stored vector an index cannot take.
func (e *Engine) skipVector(c *coll, si int, id uint64, err error) {
	if c.skipped[si].Add(1) <= 10 {
		e.log.Warn("stored vector refused by the index; left out", "collection", c.name, "space", c.meta.Spaces[si].Name, "id", id, "err", err)
	}
}

// openSnapshot opens a snapshot file and reads its header: the change
// sequence it reflects, which must not be past the store's last. The
// caller reads the index from the reader and closes the file.
func openSnapshot(path string, last uint64) (*os.File, *bufio.Reader, uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, 0, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var hdr [20]byte
	fail := func(err error) (*os.File, *bufio.Reader, uint64, error) {
		f.Close()
		return nil, nil, 0, err
	}
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return fail(fmt.Errorf("snapshot header: %w", err))
	}
	if string(hdr[:8]) != snapMagic {
		return fail(errors.New("snapshot: bad magic"))
	}
	if crc32.Checksum(hdr[:16], castagnoli) != binary.LittleEndian.Uint32(hdr[16:]) {
		return fail(errors.New("snapshot: header checksum mismatch"))
	}
	seq := binary.LittleEndian.Uint64(hdr[8:16])
	if seq > last {
		return fail(fmt.Errorf("snapshot is at sequence %d, past the store's %d", seq, last))
	}
	return f, r, seq, nil
}

// writeSnapshot writes a snapshot file crash-safely: the header with the
// change sequence, then what body writes.
func writeSnapshot(path string, seq uint64, body func(io.Writer) error) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		var hdr [20]byte
		copy(hdr[:], snapMagic)
		binary.LittleEndian.PutUint64(hdr[8:], seq)
		binary.LittleEndian.PutUint32(hdr[16:], crc32.Checksum(hdr[:16], castagnoli))
		if _, err := w.Write(hdr[:]); err != nil {
			return err
		}
		return body(w)
	})
}

func (e *Engine) readSnapshot(c *coll, si int, last uint64) (*index.HNSW, uint64, error) {
	f, r, seq, err := openSnapshot(e.snapPath(c, si), last)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	h, err := index.ReadHNSW(r)
	if err != nil {
		return nil, 0, err
	}
	s := c.meta.Spaces[si]
	cfg := h.Config()
	if cfg.Dim != s.Dim || cfg.Metric.String() != s.Metric {
		return nil, 0, fmt.Errorf("snapshot is for dim %d %v, the space is dim %d %s", cfg.Dim, cfg.Metric, s.Dim, s.Metric)
	}
	// A snapshot of another storage setting is rebuilt, never reused.
	want, err := indexConfig(s, c.meta.Index)
	if err != nil {
		return nil, 0, err
	}
	if cfg.Storage != want.Storage || (cfg.Storage.Quantised() && cfg.Originals != want.Originals) {
		return nil, 0, fmt.Errorf("snapshot has %v storage (originals %v), the collection asks for %v (%v)", cfg.Storage, cfg.Originals, want.Storage, want.Originals)
	}
	if want.Rescore != 0 {
		h.SetRescore(want.Rescore)
	}
	return h, seq, nil
}

// rebuildSpace builds a space's index from every vector in the store,
// skipping (and counting) the ones it refuses.
func (e *Engine) rebuildSpace(c *coll, si int) (*index.HNSW, error) {
	h, err := newIndex(c.meta.Spaces[si], c.meta.Index)
	if err != nil {
		return nil, err
	}
	type item struct {
		id uint64
		v  []float32
	}
	err = buildFrom(e, func(emit func(item) error) error {
		return e.db.ScanVectors(c.smeta, si, func(id uint64, v []float32) error { return emit(item{id, v}) })
	}, func(it item) {
		if err := h.Add(it.id, it.v); err != nil {
			e.skipVector(c, si, it.id, err)
		}
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// buildFrom runs scan, which emits what it reads from the store, and
// hands each item to add on BuildThreads goroutines; it stops when the
// engine closes.
func buildFrom[T any](e *Engine, scan func(emit func(T) error) error, add func(T)) error {
	threads := e.opts.BuildThreads
	if threads <= 0 {
		threads = defaultThreads()
	}
	ch := make(chan T, 256)
	var wg sync.WaitGroup
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				add(it)
			}
		}()
	}
	err := scan(func(it T) error {
		select {
		case ch <- it:
			return nil
		case <-e.stop:
			return errors.New("engine: closed while rebuilding")
		}
	})
	close(ch)
	wg.Wait()
	return err
}

// RebuildCollection rebuilds a collection's indexes from the store: the
// repair for a collection whose indexes failed to load, or that is
// suspected to be out of step. Writes and searches on it get ErrNotReady
// while it runs.
func (e *Engine) RebuildCollection(ctx context.Context, name string) error {
	c, err := e.coll(name)
	if err != nil {
		return err
	}
	if !c.state.CompareAndSwap(stateReady, stateLoading) && !c.state.CompareAndSwap(stateFailed, stateLoading) {
		return fmt.Errorf("%w: collection %q is loading", ErrNotReady, name)
	}
	return e.load(c, true)
}

// Snapshot writes every ready collection's indexes to disk crash-safely
// with the change sequence they reflect. It reads the applied sequence
// first and then streams each index while writes and searches go on: the
// file holds every change up to that sequence (and perhaps later ones,
// which the replay after loading applies again, harmlessly).
func (e *Engine) Snapshot() error {
	e.snapMu.Lock()
	defer e.snapMu.Unlock()
	var errs []error
	for _, c := range e.collList() {
		if c.state.Load() != stateReady {
			continue
		}
		seq := c.applied.Load()
		for si, h := range c.indexes() {
			err := writeSnapshot(e.snapPath(c, si), seq, func(w io.Writer) error {
				_, err := h.WriteTo(w)
				return err
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("engine: snapshot %s/%s: %w", c.name, c.meta.Spaces[si].Name, err))
			}
		}
		if ix := c.keyword(); ix != nil {
			if err := e.writeTextSnapshot(c, ix, seq); err != nil {
				errs = append(errs, fmt.Errorf("engine: snapshot %s keyword index: %w", c.name, err))
			} else {
				e.compactKeyword(c, ix)
			}
		}
	}
	return errors.Join(errs...)
}
