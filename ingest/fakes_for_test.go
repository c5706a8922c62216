package ingest

import (
	"context"
	"sync"

	"rosetta/engine"
)

// fakeSink is an in-memory Sink whose collection "c" exists with one
// model-filled space; upsert, when set, decides each Upsert's result.
type fakeSink struct {
	upsert func(ctx context.Context, objs []engine.Object) ([]uint64, error)

	mu      sync.Mutex // guards the fields below
	upserts int        // Upsert calls
	nextID  uint64
}

var _ Sink = (*fakeSink)(nil)

func (f *fakeSink) Collection(_ context.Context, name string) (engine.Collection, error) {
	return engine.Collection{Name: name, Spaces: []engine.Space{{Name: "embedding", Model: "fake"}}}, nil
}

func (f *fakeSink) CreateCollection(_ context.Context, c engine.Collection) (engine.Collection, error) {
	return c, nil
}

func (f *fakeSink) Upsert(ctx context.Context, _ string, objs []engine.Object) ([]uint64, error) {
	f.mu.Lock()
	f.upserts++
	f.mu.Unlock()
	if f.upsert != nil {
		return f.upsert(ctx, objs)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]uint64, len(objs))
	for i := range ids {
		f.nextID++
		ids[i] = f.nextID
	}
	return ids, nil
}

func (f *fakeSink) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.upserts
}

func (f *fakeSink) Scan(context.Context, string, func(engine.Object) error) error { return nil }

func (f *fakeSink) Delete(context.Context, string, []uint64) error { return nil }

func (f *fakeSink) Get(context.Context, string, uint64) (engine.Object, error) {
	return engine.Object{}, engine.ErrNotFound
}
