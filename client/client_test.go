package client_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"rosetta/api"
	"rosetta/client"
	"rosetta/engine"
	"rosetta/httpapi"
)

// TestClientAgainstRealServer drives every method of the client against
// the real handler over a real engine (no fakes), and checks that server
// errors come back as the engine's sentinels.
func TestClientAgainstRealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a Pebble store")
	}
	ctx := context.Background()
	e, err := engine.Open(engine.Options{Dir: t.TempDir(), SnapshotEvery: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(httpapi.New(e, httpapi.Options{APIKey: "key", Registry: prometheus.NewRegistry()}))
	defer ts.Close()
	c := client.New(ts.URL, "key", nil)

	if err := c.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	if _, err := client.New(ts.URL, "wrong", nil).Collections(ctx); err == nil {
		t.Fatal("a wrong key was accepted")
	}
	col, err := c.CreateCollection(ctx, api.CreateCollectionRequest{Name: "c", Spaces: []api.Space{{Name: "v", Dim: 2}}})
	if err != nil || col.Name != "c" || col.Spaces[0].Metric != "cosine" {
		t.Fatalf("create: %+v %v", col, err)
	}
	if _, err := c.CreateCollection(ctx, api.CreateCollectionRequest{Name: "c", Spaces: []api.Space{{Name: "v", Dim: 2}}}); !errors.Is(err, engine.ErrExists) {
		t.Fatalf("create twice: %v", err)
	}
	var objs []api.Object
	for i := 0; i < 25; i++ {
		objs = append(objs, api.Object{Key: string(rune('a' + i)), Metadata: map[string]any{"i": float64(i)},
			Vectors: map[string][]float32{"v": {1, float32(i)}}})
	}
	ids, err := c.Upsert(ctx, "c", objs)
	if err != nil || len(ids) != 25 {
		t.Fatalf("upsert: %v %v", ids, err)
	}
	if _, err := c.Upsert(ctx, "c", []api.Object{{Vectors: map[string][]float32{"v": {1e-30, 1e-30}}}}); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("poison vector: %v", err)
	}
	o, err := c.Object(ctx, "c", ids[3])
	if err != nil || o.Key != "d" || len(o.Vectors["v"]) != 2 {
		t.Fatalf("object: %+v %v", o, err)
	}
	n := 0
	if err := c.Scan(ctx, "c", func(api.Object) error { n++; return nil }); err != nil || n != 25 {
		t.Fatalf("scan: %d %v", n, err)
	}
	res, err := c.Search(ctx, "c", api.SearchRequest{Query: api.Query{Vector: []float32{1, 3}}, K: 3, Fields: []string{"key"}, Exclude: []uint64{ids[3]}})
	if err != nil || len(res.Hits) != 3 || res.Ef == 0 {
		t.Fatalf("search: %+v %v", res, err)
	}
	for _, h := range res.Hits {
		if h.ID == ids[3] || h.Object == nil || h.Object.Key == "" {
			t.Fatalf("search hit %+v", h)
		}
	}
	if err := c.DeleteObject(ctx, "c", ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Object(ctx, "c", ids[0]); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("deleted object: %v", err)
	}
	var ce *client.Error
	if _, err := c.Collection(ctx, "nope"); !errors.As(err, &ce) || ce.Status != 404 || ce.Code != "not_found" || ce.Message == "" {
		t.Fatalf("unknown collection: %#v", err)
	}
	if err := c.DropCollection(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if cs, err := c.Collections(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("after drop: %v %v", cs, err)
	}
}
