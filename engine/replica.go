package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"rosetta/index"
	"rosetta/store"
)

// This file is what a cluster (package cluster) needs from the engine: a
// coordinator validates and encodes a batch once (Prepare) and puts it in
// a shard's replicated log; every replica of the shard applies the log's
// entries to a local collection, in order, exactly once (ApplyLog).

// Prepared is a batch Prepare validated and encoded, ready for a log.
type Prepared struct {
	// Objects carry their vectors, stored text and the write's time
	// (Updated, the same on every replica); media bytes are gone
	// (a kept original is named by Blob, its bytes are in Originals).
	Objects []Object
	// Originals are the kept media by blob name (hex SHA-256).
	Originals map[string][]byte
}

// Prepare validates objs against the schema of collection c and encodes
// their content with its models, as Upsert does, without writing
// anything. Long texts that would be chunked and speech that would be
// transcribed are refused (ErrUnsupported): a cluster does not split
// objects yet. c need not exist in this engine.
func (e *Engine) Prepare(ctx context.Context, c Collection, objs []Object) (Prepared, error) {
	if e.closed.Load() {
		return Prepared{}, ErrClosed
	}
	tc, err := e.template(c)
	if err != nil {
		return Prepared{}, err
	}
	if err := validateBatch(tc, objs); err != nil {
		return Prepared{}, err
	}
	if err := ctx.Err(); err != nil {
		return Prepared{}, err
	}
	objs = append([]Object(nil), objs...)
	plan, err := e.planChunks(ctx, tc, objs)
	if err != nil {
		return Prepared{}, err
	}
	if len(plan) > 0 {
		return Prepared{}, fmt.Errorf("%w: a text longer than the model's window would be chunked; cluster collections do not chunk (split it before writing)", ErrUnsupported)
	}
	if err := e.encodeContent(ctx, tc, objs); err != nil {
		return Prepared{}, err
	}
	p := Prepared{Originals: map[string][]byte{}}
	now := time.Now().UTC()
	for i := range objs {
		o := &objs[i]
		o.Blob = ""
		o.Created, o.Updated = time.Time{}, now
		if ct := o.Content; ct != nil {
			if ct.Keep {
				if b := append(ct.Image, ct.Audio...); len(b) > 0 {
					o.Blob = blobSum(b)
					p.Originals[o.Blob] = b
				}
			}
			o.Content = nil
			if ct.Text != "" {
				o.Content = &Content{Text: ct.Text}
			}
		}
	}
	p.Objects = objs
	return p, nil
}

// CheckSchema vets a schema as CreateCollection would (model names from
// an untrusted caller, model spaces' dimensions filled in, index
// parameters) without creating anything, and returns it with its
// defaults: what a cluster records before its replicas create it.
// Transcription and a rerank model are refused (ErrUnsupported): a
// cluster does not transcribe or cache image tokens yet.
func (e *Engine) CheckSchema(ctx context.Context, c Collection) (Collection, error) {
	if e.closed.Load() {
		return Collection{}, ErrClosed
	}
	if err := clusterRefuses(c); err != nil {
		return Collection{}, err
	}
	if err := e.checkSchema(ctx, &c); err != nil {
		return Collection{}, err
	}
	if _, err := e.template(c); err != nil {
		return Collection{}, err
	}
	return c, nil
}

// template is a collection that is not registered: its schema validated
// and its empty indexes, so validation and encoding work as for a real
// one (an index's Check is what its Add accepts).
func (e *Engine) template(c Collection) (*coll, error) {
	c.Spaces = slices.Clone(c.Spaces) // ValidateCollection fills them in
	if err := ValidateCollection(&c); err != nil {
		return nil, err
	}
	if err := clusterRefuses(c); err != nil {
		return nil, err
	}
	tc := newColl(toStoreCollection(c))
	idxs := make([]*index.HNSW, len(c.Spaces))
	for i, s := range c.Spaces {
		h, err := newIndex(s, c.Index)
		if err != nil {
			return nil, fmt.Errorf("%w: space %q: %v", ErrInvalid, s.Name, err)
		}
		idxs[i] = h
	}
	tc.publish(idxs, nil, 0)
	return tc, nil
}

// ApplyLog applies the entry at sequence seq of a collection's external
// log (deletes, then upserts of prepared objects, ids set) in one synced
// batch that records seq (store.DB.Apply), and then to the indexes. An
// entry at or below Applied is skipped. fetch returns the bytes of a kept
// original this data directory lacks; the blob is stored before the
// record that names it. An entry the store refuses as invalid (the same
// on every replica) is recorded as applied with nothing written, and its
// error returned wrapped in ErrInvalid; any other error leaves it
// unapplied, for a retry.
func (e *Engine) ApplyLog(ctx context.Context, name string, seq uint64, objs []Object, deletes []uint64, fetch func(sha string) ([]byte, error)) (skipped bool, err error) {
	if _, err := e.ready(name); err != nil {
		return false, err
	}
	recs := make([]store.Object, len(objs))
	var kept []string
	defer func() {
		for _, sha := range kept {
			e.blobs.done(sha)
		}
	}()
	for i := range objs {
		if objs[i].ID == 0 {
			return false, fmt.Errorf("%w: log entry %d: object %d has no id", ErrInvalid, seq, i)
		}
		recs[i] = toRecord(&objs[i])
		sha := objs[i].Blob
		if sha == "" {
			continue
		}
		if !validBlobName(sha) {
			return false, fmt.Errorf("%w: log entry %d: bad blob name", ErrInvalid, seq)
		}
		if e.blobs.pin(sha) {
			kept = append(kept, sha)
		} else {
			if fetch == nil {
				return false, fmt.Errorf("%w: original %s is not here and nothing can fetch it", ErrUnavailable, sha[:12])
			}
			b, err := fetch(sha)
			if err != nil {
				return false, fmt.Errorf("%w: fetching original %s: %v", ErrUnavailable, sha[:12], err)
			}
			if blobSum(b) != sha {
				return false, fmt.Errorf("%w: original %s fetched with another digest", ErrUnavailable, sha[:12])
			}
			got, err := e.blobs.put(b)
			if err != nil {
				return false, err
			}
			kept = append(kept, got)
		}
	}
	_, _, skipped, err = e.db.Apply(name, recs, deletes, seq)
	if errors.Is(err, store.ErrInvalid) {
		// Deterministic: every replica refuses it. Record it as applied.
		if _, _, _, err2 := e.db.Apply(name, nil, nil, seq); err2 != nil {
			return false, storeErr(err2)
		}
		return false, fmt.Errorf("%w: log entry %d: %v", ErrInvalid, seq, err)
	}
	if err != nil {
		return false, storeErr(err)
	}
	if !skipped {
		e.written.Add(uint64(len(objs)))
		e.deleted.Add(uint64(len(deletes)))
	}
	return skipped, nil
}

// Applied is the last external log sequence applied to a collection.
func (e *Engine) Applied(name string) (uint64, error) {
	if _, err := e.coll(name); err != nil {
		return 0, err
	}
	return e.db.Applied(name)
}

// clusterRefuses reports what a cluster collection cannot have yet:
// transcription, and a rerank model (its cached image tokens would have to
// travel in the shard logs, 0.9 MB per image for BLIP-base; a search can
// still re-rank by naming the model in its rerank, from the sources).
func clusterRefuses(c Collection) error {
	if c.Transcribe.Model != "" {
		return fmt.Errorf("%w: cluster collections do not transcribe", ErrUnsupported)
	}
	if c.RerankModel != "" {
		return fmt.Errorf("%w: cluster collections do not cache image tokens for a rerank_model; leave it out and name the model in a search's rerank instead", ErrUnsupported)
	}
	return nil
}
