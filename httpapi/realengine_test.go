package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"rosetta/api"
	"rosetta/engine"
	"rosetta/internal/testfs"
	"rosetta/store"
)

// The real engine is an Engine.
var _ Engine = (*engine.Engine)(nil)

// openRealEngine opens an engine (no periodic snapshots, no log), waits
// until it is ready and closes it when the test ends.
func openRealEngine(t *testing.T, o engine.Options) *engine.Engine {
	t.Helper()
	o.SnapshotEvery, o.Logger = -1, slog.New(slog.DiscardHandler)
	e, err := engine.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestRealEngineSmoke drives the handler over a real engine in a temporary
// directory, to catch contract mismatches the fake cannot show.
func TestRealEngineSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a Pebble store")
	}
	e := openRealEngine(t, engine.Options{Dir: t.TempDir()})
	s := &testServer{t: t, h: New(e, Options{Registry: prometheus.NewRegistry()})}

	s.mustDo(200, nil, "GET", "/readyz", "")
	s.mustDo(201, nil, "POST", "/v1/collections", `{"name":"c","spaces":[{"name":"v","dim":3,"metric":"ip"}]}`)
	wantError(t, s.do("POST", "/v1/collections", `{"name":"c","spaces":[{"name":"v","dim":3}]}`), 409, codeAlreadyExists)
	wantError(t, s.do("POST", "/v1/collections", `{"name":"d","spaces":[{"name":"v","dim":0}]}`), 400, codeInvalidRequest)

	var up api.UpsertResponse
	s.mustDo(200, &up, "PUT", "/v1/collections/c/objects", `{"objects":[
		{"key":"a","metadata":{"n":1},"vectors":{"v":[1,0,0]}},
		{"key":"b","metadata":{"n":2},"vectors":{"v":[0,1,0]}},
		{"key":"c","metadata":{"n":3},"vectors":{"v":[0,0,1]}}]}`)
	if len(up.IDs) != 3 {
		t.Fatalf("ids %v", up.IDs)
	}
	wantError(t, s.do("PUT", "/v1/collections/c/objects", `{"objects":[{"vectors":{"v":[1,0]}}]}`), 400, codeInvalidRequest)
	// Vectors a cosine index cannot normalise are refused before anything
	// is acknowledged (they once made every restart fail).
	s.mustDo(201, nil, "POST", "/v1/collections", `{"name":"cos","spaces":[{"name":"v","dim":3}]}`)
	for _, v := range []string{`[1e-30,1e-30,0]`, `[1e-45,0,0]`, `[0,0,0]`, `[1e19,1e19,0]`} {
		e := wantError(t, s.do("PUT", "/v1/collections/cos/objects", `{"objects":[{"vectors":{"v":`+v+`}}]}`), 400, codeInvalidRequest)
		if strings.Contains(e.Message, "store: invalid") {
			t.Errorf("%s: the message keeps an internal prefix: %q", v, e.Message)
		}
		wantError(t, s.do("POST", "/v1/collections/cos/search", `{"query":{"vector":`+v+`}}`), 400, codeInvalidRequest)
	}
	s.mustDo(204, nil, "DELETE", "/v1/collections/cos", "")

	var sr api.SearchResponse
	s.mustDo(200, &sr, "POST", "/v1/collections/c/search",
		`{"query":{"vector":[0.1,0.9,0]},"k":2,"fields":["key"],"filter":{"field":"n","gte":2}}`)
	if len(sr.Hits) != 2 || sr.Hits[0].ID != up.IDs[1] || sr.Hits[0].Object == nil || sr.Hits[0].Object.Key != "b" {
		t.Fatalf("hits %+v", sr.Hits)
	}
	wantError(t, s.do("POST", "/v1/collections/c/search", `{"query":{"vector":[1,0,0]},"k":1,"filter":{"x":1}}`), 400, codeInvalidRequest)
	wantError(t, s.do("POST", "/v1/collections/c/search", `{"query":{"text":"cat"},"k":1}`), 422, codeUnsupported)
	wantError(t, s.do("POST", "/v1/collections/nope/search", `{"query":{"vector":[1,0,0]},"k":1}`), 404, codeNotFound)

	s.mustDo(200, nil, "GET", "/v1/collections/c/objects/"+uitoa(up.IDs[0]), "")
	s.mustDo(204, nil, "DELETE", "/v1/collections/c/objects/"+uitoa(up.IDs[0]), "")
	wantError(t, s.do("GET", "/v1/collections/c/objects/"+uitoa(up.IDs[0]), ""), 404, codeNotFound)

	var page api.ObjectList
	s.mustDo(200, &page, "GET", "/v1/collections/c/objects?limit=1", "")
	if len(page.Objects) != 1 || page.Next == nil || page.Objects[0].Vectors != nil {
		t.Fatalf("page 1: %+v", page)
	}
	after := *page.Next
	page = api.ObjectList{}
	s.mustDo(200, &page, "GET", "/v1/collections/c/objects?limit=5&after="+uitoa(after), "")
	if len(page.Objects) != 1 || page.Next != nil {
		t.Fatalf("page 2: %+v", page)
	}
	wantError(t, s.do("GET", "/v1/collections/c/objects?limit=0", ""), 400, codeInvalidRequest)
	wantError(t, s.do("GET", "/v1/collections/c/objects?after=x", ""), 400, codeInvalidRequest)

	metrics := s.do("GET", "/metrics", "").Body.String()
	for _, want := range []string{`rosetta_store_healthy 1`, `rosetta_store_disk_full_refusals_total 0`, `rosetta_collections 1`, `rosetta_collection_objects{collection="c"} 2`, `rosetta_index_nodes{collection="c",space="v"}`, `rosetta_objects_written_total 3`, `rosetta_objects_deleted_total 1`, `rosetta_pebble_disk_bytes `, `rosetta_searches_total `} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	s.mustDo(204, nil, "DELETE", "/v1/collections/c", "")
}

func uitoa(v uint64) string { return strconv.FormatUint(v, 10) }

// TestRealEngineDiskFull: on a full disk (a 20 MB tmpfs with a filler
// file, 8 MiB reserve) an upsert is answered 507 at once with a clear
// message and /readyz says why; deleting the filler lets writes and
// /readyz recover without a restart; acknowledged writes are all there.
func TestRealEngineDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs")
	}
	mnt := testfs.MountTmpfs(t, "20m")
	e := openRealEngine(t, engine.Options{Dir: filepath.Join(mnt, "data"),
		Store: store.Options{DiskReserveBytes: 8 << 20, CommitTimeout: 5 * time.Second}})
	s := &testServer{t: t, h: New(e, Options{Registry: prometheus.NewRegistry()})}
	s.mustDo(201, nil, "POST", "/v1/collections", `{"name":"c","spaces":[{"name":"v","dim":64}]}`)
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, 6<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	vec := "[" + strings.Repeat("0.5,", 63) + "1]"
	acked := 0
	start := time.Now()
	var rec *httptest.ResponseRecorder
	for i := 0; ; i++ {
		var objs []string
		for j := 0; j < 50; j++ {
			objs = append(objs, fmt.Sprintf(`{"key":"k%d-%d","vectors":{"v":%s}}`, i, j, vec))
		}
		rec = s.do("PUT", "/v1/collections/c/objects", `{"objects":[`+strings.Join(objs, ",")+`]}`)
		if rec.Code != 200 {
			break
		}
		acked += 50
		if time.Since(start) > time.Minute {
			t.Fatal("the disk never filled")
		}
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("writes took %v to fail", took)
	}
	e1 := wantError(t, rec, 507, codeInsufficientStorage)
	if !strings.Contains(e1.Message, "disk full") || rec.Header().Get("Retry-After") == "" {
		t.Errorf("507 answer: %q, Retry-After %q", e1.Message, rec.Header().Get("Retry-After"))
	}
	r := wantError(t, s.do("GET", "/readyz", ""), 503, codeNotReady)
	if !strings.Contains(r.Message, "disk full") {
		t.Errorf("/readyz: %q", r.Message)
	}
	if !strings.Contains(s.do("GET", "/metrics", "").Body.String(), "rosetta_store_healthy 0") {
		t.Error("metrics do not show the store unhealthy")
	}
	os.Remove(filler)
	s.mustDo(200, nil, "GET", "/readyz", "")
	s.mustDo(200, nil, "PUT", "/v1/collections/c/objects", `{"objects":[{"key":"after","vectors":{"v":`+vec+`}}]}`)
	var c api.Collection
	s.mustDo(200, &c, "GET", "/v1/collections/c", "")
	if c.Count != acked+1 {
		t.Errorf("%d objects, want %d acknowledged + 1", c.Count, acked)
	}
}
