package engine

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"

	"rosetta/index"
	"rosetta/store"
)

// CreateCollection validates a schema, creates the collection in the store
// and its empty indexes. A space's model name from an untrusted caller
// (see Trusted) must pass Options.CheckModelName.
func (e *Engine) CreateCollection(ctx context.Context, c Collection) (Collection, error) {
	if e.closed.Load() {
		return Collection{}, ErrClosed
	}
	if c.Shards != 0 || c.Replicas != 0 {
		return Collection{}, fmt.Errorf("%w: shards and replicas need cluster mode (rosetta serve --cluster)", ErrInvalid)
	}
	if err := e.checkSchema(ctx, &c); err != nil {
		return Collection{}, err
	}
	idxs := make([]*index.HNSW, len(c.Spaces))
	for i, s := range c.Spaces {
		h, err := newIndex(s, c.Index)
		if err != nil {
			return Collection{}, fmt.Errorf("%w: space %q: %v", ErrInvalid, s.Name, err)
		}
		idxs[i] = h
	}
	m, err := e.db.CreateCollection(toStoreCollection(c))
	if err != nil {
		return Collection{}, storeErr(err)
	}
	nc := newColl(m)
	text, err := nc.newKeywordIndex()
	if err != nil { // ValidateCollection checked the language
		return Collection{}, err
	}
	nc.applyMu.Lock()
	e.attachSources(nc, idxs)
	nc.publish(idxs, text, 0)
	nc.applyMu.Unlock()
	e.mu.Lock()
	e.colls[m.Name] = nc
	e.mu.Unlock()
	return nc.meta, nil
}

// checkSchema vets a new collection's schema: model names (from an
// untrusted caller), the dimensions of model spaces (filled in), the
// schema itself, its transcriber and its rerank model.
func (e *Engine) checkSchema(ctx context.Context, c *Collection) error {
	c.Spaces = slices.Clone(c.Spaces) // filled in below: not the caller's
	for _, s := range c.Spaces {
		if s.Model != "" {
			if err := e.checkModelName(ctx, s.Model); err != nil {
				return err
			}
		}
	}
	if err := e.fillModelSpaces(ctx, c); err != nil {
		return err
	}
	if err := ValidateCollection(c); err != nil {
		return err
	}
	if err := e.checkTranscription(ctx, c.Transcribe); err != nil {
		return err
	}
	return e.checkRerankModel(ctx, c.RerankModel)
}

// DropCollection deletes a collection, its objects, indexes and snapshots.
// It works on a collection whose indexes failed to load, too.
func (e *Engine) DropCollection(ctx context.Context, name string) error {
	c, err := e.coll(name)
	if err != nil {
		return err
	}
	if err := e.db.DropCollection(name); err != nil {
		return storeErr(err)
	}
	c.state.Store(stateDropped)
	e.unrefBlob("") // its originals may be unreferenced now
	e.mu.Lock()
	if e.colls[name] == c {
		delete(e.colls, name)
	}
	e.mu.Unlock()
	for si := range c.meta.Spaces {
		os.Remove(e.snapPath(c, si))
	}
	os.Remove(e.textSnapPath(c))
	for _, h := range c.indexes() {
		h.Close()
	}
	return nil
}

// Upsert validates objects, encodes their content with the collection's
// models (and transcribes their speech, when the collection names a
// transcriber; and caches its rerank model's tokens of every image, when
// it names one), writes them durably (one synced batch, group-committed
// with concurrent writers) and applies them to the indexes before
// returning their ids in input order. Nothing of the batch is written
// when any object is invalid.
func (e *Engine) Upsert(ctx context.Context, coll string, objs []Object) ([]uint64, error) {
	c, err := e.ready(coll)
	if err != nil {
		return nil, err
	}
	if err := validateBatch(c, objs); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Encode into a copy: the caller's objects stay as given.
	objs = append([]Object(nil), objs...)
	// Texts longer than the model's window become chunk objects, encoded
	// first; their parent's vector is the mean of theirs.
	plan, err := e.planChunks(ctx, c, objs)
	if err != nil {
		return nil, err
	}
	chunks, parentOf := chunkObjects(objs, plan)
	if len(chunks) > 0 {
		if err := e.encodeContent(ctx, c, chunks); err != nil {
			return nil, err
		}
		poolChunks(objs, chunks, parentOf)
	}
	if err := e.encodeContent(ctx, c, objs); err != nil {
		return nil, err
	}
	// The rerank model's image tokens, written in the objects' batch.
	if err := e.cacheTokens(ctx, c, objs); err != nil {
		return nil, err
	}
	// Speech becomes text.transcript and transcript segments, embedded in
	// the spaces of text models (so are the segments the caller sends).
	spoken, transcribed, err := e.transcribeContent(ctx, c, objs)
	if err != nil {
		return nil, err
	}
	if err := e.embedTranscripts(ctx, c, objs); err != nil {
		return nil, err
	}
	if err := e.embedTranscripts(ctx, c, spoken); err != nil {
		return nil, err
	}
	all := append(objs[:len(objs):len(objs)], chunks...)
	all = append(all, spoken...)
	recs := make([]store.Object, len(all))
	for i := range all {
		recs[i] = toRecord(&all[i])
	}
	done, err := e.keepOriginals(all, recs)
	if err != nil {
		return nil, err
	}
	ids, err := e.db.Upsert(coll, recs)
	done(err == nil)
	if err != nil {
		return nil, storeErr(err)
	}
	e.written.Add(uint64(len(ids)))
	if len(plan) > 0 {
		var parents []string
		for i := range plan {
			parents = append(parents, objs[i].Key)
		}
		e.dropStale(ctx, coll, "chunks", parents, chunks, func(o store.Object) bool {
			_, isChunk := o.Metadata["chunk_start"]
			return isChunk
		})
	}
	if len(transcribed) > 0 {
		e.dropStale(ctx, coll, "transcript segments", transcribed, spoken, func(o store.Object) bool {
			return IsTranscriptSegment(o.Metadata)
		})
	}
	return ids[:len(objs)], nil
}

// DeleteObject removes an object; ErrNotFound when there was none.
func (e *Engine) DeleteObject(ctx context.Context, coll string, id uint64) error {
	n, err := e.DeleteObjects(ctx, coll, []uint64{id})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: object %d in %q", ErrNotFound, id, coll)
	}
	return nil
}

// DeleteObjects removes objects in one synced batch and reports how many existed.
func (e *Engine) DeleteObjects(ctx context.Context, coll string, ids []uint64) (int, error) {
	if _, err := e.ready(coll); err != nil {
		return 0, err
	}
	if len(ids) > MaxBatch {
		return 0, fmt.Errorf("%w: %d ids in one delete; the limit is %d", ErrTooLarge, len(ids), MaxBatch)
	}
	n, err := e.db.Delete(coll, ids)
	if err != nil {
		return 0, storeErr(err)
	}
	e.deleted.Add(uint64(n))
	return n, nil
}

// testHookApply, when set by a test, is called while a committed batch is
// being applied to the indexes, before each change.
var testHookApply func(coll string, change int)

// onCommit is the store's commit hook, called on its committer goroutine
// after each synced batch and before the writers are acknowledged. It
// applies the changes to the collection's indexes with up to ApplyThreads
// goroutines, changes of one id in sequence order, holding no lock that
// searches take. Changes to a collection that is loading are skipped: the
// load's replay of the change log picks them up.
func (e *Engine) onCommit(name string, changes []store.Change) {
	e.mu.RLock()
	c := e.colls[name]
	e.mu.RUnlock()
	if c == nil || len(changes) == 0 {
		return
	}
	for _, ch := range changes {
		if ch.Unref != "" {
			e.unrefBlob(ch.Unref)
		}
	}
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	if c.state.Load() != stateReady {
		return
	}
	idxs := c.indexes()
	text := c.keyword()
	threads := e.opts.ApplyThreads
	if threads <= 0 {
		threads = max(1, defaultThreads()-1)
	}
	threads = min(threads, (len(changes)+31)/32)
	apply := func(part int) {
		for i, ch := range changes {
			if threads > 1 && int(ch.ID%uint64(threads)) != part {
				continue
			}
			if testHookApply != nil {
				testHookApply(name, i)
			}
			e.applyChange(c, idxs, ch)
			c.applyKeyword(text, ch)
		}
	}
	if threads <= 1 {
		apply(0)
	} else {
		var wg sync.WaitGroup
		for p := 0; p < threads; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				apply(p)
			}()
		}
		wg.Wait()
	}
	c.applied.Store(changes[len(changes)-1].Seq)
}

// applyChange applies one committed change to every space's index.
func (e *Engine) applyChange(c *coll, idxs []*index.HNSW, ch store.Change) {
	for si, s := range c.meta.Spaces {
		if ch.Op == store.OpDelete {
			idxs[si].Delete(ch.ID)
			continue
		}
		v, ok := ch.Vectors[s.Name]
		if !ok {
			idxs[si].Delete(ch.ID)
			continue
		}
		if err := idxs[si].Add(ch.ID, v); err != nil {
			// Upsert validated the vector with this index's Check; a
			// failure here is a bug, but never a reason to stop.
			c.skipped[si].Add(1)
			e.log.Error("index insert failed", "collection", c.name, "space", s.Name, "id", ch.ID, "err", err)
		}
	}
}
