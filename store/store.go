package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2/roaring64"
	"github.com/cockroachdb/pebble/v2"
)

// Options configure Open. The zero value (or nil) gives the defaults.
type Options struct {
	// Logger receives open/recovery messages, Pebble's log, background
	// errors, write stalls and skipped corrupt records (default
	// slog.Default()).
	Logger *slog.Logger
	// OnCommit, when set, is called by the committer goroutine after each
	// synced batch, once per collection touched, with the changes in
	// sequence order, before the writers are acknowledged. The engine
	// uses it to keep the indexes in step. It must not call back into
	// the store's write methods.
	OnCommit func(coll string, changes []Change)
	// MaxGroup bounds how many write requests one commit groups
	// (default 256).
	MaxGroup int
	// DiskReserveBytes is the free space, on the filesystem holding the
	// store, below which writes are refused with ErrDiskFull so that
	// Pebble keeps room for its WAL, flushes and compactions (default
	// DefaultDiskReserveBytes, 64 MiB; negative disables the guard).
	// DropCollection may go down to half of it, so that space can be
	// reclaimed.
	DiskReserveBytes int64
	// CommitTimeout bounds how long a writer waits for its commit before
	// it gets ErrUnavailable, and how long a commit or a Pebble write
	// stall may last before Health reports it (default
	// DefaultCommitTimeout, 10 s).
	CommitTimeout time.Duration
	// CacheBytes sizes Pebble's block cache, which every read of a record
	// or vector goes through (default DefaultCacheBytes; Pebble's own
	// default, 8 MiB, makes most reads of a large collection decode a
	// block from the OS page cache).
	CacheBytes int64
}

// DefaultCacheBytes is the block cache a store gets by default.
const DefaultCacheBytes = 128 << 20

// DefaultOptions returns the options Open uses for nil.
func DefaultOptions() *Options {
	return &Options{Logger: slog.Default(), MaxGroup: 256, DiskReserveBytes: DefaultDiskReserveBytes, CommitTimeout: DefaultCommitTimeout,
		CacheBytes: DefaultCacheBytes}
}

// DB is an open store. Safe for concurrent use; Close when done.
type DB struct {
	pdb  *pebble.DB
	opts Options
	log  *slog.Logger
	mon  *monitor

	// mu guards colls and closed; collection contents have their own
	// locks. It is never held across a Pebble commit.
	mu     sync.RWMutex
	colls  map[string]*collState
	closed bool

	// nextCID is owned by the committer goroutine (and load before it
	// starts).
	nextCID uint32

	writes  chan *writeReq
	pending sync.WaitGroup // submitted requests not yet acknowledged
	done    chan struct{}  // closed by Close once pending is zero
	wg      sync.WaitGroup // the committer

	// testHookSubmit, when set, runs in submit between the closed check
	// and the send to the committer (tests widen that window with it).
	testHookSubmit func()
	// testHookCommit, when set, runs just before each Pebble commit
	// (tests stall the committer with it).
	testHookCommit func()
}

// Open opens or creates a store in dir.
func Open(dir string, opts *Options) (*DB, error) {
	o := *DefaultOptions()
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxGroup <= 0 {
		o.MaxGroup = 256
	}
	if o.DiskReserveBytes == 0 {
		o.DiskReserveBytes = DefaultDiskReserveBytes
	}
	if o.CommitTimeout <= 0 {
		o.CommitTimeout = DefaultCommitTimeout
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	mon := &monitor{dir: dir, reserve: o.DiskReserveBytes, timeout: o.CommitTimeout, log: o.Logger}
	cache := pebble.NewCache(o.CacheBytes)
	defer cache.Unref() // the DB holds its own reference
	pdb, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatNewest,
		Logger: pebbleLogger{o.Logger}, EventListener: mon.listener(), Cache: cache})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	db := &DB{pdb: pdb, opts: o, log: o.Logger, mon: mon, colls: map[string]*collState{}, nextCID: 1,
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
	got, err := decodeU32(v)
	if err != nil {
		return fmt.Errorf("%w: malformed version key: %w", ErrFormatVersion, err)
	}
	if got != FormatVersion {
		return fmt.Errorf("%w: the directory was written with format %d, this build reads %d", ErrFormatVersion, got, FormatVersion)
	}
	return nil
}

// corruptRecord logs and counts a record that is skipped.
func (db *DB) corruptRecord(what string, key []byte, err error) {
	db.mon.corrupt.Add(1)
	db.log.Error("store: skipping corrupt record", "record", what, "key", fmt.Sprintf("%x", key), "err", err)
}

// load rebuilds the in-memory state of every collection from Pebble.
// A corrupt collection or state record fails Open (ErrCorrupt): guessing
// there could reuse ids. A corrupt object record is logged, counted
// (Events.CorruptRecords) and skipped; a corrupt next-cid record is
// logged, counted and rebuilt from the collections.
func (db *DB) load() error {
	if v, closer, err := db.pdb.Get(keyNextCID); err == nil {
		n, derr := decodeU32(v)
		closer.Close()
		if derr != nil {
			db.corruptRecord("next collection id", keyNextCID, derr)
		} else {
			db.nextCID = n
		}
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("store: read next collection id: %w", err)
	}
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{'c'}, UpperBound: []byte{'d'}})
	if err != nil {
		return err
	}
	var metas []Collection
	for it.First(); it.Valid(); it.Next() {
		c, err := decodeCollection(it.Value())
		if err != nil {
			err = fmt.Errorf("store: collection %q: %w", it.Key()[1:], err)
			it.Close()
			return err
		}
		metas = append(metas, c)
	}
	if err := it.Close(); err != nil {
		return err
	}
	for _, m := range metas {
		if m.CID >= db.nextCID {
			db.nextCID = m.CID + 1
		}
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
		cs.nextID, cs.lastSeq, cs.applied, err = decodeState(v)
		closer.Close()
		if err != nil {
			return nil, fmt.Errorf("store: collection %q state: %w", m.Name, err)
		}
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("store: collection %q state: %w", m.Name, err)
	}
	err := db.scan(prefix('o', cid), func(k, v []byte) error {
		id, err := idFromKey(k, 5)
		if err != nil {
			db.corruptRecord(m.Name+" object key", k, err)
			return nil
		}
		o, err := decodeObject(v)
		if err != nil {
			db.corruptRecord(m.Name+" object", k, err)
			return nil
		}
		cs.live.Add(id)
		if id >= cs.nextID {
			cs.nextID = id + 1
		}
		if o.Key != "" {
			cs.keys[o.Key] = id
		}
		cs.addIndexed(id, indexObject(&o))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cs, nil
}

// Close refuses new requests (ErrClosed), waits until every request
// already submitted has been committed and acknowledged, stops the
// committer and closes Pebble. A commit that never finishes (Pebble
// stuck) makes Close wait too. Calling Close again returns nil.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	db.mu.Unlock()
	// No submit can add to pending from here on: it checks closed under
	// mu before it adds. The committer keeps serving until pending is 0.
	db.pending.Wait()
	close(db.done)
	db.wg.Wait()
	return db.pdb.Close()
}

func (db *DB) coll(name string) (*collState, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil, ErrClosed
	}
	return db.lookupLocked(name)
}

// lookup is coll for the committer: requests submitted before Close are
// still committed while Close waits for them, so it ignores closed.
func (db *DB) lookup(name string) (*collState, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.lookupLocked(name)
}

func (db *DB) lookupLocked(name string) (*collState, error) {
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

// Applied is the last log sequence Apply committed to the collection (0
// when it never did).
func (db *DB) Applied(coll string) (uint64, error) {
	cs, err := db.coll(coll)
	if err != nil {
		return 0, err
	}
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	return cs.applied, nil
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

// Record returns an object without its vectors.
func (db *DB) Record(coll string, id uint64) (Object, error) {
	cs, err := db.coll(coll)
	if err != nil {
		return Object{}, err
	}
	return db.getObject(cs.meta, id, false)
}

// Get returns an object with its vectors.
func (db *DB) Get(coll string, id uint64) (Object, error) {
	cs, err := db.coll(coll)
	if err != nil {
		return Object{}, err
	}
	return db.getObject(cs.meta, id, true)
}

// Tokens returns a copy of the tokens cached beside object id
// (Object.Tokens); ErrNotFound when it has none.
func (db *DB) Tokens(coll string, id uint64) ([]byte, error) {
	cs, err := db.coll(coll)
	if err != nil {
		return nil, err
	}
	v, closer, err := db.pdb.Get(tokensKey(cs.meta.CID, id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("%w: object %d in %q has no cached tokens", ErrNotFound, id, coll)
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

func (db *DB) getObject(meta Collection, id uint64, vectors bool) (Object, error) {
	v, closer, err := db.pdb.Get(objKey(meta.CID, id))
	if errors.Is(err, pebble.ErrNotFound) {
		return Object{}, fmt.Errorf("%w: object %d in %q", ErrNotFound, id, meta.Name)
	}
	if err != nil {
		return Object{}, err
	}
	o, err := decodeObject(v)
	closer.Close()
	if err != nil {
		return Object{}, fmt.Errorf("store: %s object %d: %w", meta.Name, id, err)
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
	vec, err := decodeVector(v)
	if err != nil {
		return nil, fmt.Errorf("store: %s object %d %q vector: %w", meta.Name, id, meta.Spaces[space].Name, err)
	}
	return vec, nil
}

// ScanVectors calls fn for every stored vector of a space, in id order.
// The slice passed to fn is fn's to keep. A corrupt vector is logged,
// counted (Events.CorruptRecords) and skipped.
func (db *DB) ScanVectors(meta Collection, space int, fn func(id uint64, v []float32) error) error {
	p := vecPrefix(meta.CID, space)
	return db.scan(p, func(k, v []byte) error {
		id, err := idFromKey(k, len(p))
		if err == nil {
			var vec []float32
			if vec, err = decodeVector(v); err == nil {
				return fn(id, vec)
			}
		}
		db.corruptRecord(meta.Name+" vector", k, err)
		return nil
	})
}

// ChangesSince calls fn for each logged change with sequence > seq, in
// order. Change.Vectors is nil: read the current vectors with Vector.
// A corrupt entry stops the scan with an error wrapping ErrCorrupt
// (skipping one would let a cache miss a change).
func (db *DB) ChangesSince(meta Collection, seq uint64, fn func(Change) error) error {
	lo := logKey(meta.CID, seq+1)
	hi := prefixEnd(prefix('l', meta.CID))
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		c, err := decodeChange(it.Key(), it.Value())
		if err != nil {
			it.Close()
			return fmt.Errorf("store: %s: %w", meta.Name, err)
		}
		if err := fn(c); err != nil {
			it.Close()
			return err
		}
	}
	return it.Close()
}

// ScanObjects calls fn for every object of a collection (without vectors),
// in id order. A corrupt object record is logged, counted and skipped.
func (db *DB) ScanObjects(coll string, fn func(Object) error) error {
	cs, err := db.coll(coll)
	if err != nil {
		return err
	}
	return db.scan(prefix('o', cs.meta.CID), func(k, v []byte) error {
		o, err := decodeObject(v)
		if err != nil {
			db.corruptRecord(coll+" object", k, err)
			return nil
		}
		return fn(o)
	})
}

// List returns up to limit objects (without vectors) with ids greater
// than after, in id order. A corrupt object record is logged, counted
// and skipped.
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
		o, err := decodeObject(it.Value())
		if err != nil {
			db.corruptRecord(coll+" object", it.Key(), err)
			continue
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

// IDOfKey returns the id of the object with the external key, if any.
func (db *DB) IDOfKey(coll, key string) (uint64, bool, error) {
	cs, err := db.coll(coll)
	if err != nil {
		return 0, false, err
	}
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	id, ok := cs.keys[key]
	return id, ok, nil
}

// BlobReferenced reports whether any object of any collection references
// the blob (see Object.Blob).
func (db *DB) BlobReferenced(sha string) (bool, error) {
	db.mu.RLock()
	cids := make([]uint32, 0, len(db.colls))
	for _, cs := range db.colls {
		cids = append(cids, cs.meta.CID)
	}
	db.mu.RUnlock()
	for _, cid := range cids {
		p := append(prefix('b', cid), sha...)
		it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
		if err != nil {
			return false, err
		}
		found := it.First()
		if err := it.Close(); err != nil {
			return false, err
		}
		if found {
			return true, nil
		}
	}
	return false, nil
}
