package ingest

import (
	"context"

	"rosetta/api"
	"rosetta/api/convert"
	"rosetta/client"
	"rosetta/engine"
)

// HTTPSink sends objects to a running server through the API client.
// Image content travels as bytes and is encoded by the server; Scan pages
// through the server's object listing, so skipping unchanged files and
// --prune work as with a local data directory.
type HTTPSink struct{ c *client.Client }

// NewHTTPSink talks to the server at base (e.g. http://127.0.0.1:7700).
func NewHTTPSink(base, apiKey string) *HTTPSink {
	return &HTTPSink{c: client.New(base, apiKey, nil)}
}

var _ Sink = (*HTTPSink)(nil)

// Collection implements Sink.
func (h *HTTPSink) Collection(ctx context.Context, name string) (engine.Collection, error) {
	c, err := h.c.Collection(ctx, name)
	return convert.ToEngineCollectionInfo(c), err
}

// CreateCollection implements Sink: it sends the schema alone, never the
// output-only fields.
func (h *HTTPSink) CreateCollection(ctx context.Context, c engine.Collection) (engine.Collection, error) {
	out, err := h.c.CreateCollection(ctx, convert.FromEngineCreate(c))
	return convert.ToEngineCollectionInfo(out), err
}

// Upsert implements Sink.
func (h *HTTPSink) Upsert(ctx context.Context, coll string, objs []engine.Object) ([]uint64, error) {
	batch := make([]api.Object, len(objs))
	for i, o := range objs {
		batch[i] = convert.FromEngineObject(o)
	}
	return h.c.Upsert(ctx, coll, batch)
}

// Scan implements Sink.
func (h *HTTPSink) Scan(ctx context.Context, coll string, fn func(engine.Object) error) error {
	return h.c.Scan(ctx, coll, func(o api.Object) error { return fn(convert.ToEngineObject(o)) })
}

// Delete implements Sink.
func (h *HTTPSink) Delete(ctx context.Context, coll string, ids []uint64) error {
	for _, id := range ids {
		if err := h.c.DeleteObject(ctx, coll, id); err != nil {
			return err
		}
	}
	return nil
}

// Get implements Sink.
func (h *HTTPSink) Get(ctx context.Context, coll string, id uint64) (engine.Object, error) {
	o, err := h.c.Object(ctx, coll, id)
	return convert.ToEngineObject(o), err
}
