package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"rosetta/internal/atomicfile"
	"rosetta/store"
)

// blobStore keeps the originals uploaded through the API (image and audio
// content) under DIR/blobs, content-addressed: blobs/ab/abcdef… is the
// file whose SHA-256 is abcdef…, so the same bytes are stored once however
// many objects name them. A blob is written and synced (temp file, fsync,
// rename, fsync of the folder) before the object that names it is
// committed; it is removed once no object references it (the store keeps
// a reference key per object, in the object's batch). A blob written for
// a write that then failed, or whose last reference went just before a
// kill, is an orphan: sweep removes those at start.
type blobStore struct {
	dir string
	log *slog.Logger
	// mu guards pending, and makes "check the references, then remove"
	// atomic with respect to a writer registering a blob: a blob with
	// pending writers is never removed.
	mu      sync.Mutex
	pending map[string]int
}

func newBlobStore(dir string, log *slog.Logger) (*blobStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("engine: blobs: %w", err)
	}
	return &blobStore{dir: dir, log: log, pending: map[string]int{}}, nil
}

func blobSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func validBlobName(sha string) bool {
	if len(sha) != 64 {
		return false
	}
	_, err := hex.DecodeString(sha)
	return err == nil && strings.ToLower(sha) == sha
}

func (bs *blobStore) path(sha string) string {
	return filepath.Join(bs.dir, sha[:2], sha)
}

// put stores b (unless a blob with its digest exists) and registers it as
// pending; the caller calls done once the write that names it has been
// committed or has failed.
func (bs *blobStore) put(b []byte) (string, error) {
	sha := blobSum(b)
	bs.mu.Lock()
	bs.pending[sha]++
	bs.mu.Unlock()
	p := bs.path(sha)
	if fi, err := os.Stat(p); err == nil && fi.Size() == int64(len(b)) {
		return sha, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		bs.done(sha)
		return "", fmt.Errorf("engine: blob: %w", err)
	}
	err := atomicfile.Write(p, 0o644, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		bs.done(sha)
		return "", fmt.Errorf("engine: blob %s: %w", sha[:12], err)
	}
	return sha, nil
}

func (bs *blobStore) done(sha string) {
	bs.mu.Lock()
	if bs.pending[sha]--; bs.pending[sha] <= 0 {
		delete(bs.pending, sha)
	}
	bs.mu.Unlock()
}

// open opens a blob.
func (bs *blobStore) open(sha string) (*os.File, error) {
	if !validBlobName(sha) {
		return nil, fmt.Errorf("%w: bad blob name", ErrNotFound)
	}
	f, err := os.Open(bs.path(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: the original is gone", ErrNotFound)
	}
	return f, err
}

// release removes a blob unless an object references it or a write that
// names it is pending.
func (bs *blobStore) release(sha string, referenced func(string) (bool, error)) {
	if !validBlobName(sha) {
		return
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.pending[sha] > 0 {
		return
	}
	ref, err := referenced(sha)
	if err != nil || ref {
		return
	}
	if err := os.Remove(bs.path(sha)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		bs.log.Warn("removing an unreferenced original", "blob", sha, "err", err)
	}
}

// sweep removes every unreferenced blob and the temporary files of blob
// writes a kill interrupted, and reports how many blobs it removed.
func (bs *blobStore) sweep(referenced func(string) (bool, error)) int {
	fans, err := os.ReadDir(bs.dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, fan := range fans {
		if !fan.IsDir() {
			continue
		}
		sub := filepath.Join(bs.dir, fan.Name())
		atomicfile.RemoveTemps(sub)
		files, _ := os.ReadDir(sub)
		for _, f := range files {
			sha := f.Name()
			if !validBlobName(sha) {
				continue
			}
			before := bs.exists(sha)
			bs.release(sha, referenced)
			if before && !bs.exists(sha) {
				n++
			}
		}
	}
	return n
}

func (bs *blobStore) exists(sha string) bool {
	_, err := os.Stat(bs.path(sha))
	return err == nil
}

// pin registers an existing blob as pending (as put does) and reports
// whether it exists; the caller calls done when it returns true.
func (bs *blobStore) pin(sha string) bool {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if !bs.exists(sha) {
		return false
	}
	bs.pending[sha]++
	return true
}

// blobLoop removes the blobs commits unreferenced, and sweeps on request.
func (e *Engine) blobLoop() {
	for {
		select {
		case <-e.stop:
			return
		case sha := <-e.blobGC:
			if sha == "" {
				if n := e.blobs.sweep(e.db.BlobReferenced); n > 0 {
					e.log.Info("removed unreferenced originals", "blobs", n)
				}
				continue
			}
			e.blobs.release(sha, e.db.BlobReferenced)
		}
	}
}

// unrefBlob queues a blob that may have lost its last reference; when the
// queue is full a sweep catches it later.
func (e *Engine) unrefBlob(sha string) {
	select {
	case e.blobGC <- sha:
	default:
		select {
		case e.blobGC <- "":
		default:
		}
	}
}

// keepOriginals stores the kept content of objs in the blob store and sets
// their records' Blob; done must be called once the write is committed or
// failed (ok says which).
func (e *Engine) keepOriginals(objs []Object, recs []store.Object) (done func(ok bool), err error) {
	var kept []string
	done = func(ok bool) {
		for _, sha := range kept {
			e.blobs.done(sha)
			if !ok {
				e.blobs.release(sha, e.db.BlobReferenced)
			}
		}
	}
	for i := range objs {
		recs[i].Blob = ""
		ct := objs[i].Content
		if ct == nil || !ct.Keep {
			continue
		}
		b := ct.Image
		if b == nil {
			b = ct.Audio
		}
		if b == nil {
			continue
		}
		sha, err := e.blobs.put(b)
		if err != nil {
			done(false)
			return nil, err
		}
		kept = append(kept, sha)
		recs[i].Blob = sha
	}
	return done, nil
}
