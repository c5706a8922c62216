package ingest

import (
	"context"

	"rosetta/engine"
)

// Sink is where ingested objects go.
type Sink interface {
	// Collection returns a collection's schema (engine.ErrNotFound if absent).
	Collection(ctx context.Context, name string) (engine.Collection, error)
	CreateCollection(ctx context.Context, c engine.Collection) (engine.Collection, error)
	// Upsert writes one batch durably and returns the ids in order.
	Upsert(ctx context.Context, coll string, objs []engine.Object) ([]uint64, error)
	// Scan calls fn for every object of the collection (vectors not needed).
	Scan(ctx context.Context, coll string, fn func(engine.Object) error) error
	Delete(ctx context.Context, coll string, ids []uint64) error
	// Get returns one object with its vectors.
	Get(ctx context.Context, coll string, id uint64) (engine.Object, error)
}

// EngineSink writes to an engine opened in this process.
type EngineSink struct{ E *engine.Engine }

// MediaRootRecorder is a Sink that can record the folders files were
// ingested from, so that a server on the same data may serve those files
// as the objects' media (thumbnails, audio players). EngineSink is one;
// HTTPSink is not: a server never trusts a client's idea of its
// filesystem.
type MediaRootRecorder interface {
	AddMediaRoot(ctx context.Context, coll, dir string) error
}

var _ MediaRootRecorder = EngineSink{}

// AddMediaRoot implements MediaRootRecorder.
func (s EngineSink) AddMediaRoot(ctx context.Context, coll, dir string) error {
	return s.E.AddMediaRoot(ctx, coll, dir)
}

var _ Sink = EngineSink{}

func (s EngineSink) Collection(ctx context.Context, name string) (engine.Collection, error) {
	return s.E.GetCollection(ctx, name)
}

func (s EngineSink) CreateCollection(ctx context.Context, c engine.Collection) (engine.Collection, error) {
	return s.E.CreateCollection(ctx, c)
}

func (s EngineSink) Upsert(ctx context.Context, coll string, objs []engine.Object) ([]uint64, error) {
	return s.E.Upsert(ctx, coll, objs)
}

func (s EngineSink) Scan(ctx context.Context, coll string, fn func(engine.Object) error) error {
	return s.E.ScanObjects(ctx, coll, fn)
}

func (s EngineSink) Delete(ctx context.Context, coll string, ids []uint64) error {
	_, err := s.E.DeleteObjects(ctx, coll, ids)
	return err
}

func (s EngineSink) Get(ctx context.Context, coll string, id uint64) (engine.Object, error) {
	return s.E.GetObject(ctx, coll, id)
}
