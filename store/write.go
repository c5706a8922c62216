package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// reqKind says what a request asks the committer to do.
type reqKind uint8

const (
	reqWrite     reqKind = iota // upserts and deletes (grouped)
	reqCreate                   // create collection schema
	reqDrop                     // drop collection coll
	reqMediaRoot                // record media root dir of coll
)

// writeReq is one request waiting for the committer. The committer sets
// the result fields, then closes done; the submitter reads them only
// after done is closed.
type writeReq struct {
	kind    reqKind
	coll    string
	objs    []Object   // upserts
	deletes []uint64   // deletes
	schema  Collection // reqCreate: in and out
	dir     string     // reqMediaRoot
	applied uint64     // Apply: the external log sequence this write is
	skipped bool       // result: Apply found applied already at or past it
	ids     []uint64   // result: ids of objs, in order
	deleted int        // result: how many deletes found an object
	err     error
	done    chan struct{}
}

func newReq(kind reqKind, coll string) *writeReq {
	return &writeReq{kind: kind, coll: coll, done: make(chan struct{})}
}

// effect is what one committed object change does to the in-memory state.
type effect struct {
	id      uint64
	op      Op
	oldKey  string
	newKey  string
	oldIx   indexed
	newIx   indexed
	existed bool
	vecs    map[string][]float32
	rec     *Object // the record written (upserts)
	unref   string  // blob the old version referenced and the new one does not
}

// Upsert writes objects to a collection in one synced batch and returns
// their ids in order. An object with ID 0 gets the id of the object with
// the same Key, or a new id; an object with an ID replaces that object.
// Every vector must belong to a space of the collection; otherwise
// nothing of the batch is written. The store does not check vector
// values (dimension, finiteness, norm): the engine does.
//
// Errors: ErrClosed; ErrDiskFull when free space is below
// Options.DiskReserveBytes (nothing written); ErrUnavailable when the
// commit does not finish within Options.CommitTimeout (the batch may
// still be committed later) or fails.
func (db *DB) Upsert(coll string, objs []Object) ([]uint64, error) {
	r := newReq(reqWrite, coll)
	r.objs = objs
	if err := db.submit(r); err != nil {
		return nil, err
	}
	return r.ids, r.err
}

// Apply writes deletes and upserts that an external, ordered log holds at
// sequence seq (a cluster shard's stream) in one synced batch that also
// records seq as the collection's applied sequence, so a replica that
// crashes between the commit and the log's acknowledgement applies each
// entry exactly once: an entry at or below Applied is skipped (skipped
// true, nothing written). Deletes go first. seq must be positive; errors
// as Upsert, and on any error nothing is written, seq included.
func (db *DB) Apply(coll string, objs []Object, deletes []uint64, seq uint64) (ids []uint64, deleted int, skipped bool, err error) {
	if seq == 0 {
		return nil, 0, false, fmt.Errorf("%w: apply at sequence 0", ErrInvalid)
	}
	r := newReq(reqWrite, coll)
	r.objs, r.deletes, r.applied = objs, deletes, seq
	if err := db.submit(r); err != nil {
		return nil, 0, false, err
	}
	return r.ids, r.deleted, r.skipped, r.err
}

// Delete removes objects; it reports how many existed. Errors as Upsert.
func (db *DB) Delete(coll string, ids []uint64) (int, error) {
	r := newReq(reqWrite, coll)
	r.deletes = ids
	if err := db.submit(r); err != nil {
		return 0, err
	}
	return r.deleted, r.err
}

// submit hands r to the committer and waits for its acknowledgement.
//
// The protocol with Close: submit checks closed and adds r to pending
// under mu (read); Close sets closed under mu (write), waits for pending
// to reach zero and only then stops the committer. So every request that
// passed the check is committed and acknowledged, every other one gets
// ErrClosed, and nothing is sent to a committer that has exited.
//
// A nil return means r's result fields are set. After CommitTimeout the
// submitter gives up with ErrUnavailable; the committer still processes
// and acknowledges r (and only it touches r then).
func (db *DB) submit(r *writeReq) error {
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return ErrClosed
	}
	if err := db.mon.stalled(); err != nil {
		db.mu.RUnlock()
		return err
	}
	db.pending.Add(1)
	db.mu.RUnlock()
	if h := db.testHookSubmit; h != nil {
		h()
	}
	// A writer waits as long as the store makes progress (a queue of big
	// batches, each applied to the indexes, can take longer than the
	// timeout), and gives up only when the store is stalled: a Pebble
	// commit or write stall older than CommitTimeout.
	tick := time.NewTicker(max(db.opts.CommitTimeout/10, 10*time.Millisecond))
	defer tick.Stop()
	for queued := false; !queued; {
		select {
		case db.writes <- r:
			queued = true
		case <-tick.C:
			if err := db.mon.stalled(); err != nil {
				db.pending.Done() // never queued
				db.mon.timeouts.Add(1)
				return fmt.Errorf("%w: the write queue did not move: %v", ErrUnavailable, err)
			}
		}
	}
	for {
		select {
		case <-r.done:
			return nil
		case <-tick.C:
			if err := db.mon.stalled(); err != nil {
				db.mon.timeouts.Add(1)
				return fmt.Errorf("%w: the write was not acknowledged, and may still be applied: %v", ErrUnavailable, err)
			}
		}
	}
}

// ack acknowledges a request; the committer calls it once per request.
func (db *DB) ack(r *writeReq) {
	close(r.done)
	db.pending.Done()
}

// committer is the single writer: it groups pending requests into one
// Pebble batch, commits it with Sync, then applies the in-memory effects
// and calls OnCommit, and acknowledges every request of the group.
// Collection creates and drops and media roots are committed alone, in
// their place in the request order. It runs until Close has seen every
// submitted request acknowledged.
func (db *DB) committer() {
	defer db.wg.Done()
	for {
		var first *writeReq
		select {
		case first = <-db.writes:
		case <-db.done:
			return
		}
		group := []*writeReq{first}
	drain:
		for len(group) < db.opts.MaxGroup {
			select {
			case r := <-db.writes:
				group = append(group, r)
			default:
				break drain
			}
		}
		db.process(group)
	}
}

// process commits a group in request order: runs of writes as one batch,
// every other request alone.
func (db *DB) process(group []*writeReq) {
	var run []*writeReq
	for _, r := range group {
		if r.kind == reqWrite {
			run = append(run, r)
			continue
		}
		if len(run) > 0 {
			db.commitGroup(run)
			run = nil
		}
		switch r.kind {
		case reqCreate:
			db.commitCreate(r)
		case reqDrop:
			db.commitDrop(r)
		case reqMediaRoot:
			db.commitMediaRoot(r)
		}
		db.ack(r)
	}
	if len(run) > 0 {
		db.commitGroup(run)
	}
}

// commitBatch is the one place that commits to Pebble: the free-space
// guard first (refusing with ErrDiskFull below reserve), then a synced
// commit timed for the watchdog. requests is how many write requests
// the batch carries, for the refusal counter.
func (db *DB) commitBatch(b *pebble.Batch, reserve int64, requests int) error {
	if err := db.mon.checkSpace(int64(b.Len()), reserve); err != nil {
		db.mon.refusals.Add(uint64(requests))
		return err
	}
	db.mon.commitStart.Store(time.Now().UnixNano())
	if h := db.testHookCommit; h != nil {
		h()
	}
	err := b.Commit(pebble.Sync)
	db.mon.commitStart.Store(0)
	if err != nil {
		return db.mon.commitFailed(err)
	}
	db.mon.commitOK()
	return nil
}

// groupState overlays uncommitted changes of the group being built on the
// committed in-memory state.
type groupState struct {
	cs      *collState
	nextID  uint64
	lastSeq uint64
	applied uint64
	keys    map[string]uint64 // key → id (0 = deleted) changed in this group
	objs    map[uint64]*Object
	gone    map[uint64]bool
}

func (g *groupState) lookupKey(k string) (uint64, bool) {
	if id, ok := g.keys[k]; ok {
		return id, id != 0
	}
	id, ok := g.cs.keys[k]
	return id, ok
}

func (db *DB) commitGroup(group []*writeReq) {
	batch := db.pdb.NewBatch()
	states := map[string]*groupState{}
	effects := map[string][]effect{}
	var order []string
	for _, r := range group {
		cs, err := db.lookup(r.coll)
		if err != nil {
			r.err = err
			continue
		}
		g := states[r.coll]
		if g == nil {
			cs.mu.RLock()
			g = &groupState{cs: cs, nextID: cs.nextID, lastSeq: cs.lastSeq, applied: cs.applied, keys: map[string]uint64{}, objs: map[uint64]*Object{}, gone: map[uint64]bool{}}
			cs.mu.RUnlock()
			states[r.coll] = g
			order = append(order, r.coll)
		}
		// Build this request in its own batch so a failure leaves the
		// group untouched; keep a copy of the overlay to roll back.
		sub := db.pdb.NewBatch()
		saved := *g
		saved.keys = cloneMap(g.keys)
		saved.objs = cloneMapP(g.objs)
		saved.gone = cloneMapB(g.gone)
		effs, err := db.buildRequest(sub, g, r)
		if err != nil {
			*g = saved
			r.err = err
			r.ids = nil
			sub.Close()
			continue
		}
		if err := batch.Apply(sub, nil); err != nil {
			*g = saved
			r.err = fmt.Errorf("store: %w", err)
			sub.Close()
			continue
		}
		sub.Close()
		effects[r.coll] = append(effects[r.coll], effs...)
	}
	for _, name := range order {
		g := states[name]
		batch.Set(stateKey(g.cs.meta.CID), encodeState(g.nextID, g.lastSeq, g.applied), nil)
	}
	if !batch.Empty() {
		n := 0
		for _, r := range group {
			if r.err == nil {
				n++
			}
		}
		if err := db.commitBatch(batch, db.mon.reserve, n); err != nil {
			for _, r := range group {
				if r.err == nil {
					r.err = err
					r.ids = nil
					r.deleted = 0
				}
			}
			batch.Close()
			db.ackAll(group)
			return
		}
	}
	batch.Close()
	for _, name := range order {
		g := states[name]
		cs := g.cs
		var changes []Change
		cs.mu.Lock()
		cs.nextID, cs.lastSeq, cs.applied = g.nextID, g.lastSeq, g.applied
		seq := g.lastSeq - uint64(len(effects[name]))
		for _, e := range effects[name] {
			seq++
			if e.existed {
				cs.removeIndexed(e.id, e.oldIx)
				if e.oldKey != "" && cs.keys[e.oldKey] == e.id {
					delete(cs.keys, e.oldKey)
				}
			}
			if e.op == OpDelete {
				cs.live.Remove(e.id)
			} else {
				cs.live.Add(e.id)
				cs.addIndexed(e.id, e.newIx)
				if e.newKey != "" {
					cs.keys[e.newKey] = e.id
				}
			}
			changes = append(changes, Change{Seq: seq, Op: e.op, ID: e.id, Vectors: e.vecs, Object: e.rec, Unref: e.unref})
		}
		cs.mu.Unlock()
		if db.opts.OnCommit != nil && len(changes) > 0 {
			db.opts.OnCommit(name, changes)
		}
	}
	db.ackAll(group)
}

func (db *DB) ackAll(group []*writeReq) {
	for _, r := range group {
		db.ack(r)
	}
}

func cloneMap(m map[string]uint64) map[string]uint64 {
	c := make(map[string]uint64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func cloneMapP(m map[uint64]*Object) map[uint64]*Object {
	c := make(map[uint64]*Object, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func cloneMapB(m map[uint64]bool) map[uint64]bool {
	c := make(map[uint64]bool, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// current returns the object as the group sees it (uncommitted changes
// first), or nil when it does not exist.
func (db *DB) current(g *groupState, id uint64) (*Object, error) {
	if g.gone[id] {
		return nil, nil
	}
	if o, ok := g.objs[id]; ok {
		return o, nil
	}
	g.cs.mu.RLock()
	live := g.cs.live.Contains(id)
	meta := g.cs.meta
	g.cs.mu.RUnlock()
	if !live {
		return nil, nil
	}
	o, err := db.getObject(meta, id, false)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &o, nil
}

func (db *DB) buildRequest(b *pebble.Batch, g *groupState, r *writeReq) ([]effect, error) {
	meta := g.cs.meta
	cid := meta.CID
	if r.applied != 0 {
		if r.applied <= g.applied {
			r.skipped = true
			return nil, nil
		}
		g.applied = r.applied // commitGroup restores g if this request fails
	}
	var effs []effect
	now := time.Now().UTC()
	logEntry := func(op Op, id uint64) {
		g.lastSeq++
		b.Set(logKey(cid, g.lastSeq), encodeChange(op, id), nil)
	}
	removeOld := func(old *Object, id uint64) indexed {
		ix := indexObject(old)
		deletePostings(b, cid, id, ix)
		if old.Key != "" {
			b.Delete(extKey(cid, old.Key), nil)
			g.keys[old.Key] = 0
		}
		if old.Blob != "" {
			b.Delete(blobRefKey(cid, old.Blob, id), nil)
		}
		b.Delete(tokensKey(cid, id), nil) // whether or not it had tokens
		for i := range meta.Spaces {
			b.Delete(vecKey(cid, i, id), nil)
		}
		return ix
	}

	for _, id := range r.deletes {
		old, err := db.current(g, id)
		if err != nil {
			return nil, err
		}
		if old == nil {
			continue
		}
		e := effect{id: id, op: OpDelete, existed: true, oldKey: old.Key, unref: old.Blob}
		e.oldIx = removeOld(old, id)
		b.Delete(objKey(cid, id), nil)
		g.gone[id] = true
		delete(g.objs, id)
		logEntry(OpDelete, id)
		r.deleted++
		effs = append(effs, e)
	}

	seenKeys := map[string]bool{}
	for i := range r.objs {
		o := r.objs[i] // copy
		if o.Key != "" {
			if seenKeys[o.Key] {
				return nil, fmt.Errorf("%w: external key %q appears twice in one batch", ErrInvalid, o.Key)
			}
			seenKeys[o.Key] = true
		}
		if err := validateObject(meta, &o); err != nil {
			return nil, fmt.Errorf("object %d: %w", i, err)
		}
		id := o.ID
		if id == 0 && o.Key != "" {
			if kid, ok := g.lookupKey(o.Key); ok {
				id = kid
			}
		}
		if id == 0 {
			id = g.nextID
			g.nextID++
		} else if id >= g.nextID {
			g.nextID = id + 1
		}
		if o.Key != "" {
			if kid, ok := g.lookupKey(o.Key); ok && kid != id {
				return nil, fmt.Errorf("%w: external key %q already belongs to object %d", ErrInvalid, o.Key, kid)
			}
		}
		old, err := db.current(g, id)
		if err != nil {
			return nil, err
		}
		e := effect{id: id, op: OpUpsert, newKey: o.Key}
		o.ID = id
		if r.applied == 0 || o.Updated.IsZero() {
			o.Updated = now // Apply keeps the log's time: replicas agree
		}
		o.Created = o.Updated
		if old != nil {
			e.existed = true
			e.oldKey = old.Key
			e.oldIx = removeOld(old, id)
			if !old.Created.IsZero() {
				o.Created = old.Created
			}
			if old.Blob != o.Blob {
				e.unref = old.Blob
			}
		}
		vecs, tokens := o.Vectors, o.Tokens
		o.Vectors, o.Tokens = nil, nil
		js, err := json.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("%w: object %d: %v", ErrInvalid, i, err)
		}
		b.Set(objKey(cid, id), js, nil)
		for si, s := range meta.Spaces {
			if v, ok := vecs[s.Name]; ok {
				b.Set(vecKey(cid, si, id), encodeVector(v), nil)
			}
		}
		if o.Key != "" {
			b.Set(extKey(cid, o.Key), binary.BigEndian.AppendUint64(nil, id), nil)
			g.keys[o.Key] = id
		}
		if o.Blob != "" {
			b.Set(blobRefKey(cid, o.Blob, id), nil, nil)
		}
		if tokens != nil {
			b.Set(tokensKey(cid, id), tokens, nil)
		}
		e.newIx = indexObject(&o)
		putPostings(b, cid, id, e.newIx)
		e.vecs = vecs
		stored := o
		g.objs[id] = &stored
		e.rec = &stored
		delete(g.gone, id)
		logEntry(OpUpsert, id)
		r.ids = append(r.ids, id)
		effs = append(effs, e)
	}
	return effs, nil
}

// validateObject checks what the store itself needs: every vector names
// a space of the collection (its number is part of the key). Vector
// values are the engine's to validate.
func validateObject(meta Collection, o *Object) error {
	for name := range o.Vectors {
		if spaceIndex(meta, name) < 0 {
			return fmt.Errorf("%w: unknown vector space %q", ErrInvalid, name)
		}
	}
	return nil
}

func spaceIndex(meta Collection, name string) int {
	for i, s := range meta.Spaces {
		if s.Name == name {
			return i
		}
	}
	return -1
}

func numKey(cid uint32, field string, f float64, id uint64) []byte {
	return appendU64(appendU64(numPrefix(cid, field), sortableF64(f)), id)
}

func putPostings(b *pebble.Batch, cid uint32, id uint64, ix indexed) {
	for _, p := range ix.eq {
		b.Set(appendU64(postingPrefix(cid, p.field, p.typ, p.value), id), nil, nil)
	}
	for _, n := range ix.nums {
		b.Set(numKey(cid, n.field, n.v, id), nil, nil)
	}
	for _, f := range ix.fields {
		b.Set(appendU64(existsPrefix(cid, f), id), nil, nil)
	}
}

func deletePostings(b *pebble.Batch, cid uint32, id uint64, ix indexed) {
	for _, p := range ix.eq {
		b.Delete(appendU64(postingPrefix(cid, p.field, p.typ, p.value), id), nil)
	}
	for _, n := range ix.nums {
		b.Delete(numKey(cid, n.field, n.v, id), nil)
	}
	for _, f := range ix.fields {
		b.Delete(appendU64(existsPrefix(cid, f), id), nil)
	}
}
