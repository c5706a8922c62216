package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"rosetta/api"
)

// newFuzzServer is the real handler over a seeded fake engine that never
// fails on its own, so every 5xx would be the handler's fault.
func newFuzzServer(f *testing.F) *testServer {
	e := newFakeEngine()
	s := &testServer{e: e, h: New(e, Options{Registry: prometheus.NewRegistry(), MaxBodyBytes: 1 << 20})}
	for _, req := range []struct{ path, body string }{
		{"/v1/collections", `{"name":"media","spaces":[{"name":"image","dim":3,"model":"clip"},{"name":"text","dim":3,"metric":"dot"}]}`},
		{"/v1/collections", `{"name":"plain","spaces":[{"name":"v","dim":2,"metric":"l2"}]}`},
	} {
		if rec := serve(s.h, "POST", req.path, req.body); rec.Code != 201 {
			f.Fatalf("seed %s: %d %s", req.path, rec.Code, rec.Body)
		}
	}
	return s
}

// checkFuzzAnswer fails unless rec is below 500 and, for errors, a
// well-formed error body.
func checkFuzzAnswer(t *testing.T, body string, rec *httptest.ResponseRecorder) {
	if rec.Code >= 500 {
		t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
	}
	if rec.Code >= 400 {
		var eb api.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
			t.Fatalf("status %d with a malformed error body %q (%v)", rec.Code, rec.Body, err)
		}
	}
}

func FuzzSearchRequest(f *testing.F) {
	s := newFuzzServer(f)
	if rec := serve(s.h, "PUT", "/v1/collections/media/objects",
		`{"objects":[{"key":"a","metadata":{"n":1},"vectors":{"image":[1,0,0],"text":[0,1,0]}},{"key":"b","vectors":{"image":[0,0,1]}}]}`); rec.Code != 200 {
		f.Fatalf("seed objects: %d %s", rec.Code, rec.Body)
	}
	for _, seed := range []string{
		`{"space":"image","query":{"vector":[1,0,0]},"k":2}`,
		`{"space":"image","query":{"object":1},"k":1,"ef":10,"fields":["key","metadata"]}`,
		`{"space":"image","query":{"text":"a cat"},"k":3,"filter":{"or":[{"field":"n","eq":1},{"not":{"field":"n","exists":true}}]}}`,
		`{"space":"image","query":{"image":"AAEC"},"k":1}`,
		`{"space":"text","query":{"audio":"AAEC"},"k":1}`,
		`{"space":"text","query":{"vector":[1e38,1e38,1e38]},"k":1}`,
		`{"space":"image","query":{"vector":[0,0,0]},"k":10000}`,
		`{"query":{"vector":[1,0]},"k":1}`,
		`{"space":"image","query":{"vector":[1,0,0]},"k":1,"filter":{"n":{"$gt":1}}}`,
		`{"space":"image","query":{},"k":-1}`,
		`{"k":1e400}`,
		`{"space":"image","query":{"object":18446744073709551615},"k":1}`,
		`[]`, `null`, `{`, `{"k":1}{}`, ``, "\x00", `{"query":{"image":"!!"}}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, coll := range []string{"media", "plain"} {
			rec := serve(s.h, "POST", "/v1/collections/"+coll+"/search", body)
			checkFuzzAnswer(t, body, rec)
			if rec.Code == 200 {
				var resp api.SearchResponse
				if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.Hits == nil {
					t.Fatalf("200 with body %q (%v)", rec.Body, err)
				}
			}
		}
	})
}

func FuzzUpsertRequest(f *testing.F) {
	s := newFuzzServer(f)
	for _, seed := range []string{
		`{"objects":[{"key":"a","vectors":{"image":[1,0,0]}}]}`,
		`{"objects":[{"id":5,"modality":"image","source":"/a.jpg","hash":"h","metadata":{"a":[1,{"b":null}]},"text":{"caption":"x"},"vectors":{"image":[1,2,3],"text":[4,5,6]}}]}`,
		`{"objects":[{"key":"a"},{"key":"a"}]}`,
		`{"objects":[{"vectors":{"v":[1,2]}},{"vectors":{"v":[3e38,3e38]}}]}`,
		`{"objects":[{"vectors":{"nope":[1]}}]}`,
		`{"objects":[{"created":"2024-01-01T00:00:00Z","updated":"bad"}]}`,
		`{"objects":[]}`, `{"objects":null}`, `{"objects":[null]}`, `{"objects":[{"id":-1}]}`,
		`[]`, `null`, `{`, `{"objects":[]}x`, ``, `{"objects":[{"vectors":{"image":[]}}]}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		defer s.e.clearObjects()
		for _, coll := range []string{"media", "plain"} {
			rec := serve(s.h, "PUT", "/v1/collections/"+coll+"/objects", body)
			checkFuzzAnswer(t, body, rec)
			if rec.Code == 200 {
				var resp api.UpsertResponse
				if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || len(resp.IDs) == 0 {
					t.Fatalf("200 with body %q (%v)", rec.Body, err)
				}
			}
		}
	})
}

// TestFuzzSeedsSucceed makes sure the first seeds are real successes, so the
// fuzzers start from inputs that reach the engine.
func TestFuzzSeedsSucceed(t *testing.T) {
	s := newTestServer(t, Options{})
	s.seed()
	for i, body := range []string{
		`{"space":"image","query":{"vector":[1,0,0]},"k":2}`,
		`{"space":"image","query":{"object":1},"k":1,"ef":10,"fields":["key","metadata"]}`,
		`{"space":"image","query":{"text":"a cat"},"k":3,"filter":{"field":"legs","gte":4}}`,
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			s.t = t
			rec := s.do("POST", "/v1/collections/media/search", body)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"id":`) {
				t.Errorf("%d %s", rec.Code, rec.Body)
			}
		})
	}
}
