package httpapi

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// requestIDHeader carries a request's id: the client's, when it sends a
// usable one, else a random one. It is echoed in the response and logged.
const requestIDHeader = "X-Request-ID"

// recordingWriter remembers the status a handler sent.
type recordingWriter struct {
	http.ResponseWriter
	status int // 0 until WriteHeader or the first Write
	bytes  int64
}

func (w *recordingWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // 1xx are informational, the real status follows
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush keeps streaming working through the wrapper.
func (w *recordingWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// recoverer answers a panicking request with 500 JSON, logs the panic with
// its stack, and lets the server go on serving. http.ErrAbortHandler is
// re-panicked: it is how a handler asks net/http to drop the connection.
// When the handler had already started its answer, the connection is
// dropped the same way, so the client sees a truncated response rather
// than one that looks complete.
func (a *server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &recordingWriter{ResponseWriter: w}
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			a.log.LogAttrs(r.Context(), slog.LevelError, "handler panicked",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("request_id", w.Header().Get(requestIDHeader)),
				slog.String("panic", fmt.Sprint(rec)),
				slog.String("stack", string(debug.Stack())))
			if rw.status != 0 {
				panic(http.ErrAbortHandler)
			}
			a.fail(rw, r, &apiError{
				status:  http.StatusInternalServerError,
				code:    codeInternal,
				message: "internal error",
			})
		}()
		next.ServeHTTP(rw, r)
	})
}

// observe assigns the request id, and when the request is done records the
// request metrics and writes the access-log line (info level).
func (a *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r.Header.Get(requestIDHeader))
		w.Header().Set(requestIDHeader, id)
		rw := &recordingWriter{ResponseWriter: w}
		a.metrics.inFlight.Inc()
		done := false
		defer func() {
			a.metrics.inFlight.Dec()
			code := rw.status
			switch {
			case !done:
				// A panic is unwinding through here; the recoverer
				// answers 500.
				code = http.StatusInternalServerError
			case code == 0:
				code = http.StatusOK // nothing written: net/http sends 200
			}
			elapsed := time.Since(start)
			route := routeLabel(r)
			method := methodLabel(r.Method)
			status := strconv.Itoa(code)
			a.metrics.requests.WithLabelValues(route, method, status).Inc()
			a.metrics.duration.WithLabelValues(route, method, status).Observe(elapsed.Seconds())
			a.log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.String("path", r.URL.Path),
				slog.Int("status", code),
				slog.Duration("duration", elapsed),
				slog.Int64("bytes", rw.bytes),
				slog.String("request_id", id))
		}()
		next.ServeHTTP(rw, r)
		done = true
	})
}

// routeLabel is the chi route pattern that served r, or "unmatched" for
// requests no route took (404, 405), which keeps the label's cardinality
// bounded whatever paths clients send.
func routeLabel(r *http.Request) string {
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		if p := rctx.RoutePattern(); p != "" && p != "/*" {
			return p
		}
	}
	return "unmatched"
}

// methodLabel returns m for standard methods and "other" for anything else,
// again to bound cardinality.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// requestID returns the client's id when it is 1 to 64 characters of
// [A-Za-z0-9._-], else a new random one.
func requestID(client string) string {
	if n := len(client); n > 0 && n <= 64 && strings.Trim(client,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == "" {
		return client
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}

// authenticate requires "Authorization: Bearer <Options.APIKey>" on every
// request but GET /healthz, the browser page's own files and, with
// Options.PublicMetrics, GET /metrics; /metrics also takes
// Options.MetricsToken. It checks before routing, so unknown routes answer
// 401 too and do not reveal which paths exist. Keys are compared as
// SHA-256 digests in constant time, which hides the key's length as well
// as its content.
func (a *server) authenticate(next http.Handler) http.Handler {
	if a.opts.APIKey == "" {
		return next
	}
	want := sha256.Sum256([]byte(a.opts.APIKey))
	var metricsWant [32]byte
	if a.opts.MetricsToken != "" {
		metricsWant = sha256.Sum256([]byte(a.opts.MetricsToken))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := routingPath(r)
		metrics := p == "/metrics"
		if p == "/healthz" || isUIPath(p) || (metrics && a.opts.PublicMetrics) {
			next.ServeHTTP(w, r)
			return
		}
		token, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok && a.mediaCookieOK(r) {
			next.ServeHTTP(w, r)
			return
		}
		if !ok {
			a.fail(w, r, &apiError{
				status:  http.StatusUnauthorized,
				code:    codeUnauthorized,
				message: "missing API key: send the header Authorization: Bearer <key>",
			})
			return
		}
		got := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 &&
			!(metrics && a.opts.MetricsToken != "" && subtle.ConstantTimeCompare(got[:], metricsWant[:]) == 1) {
			a.fail(w, r, &apiError{
				status:  http.StatusUnauthorized,
				code:    codeUnauthorized,
				message: "invalid API key",
			})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// routingPath is the path chi routes r by.
func routingPath(r *http.Request) string {
	if r.URL.RawPath != "" {
		return r.URL.RawPath
	}
	return r.URL.Path
}

// bearerToken extracts the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive (RFC 9110 §11.1).
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// notFound answers requests that match no route.
func (a *server) notFound(w http.ResponseWriter, r *http.Request) {
	a.fail(w, r, &apiError{
		status:  http.StatusNotFound,
		code:    codeNotFound,
		message: fmt.Sprintf("no route for %s %s; see GET /openapi.json", r.Method, quote(r.URL.Path)),
	})
}

// allowProbe are the methods tried to build a 405's Allow header.
var allowProbe = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions,
}

// methodNotAllowed answers a known path with a method it does not serve,
// listing the methods it does in Allow.
func (a *server) methodNotAllowed(mux *chi.Mux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		path := routingPath(r)
		var allowed []string
		for _, m := range allowProbe {
			// HEAD is served wherever GET is (middleware.GetHead).
			probe := m
			if m == http.MethodHead {
				probe = http.MethodGet
			}
			if mux.Match(chi.NewRouteContext(), probe, path) {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
		}
		a.fail(w, r, &apiError{
			status:  http.StatusMethodNotAllowed,
			code:    codeMethodNotAllowed,
			message: fmt.Sprintf("method %s is not allowed on %s", quote(r.Method), quote(r.URL.Path)),
		})
	}
}
