package store

import (
	"encoding/binary"
	"fmt"
	"time"
)

// checkSchema refuses a schema the key layout cannot hold. The engine
// validates schemas (names, dimensions, metrics, index parameters); the
// store checks only what it relies on itself.
func checkSchema(c *Collection) error {
	if c.Name == "" || len(c.Spaces) == 0 || len(c.Spaces) > 1<<16 {
		return fmt.Errorf("%w: a collection needs a name and 1 to 65536 spaces", ErrInvalid)
	}
	return nil
}

// CreateCollection stores a new collection's schema and returns it with
// its creation time. Like every write it is committed by the committer
// goroutine, in order with the writes around it.
func (db *DB) CreateCollection(c Collection) (Collection, error) {
	if err := checkSchema(&c); err != nil {
		return Collection{}, err
	}
	r := newReq(reqCreate, c.Name)
	r.schema = c
	if err := db.submit(r); err != nil {
		return Collection{}, err
	}
	if r.err != nil {
		return Collection{}, r.err
	}
	return r.schema, nil
}

// DropCollection deletes a collection and everything in it. It is
// committed by the committer goroutine: writes submitted before it are
// committed first, writes after it find no collection (ErrNotFound), so
// none can recreate keys of the dropped collection. A drop may use half
// of Options.DiskReserveBytes, so that space can be reclaimed when the
// disk is full (the space returns as Pebble compacts).
func (db *DB) DropCollection(name string) error {
	r := newReq(reqDrop, name)
	if err := db.submit(r); err != nil {
		return err
	}
	return r.err
}

// commitCreate runs on the committer goroutine.
func (db *DB) commitCreate(r *writeReq) {
	c := r.schema
	db.mu.RLock()
	_, exists := db.colls[c.Name]
	db.mu.RUnlock()
	if exists {
		r.err = fmt.Errorf("%w: collection %q", ErrExists, c.Name)
		return
	}
	c.CID = db.nextCID
	c.Created = time.Now().UTC()
	c.Count = 0
	b := db.pdb.NewBatch()
	defer b.Close()
	b.Set(collKey(c.Name), encodeCollection(c), nil)
	b.Set(keyNextCID, binary.BigEndian.AppendUint32(nil, c.CID+1), nil)
	if err := db.commitBatch(b, db.mon.reserve, 1); err != nil {
		r.err = fmt.Errorf("store: create collection %q: %w", c.Name, err)
		return
	}
	db.nextCID++
	db.mu.Lock()
	db.colls[c.Name] = newCollState(c)
	db.mu.Unlock()
	r.schema = c
}

// commitDrop runs on the committer goroutine. Readers that looked the
// collection up before the drop finish against its in-memory state;
// Pebble reads see the data either all there or all gone (one batch).
func (db *DB) commitDrop(r *writeReq) {
	db.mu.RLock()
	cs, ok := db.colls[r.coll]
	db.mu.RUnlock()
	if !ok {
		r.err = fmt.Errorf("%w: collection %q", ErrNotFound, r.coll)
		return
	}
	cid := cs.meta.CID
	b := db.pdb.NewBatch()
	defer b.Close()
	b.Delete(collKey(r.coll), nil)
	for _, tag := range []byte("sovktnelrbm") {
		p := prefix(tag, cid)
		b.DeleteRange(p, prefixEnd(p), nil)
	}
	reserve := db.mon.reserve
	if reserve > 0 {
		reserve /= 2
	}
	if err := db.commitBatch(b, reserve, 1); err != nil {
		r.err = fmt.Errorf("store: drop collection %q: %w", r.coll, err)
		return
	}
	db.mu.Lock()
	delete(db.colls, r.coll)
	db.mu.Unlock()
}
