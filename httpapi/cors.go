package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// CORS: off unless Options.CORSOrigins names origins. A browser page on an
// allowed origin may then call the API with fetch: preflights (OPTIONS with
// Access-Control-Request-Method) are answered 204 with the methods and
// headers the API uses, and actual responses carry
// Access-Control-Allow-Origin. Credentials (cookies) are never allowed
// cross-origin: such a page sends the API key in the Authorization header,
// which needs no credentials mode, so "*" is safe to allow.

const (
	corsAllowMethods = "GET, HEAD, POST, PUT, DELETE"
	corsAllowHeaders = "Authorization, Content-Type, X-Request-ID, Range, If-None-Match, If-Modified-Since"
	// corsExposeHeaders are the response headers a cross-origin script
	// may read beyond the CORS-safelisted ones.
	corsExposeHeaders = "X-Request-ID, Retry-After, Location, ETag, Content-Range, Accept-Ranges, WWW-Authenticate"
	corsMaxAge        = "600"
)

// CheckCORSOrigin reports whether o can be an allowed origin: "*" or a
// serialized origin, scheme://host[:port] with no path, query or
// trailing slash (what browsers send in the Origin header).
func CheckCORSOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Opaque != "" {
		return fmt.Errorf("CORS origin %q: want * or scheme://host[:port], e.g. https://app.example.com", o)
	}
	return nil
}

// cors adds the CORS headers for allowed origins and answers their
// preflights. It sits before authentication: a browser sends preflights
// without the Authorization header.
func (a *server) cors(next http.Handler) http.Handler {
	if len(a.opts.CORSOrigins) == 0 {
		return next
	}
	any := false
	allowed := map[string]bool{}
	for _, o := range a.opts.CORSOrigins {
		if o == "*" {
			any = true
		}
		allowed[strings.ToLower(o)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// The answer depends on Origin whenever CORS is on: caches must
		// not give one origin's answer to another.
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		if origin == "" || !(any || allowed[strings.ToLower(origin)]) {
			next.ServeHTTP(w, r)
			return
		}
		allow := origin
		if any {
			allow = "*"
		}
		h.Set("Access-Control-Allow-Origin", allow)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", corsAllowMethods)
			h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		next.ServeHTTP(w, r)
	})
}
