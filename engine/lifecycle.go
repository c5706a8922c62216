package engine

import (
	"bufio"
	"bytes"
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

func (e *Engine) snapPath(meta store.Collection, space int) string {
	return filepath.Join(e.opts.Dir, "index", fmt.Sprintf("%d-%d.snap", meta.CID, space))
}

// loadIndexes loads every collection's indexes: snapshot + replay of the
// change log after it, or a rebuild from the store when the snapshot is
// missing, corrupt, from another format or for another schema.
func (e *Engine) loadIndexes() error {
	for _, meta := range e.db.Collections() {
		select {
		case <-e.stop:
			return errors.New("engine: closed while loading")
		default:
		}
		if err := e.loadCollection(meta); err != nil {
			return fmt.Errorf("collection %q: %w", meta.Name, err)
		}
	}
	return nil
}

func (e *Engine) loadCollection(meta store.Collection) error {
	// Hold applyMu so that commits made while loading wait, then see the
	// loaded indexes; the replay below covers everything before.
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	last, err := e.db.LastSeq(meta.Name)
	if err != nil {
		return err
	}
	idxs := make([]*index.HNSW, len(meta.Spaces))
	minSeq := last
	for si, s := range meta.Spaces {
		h, seq, err := e.readSnapshot(meta, si)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				e.log.Warn("index snapshot unusable, rebuilding from the store", "collection", meta.Name, "space", s.Name, "err", err)
			} else if last > 0 {
				e.log.Info("no index snapshot, rebuilding from the store", "collection", meta.Name, "space", s.Name)
			}
			start := time.Now()
			h, err = e.rebuild(meta, si)
			if err != nil {
				return err
			}
			seq = last
			e.log.Info("index rebuilt", "collection", meta.Name, "space", s.Name, "vectors", h.Len(), "took", time.Since(start).Round(time.Millisecond))
		}
		idxs[si] = h
		minSeq = min(minSeq, seq)
		// Replay changes after this index's snapshot.
		replayed := 0
		err = e.db.ChangesSince(meta, seq, func(c store.Change) error {
			replayed++
			if c.Op == store.OpDelete {
				h.Delete(c.ID)
				return nil
			}
			v, err := e.db.Vector(meta, si, c.ID)
			if errors.Is(err, store.ErrNotFound) {
				h.Delete(c.ID) // deleted later, or upserted without this space
				return nil
			}
			if err != nil {
				return err
			}
			return h.Add(c.ID, v)
		})
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		if replayed > 0 {
			e.log.Info("replayed change log", "collection", meta.Name, "space", s.Name, "changes", replayed)
		}
	}
	e.idx[meta.Name] = idxs
	e.applied[meta.Name] = last
	return nil
}

func (e *Engine) readSnapshot(meta store.Collection, si int) (*index.HNSW, uint64, error) {
	f, err := os.Open(e.snapPath(meta, si))
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var hdr [20]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, 0, fmt.Errorf("snapshot header: %w", err)
	}
	if string(hdr[:8]) != snapMagic {
		return nil, 0, errors.New("snapshot: bad magic")
	}
	if crc32.Checksum(hdr[:16], castagnoli) != binary.LittleEndian.Uint32(hdr[16:]) {
		return nil, 0, errors.New("snapshot: header checksum mismatch")
	}
	seq := binary.LittleEndian.Uint64(hdr[8:16])
	h, err := index.ReadHNSW(r)
	if err != nil {
		return nil, 0, err
	}
	s := meta.Spaces[si]
	c := h.Config()
	if c.Dim != s.Dim || c.Metric.String() != s.Metric {
		return nil, 0, fmt.Errorf("snapshot is for dim %d %v, the space is dim %d %s", c.Dim, c.Metric, s.Dim, s.Metric)
	}
	if last, _ := e.db.LastSeq(meta.Name); seq > last {
		return nil, 0, fmt.Errorf("snapshot is at sequence %d, past the store's %d", seq, last)
	}
	return h, seq, nil
}

// rebuild builds a space's index from every vector in the store.
func (e *Engine) rebuild(meta store.Collection, si int) (*index.HNSW, error) {
	h, err := newIndex(meta.Spaces[si], meta.Index)
	if err != nil {
		return nil, err
	}
	type item struct {
		id uint64
		v  []float32
	}
	threads := e.opts.BuildThreads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	ch := make(chan item, 256)
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				if err := h.Add(it.id, it.v); err != nil {
					once.Do(func() { firstErr = err })
				}
			}
		}()
	}
	err = e.db.ScanVectors(meta, si, func(id uint64, v []float32) error {
		select {
		case ch <- item{id, v}:
			return nil
		case <-e.stop:
			return errors.New("engine: closed while rebuilding")
		}
	})
	close(ch)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return h, firstErr
}

// Snapshot writes every index to disk crash-safely with the change
// sequence it reflects.
func (e *Engine) Snapshot() error {
	type job struct {
		path string
		seq  uint64
		data []byte
	}
	var jobs []job
	e.applyMu.RLock()
	for name, idxs := range e.idx {
		meta, err := e.db.Collection(name)
		if err != nil {
			continue
		}
		seq := e.applied[name]
		for si, h := range idxs {
			var buf bytes.Buffer
			if _, err := h.WriteTo(&buf); err != nil {
				e.applyMu.RUnlock()
				return fmt.Errorf("engine: snapshot %s/%s: %w", name, meta.Spaces[si].Name, err)
			}
			jobs = append(jobs, job{e.snapPath(meta, si), seq, buf.Bytes()})
		}
	}
	e.applyMu.RUnlock()
	var errs []error
	for _, j := range jobs {
		errs = append(errs, atomicfile.Write(j.path, 0o644, func(w io.Writer) error {
			var hdr [20]byte
			copy(hdr[:], snapMagic)
			binary.LittleEndian.PutUint64(hdr[8:], j.seq)
			binary.LittleEndian.PutUint32(hdr[16:], crc32.Checksum(hdr[:16], castagnoli))
			if _, err := w.Write(hdr[:]); err != nil {
				return err
			}
			_, err := w.Write(j.data)
			return err
		}))
	}
	return errors.Join(errs...)
}
