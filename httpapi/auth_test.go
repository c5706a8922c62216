package httpapi

import (
	"testing"
)

func TestAuth(t *testing.T) {
	const key, metricsToken = "s3cret-key", "scraper-token"
	cases := []struct {
		name        string
		method      string
		path        string
		auth        string // Authorization header; "-" for none
		wantWithKey int
	}{
		{"healthz needs no key", "GET", "/healthz", "-", 200},
		{"metrics needs the key", "GET", "/metrics", "-", 401},
		{"metrics with the key", "GET", "/metrics", "Bearer " + key, 200},
		{"metrics token opens metrics", "GET", "/metrics", "Bearer " + metricsToken, 200},
		{"metrics token opens nothing else", "GET", "/v1/collections", "Bearer " + metricsToken, 401},
		{"readyz needs the key", "GET", "/readyz", "-", 401},
		{"openapi needs the key", "GET", "/openapi.json", "-", 401},
		{"list without key", "GET", "/v1/collections", "-", 401},
		{"unknown route without key", "GET", "/v1/secret", "-", 401},
		{"wrong key", "GET", "/v1/collections", "Bearer nope", 401},
		{"key prefix", "GET", "/v1/collections", "Bearer s3cret", 401},
		{"key with suffix", "GET", "/v1/collections", "Bearer s3cret-key2", 401},
		{"basic scheme", "GET", "/v1/collections", "Basic czNjcmV0LWtleQ==", 401},
		{"bare key", "GET", "/v1/collections", key, 401},
		{"empty bearer", "GET", "/v1/collections", "Bearer ", 401},
		{"right key", "GET", "/v1/collections", "Bearer " + key, 200},
		{"lower-case scheme", "GET", "/v1/collections", "bearer " + key, 200},
		{"right key, unknown route", "GET", "/v1/secret", "Bearer " + key, 404},
		{"right key, search", "POST", "/v1/collections/media/search", "Bearer " + key, 200},
	}
	for _, withKey := range []bool{false, true} {
		opts := Options{}
		if withKey {
			opts.APIKey, opts.MetricsToken = key, metricsToken
		}
		s := newTestServer(t, opts)
		s.seed()
		s.key = "" // headers come from the cases
		for _, tc := range cases {
			name := tc.name
			if !withKey {
				name = "no key configured/" + name
			}
			t.Run(name, func(t *testing.T) {
				s.t = t
				body := ""
				if tc.method == "POST" {
					body = `{"space":"image","query":{"vector":[1,0,0]},"k":1}`
				}
				auth := tc.auth
				if auth == "-" {
					auth = ""
				}
				rec := s.do(tc.method, tc.path, body, "Authorization", auth)
				want := tc.wantWithKey
				if !withKey && want == 401 {
					want = 200
					if tc.path == "/v1/secret" {
						want = 404
					}
				}
				if want == 401 {
					wantError(t, rec, 401, codeUnauthorized)
					if rec.Header().Get("WWW-Authenticate") == "" {
						t.Error("401 without WWW-Authenticate")
					}
					return
				}
				if rec.Code != want {
					t.Errorf("status %d, want %d: %s", rec.Code, want, rec.Body)
				}
			})
		}
	}
}

// TestPublicMetrics: with PublicMetrics, /metrics needs no key, and
// nothing else opens.
func TestPublicMetrics(t *testing.T) {
	s := newTestServer(t, Options{APIKey: "k", PublicMetrics: true})
	s.key = ""
	if rec := s.do("GET", "/metrics", ""); rec.Code != 200 {
		t.Errorf("public metrics: %d", rec.Code)
	}
	wantError(t, s.do("GET", "/v1/collections", ""), 401, codeUnauthorized)
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		h, token string
		ok       bool
	}{
		{"Bearer abc", "abc", true},
		{"BEARER abc", "abc", true},
		{"Bearer  abc ", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Token abc", "", false},
		{"", "", false},
	} {
		token, ok := bearerToken(tc.h)
		if token != tc.token || ok != tc.ok {
			t.Errorf("bearerToken(%q) = %q, %v", tc.h, token, ok)
		}
	}
}
