package store

import (
	"fmt"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
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
	cs, err := db.coll(coll)
	if err != nil {
		return err
	}
	if err := db.pdb.Set(rootKey(cs.meta.CID, filepath.Clean(dir)), nil, pebble.Sync); err != nil {
		return fmt.Errorf("store: add media root: %w", err)
	}
	return nil
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
