package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2/roaring64"
	"github.com/cockroachdb/pebble/v2"

	"rosetta/kernels"
)

// Options configure Open.
type Options struct {
	// Logger receives open/recovery messages (default slog.Default()).
	Logger *slog.Logger
	// OnCommit, when set, is called by the committer goroutine after each
	// synced batch, once per collection touched, with the changes in
	// sequence order, before the writers are acknowledged. The engine
	// uses it to keep the indexes in step. It must not call back into
	// the store's write methods.
	OnCommit func(coll string, changes []Change)
	// MaxGroup bounds how many write requests one commit groups.
	MaxGroup int
}

// DB is an open store. Safe for concurrent use; Close when done.
type DB struct {
	pdb  *pebble.DB
	opts Options
	log  *slog.Logger

	// mu guards colls and nextCID; collection contents have their own locks.
	mu      sync.RWMutex
	colls   map[string]*collState
	nextCID uint32

	writes chan *writeReq
	done   chan struct{}
	wg     sync.WaitGroup
	closed bool
}

// Open opens or creates a store in dir.
func Open(dir string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxGroup <= 0 {
		o.MaxGroup = 256
	}
	pdb, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatNewest, Logger: quietLogger{}})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	db := &DB{pdb: pdb, opts: o, log: o.Logger, colls: map[string]*collState{}, nextCID: 1,
		writes: make(chan *writeReq, 1024), done: make(chan struct{})}
	if err := db.checkFormat(); err != nil {
		pdb.Close()
		return nil, err
	}
	if err := db.load(); err != nil {
		pdb.Close()
		return nil, err
	}
	db.wg.Add(1)
	go db.committer()
	return db, nil
}

func (db *DB) checkFormat() error {
	v, closer, err := db.pdb.Get(keyFormat)
	if errors.Is(err, pebble.ErrNotFound) {
		return db.pdb.Set(keyFormat, binary.BigEndian.AppendUint32(nil, FormatVersion), pebble.Sync)
	}
	if err != nil {
		return fmt.Errorf("store: read format version: %w", err)
	}
	defer closer.Close()
	if len(v) != 4 {
		return fmt.Errorf("%w: malformed version key", ErrFormatVersion)
	}
	if got := binary.BigEndian.Uint32(v); got != FormatVersion {
		return fmt.Errorf("%w: the directory was written with format %d, this build reads %d", ErrFormatVersion, got, FormatVersion)
	}
	return nil
}

// load rebuilds the in-memory state of every collection from Pebble.
func (db *DB) load() error {
	if v, closer, err := db.pdb.Get(keyNextCID); err == nil {
		db.nextCID = binary.BigEndian.Uint32(v)
		closer.Close()
	}
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{'c'}, UpperBound: []byte{'d'}})
	if err != nil {
		return err
	}
	var metas []Collection
	for it.First(); it.Valid(); it.Next() {
		var c Collection
		v := it.Value()
		if len(v) < 4 {
			it.Close()
			return fmt.Errorf("store: collection %q: malformed record", it.Key()[1:])
		}
		c.CID = binary.BigEndian.Uint32(v)
		if err := json.Unmarshal(v[4:], &c); err != nil {
			it.Close()
			return fmt.Errorf("store: collection %q: %w", it.Key()[1:], err)
		}
		metas = append(metas, c)
	}
	if err := it.Close(); err != nil {
		return err
	}
	for _, m := range metas {
		cs, err := db.loadCollection(m)
		if err != nil {
			return err
		}
		db.colls[m.Name] = cs
	}
	return nil
}

func (db *DB) scan(p []byte, fn func(k, v []byte) error) error {
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			it.Close()
			return err
		}
	}
	return it.Close()
}

func (db *DB) loadCollection(m Collection) (*collState, error) {
	cs := newCollState(m)
	cid := m.CID
	if v, closer, err := db.pdb.Get(stateKey(cid)); err == nil {
		cs.nextID = binary.BigEndian.Uint64(v)
		cs.lastSeq = binary.BigEndian.Uint64(v[8:])
		closer.Close()
	}
	err := db.scan(prefix('o', cid), func(k, v []byte) error {
		id := binary.BigEndian.Uint64(k[5:])
		var o Object
		if err := json.Unmarshal(v, &o); err != nil {
			return fmt.Errorf("store: %s object %d: %w", m.Name, id, err)
		}
		cs.live.Add(id)
		if o.Key != "" {
			cs.keys[o.Key] = id
		}
		cs.addIndexed(id, indexObject(&o))
		return nil
	})
	return cs, err
}

// Close stops the committer (pending writes finish first) and closes Pebble.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	db.mu.Unlock()
	close(db.done)
	db.wg.Wait()
	return db.pdb.Close()
}

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

// CreateCollection stores a new collection's schema.
func (db *DB) CreateCollection(c Collection) (Collection, error) {
	if err := ValidateCollection(&c); err != nil {
		return Collection{}, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return Collection{}, ErrClosed
	}
	if _, ok := db.colls[c.Name]; ok {
		return Collection{}, fmt.Errorf("%w: collection %q", ErrExists, c.Name)
	}
	c.CID = db.nextCID
	c.Created = time.Now().UTC()
	c.Count = 0
	js, _ := json.Marshal(c)
	b := db.pdb.NewBatch()
	b.Set(collKey(c.Name), append(binary.BigEndian.AppendUint32(nil, c.CID), js...), nil)
	b.Set(keyNextCID, binary.BigEndian.AppendUint32(nil, c.CID+1), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return Collection{}, fmt.Errorf("store: create collection: %w", err)
	}
	db.nextCID++
	db.colls[c.Name] = newCollState(c)
	return c, nil
}

// DropCollection deletes a collection and everything in it.
func (db *DB) DropCollection(name string) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	cs, ok := db.colls[name]
	if !ok {
		return fmt.Errorf("%w: collection %q", ErrNotFound, name)
	}
	cid := cs.meta.CID
	b := db.pdb.NewBatch()
	b.Delete(collKey(name), nil)
	for _, tag := range []byte("sovktnelr") {
		p := prefix(tag, cid)
		b.DeleteRange(p, prefixEnd(p), nil)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("store: drop collection: %w", err)
	}
	delete(db.colls, name)
	return nil
}

func (db *DB) coll(name string) (*collState, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil, ErrClosed
	}
	cs, ok := db.colls[name]
	if !ok {
		return nil, fmt.Errorf("%w: collection %q", ErrNotFound, name)
	}
	return cs, nil
}

// Collection returns a collection's schema and count.
func (db *DB) Collection(name string) (Collection, error) {
	cs, err := db.coll(name)
	if err != nil {
		return Collection{}, err
	}
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	c := cs.meta
	c.Count = int(cs.live.GetCardinality())
	return c, nil
}

// Collections lists every collection, sorted by name.
func (db *DB) Collections() []Collection {
	db.mu.RLock()
	names := make([]string, 0, len(db.colls))
	for n := range db.colls {
		names = append(names, n)
	}
	db.mu.RUnlock()
	sort.Strings(names)
	out := make([]Collection, 0, len(names))
	for _, n := range names {
		if c, err := db.Collection(n); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// LastSeq is the collection's last committed change sequence number.
func (db *DB) LastSeq(coll string) (uint64, error) {
	cs, err := db.coll(coll)
	if err != nil {
		return 0, err
	}
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	return cs.lastSeq, nil
}

// Get returns an object with its vectors.
func (db *DB) Get(coll string, id uint64) (Object, error) {
	cs, err := db.coll(coll)
	if err != nil {
		return Object{}, err
	}
	return db.getObject(cs.meta, id, true)
}

func (db *DB) getObject(meta Collection, id uint64, vectors bool) (Object, error) {
	v, closer, err := db.pdb.Get(objKey(meta.CID, id))
	if errors.Is(err, pebble.ErrNotFound) {
		return Object{}, fmt.Errorf("%w: object %d in %q", ErrNotFound, id, meta.Name)
	}
	if err != nil {
		return Object{}, err
	}
	var o Object
	err = json.Unmarshal(v, &o)
	closer.Close()
	if err != nil {
		return Object{}, fmt.Errorf("store: object %d: %w", id, err)
	}
	if vectors {
		for i, s := range meta.Spaces {
			if vec, err := db.Vector(meta, i, id); err == nil {
				if o.Vectors == nil {
					o.Vectors = map[string][]float32{}
				}
				o.Vectors[s.Name] = vec
			}
		}
	}
	return o, nil
}

// Vector reads one stored vector (space by index in meta.Spaces).
func (db *DB) Vector(meta Collection, space int, id uint64) ([]float32, error) {
	v, closer, err := db.pdb.Get(vecKey(meta.CID, space, id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("%w: object %d has no %q vector", ErrNotFound, id, meta.Spaces[space].Name)
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return decodeVector(v), nil
}

// ScanVectors calls fn for every stored vector of a space, in id order.
// The slice passed to fn is fn's to keep.
func (db *DB) ScanVectors(meta Collection, space int, fn func(id uint64, v []float32) error) error {
	p := vecPrefix(meta.CID, space)
	return db.scan(p, func(k, v []byte) error {
		return fn(binary.BigEndian.Uint64(k[len(p):]), decodeVector(v))
	})
}

// ChangesSince calls fn for each logged change with sequence > seq, in
// order. Change.Vectors is nil: read the current vectors with Vector.
func (db *DB) ChangesSince(meta Collection, seq uint64, fn func(Change) error) error {
	lo := logKey(meta.CID, seq+1)
	hi := prefixEnd(prefix('l', meta.CID))
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		if len(v) != 9 {
			it.Close()
			return fmt.Errorf("store: malformed change-log entry %x", k)
		}
		c := Change{Seq: binary.BigEndian.Uint64(k[5:]), Op: Op(v[0]), ID: binary.BigEndian.Uint64(v[1:])}
		if err := fn(c); err != nil {
			it.Close()
			return err
		}
	}
	return it.Close()
}

// ScanObjects calls fn for every object of a collection (without vectors),
// in id order.
func (db *DB) ScanObjects(coll string, fn func(Object) error) error {
	cs, err := db.coll(coll)
	if err != nil {
		return err
	}
	return db.scan(prefix('o', cs.meta.CID), func(k, v []byte) error {
		var o Object
		if err := json.Unmarshal(v, &o); err != nil {
			return fmt.Errorf("store: object %x: %w", k, err)
		}
		return fn(o)
	})
}

// List returns up to limit objects (without vectors) with ids greater
// than after, in id order.
func (db *DB) List(coll string, after uint64, limit int) ([]Object, error) {
	cs, err := db.coll(coll)
	if err != nil {
		return nil, err
	}
	p := prefix('o', cs.meta.CID)
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: appendU64(append([]byte(nil), p...), after+1), UpperBound: prefixEnd(p)})
	if err != nil {
		return nil, err
	}
	var out []Object
	for it.First(); it.Valid() && len(out) < limit; it.Next() {
		var o Object
		if err := json.Unmarshal(it.Value(), &o); err != nil {
			it.Close()
			return nil, fmt.Errorf("store: object %x: %w", it.Key(), err)
		}
		out = append(out, o)
	}
	return out, it.Close()
}

// Live returns a copy of the collection's live object ids.
func (db *DB) Live(coll string) (*roaring64.Bitmap, error) {
	cs, err := db.coll(coll)
	if err != nil {
		return nil, err
	}
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	return cs.live.Clone(), nil
}

// Metrics exposes Pebble's metrics for /metrics.
func (db *DB) Metrics() *pebble.Metrics { return db.pdb.Metrics() }

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
