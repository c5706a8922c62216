package store

import (
	"fmt"
	"path/filepath"
)

// AddMediaRoot records dir as a folder whose files the collection's
// objects came from, so that a server may serve those files as the
// objects' media. Only local tools with filesystem access (rosetta ingest
// --data) record roots; the HTTP API cannot, so a client that writes an
// object with an arbitrary source cannot make the server read that path.
// dir must be absolute; it is stored cleaned. Recording a root twice is a
// no-op.
func (db *DB) AddMediaRoot(coll, dir string) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("%w: media root %q is not an absolute path", ErrInvalid, dir)
	}
	r := newReq(reqMediaRoot, coll)
	r.dir = filepath.Clean(dir)
	if err := db.submit(r); err != nil {
		return err
	}
	return r.err
}

// commitMediaRoot runs on the committer goroutine, so a root cannot be
// written for a collection being dropped.
func (db *DB) commitMediaRoot(r *writeReq) {
	cs, err := db.lookup(r.coll)
	if err != nil {
		r.err = err
		return
	}
	b := db.pdb.NewBatch()
	defer b.Close()
	b.Set(rootKey(cs.meta.CID, r.dir), nil, nil)
	if err := db.commitBatch(b, db.mon.reserve, 1); err != nil {
		r.err = fmt.Errorf("store: add media root: %w", err)
	}
}

// MediaRoots lists the folders recorded by AddMediaRoot, sorted.
func (db *DB) MediaRoots(coll string) ([]string, error) {
	cs, err := db.coll(coll)
	if err != nil {
		return nil, err
	}
	p := prefix('r', cs.meta.CID)
	var out []string
	err = db.scan(p, func(k, _ []byte) error {
		out = append(out, string(k[len(p):]))
		return nil
	})
	return out, err
}
