package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"time"

	"rosetta/kernels"
)

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$`)

// ValidateCollection checks a schema and fills defaults (cosine metric).
func ValidateCollection(c *Collection) error {
	var errs []error
	if !nameRE.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("collection name %q must match %s", c.Name, nameRE))
	}
	if len(c.Spaces) == 0 {
		errs = append(errs, errors.New("a collection needs at least one vector space"))
	}
	seen := map[string]bool{}
	for i := range c.Spaces {
		s := &c.Spaces[i]
		if !nameRE.MatchString(s.Name) {
			errs = append(errs, fmt.Errorf("space name %q must match %s", s.Name, nameRE))
		}
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("space %q appears twice", s.Name))
		}
		seen[s.Name] = true
		if s.Dim < 1 || s.Dim > 65536 {
			errs = append(errs, fmt.Errorf("space %q: dim %d not in 1..65536", s.Name, s.Dim))
		}
		if s.Metric == "" {
			s.Metric = "cosine"
		}
		if m, err := kernels.ParseMetric(s.Metric); err != nil {
			errs = append(errs, fmt.Errorf("space %q: %v", s.Name, err))
		} else {
			s.Metric = m.String()
		}
	}
	if c.Index.M < 0 || c.Index.M > 256 || c.Index.EfConstruction < 0 || c.Index.EfSearch < 0 {
		errs = append(errs, fmt.Errorf("index parameters %+v out of range", c.Index))
	}
	switch c.Index.Storage {
	case "", "float32", "float16":
	default:
		errs = append(errs, fmt.Errorf("index storage %q: want float32 or float16", c.Index.Storage))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

// CreateCollection stores a new collection's schema and returns it with
// its creation time. Like every write it is committed by the committer
// goroutine, in order with the writes around it.
func (db *DB) CreateCollection(c Collection) (Collection, error) {
	if err := ValidateCollection(&c); err != nil {
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
	for _, tag := range []byte("sovktnelr") {
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
