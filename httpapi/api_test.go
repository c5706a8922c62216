package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"rosetta/api"
)

// testServer is the real handler over a fake engine.
type testServer struct {
	t   *testing.T
	e   *fakeEngine
	h   http.Handler
	reg *prometheus.Registry
	key string // sent as a bearer token when not empty
}

func newTestServer(t *testing.T, opts Options) *testServer {
	t.Helper()
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	e := newFakeEngine()
	return &testServer{t: t, e: e, h: New(e, opts), reg: opts.Registry, key: opts.APIKey}
}

// do serves one request; headers are name, value pairs. Bodies are sent as
// application/json unless a Content-Type header is given.
func (s *testServer) do(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.key != "" {
		req.Header.Set("Authorization", "Bearer "+s.key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec
}

// mustDo is do that fails the test unless the status is want, and decodes
// the body into out when out is not nil.
func (s *testServer) mustDo(want int, out any, method, path, body string) {
	s.t.Helper()
	rec := s.do(method, path, body)
	if rec.Code != want {
		s.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, rec.Code, want, rec.Body)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, rec.Body, err)
		}
	}
}

// seed creates two collections with a few objects:
//   - "media": spaces "image" (dim 3, cosine, model clip) and "text" (dim 3, dot, no model);
//   - "plain": one space "v" (dim 2, l2).
func (s *testServer) seed() {
	s.t.Helper()
	s.mustDo(201, nil, "POST", "/v1/collections",
		`{"name":"media","spaces":[{"name":"image","dim":3,"model":"clip"},{"name":"text","dim":3,"metric":"dot"}]}`)
	s.mustDo(201, nil, "POST", "/v1/collections", `{"name":"plain","spaces":[{"name":"v","dim":2,"metric":"l2"}]}`)
	s.mustDo(200, nil, "PUT", "/v1/collections/media/objects", `{"objects":[
		{"key":"cat","modality":"image","metadata":{"animal":"cat","legs":4},"vectors":{"image":[1,0,0],"text":[1,0,0]}},
		{"key":"dog","modality":"image","metadata":{"animal":"dog","legs":4},"vectors":{"image":[0.9,0.1,0]}},
		{"key":"bird","modality":"image","metadata":{"animal":"bird","legs":2},"vectors":{"image":[0,1,0]}}
	]}`)
}

// wantError checks that rec is a JSON error with status and code.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) api.ErrorDetail {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var body api.ErrorBody
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("error body %q is not {\"error\":{...}}: %v", rec.Body, err)
	}
	if body.Error.Code != code {
		t.Errorf("code %q, want %q (message %q)", body.Error.Code, code, body.Error.Message)
	}
	if body.Error.Message == "" {
		t.Error("empty error message")
	}
	return body.Error
}

// wantHealthy checks that the server still answers after whatever came
// before.
func (s *testServer) wantHealthy() {
	s.t.Helper()
	if rec := s.do("GET", "/healthz", ""); rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
		s.t.Fatalf("GET /healthz after the request: %d %s", rec.Code, rec.Body)
	}
}

// badRequest is one request that must fail with status and code; msg, when
// set, must appear in the error message.
type badRequest struct {
	name, method, path, body string
	status                   int
	code                     string
	msg                      string
	headers                  []string
}

func runBadRequests(t *testing.T, s *testServer, cases []badRequest) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			rec := s.do(tc.method, tc.path, tc.body, tc.headers...)
			e := wantError(t, rec, tc.status, tc.code)
			if tc.msg != "" && !strings.Contains(e.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", e.Message, tc.msg)
			}
			s.wantHealthy()
		})
	}
}

func TestHealthz(t *testing.T) {
	s := newTestServer(t, Options{})
	s.e.ready.Store(false)
	s.wantHealthy() // liveness does not depend on readiness
	rec := s.do("GET", "/healthz", "")
	if rec.Header().Get(requestIDHeader) == "" {
		t.Error("no X-Request-ID in the response")
	}
	rec = s.do("GET", "/healthz", "", requestIDHeader, "abc-123")
	if got := rec.Header().Get(requestIDHeader); got != "abc-123" {
		t.Errorf("X-Request-ID %q, want the client's abc-123", got)
	}
	rec = s.do("GET", "/healthz", "", requestIDHeader, "bad id\twith spaces")
	if got := rec.Header().Get(requestIDHeader); got == "bad id\twith spaces" || got == "" {
		t.Errorf("X-Request-ID %q: an unusable client id must be replaced", got)
	}
}

func TestReadyzFlips(t *testing.T) {
	s := newTestServer(t, Options{})
	s.mustDo(200, nil, "GET", "/readyz", "")
	s.e.ready.Store(false)
	rec := s.do("GET", "/readyz", "")
	wantError(t, rec, 503, codeNotReady)
	if rec.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	s.e.ready.Store(true)
	var st api.Status
	s.mustDo(200, &st, "GET", "/readyz", "")
	if st.Status != "ready" {
		t.Errorf("status %q", st.Status)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	s := newTestServer(t, Options{})
	s.seed()
	runBadRequests(t, s, []badRequest{
		{name: "unknown route", method: "GET", path: "/v2/nothing", status: 404, code: codeNotFound},
		{name: "unknown top-level", method: "GET", path: "/search", status: 404, code: codeNotFound},
		{name: "trailing slash", method: "GET", path: "/v1/collections/media/objects/1/", status: 404, code: codeNotFound},
		{name: "too deep", method: "GET", path: "/v1/collections/media/objects/1/x", status: 404, code: codeNotFound},
		{name: "wrong method on list", method: "PATCH", path: "/v1/collections", status: 405, code: codeMethodNotAllowed},
		{name: "wrong method on search", method: "GET", path: "/v1/collections/media/search", status: 405, code: codeMethodNotAllowed},
		{name: "wrong method on objects", method: "POST", path: "/v1/collections/media/objects", body: `{}`, status: 405, code: codeMethodNotAllowed},
		{name: "wrong method on healthz", method: "DELETE", path: "/healthz", status: 405, code: codeMethodNotAllowed},
		{name: "unknown method", method: "BREW", path: "/v1/collections", status: 405, code: codeMethodNotAllowed},
	})
	rec := s.do("DELETE", "/v1/collections/media/search", "")
	if got := rec.Header().Get("Allow"); got != "POST" {
		t.Errorf("Allow %q, want POST", got)
	}
	rec = s.do("PATCH", "/v1/collections/media/objects/7", "")
	if got := rec.Header().Get("Allow"); got != "GET, HEAD, DELETE" { // HEAD wherever GET
		t.Errorf("Allow %q, want GET, HEAD, DELETE", got)
	}
}

func TestBodyLimits(t *testing.T) {
	s := newTestServer(t, Options{MaxBodyBytes: 1024})
	s.seed()
	big := `{"objects":[{"key":"x","metadata":{"pad":"` + strings.Repeat("a", 2048) + `"}}]}`
	runBadRequests(t, s, []badRequest{
		{name: "content-length over the limit", method: "PUT", path: "/v1/collections/media/objects",
			body: big, status: 413, code: codePayloadTooLarge, msg: "1024 bytes"},
		{name: "search over the limit", method: "POST", path: "/v1/collections/media/search",
			body: `{"k":1,"query":{"text":"` + strings.Repeat("a", 2048) + `"}}`, status: 413, code: codePayloadTooLarge},
	})

	// A chunked body has no Content-Length: the limit is enforced while reading.
	t.Run("chunked", func(t *testing.T) {
		req := httptest.NewRequest("PUT", "/v1/collections/media/objects", io.MultiReader(strings.NewReader(big)))
		req.ContentLength = -1
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		wantError(t, rec, 413, codePayloadTooLarge)
	})

	// The default allows a full batch of real-sized vectors.
	t.Run("default", func(t *testing.T) {
		if o := (Options{}).withDefaults(); o.MaxBodyBytes != 32<<20 {
			t.Errorf("default MaxBodyBytes %d", o.MaxBodyBytes)
		}
		if o := (Options{MaxBodyBytes: -5}).withDefaults(); o.MaxBodyBytes != DefaultMaxBodyBytes {
			t.Errorf("negative MaxBodyBytes became %d", o.MaxBodyBytes)
		}
	})
}

func TestContentType(t *testing.T) {
	s := newTestServer(t, Options{})
	body := `{"name":"c1","spaces":[{"name":"v","dim":2}]}`
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/merge+json"} {
		name := strings.ReplaceAll(fmt.Sprintf("ok %q", ct), "/", "_")
		t.Run(name, func(t *testing.T) {
			s.t = t
			s.do("DELETE", "/v1/collections/c1", "")
			rec := s.do("POST", "/v1/collections", body, "Content-Type", ct)
			if rec.Code != 201 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		})
	}
	runBadRequests(t, s, []badRequest{
		{name: "form", method: "POST", path: "/v1/collections", body: body, status: 415, code: codeUnsupportedMediaType,
			headers: []string{"Content-Type", "application/x-www-form-urlencoded"}},
		{name: "text", method: "POST", path: "/v1/collections", body: body, status: 415, code: codeUnsupportedMediaType,
			headers: []string{"Content-Type", "text/plain"}},
		{name: "garbage", method: "POST", path: "/v1/collections", body: body, status: 415, code: codeUnsupportedMediaType,
			headers: []string{"Content-Type", ";;;"}},
		// No Content-Type at all is refused too (it was once accepted).
		{name: "none", method: "POST", path: "/v1/collections", body: body, status: 415, code: codeUnsupportedMediaType,
			headers: []string{"Content-Type", ""}},
		{name: "none upsert", method: "PUT", path: "/v1/collections/c1/objects", body: `{"objects":[]}`, status: 415, code: codeUnsupportedMediaType,
			headers: []string{"Content-Type", ""}},
		{name: "none search", method: "POST", path: "/v1/collections/c1/search", body: `{"query":{"vector":[1,0]}}`, status: 415, code: codeUnsupportedMediaType,
			headers: []string{"Content-Type", ""}},
	})
}

func TestNewServer(t *testing.T) {
	h := http.NotFoundHandler()
	srv := NewServer("127.0.0.1:7700", h)
	if srv.Addr != "127.0.0.1:7700" || srv.Handler == nil {
		t.Fatalf("addr %q handler %v", srv.Addr, srv.Handler)
	}
	for name, got := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout - 10*time.Second,
		"ReadTimeout":       srv.ReadTimeout - 60*time.Second,
		"WriteTimeout":      srv.WriteTimeout - 120*time.Second,
		"IdleTimeout":       srv.IdleTimeout - 120*time.Second,
	} {
		if got != 0 {
			t.Errorf("%s off by %v", name, got)
		}
	}
	if srv.MaxHeaderBytes != 1<<20 {
		t.Errorf("MaxHeaderBytes %d", srv.MaxHeaderBytes)
	}
}

// TestOverRealServer runs a few requests through net/http, keep-alive
// included, to catch what a ResponseRecorder hides.
func TestOverRealServer(t *testing.T) {
	e := newFakeEngine()
	ts := httptest.NewServer(New(e, Options{}))
	defer ts.Close()
	post := func(path, body string) *http.Response {
		t.Helper()
		resp, err := ts.Client().Post(ts.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post("/v1/collections", `{"name":"c","spaces":[{"name":"v","dim":2}]}`)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); loc != "/v1/collections/c" {
		t.Errorf("Location %q", loc)
	}
	// A handler panic answers 500 and the same client keeps working.
	e.panicWith("boom")
	resp = post("/v1/collections/c/search", `{"k":1,"query":{"vector":[1,0]}}`)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(b), `"code":"internal"`) {
		t.Fatalf("panic: %d %s", resp.StatusCode, b)
	}
	e.panicWith(nil)
	resp = post("/v1/collections/c/search", `{"k":1,"query":{"vector":[1,0]}}`)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("after the panic: %d", resp.StatusCode)
	}
}

// TestOversizedChunkedBodyClosesConnection checks that net/http learns of
// the oversized body through the middleware's writers and drops the
// connection rather than drain the rest.
func TestOversizedChunkedBodyClosesConnection(t *testing.T) {
	ts := httptest.NewServer(New(newFakeEngine(), Options{MaxBodyBytes: 64}))
	defer ts.Close()
	body := io.MultiReader(strings.NewReader(`{"name":"` + strings.Repeat("a", 4096) + `"}`))
	req, err := http.NewRequest("POST", ts.URL+"/v1/collections", body) // no length: chunked
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 || !resp.Close {
		t.Errorf("status %d, Connection: close %v; want 413 and close", resp.StatusCode, resp.Close)
	}
}

// TestConcurrentRequests is for the race detector.
func TestConcurrentRequests(t *testing.T) {
	s := newTestServer(t, Options{})
	s.seed()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				var rec *httptest.ResponseRecorder
				switch i % 4 {
				case 0:
					body := fmt.Sprintf(`{"objects":[{"key":"k%d-%d","vectors":{"image":[%d,1,0]}}]}`, g, i, i)
					rec = serve(s.h, "PUT", "/v1/collections/media/objects", body)
				case 1:
					rec = serve(s.h, "POST", "/v1/collections/media/search", `{"k":3,"space":"image","query":{"vector":[1,0,0]}}`)
				case 2:
					rec = serve(s.h, "GET", "/metrics", "")
				case 3:
					rec = serve(s.h, "GET", "/v1/collections", "")
				}
				if rec.Code >= 300 {
					t.Errorf("status %d: %s", rec.Code, rec.Body)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// serve is do without a testServer, safe to call from any goroutine.
func serve(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
