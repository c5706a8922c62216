package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"rosetta/engine"
)

func TestEngineErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{engine.ErrNotFound, 404, codeNotFound},
		{engine.ErrExists, 409, codeAlreadyExists},
		{engine.ErrInvalid, 400, codeInvalidRequest},
		{engine.ErrUnsupported, 422, codeUnsupported},
		{engine.ErrNotReady, 503, codeNotReady},
		{engine.ErrClosed, 503, codeUnavailable},
		{engine.ErrTooLarge, 413, codePayloadTooLarge},
		{engine.ErrForbidden, 403, codeForbidden},
		{engine.ErrBusy, 429, codeBusy},
		{fmt.Errorf("store: %w", engine.ErrDiskFull), 507, codeInsufficientStorage},
		{engine.ErrUnavailable, 503, codeUnavailable},
		{fmt.Errorf("load snapshot: %w", engine.ErrNotReady), 503, codeNotReady},
		{fmt.Errorf("space %q: %w", "x", engine.ErrInvalid), 400, codeInvalidRequest},
		{context.DeadlineExceeded, 504, codeTimeout},
		{fmt.Errorf("search: %w", context.Canceled), 499, codeCanceled},
		{errors.New("pebble: corruption in 000123.sst"), 500, codeInternal},
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			var logs bytes.Buffer
			s := newTestServer(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			s.seed()
			s.e.fail(tc.err)
			// Every engine-backed route maps the same way.
			for _, r := range []struct{ method, path, body string }{
				{"POST", "/v1/collections", `{"name":"x","spaces":[{"name":"v","dim":2}]}`},
				{"GET", "/v1/collections", ""},
				{"GET", "/v1/collections/media", ""},
				{"DELETE", "/v1/collections/media", ""},
				{"PUT", "/v1/collections/media/objects", `{"objects":[{"key":"a"}]}`},
				{"GET", "/v1/collections/media/objects/1", ""},
				{"DELETE", "/v1/collections/media/objects/1", ""},
				{"POST", "/v1/collections/media/search", `{"space":"image","query":{"vector":[1,0,0]},"k":1}`},
			} {
				rec := s.do(r.method, r.path, r.body)
				e := wantError(t, rec, tc.status, tc.code)
				if (tc.status == 503 || tc.status == 507 || tc.status == 429) && rec.Header().Get("Retry-After") == "" {
					t.Errorf("%s %s: %d without Retry-After", r.method, r.path, tc.status)
				}
				if tc.status == 500 && strings.Contains(e.Message, "pebble") {
					t.Errorf("%s %s: internal details leaked: %q", r.method, r.path, e.Message)
				}
			}
			if tc.status == 500 && !strings.Contains(logs.String(), "pebble: corruption") {
				t.Errorf("the internal error was not logged: %s", logs.String())
			}
			s.e.fail(nil)
			s.wantHealthy()
			s.mustDo(200, nil, "GET", "/v1/collections/media", "")
		})
	}
}

func TestPanicRecovery(t *testing.T) {
	var logs bytes.Buffer
	s := newTestServer(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	s.seed()
	s.e.panicWith("index corrupted")
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/v1/collections/media/search", `{"space":"image","query":{"vector":[1,0,0]},"k":1}`},
		{"GET", "/v1/collections", ""},
		{"PUT", "/v1/collections/media/objects", `{"objects":[{"key":"a"}]}`},
		{"GET", "/metrics", ""}, // Stats panics inside the registry's goroutine
	} {
		rec := s.do(r.method, r.path, r.body)
		if r.path == "/metrics" {
			if rec.Code != 200 {
				t.Errorf("/metrics with a panicking Stats: %d", rec.Code)
			}
			continue
		}
		wantError(t, rec, 500, codeInternal)
	}
	if !strings.Contains(logs.String(), "index corrupted") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("panic and stack not logged: %s", logs.String())
	}
	s.wantHealthy()
	s.e.panicWith(nil)
	s.mustDo(200, nil, "POST", "/v1/collections/media/search", `{"space":"image","query":{"vector":[1,0,0]},"k":1}`)

	// The panic was counted as a 500 of its route.
	body := s.do("GET", "/metrics", "").Body.String()
	want := `rosetta_http_requests_total{code="500",method="POST",route="/v1/collections/{collection}/search"} 1`
	if !strings.Contains(body, want) {
		t.Errorf("metrics lack %s", want)
	}
}

func TestRecovererAbort(t *testing.T) {
	a := &server{log: slog.New(slog.DiscardHandler), opts: DefaultOptions()}

	// http.ErrAbortHandler goes on up to net/http, which drops the connection quietly.
	h := a.recoverer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	func() {
		defer func() {
			if rec := recover(); rec != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler", rec)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}()

	// A panic after the answer started cannot become a 500: the connection is dropped.
	h = a.recoverer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"hits":[`))
		panic("half way")
	}))
	func() {
		defer func() {
			if rec := recover(); rec != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler", rec)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	}()
}

// TestRequestLog: one access-log line per request at info level, so the
// default --log-level info shows it.
func TestRequestLog(t *testing.T) {
	var logs bytes.Buffer
	s := newTestServer(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	s.seed()
	s.do("GET", "/v1/collections/media", "", requestIDHeader, "req-42")
	line := ""
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "req-42") {
			line = l
		}
	}
	for _, want := range []string{`"level":"INFO"`, `"method":"GET"`, `"route":"/v1/collections/{collection}"`, `"status":200`, `"duration":`, `"bytes":`, `"request_id":"req-42"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %s", line, want)
		}
	}
}
