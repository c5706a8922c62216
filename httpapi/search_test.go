package httpapi

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"rosetta/api"
	"rosetta/engine"
)

func TestSearchHappyPath(t *testing.T) {
	s := newTestServer(t, Options{})
	s.seed()
	const p = "/v1/collections/media/search"
	img := base64.StdEncoding.EncodeToString([]byte("\x89PNG fake image"))
	for _, tc := range []struct {
		name    string
		body    string
		wantIDs []uint64 // nil: only the count is checked
		count   int
		objects bool
	}{
		{name: "vector", body: `{"space":"image","query":{"vector":[1,0,0]},"k":2}`, wantIDs: []uint64{1, 2}},
		{name: "vector k larger than the collection", body: `{"space":"image","query":{"vector":[0,1,0]},"k":10}`, wantIDs: []uint64{3, 2, 1}},
		{name: "object", body: `{"space":"image","query":{"object":3},"k":1}`, wantIDs: []uint64{3}},
		{name: "text", body: `{"space":"image","query":{"text":"a cat"},"k":3}`, count: 3},
		{name: "image", body: `{"space":"image","query":{"image":"` + img + `"},"k":2}`, count: 2},
		{name: "audio", body: `{"space":"image","query":{"audio":"AAEC"},"k":1}`, count: 1},
		{name: "filter", body: `{"space":"image","query":{"vector":[1,0,0]},"k":3,"filter":{"field":"legs","eq":2}}`, wantIDs: []uint64{3}},
		{name: "null filter", body: `{"space":"image","query":{"vector":[1,0,0]},"k":1,"filter":null}`, wantIDs: []uint64{1}},
		{name: "no match", body: `{"space":"image","query":{"vector":[1,0,0]},"k":3,"filter":{"field":"legs","eq":8}}`, wantIDs: []uint64{}},
		{name: "fields", body: `{"space":"image","query":{"vector":[1,0,0]},"k":1,"fields":["key","metadata"]}`, wantIDs: []uint64{1}, objects: true},
		{name: "all fields", body: `{"space":"image","query":{"vector":[1,0,0]},"k":1,"fields":["*"]}`, wantIDs: []uint64{1}, objects: true},
		{name: "ef", body: `{"space":"image","query":{"vector":[1,0,0]},"k":1,"ef":64}`, wantIDs: []uint64{1}},
		{name: "k = MaxK", body: fmt.Sprintf(`{"space":"image","query":{"vector":[1,0,0]},"k":%d}`, engine.MaxK), count: 3},
		{name: "one-space collection", body: `{"query":{"vector":[0,0]},"k":1}`, count: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			path := p
			if strings.Contains(tc.name, "one-space") {
				path = "/v1/collections/plain/search"
			}
			rec := s.do("POST", path, tc.body)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), `"took_ms":`) || !strings.Contains(rec.Body.String(), `"hits":[`) {
				t.Errorf("body %s lacks hits or took_ms", rec.Body)
			}
			var resp api.SearchResponse
			s.mustDo(200, &resp, "POST", path, tc.body)
			if resp.TookMS < 0 {
				t.Errorf("took_ms %v", resp.TookMS)
			}
			var ids []uint64
			for _, h := range resp.Hits {
				ids = append(ids, h.ID)
				if (h.Object != nil) != tc.objects {
					t.Errorf("hit %d: object %v, want object: %v", h.ID, h.Object, tc.objects)
				}
			}
			if tc.wantIDs != nil {
				if fmt.Sprint(ids) != fmt.Sprint(tc.wantIDs) {
					t.Errorf("ids %v, want %v", ids, tc.wantIDs)
				}
			} else if len(ids) != tc.count {
				t.Errorf("%d hits, want %d", len(ids), tc.count)
			}
		})
	}
}

func TestSearchBadInput(t *testing.T) {
	s := newTestServer(t, Options{})
	s.seed()
	const p = "/v1/collections/media/search"
	search := func(name, body string, status int, code, msg string) badRequest {
		return badRequest{name: name, method: "POST", path: p, body: body, status: status, code: code, msg: msg,
			headers: []string{"Content-Type", "application/json"}} // also on the empty body
	}
	q := `"space":"image","query":{"vector":[1,0,0]}`
	runBadRequests(t, s, []badRequest{
		search("k negative", `{`+q+`,"k":-3}`, 400, codeInvalidRequest, "k:"),
		search("k over MaxK", fmt.Sprintf(`{`+q+`,"k":%d}`, engine.MaxK+1), 400, codeInvalidRequest, "10000"),
		search("k huge", `{`+q+`,"k":1e300}`, 400, codeInvalidRequest, `"k"`),
		search("k int64 overflow", `{`+q+`,"k":99999999999999999999}`, 400, codeInvalidRequest, `"k"`),
		search("k string", `{`+q+`,"k":"5"}`, 400, codeInvalidRequest, `"k"`),
		search("k float", `{`+q+`,"k":2.5}`, 400, codeInvalidRequest, `"k"`),
		search("ef negative", `{`+q+`,"k":1,"ef":-1}`, 400, codeInvalidRequest, "ef:"),
		search("ef below k", `{`+q+`,"k":5,"ef":2}`, 400, codeInvalidRequest, "ef"),
		search("ef huge", `{`+q+`,"k":1,"ef":1000000}`, 400, codeInvalidRequest, "ef"),
		search("no query", `{"space":"image","k":1}`, 400, codeInvalidRequest, "exactly one"),
		search("empty query", `{"space":"image","query":{},"k":1}`, 400, codeInvalidRequest, "exactly one"),
		search("two queries", `{"space":"image","query":{"vector":[1,0,0],"text":"cat"},"k":1}`, 400, codeInvalidRequest, "vector and text"),
		search("all queries", `{"space":"image","query":{"vector":[1,0,0],"object":1,"text":"t","image":"AA==","audio":"AA=="},"k":1}`, 400, codeInvalidRequest, "exactly one"),
		search("empty vector", `{"space":"image","query":{"vector":[]},"k":1}`, 400, codeInvalidRequest, "empty"),
		search("empty image", `{"space":"image","query":{"image":""},"k":1}`, 400, codeInvalidRequest, "empty"),
		search("bad base64", `{"space":"image","query":{"image":"not base64!"},"k":1}`, 400, codeInvalidRequest, "base64"),
		search("vector of strings", `{"space":"image","query":{"vector":["a"]},"k":1}`, 400, codeInvalidRequest, "query.vector"),
		search("vector overflow", `{"space":"image","query":{"vector":[1e39,0,0]},"k":1}`, 400, codeInvalidRequest, "query.vector"),
		search("vector NaN literal", `{"space":"image","query":{"vector":[NaN,0,0]},"k":1}`, 400, codeInvalidRequest, "malformed"),
		search("vector Infinity literal", `{"space":"image","query":{"vector":[Infinity,0,0]},"k":1}`, 400, codeInvalidRequest, "malformed"),
		search("vector too large", `{"space":"image","query":{"vector":[3e19,0,0]},"k":1}`, 400, codeInvalidRequest, "norm"),
		search("wrong dimension", `{"space":"image","query":{"vector":[1,0]},"k":1}`, 400, codeInvalidRequest, "dimension"),
		search("object negative", `{"space":"image","query":{"object":-1},"k":1}`, 400, codeInvalidRequest, "query.object"),
		search("object unknown", `{"space":"image","query":{"object":999},"k":1}`, 404, codeNotFound, "999"),
		search("unknown space", `{"space":"nope","query":{"vector":[1,0,0]},"k":1}`, 400, codeInvalidRequest, "nope"),
		search("space required", `{"query":{"vector":[1,0,0]},"k":1}`, 400, codeInvalidRequest, "space"),
		search("text without model", `{"space":"text","query":{"text":"cat"},"k":1}`, 422, codeUnsupported, "model"),
		search("bad filter operator", `{`+q+`,"k":1,"filter":{"legs":{"$regex":"x"}}}`, 400, codeInvalidRequest, "filter"),
		search("filter not object", `{`+q+`,"k":1,"filter":[1,2]}`, 400, codeInvalidRequest, "filter"),
		search("filter string", `{`+q+`,"k":1,"filter":"legs=2"}`, 400, codeInvalidRequest, "filter"),
		search("unknown field name", `{`+q+`,"k":1,"fields":["key","password"]}`, 400, codeInvalidRequest, `"password"`),
		search("unknown top field", `{`+q+`,"k":1,"limit":5}`, 400, codeInvalidRequest, `"limit"`),
		search("unknown query field", `{"space":"image","query":{"vector":[1,0,0],"url":"x"},"k":1}`, 400, codeInvalidRequest, `"url"`),
		search("malformed", `{`+q+`,"k":1`, 400, codeInvalidRequest, "malformed"),
		search("trailing", `{`+q+`,"k":1}{}`, 400, codeInvalidRequest, "after the JSON value"),
		search("null body", `null`, 400, codeInvalidRequest, "exactly one"),
		search("empty body", ``, 400, codeInvalidRequest, "empty"),
		{name: "unknown collection", method: "POST", path: "/v1/collections/nope/search",
			body: `{` + q + `,"k":1}`, status: 404, code: codeNotFound, msg: "nope"},
		{name: "invalid collection", method: "POST", path: "/v1/collections/%20x/search",
			body: `{` + q + `,"k":1}`, status: 400, code: codeInvalidRequest, msg: "collection name"},
	})
}

func TestSearchUnencodableScore(t *testing.T) {
	// A NaN score from the engine cannot be sent as JSON; the client gets a
	// well-formed 500 rather than a truncated body.
	s := newTestServer(t, Options{})
	s.seed()
	s.e.badScores = true
	wantError(t, s.do("POST", "/v1/collections/media/search", `{"space":"image","query":{"vector":[1,0,0]},"k":1}`), 500, codeInternal)
	s.wantHealthy()
}
