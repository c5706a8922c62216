package httpapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"rosetta/api"
	"rosetta/engine"
)

func TestObjectsHappyPath(t *testing.T) {
	s := newTestServer(t, Options{})
	s.seed()

	var up api.UpsertResponse
	s.mustDo(200, &up, "PUT", "/v1/collections/plain/objects", `{"objects":[
		{"id": 100, "vectors": {"v": [1, 2]}},
		{"key": "k1", "source": "/data/a.jpg", "hash": "abc", "text": {"caption": "a cat"},
		 "metadata": {"n": 1.5, "tags": ["x"], "nested": {"a": null}}, "vectors": {"v": [3, 4]}},
		{"vectors": {"v": [5, 6]}}
	]}`)
	if len(up.IDs) != 3 || up.IDs[0] != 100 || up.IDs[1] == 0 || up.IDs[2] == 0 || up.IDs[1] == up.IDs[2] {
		t.Fatalf("ids %v", up.IDs)
	}

	// An upsert by key replaces the same object.
	var again api.UpsertResponse
	s.mustDo(200, &again, "PUT", "/v1/collections/plain/objects", `{"objects":[{"key":"k1","vectors":{"v":[7,8]}}]}`)
	if len(again.IDs) != 1 || again.IDs[0] != up.IDs[1] {
		t.Fatalf("upsert by key: ids %v, want [%d]", again.IDs, up.IDs[1])
	}

	var o engine.Object
	s.mustDo(200, &o, "GET", fmt.Sprintf("/v1/collections/plain/objects/%d", up.IDs[1]), "")
	if o.ID != up.IDs[1] || o.Key != "k1" || o.Vectors["v"][0] != 7 {
		t.Errorf("object %+v", o)
	}
	s.mustDo(200, &o, "GET", "/v1/collections/plain/objects/100", "")
	if o.ID != 100 || len(o.Vectors["v"]) != 2 {
		t.Errorf("object %+v", o)
	}

	rec := s.do("DELETE", "/v1/collections/plain/objects/100", "")
	if rec.Code != 204 || rec.Body.Len() != 0 {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	wantError(t, s.do("GET", "/v1/collections/plain/objects/100", ""), 404, codeNotFound)
	wantError(t, s.do("DELETE", "/v1/collections/plain/objects/100", ""), 404, codeNotFound)

	// The largest id parses.
	wantError(t, s.do("GET", "/v1/collections/plain/objects/18446744073709551615", ""), 404, codeNotFound)
}

func TestUpsertFullBatch(t *testing.T) {
	s := newTestServer(t, Options{})
	s.seed()
	var objs []string
	for i := range engine.MaxBatch {
		objs = append(objs, fmt.Sprintf(`{"key":"k%d","vectors":{"v":[%d,1]}}`, i, i))
	}
	var up api.UpsertResponse
	s.mustDo(200, &up, "PUT", "/v1/collections/plain/objects", `{"objects":[`+strings.Join(objs, ",")+`]}`)
	if len(up.IDs) != engine.MaxBatch {
		t.Fatalf("%d ids", len(up.IDs))
	}

	objs = append(objs, `{"key":"one-too-many"}`)
	e := wantError(t, s.do("PUT", "/v1/collections/plain/objects", `{"objects":[`+strings.Join(objs, ",")+`]}`),
		413, codePayloadTooLarge)
	if !strings.Contains(e.Message, "1001") || !strings.Contains(e.Message, "1000") {
		t.Errorf("message %q should name the batch size and the limit", e.Message)
	}
}

func TestObjectsBadInput(t *testing.T) {
	s := newTestServer(t, Options{})
	s.seed()
	put := func(name, path, body string, status int, code, msg string) badRequest {
		return badRequest{name: name, method: "PUT", path: path, body: body, status: status, code: code, msg: msg}
	}
	const p = "/v1/collections/media/objects"
	runBadRequests(t, s, []badRequest{
		put("unknown collection", "/v1/collections/nope/objects", `{"objects":[{"key":"a"}]}`, 404, codeNotFound, "nope"),
		put("invalid collection name", "/v1/collections/_x/objects", `{"objects":[{"key":"a"}]}`, 400, codeInvalidRequest, "collection name"),
		put("unknown space", p, `{"objects":[{"vectors":{"nope":[1,2,3]}}]}`, 400, codeInvalidRequest, "nope"),
		put("wrong dimension", p, `{"objects":[{"vectors":{"image":[1,2]}}]}`, 400, codeInvalidRequest, "dimension"),
		put("duplicate keys", p, `{"objects":[{"key":"a"},{"key":"b"},{"key":"a"}]}`, 400, codeInvalidRequest, `duplicate key "a"`),
		put("empty batch", p, `{"objects":[]}`, 400, codeInvalidRequest, "empty"),
		put("null batch", p, `{"objects":null}`, 400, codeInvalidRequest, "empty"),
		put("no objects field", p, `{}`, 400, codeInvalidRequest, "empty"),
		put("objects not array", p, `{"objects":{"key":"a"}}`, 400, codeInvalidRequest, "objects"),
		put("bare array", p, `[{"key":"a"}]`, 400, codeInvalidRequest, "JSON object"),
		put("unknown object field", p, `{"objects":[{"key":"a","colour":"red"}]}`, 400, codeInvalidRequest, `"colour"`),
		put("negative id", p, `{"objects":[{"id":-1}]}`, 400, codeInvalidRequest, "objects.id"),
		put("fractional id", p, `{"objects":[{"id":1.5}]}`, 400, codeInvalidRequest, "objects.id"),
		put("id overflow", p, `{"objects":[{"id":18446744073709551616}]}`, 400, codeInvalidRequest, "objects.id"),
		put("string id", p, `{"objects":[{"id":"1"}]}`, 400, codeInvalidRequest, "objects.id"),
		put("metadata not object", p, `{"objects":[{"metadata":[1]}]}`, 400, codeInvalidRequest, "metadata"),
		put("text not strings", p, `{"objects":[{"text":{"caption":1}}]}`, 400, codeInvalidRequest, "text"),
		put("vector of strings", p, `{"objects":[{"vectors":{"image":["a","b","c"]}}]}`, 400, codeInvalidRequest, "vectors"),
		put("vector float32 overflow", p, `{"objects":[{"vectors":{"image":[1e39,0,0]}}]}`, 400, codeInvalidRequest, "vectors"),
		put("vector NaN literal", p, `{"objects":[{"vectors":{"image":[NaN,0,0]}}]}`, 400, codeInvalidRequest, "malformed"),
		put("vector too large", p, `{"objects":[{"vectors":{"image":[1e19,1e19,0]}}]}`, 400, codeInvalidRequest, "norm"),
		put("empty vector", p, `{"objects":[{"vectors":{"image":[]}}]}`, 400, codeInvalidRequest, "empty"),
		put("bad time", p, `{"objects":[{"created":"yesterday"}]}`, 400, codeInvalidRequest, ""),
		put("malformed", p, `{"objects":[{"key":"a"}`, 400, codeInvalidRequest, "malformed"),
		put("trailing", p, `{"objects":[{"key":"a"}]}x`, 400, codeInvalidRequest, "after the JSON value"),
		{name: "get bad id", method: "GET", path: "/v1/collections/media/objects/abc", status: 400, code: codeInvalidRequest, msg: `"abc"`},
		{name: "get negative id", method: "GET", path: "/v1/collections/media/objects/-1", status: 400, code: codeInvalidRequest},
		{name: "get plus id", method: "GET", path: "/v1/collections/media/objects/+1", status: 400, code: codeInvalidRequest},
		{name: "get hex id", method: "GET", path: "/v1/collections/media/objects/0x10", status: 400, code: codeInvalidRequest},
		{name: "get id overflow", method: "GET", path: "/v1/collections/media/objects/18446744073709551616", status: 400, code: codeInvalidRequest},
		{name: "get float id", method: "GET", path: "/v1/collections/media/objects/1.0", status: 400, code: codeInvalidRequest},
		{name: "delete bad id", method: "DELETE", path: "/v1/collections/media/objects/x", status: 400, code: codeInvalidRequest},
		{name: "get unknown collection", method: "GET", path: "/v1/collections/nope/objects/1", status: 404, code: codeNotFound},
		{name: "get unknown object", method: "GET", path: "/v1/collections/media/objects/999", status: 404, code: codeNotFound},
		{name: "get invalid collection", method: "GET", path: "/v1/collections/a.b/objects/1", status: 400, code: codeInvalidRequest},
	})
}

func TestUpsertEngineBreaksContract(t *testing.T) {
	s := newTestServer(t, Options{})
	s.seed()
	s.e.shortIDs = true
	wantError(t, s.do("PUT", "/v1/collections/plain/objects", `{"objects":[{"vectors":{"v":[1,2]}}]}`), 500, codeInternal)
}

func TestObjectJSONRoundTrip(t *testing.T) {
	// What GET returns can be PUT back unchanged (created/updated are
	// accepted on input).
	s := newTestServer(t, Options{})
	s.seed()
	rec := s.do("GET", "/v1/collections/media/objects/1", "")
	if rec.Code != 200 {
		t.Fatalf("get: %d %s", rec.Code, rec.Body)
	}
	var o json.RawMessage = rec.Body.Bytes()
	s.mustDo(200, nil, "PUT", "/v1/collections/media/objects", `{"objects":[`+string(o)+`]}`)
}
