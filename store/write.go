package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// writeReq is one upsert or delete batch waiting for the committer.
type writeReq struct {
	coll    string
	objs    []Object // upserts
	deletes []uint64 // deletes
	ids     []uint64 // result: ids of objs, in order
	deleted int      // result: how many deletes found an object
	err     error
	done    chan struct{}
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
}

// Upsert writes objects to a collection in one synced batch and returns
// their ids in order. An object with ID 0 gets the id of the object with
// the same Key, or a new id; an object with an ID replaces that object.
// Every vector must belong to a space of the collection, have its
// dimension and be finite; otherwise nothing of the batch is written.
func (db *DB) Upsert(coll string, objs []Object) ([]uint64, error) {
	r := &writeReq{coll: coll, objs: objs, done: make(chan struct{})}
	if err := db.submit(r); err != nil {
		return nil, err
	}
	return r.ids, r.err
}

// Delete removes objects; it reports how many existed.
func (db *DB) Delete(coll string, ids []uint64) (int, error) {
	r := &writeReq{coll: coll, deletes: ids, done: make(chan struct{})}
	if err := db.submit(r); err != nil {
		return 0, err
	}
	return r.deleted, r.err
}

func (db *DB) submit(r *writeReq) error {
	db.mu.RLock()
	closed := db.closed
	db.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	select {
	case db.writes <- r:
	case <-db.done:
		return ErrClosed
	}
	<-r.done
	return nil
}

// committer is the single writer: it groups pending requests into one
// Pebble batch, commits it with Sync, then applies the in-memory effects
// and calls OnCommit, and acknowledges every request of the group.
func (db *DB) committer() {
	defer db.wg.Done()
	for {
		var first *writeReq
		select {
		case first = <-db.writes:
		case <-db.done:
			// Finish what is queued, then stop.
			for {
				select {
				case r := <-db.writes:
					db.commitGroup([]*writeReq{r})
				default:
					return
				}
			}
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
		db.commitGroup(group)
	}
}

// groupState overlays uncommitted changes of the group being built on the
// committed in-memory state.
type groupState struct {
	cs      *collState
	nextID  uint64
	lastSeq uint64
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
		cs, err := db.coll(r.coll)
		if err != nil {
			r.err = err
			continue
		}
		g := states[r.coll]
		if g == nil {
			cs.mu.RLock()
			g = &groupState{cs: cs, nextID: cs.nextID, lastSeq: cs.lastSeq, keys: map[string]uint64{}, objs: map[uint64]*Object{}, gone: map[uint64]bool{}}
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
		st := binary.BigEndian.AppendUint64(nil, g.nextID)
		st = binary.BigEndian.AppendUint64(st, g.lastSeq)
		batch.Set(stateKey(g.cs.meta.CID), st, nil)
	}
	if !batch.Empty() {
		if err := batch.Commit(pebble.Sync); err != nil {
			for _, r := range group {
				if r.err == nil {
					r.err = fmt.Errorf("store: commit: %w", err)
					r.ids = nil
				}
			}
			batch.Close()
			ackAll(group)
			return
		}
	}
	batch.Close()
	for _, name := range order {
		g := states[name]
		cs := g.cs
		var changes []Change
		cs.mu.Lock()
		cs.nextID, cs.lastSeq = g.nextID, g.lastSeq
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
			changes = append(changes, Change{Seq: seq, Op: e.op, ID: e.id, Vectors: e.vecs})
		}
		cs.mu.Unlock()
		if db.opts.OnCommit != nil && len(changes) > 0 {
			db.opts.OnCommit(name, changes)
		}
	}
	ackAll(group)
}

func ackAll(group []*writeReq) {
	for _, r := range group {
		close(r.done)
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
	var effs []effect
	now := time.Now().UTC()
	logEntry := func(op Op, id uint64) {
		g.lastSeq++
		v := append([]byte{byte(op)}, binary.BigEndian.AppendUint64(nil, id)...)
		b.Set(logKey(cid, g.lastSeq), v, nil)
	}
	removeOld := func(old *Object, id uint64) indexed {
		ix := indexObject(old)
		deletePostings(b, cid, id, ix)
		if old.Key != "" {
			b.Delete(extKey(cid, old.Key), nil)
			g.keys[old.Key] = 0
		}
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
		e := effect{id: id, op: OpDelete, existed: true, oldKey: old.Key}
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
		o.Updated = now
		o.Created = now
		if old != nil {
			e.existed = true
			e.oldKey = old.Key
			e.oldIx = removeOld(old, id)
			if !old.Created.IsZero() {
				o.Created = old.Created
			}
		}
		vecs := o.Vectors
		o.Vectors = nil
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
		e.newIx = indexObject(&o)
		putPostings(b, cid, id, e.newIx)
		e.vecs = vecs
		stored := o
		g.objs[id] = &stored
		delete(g.gone, id)
		logEntry(OpUpsert, id)
		r.ids = append(r.ids, id)
		effs = append(effs, e)
	}
	return effs, nil
}

func validateObject(meta Collection, o *Object) error {
	for name, v := range o.Vectors {
		si := -1
		for i, s := range meta.Spaces {
			if s.Name == name {
				si = i
			}
		}
		if si < 0 {
			return fmt.Errorf("%w: unknown vector space %q", ErrInvalid, name)
		}
		if len(v) != meta.Spaces[si].Dim {
			return fmt.Errorf("%w: space %q has dimension %d, vector has %d", ErrInvalid, name, meta.Spaces[si].Dim, len(v))
		}
		for j, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("%w: space %q component %d is %v", ErrInvalid, name, j, x)
			}
		}
		if meta.Spaces[si].Metric == "cosine" {
			var s float64
			for _, x := range v {
				s += float64(x) * float64(x)
			}
			if s == 0 {
				return fmt.Errorf("%w: space %q uses cosine and the vector is zero", ErrInvalid, name)
			}
		}
	}
	return nil
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
