package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// TestHeadWhereverGet: HEAD is routed wherever GET is, with GET's status
// and headers, and no body on the wire (net/http drops it).
func TestHeadWhereverGet(t *testing.T) {
	s := newTestServer(t, Options{APIKey: "k"})
	s.seed()
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json", "/v1/collections", "/v1/collections/media", "/", "/ui/app.js", "/metrics"} {
		get := s.do("GET", p, "")
		head := s.do("HEAD", p, "")
		if head.Code != get.Code || head.Header().Get("Content-Type") != get.Header().Get("Content-Type") {
			t.Errorf("HEAD %s: %d %q, GET: %d %q", p, head.Code, head.Header().Get("Content-Type"), get.Code, get.Header().Get("Content-Type"))
		}
	}
	wantError(t, s.do("HEAD", "/v1/collections", "", "Authorization", ""), 401, codeUnauthorized)
	wantError(t, s.do("HEAD", "/v1/collections/media/search", ""), 405, codeMethodNotAllowed)
}

// TestCORS: off by default; with origins, preflights from them are
// answered before authentication with the API's methods and headers, and
// their actual responses carry Access-Control-Allow-Origin; other origins
// get nothing, and credentials are never allowed.
func TestCORS(t *testing.T) {
	off := newTestServer(t, Options{})
	rec := off.do("GET", "/v1/collections", "", "Origin", "https://app.example.com")
	if h := rec.Header().Get("Access-Control-Allow-Origin"); h != "" {
		t.Errorf("CORS off: Access-Control-Allow-Origin %q", h)
	}
	if rec := off.do("OPTIONS", "/v1/collections", "", "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST"); rec.Code != 405 {
		t.Errorf("CORS off: preflight %d", rec.Code)
	}

	s := newTestServer(t, Options{APIKey: "k", CORSOrigins: []string{"https://app.example.com"}})
	pre := s.do("OPTIONS", "/v1/collections/media/search", "", "Authorization", "",
		"Origin", "https://app.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization, content-type")
	h := pre.Header()
	if pre.Code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") || h.Get("Access-Control-Max-Age") == "" {
		t.Errorf("preflight: %d %v", pre.Code, h)
	}
	if h.Get("Access-Control-Allow-Credentials") != "" {
		t.Error("credentials allowed")
	}
	act := s.do("GET", "/v1/collections", "", "Origin", "https://app.example.com")
	if act.Code != 200 || act.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(act.Header().Get("Access-Control-Expose-Headers"), "X-Request-ID") ||
		!strings.Contains(strings.Join(act.Header().Values("Vary"), ","), "Origin") {
		t.Errorf("actual: %d %v", act.Code, act.Header())
	}
	// Errors carry it too, so the page can read them.
	e := s.do("GET", "/v1/collections", "", "Origin", "https://app.example.com", "Authorization", "")
	if e.Code != 401 || e.Header().Get("Access-Control-Allow-Origin") == "" {
		t.Errorf("401: %d %v", e.Code, e.Header())
	}
	other := s.do("GET", "/v1/collections", "", "Origin", "https://evil.example")
	if other.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("an origin not allowed got Access-Control-Allow-Origin")
	}
	wantError(t, s.do("OPTIONS", "/v1/collections", "", "Authorization", "", "Origin", "https://evil.example",
		"Access-Control-Request-Method", "POST"), 401, codeUnauthorized)

	star := newTestServer(t, Options{CORSOrigins: []string{"*"}})
	if got := star.do("GET", "/v1/collections", "", "Origin", "https://any.example").Header(); got.Get("Access-Control-Allow-Origin") != "*" ||
		got.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("*: %v", got)
	}

	for o, ok := range map[string]bool{"*": true, "https://a.example": true, "http://127.0.0.1:3000": true,
		"https://a.example/": false, "a.example": false, "ftp://a.example": false, "https://a.example/x": false, "": false} {
		if err := CheckCORSOrigin(o); (err == nil) != ok {
			t.Errorf("CheckCORSOrigin(%q) = %v", o, err)
		}
	}
}
