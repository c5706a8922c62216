package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// TestOpenAPIMatchesRoutes walks the router and the served document and
// checks that each describes exactly the other's routes and methods.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	mux := newRouter(newFakeEngine(), Options{Registry: prometheus.NewRegistry()})
	routes := map[string]bool{} // "get /v1/collections"
	err := chi.Walk(mux, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(route, "/ui/") {
			return nil // the page's static files, not API (GET / documents the page)
		}
		routes[strings.ToLower(method)+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) < 12 {
		t.Fatalf("walked only %d routes: %v", len(routes), routes)
	}

	s := newTestServer(t, Options{})
	rec := s.do("GET", "/openapi.json", "")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			documented[method+" "+path] = true
		}
	}
	for r := range routes {
		if !documented[r] {
			t.Errorf("route %s is not in the OpenAPI document", r)
		}
	}
	for d := range documented {
		if !routes[d] {
			t.Errorf("the OpenAPI document describes %s, which is not routed", d)
		}
	}
}

// TestOpenAPIWellFormed checks what a generator would trip on: every $ref
// resolves, every operation has an id and responses, path parameters
// match the path template, and request bodies are JSON.
func TestOpenAPIWellFormed(t *testing.T) {
	{
		raw := mustMarshalOpenAPI()
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		var refs []string
		collectRefs(doc, &refs)
		if len(refs) == 0 {
			t.Fatal("no $refs")
		}
		for _, ref := range refs {
			if !resolves(doc, ref) {
				t.Errorf("$ref %s does not resolve", ref)
			}
		}
		if servers, _ := doc["servers"].([]any); len(servers) == 0 {
			t.Error("no servers")
		}

		d := openAPIDocument()
		ids := map[string]bool{}
		params := d.Components.Parameters
		for path, item := range d.Paths {
			for method, op := range item {
				if op.OperationID == "" || ids[op.OperationID] {
					t.Errorf("%s %s: missing or duplicate operationId %q", method, path, op.OperationID)
				}
				ids[op.OperationID] = true
				if len(op.Responses) == 0 {
					t.Errorf("%s %s: no responses", method, path)
				}
				hasSuccess := false
				for code := range op.Responses {
					hasSuccess = hasSuccess || strings.HasPrefix(code, "2")
				}
				if !hasSuccess {
					t.Errorf("%s %s: no 2xx response", method, path)
				}
				var names []string
				for _, p := range op.Parameters {
					if p.Ref != "" {
						p = params[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
					}
					if p.In == "path" {
						names = append(names, p.Name)
					}
				}
				var want []string
				for seg := range strings.SplitSeq(path, "/") {
					if strings.HasPrefix(seg, "{") {
						want = append(want, strings.Trim(seg, "{}"))
					}
				}
				slices.Sort(names)
				slices.Sort(want)
				if !slices.Equal(names, want) {
					t.Errorf("%s %s: path parameters %v, template has %v", method, path, names, want)
				}
				if strings.HasPrefix(path, "/v1/") && op.Responses["401"] == nil {
					t.Errorf("%s %s: no 401 response", method, path)
				}
				// Exactly the routes the key does not guard are public.
				public := path == "/healthz" || path == "/"
				if op.Security == nil || (len(*op.Security) == 0) != public {
					t.Errorf("%s %s: security %v, public %v", method, path, op.Security, public)
				}
				for _, p := range op.Parameters {
					if p.In == "path" && p.Ref == "" {
						t.Errorf("%s %s: inline path parameter %s; use the shared one", method, path, p.Name)
					}
				}
			}
		}
	}
}

func collectRefs(v any, refs *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" {
				*refs = append(*refs, s)
			}
			collectRefs(x, refs)
		}
	case []any:
		for _, x := range v {
			collectRefs(x, refs)
		}
	}
}

func resolves(doc map[string]any, ref string) bool {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var cur any = doc
	for part := range strings.SplitSeq(path, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

// TestOpenAPIWriteFile writes the served document to $ROSETTA_OPENAPI_OUT
// when it is set, for scripts/openapi-lint.sh (no server needed), and
// checks that it is the document GET /openapi.json serves.
func TestOpenAPIWriteFile(t *testing.T) {
	s := newTestServer(t, Options{APIKey: "k"})
	if got := s.do("GET", "/openapi.json", "").Body.Bytes(); !bytes.Equal(got, OpenAPI()) {
		t.Fatal("GET /openapi.json differs from OpenAPI()")
	}
	out := os.Getenv("ROSETTA_OPENAPI_OUT")
	if out == "" {
		t.Skip("ROSETTA_OPENAPI_OUT is not set")
	}
	if err := os.WriteFile(out, OpenAPI(), 0o644); err != nil {
		t.Fatal(err)
	}
}
