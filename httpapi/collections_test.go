package httpapi

import (
	"strings"
	"testing"

	"rosetta/api"
	"rosetta/engine"
)

func TestCollectionsHappyPath(t *testing.T) {
	s := newTestServer(t, Options{})

	var list api.CollectionList
	s.mustDo(200, &list, "GET", "/v1/collections", "")
	if list.Collections == nil || len(list.Collections) != 0 {
		t.Fatalf("empty list: %+v", list)
	}
	if rec := s.do("GET", "/v1/collections", ""); strings.TrimSpace(rec.Body.String()) != `{"collections":[]}` {
		t.Errorf("empty list body %s, want [] not null", rec.Body)
	}

	var c engine.Collection
	s.mustDo(201, &c, "POST", "/v1/collections", `{
		"name": "Photos_2024-a",
		"spaces": [{"name": "image", "dim": 512, "metric": "cosine", "model": "clip-vit-b32", "precision": "int8"},
		           {"name": "audio", "dim": 768, "metric": "l2"}],
		"index": {"m": 16, "ef_construction": 200, "ef_search": 64, "storage": "float16"}
	}`)
	if c.Name != "Photos_2024-a" || len(c.Spaces) != 2 || c.Spaces[0].Model != "clip-vit-b32" || c.Spaces[0].Precision != "int8" ||
		c.Index.M != 16 || c.Index.Storage != "float16" || c.Created.IsZero() {
		t.Errorf("created %+v", c)
	}

	s.mustDo(201, nil, "POST", "/v1/collections", `{"name":"b","spaces":[{"name":"v","dim":1}]}`)
	s.mustDo(200, &list, "GET", "/v1/collections", "")
	if len(list.Collections) != 2 || list.Collections[0].Name != "Photos_2024-a" || list.Collections[1].Name != "b" {
		t.Errorf("list %+v", list)
	}

	var got engine.Collection
	s.mustDo(200, &got, "GET", "/v1/collections/b", "")
	if got.Name != "b" || got.Spaces[0].Metric != "cosine" {
		t.Errorf("get %+v", got)
	}

	rec := s.do("DELETE", "/v1/collections/b", "")
	if rec.Code != 204 || rec.Body.Len() != 0 {
		t.Fatalf("delete: %d %q", rec.Code, rec.Body)
	}
	wantError(t, s.do("GET", "/v1/collections/b", ""), 404, codeNotFound)
	wantError(t, s.do("DELETE", "/v1/collections/b", ""), 404, codeNotFound)
}

func TestCollectionsBadInput(t *testing.T) {
	s := newTestServer(t, Options{})
	s.seed()
	post := func(name, body string, status int, code, msg string) badRequest {
		return badRequest{name: name, method: "POST", path: "/v1/collections", body: body, status: status, code: code, msg: msg,
			headers: []string{"Content-Type", "application/json"}} // also on the empty body
	}
	space := `"spaces":[{"name":"v","dim":2}]`
	long := strings.Repeat("a", 65)
	runBadRequests(t, s, []badRequest{
		post("exists", `{"name":"media",`+space+`}`, 409, codeAlreadyExists, "media"),
		post("precision", `{"name":"x","spaces":[{"name":"v","dim":2,"model":"m","precision":"fp8"}]}`, 400, codeInvalidRequest, "not float32 or int8"),
		post("empty body", ``, 400, codeInvalidRequest, "empty"),
		post("malformed", `{"name":"x",`, 400, codeInvalidRequest, "malformed"),
		post("syntax", `{"name" "x"}`, 400, codeInvalidRequest, "malformed JSON at byte"),
		post("not an object", `[1,2]`, 400, codeInvalidRequest, "JSON object"),
		post("string body", `"x"`, 400, codeInvalidRequest, "JSON object"),
		post("trailing data", `{"name":"x",`+space+`} {"name":"y"}`, 400, codeInvalidRequest, "after the JSON value"),
		post("trailing garbage", `{"name":"x",`+space+`}]`, 400, codeInvalidRequest, "after the JSON value"),
		post("unknown field", `{"name":"x",`+space+`,"replication":3}`, 400, codeInvalidRequest, `"replication"`),
		post("output field count", `{"name":"x",`+space+`,"count":3}`, 400, codeInvalidRequest, `"count"`),
		post("output field created", `{"name":"x",`+space+`,"created":"2024-01-01T00:00:00Z"}`, 400, codeInvalidRequest, `"created"`),
		post("unknown space field", `{"name":"x","spaces":[{"name":"v","dim":2,"size":3}]}`, 400, codeInvalidRequest, `"size"`),
		post("wrong type dim", `{"name":"x","spaces":[{"name":"v","dim":"2"}]}`, 400, codeInvalidRequest, `spaces.dim`),
		post("wrong type name", `{"name":7,`+space+`}`, 400, codeInvalidRequest, `"name"`),
		post("fractional dim", `{"name":"x","spaces":[{"name":"v","dim":2.5}]}`, 400, codeInvalidRequest, "dim"),
		post("huge dim", `{"name":"x","spaces":[{"name":"v","dim":1e30}]}`, 400, codeInvalidRequest, "dim"),
		post("no name", `{`+space+`}`, 400, codeInvalidRequest, "collection name"),
		post("name too long", `{"name":"`+long+`",`+space+`}`, 400, codeInvalidRequest, "collection name"),
		post("name with dash first", `{"name":"-x",`+space+`}`, 400, codeInvalidRequest, "collection name"),
		post("name with slash", `{"name":"a/b",`+space+`}`, 400, codeInvalidRequest, "collection name"),
		post("name with space", `{"name":"a b",`+space+`}`, 400, codeInvalidRequest, "collection name"),
		post("name unicode", `{"name":"café",`+space+`}`, 400, codeInvalidRequest, "collection name"),
		post("no spaces", `{"name":"x"}`, 400, codeInvalidRequest, "at least one"),
		post("empty spaces", `{"name":"x","spaces":[]}`, 400, codeInvalidRequest, "at least one"),
		post("space without name", `{"name":"x","spaces":[{"dim":2}]}`, 400, codeInvalidRequest, "space name"),
		post("duplicate space", `{"name":"x","spaces":[{"name":"v","dim":2},{"name":"v","dim":3}]}`, 400, codeInvalidRequest, "twice"),
		post("zero dim", `{"name":"x","spaces":[{"name":"v","dim":0}]}`, 400, codeInvalidRequest, "dim"),
		post("negative dim", `{"name":"x","spaces":[{"name":"v","dim":-1}]}`, 400, codeInvalidRequest, "dim"),
		post("dim too large", `{"name":"x","spaces":[{"name":"v","dim":100000}]}`, 400, codeInvalidRequest, "dim"),
		post("bad metric", `{"name":"x","spaces":[{"name":"v","dim":2,"metric":"hamming"}]}`, 400, codeInvalidRequest, "metric"),
		post("negative m", `{"name":"x",`+space+`,"index":{"m":-1}}`, 400, codeInvalidRequest, "index"),
		post("bad storage", `{"name":"x",`+space+`,"index":{"storage":"int4"}}`, 400, codeInvalidRequest, "storage"),
		{name: "get invalid name", method: "GET", path: "/v1/collections/-bad", status: 400, code: codeInvalidRequest},
		{name: "get escaped slash", method: "GET", path: "/v1/collections/a%2Fb", status: 400, code: codeInvalidRequest},
		{name: "get long name", method: "GET", path: "/v1/collections/" + long, status: 400, code: codeInvalidRequest},
		{name: "delete invalid name", method: "DELETE", path: "/v1/collections/a.b", status: 400, code: codeInvalidRequest},
		{name: "get unknown", method: "GET", path: "/v1/collections/nope", status: 404, code: codeNotFound, msg: "nope"},
	})
	if s.e.calls == 0 {
		t.Fatal("the fake saw no calls")
	}
}

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"a", true}, {"A", true}, {"0", true}, {"a_b-c", true}, {"a-", true}, {strings.Repeat("z", 64), true},
		{"", false}, {"_a", false}, {"-a", false}, {strings.Repeat("z", 65), false},
		{"a.b", false}, {"a/b", false}, {"a b", false}, {"é", false}, {"a\x00", false},
	} {
		if got := engine.ValidName(tc.name); got != tc.ok {
			t.Errorf("engine.ValidName(%q) = %v", tc.name, got)
		}
	}
}
