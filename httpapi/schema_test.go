package httpapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"rosetta/engine"
)

// TestResponsesMatchOpenAPI takes real responses, over a real engine in a
// temporary directory, of every route that answers JSON (successes and
// errors), and checks every field path in them against the schema that
// the OpenAPI document gives that operation and status: a field the
// document does not describe, where additionalProperties is false, or a
// value of the wrong type, fails. A client generated from the document
// then decodes everything the server sends.
func TestResponsesMatchOpenAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a Pebble store")
	}
	e := openRealEngine(t, engine.Options{Dir: t.TempDir()})
	s := &testServer{t: t, h: New(e, Options{Registry: prometheus.NewRegistry(), APIKey: "k"}), key: "k"}

	var doc map[string]any
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	checked := map[string]bool{} // "get /v1/collections 200"
	fields := 0
	check := func(method, route, path, body string, status int, headers ...string) map[string]any {
		t.Helper()
		rec := s.do(method, path, body, headers...)
		if rec.Code != status {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, rec.Code, status, rec.Body)
		}
		schema := responseSchema(t, doc, strings.ToLower(method), route, status)
		var v any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s %s: not JSON: %v: %s", method, path, err, rec.Body)
		}
		for _, p := range matchSchema(doc, v, schema, "$") {
			t.Errorf("%s %s → %d: %s", method, route, status, p)
		}
		fields += countFields(v)
		checked[fmt.Sprintf("%s %s %d", strings.ToLower(method), route, status)] = true
		m, _ := v.(map[string]any)
		return m
	}
	const (
		colls  = "/v1/collections"
		coll   = "/v1/collections/{collection}"
		objs   = "/v1/collections/{collection}/objects"
		obj    = "/v1/collections/{collection}/objects/{id}"
		search = "/v1/collections/{collection}/search"
		stats  = "/v1/collections/{collection}/stats"
	)

	check("GET", "/healthz", "/healthz", "", 200)
	check("GET", "/readyz", "/readyz", "", 200)
	check("GET", "/v1/version", "/v1/version", "", 200)
	check("POST", colls, colls, `{"name":"c","spaces":[{"name":"v","dim":3,"metric":"ip"},{"name":"w","dim":2}],
		"index":{"m":8,"ef_construction":64,"ef_search":32,"storage":"float16"}}`, 201)
	up := check("PUT", objs, "/v1/collections/c/objects", `{"objects":[
		{"key":"a","modality":"image","source":"/photos/a.jpg","metadata":{"n":1,"tags":["x","y"],"exif":{"make":"Canon","iso":200}},
		 "text":{"caption":"a cat"},"vectors":{"v":[1,0,0],"w":[1,0]}},
		{"key":"b","modality":"text","metadata":{"n":2},"vectors":{"v":[0,1,0],"w":[0,1]}}]}`, 200)
	id := strconv.FormatUint(uint64(up["ids"].([]any)[0].(float64)), 10)

	check("GET", colls, colls, "", 200)
	check("GET", coll, "/v1/collections/c", "", 200)
	st := check("GET", stats, "/v1/collections/c/stats", "", 200)
	if _, ok := st["space_stats"]; !ok {
		t.Errorf("stats without space_stats: %v", st)
	}
	check("GET", objs, "/v1/collections/c/objects?limit=1", "", 200)
	check("GET", objs, "/v1/collections/c/objects", "", 200)
	o := check("GET", obj, "/v1/collections/c/objects/"+id, "", 200)
	if o["metadata"] == nil || o["text"] == nil || o["created"] == nil {
		t.Errorf("object lacks fields the test means to check: %v", o)
	}
	sr := check("POST", search, "/v1/collections/c/search", `{"space":"v","query":{"vector":[1,0.1,0]},"k":2,"fields":["*"]}`, 200)
	if hits, _ := sr["hits"].([]any); len(hits) != 2 || hits[0].(map[string]any)["object"] == nil {
		t.Errorf("search with fields=*: %v", sr)
	}
	// Grouped and paged: segments and next_offset.
	check("PUT", objs, "/v1/collections/c/objects", `{"objects":[{"key":"a#t=0,10","modality":"image","metadata":{"parent":"a","segment_start":0},
		"vectors":{"v":[1,0.05,0],"w":[1,0]}}]}`, 200)
	gr := check("POST", search, "/v1/collections/c/search", `{"space":"v","query":{"vector":[1,0.1,0]},"k":1,"group_by":"parent","fields":["*"]}`, 200)
	if hits, _ := gr["hits"].([]any); len(hits) != 1 || hits[0].(map[string]any)["segments"] == nil || gr["next_offset"] == nil {
		t.Errorf("grouped search: %v", gr)
	}

	// Errors, each with the shape the document gives its status.
	check("GET", coll, "/v1/collections/nope", "", 404)
	check("GET", obj, "/v1/collections/c/objects/x", "", 400)
	check("POST", colls, colls, `{"name":"c","spaces":[{"name":"v","dim":3}]}`, 409)
	check("POST", colls, colls, `{"name":"d"}`, 415, "Content-Type", "")
	check("POST", search, "/v1/collections/c/search", `{"query":{"text":"cat"},"space":"v","mode":"vector"}`, 422)
	check("POST", search, "/v1/collections/c/search", `{"query":{"text":"cat"},"space":"v"}`, 200) // keyword: the space has no model
	check("GET", colls, colls, "", 401, "Authorization", "")
	check("PUT", objs, "/v1/collections/c/objects", `{"objects":[`+strings.Repeat(`{"vectors":{"v":[1,0,0],"w":[1,0]}},`, engine.MaxBatch)+`{}]}`, 413)
	t.Logf("checked %d responses, %d JSON fields", len(checked), fields)

	// The checker itself catches what it is for.
	hit := responseSchema(t, doc, "post", search, 200)
	for _, tc := range []string{
		`{"hits":[{"id":1,"score":1,"distance":0,"surprise":1}],"took_ms":1}`,
		`{"hits":[{"id":1,"score":1,"distance":0,"object":{"id":1,"vectors":{"v":["x"]}}}],"took_ms":1}`,
		`{"hits":[{"id":1,"score":"1","distance":0}],"took_ms":1}`,
		`{"took_ms":1}`,
	} {
		var v any
		json.Unmarshal([]byte(tc), &v)
		if len(matchSchema(doc, v, hit, "$")) == 0 {
			t.Errorf("the checker accepts %s", tc)
		}
	}
}

// responseSchema finds the JSON schema of an operation's response.
func responseSchema(t *testing.T, doc map[string]any, method, route string, status int) map[string]any {
	t.Helper()
	paths := doc["paths"].(map[string]any)
	item, ok := paths[route].(map[string]any)
	if !ok {
		t.Fatalf("no path %s in the document", route)
	}
	op, ok := item[method].(map[string]any)
	if !ok {
		t.Fatalf("no %s %s in the document", method, route)
	}
	resp, ok := op["responses"].(map[string]any)[strconv.Itoa(status)].(map[string]any)
	if !ok {
		t.Fatalf("%s %s: status %d is not documented", method, route, status)
	}
	resp = deref(doc, resp)
	content, _ := resp["content"].(map[string]any)
	media, ok := content["application/json"].(map[string]any)
	if !ok {
		if status == 204 {
			return map[string]any{}
		}
		t.Fatalf("%s %s %d: no application/json content", method, route, status)
	}
	return media["schema"].(map[string]any)
}

// deref follows $refs within the document.
func deref(doc map[string]any, s map[string]any) map[string]any {
	for {
		r, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		var cur any = doc
		for part := range strings.SplitSeq(strings.TrimPrefix(r, "#/"), "/") {
			cur = cur.(map[string]any)[part]
		}
		s = cur.(map[string]any)
	}
}

// matchSchema checks v against schema, walking properties, items,
// additionalProperties and $refs, and returns a problem per mismatch,
// each with the JSON path where it is.
func matchSchema(doc map[string]any, v any, schema map[string]any, at string) []string {
	schema = deref(doc, schema)
	var problems []string
	bad := func(format string, args ...any) []string {
		return append(problems, at+": "+fmt.Sprintf(format, args...))
	}
	typ, _ := schema["type"].(string)
	switch x := v.(type) {
	case map[string]any:
		if typ != "" && typ != "object" {
			return bad("an object where the schema has %s", typ)
		}
		props, _ := schema["properties"].(map[string]any)
		for _, req := range asStrings(schema["required"]) {
			if _, ok := x[req]; !ok {
				problems = bad("required field %q missing", req)
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			sub := at + "." + k
			if ps, ok := props[k].(map[string]any); ok {
				problems = append(problems, matchSchema(doc, x[k], ps, sub)...)
				continue
			}
			switch ap := schema["additionalProperties"].(type) {
			case bool:
				if !ap {
					problems = append(problems, sub+": not in the schema (additionalProperties is false)")
				}
			case map[string]any:
				problems = append(problems, matchSchema(doc, x[k], ap, sub)...)
			case nil:
				if props != nil {
					problems = append(problems, sub+": not in the schema")
				}
			}
		}
	case []any:
		if typ != "" && typ != "array" {
			return bad("an array where the schema has %s", typ)
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range x {
				problems = append(problems, matchSchema(doc, e, items, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case string:
		if typ != "" && typ != "string" {
			return bad("a string where the schema has %s", typ)
		}
		if enum := asStrings(schema["enum"]); enum != nil && !slices.Contains(enum, x) {
			return bad("%q is not one of %v", x, enum)
		}
	case float64:
		if typ != "" && typ != "number" && typ != "integer" {
			return bad("a number where the schema has %s", typ)
		}
		if typ == "integer" && x != float64(int64(x)) && x < 1<<63 {
			return bad("%v is not an integer", x)
		}
	case bool:
		if typ != "" && typ != "boolean" {
			return bad("a boolean where the schema has %s", typ)
		}
	case nil:
		return bad("null")
	}
	return problems
}

func asStrings(v any) []string {
	xs, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i], _ = x.(string)
	}
	return out
}

// countFields counts the object fields in v, nested ones included.
func countFields(v any) int {
	n := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			n += 1 + countFields(e)
		}
	case []any:
		for _, e := range x {
			n += countFields(e)
		}
	}
	return n
}
