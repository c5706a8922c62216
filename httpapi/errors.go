package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"rosetta/api"
	"rosetta/engine"
)

// Error codes, the "code" of an error body. Clients switch on these, so they
// never change meaning.
const (
	codeInvalidRequest       = "invalid_request"
	codeUnauthorized         = "unauthorized"
	codeNotFound             = "not_found"
	codeMethodNotAllowed     = "method_not_allowed"
	codeAlreadyExists        = "already_exists"
	codePayloadTooLarge      = "payload_too_large"
	codeUnsupportedMediaType = "unsupported_media_type"
	codeUnsupported          = "unsupported"
	codeCanceled             = "canceled"
	codeInternal             = "internal"
	codeNotReady             = "not_ready"
	codeUnavailable          = "unavailable"
	codeTimeout              = "timeout"
	codeForbidden            = "forbidden"
	codeBusy                 = "busy"
	codeInsufficientStorage  = "insufficient_storage"
	codeRangeNotSatisfiable  = "range_not_satisfiable"
	codePreconditionFailed   = "precondition_failed"
)

// statusClientClosedRequest is nginx's status for a request whose client
// went away before the answer; nobody reads it, but logs and metrics do.
const statusClientClosedRequest = 499

// apiError is an error with the status and code it is answered with. The
// handlers return it for problems they find themselves; apiErrorFrom turns
// every other error into one.
type apiError struct {
	status  int
	code    string
	message string
	cause   error // logged for 5xx, never sent
}

func (e *apiError) Error() string { return e.code + ": " + e.message }
func (e *apiError) Unwrap() error { return e.cause }

// invalidf returns a 400 invalid_request error.
func invalidf(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeInvalidRequest, message: fmt.Sprintf(format, args...)}
}

// tooLargef returns a 413 payload_too_large error.
func tooLargef(format string, args ...any) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: codePayloadTooLarge, message: fmt.Sprintf(format, args...)}
}

// sentinels are the engine errors mapped to statuses, in the order they
// are tested, with the prefix their text adds to a message.
var sentinels = []struct {
	err    error
	status int
	code   string
}{
	{engine.ErrNotFound, http.StatusNotFound, codeNotFound},
	{engine.ErrExists, http.StatusConflict, codeAlreadyExists},
	{engine.ErrTooLarge, http.StatusRequestEntityTooLarge, codePayloadTooLarge},
	{engine.ErrInvalid, http.StatusBadRequest, codeInvalidRequest},
	{engine.ErrForbidden, http.StatusForbidden, codeForbidden},
	{engine.ErrUnsupported, http.StatusUnprocessableEntity, codeUnsupported},
	{engine.ErrBusy, http.StatusTooManyRequests, codeBusy},
	{engine.ErrDiskFull, http.StatusInsufficientStorage, codeInsufficientStorage},
	{engine.ErrNotReady, http.StatusServiceUnavailable, codeNotReady},
	{engine.ErrUnavailable, http.StatusServiceUnavailable, codeUnavailable},
	{engine.ErrClosed, http.StatusServiceUnavailable, codeUnavailable},
}

// clientMessage is err's text without the package prefixes of the
// sentinels it wraps ("store: invalid: ", "engine: busy: ", ...).
func clientMessage(err error) string { return engine.Message(err) }

// apiErrorFrom maps any error a handler meets to the status and code it is
// answered with. It is the one place where engine errors become HTTP
// statuses.
func apiErrorFrom(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return tooLargef("request body exceeds %d bytes", tooLarge.Limit)
	}
	e := &apiError{message: clientMessage(err), cause: err}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			e.status, e.code = s.status, s.code
			return e
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		e.status, e.code, e.message = http.StatusGatewayTimeout, codeTimeout, "the request timed out"
	case errors.Is(err, context.Canceled):
		e.status, e.code, e.message = statusClientClosedRequest, codeCanceled, "the request was canceled"
	default:
		// Engine bugs, I/O failures: the details go to the log, not to
		// the client.
		e.status, e.code, e.message = http.StatusInternalServerError, codeInternal, "internal error"
	}
	return e
}

// Retry-After values: a loading engine or a full disk takes a while; a
// full decode budget frees up within a request's time.
const (
	retryAfterSeconds     = "5"
	retryAfterBusySeconds = "1"
)

// fail answers r with err mapped by apiErrorFrom. Internal errors and
// unavailability (a full disk, a failed collection) are logged at error
// level and timeouts at warning level, with their cause; everything else
// is the client's and shows only in the request log.
func (a *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	ae := apiErrorFrom(err)
	level, logged := slog.LevelError, true
	switch ae.code {
	case codeInternal, codeInsufficientStorage, codeUnavailable:
	case codeTimeout:
		level = slog.LevelWarn
	default:
		logged = false
	}
	if logged {
		a.log.LogAttrs(r.Context(), level, "request failed",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("request_id", w.Header().Get(requestIDHeader)),
			slog.Int("status", ae.status),
			slog.Any("err", err))
	}
	switch ae.status {
	case http.StatusServiceUnavailable, http.StatusInsufficientStorage:
		w.Header().Set("Retry-After", retryAfterSeconds)
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", retryAfterBusySeconds)
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="rosetta"`)
	}
	a.writeJSON(w, r, ae.status, api.ErrorBody{Error: api.ErrorDetail{Code: ae.code, Message: ae.message}})
}

// jsonErrors wraps w for handlers of net/http that write their own error
// text (http.ServeContent, http.FileServer): a status of 400 or more is
// answered with the API's JSON error body instead, and their text is
// dropped, so that every error a client sees has the same shape.
func (a *server) jsonErrors(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	return &jsonErrorWriter{ResponseWriter: w, a: a, r: r}
}

type jsonErrorWriter struct {
	http.ResponseWriter
	a      *server
	r      *http.Request
	failed bool // an error was answered; the handler's writes are dropped
}

func (w *jsonErrorWriter) WriteHeader(code int) {
	if code < 400 || w.failed {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.failed = true
	w.a.fail(w.ResponseWriter, w.r, statusError(code))
}

func (w *jsonErrorWriter) Write(b []byte) (int, error) {
	if w.failed {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController and innermost reach the writer below.
func (w *jsonErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusError is the API error for a status that a net/http handler chose.
func statusError(status int) *apiError {
	switch status {
	case http.StatusNotFound:
		return &apiError{status: status, code: codeNotFound, message: "no such file"}
	case http.StatusForbidden:
		return &apiError{status: status, code: codeForbidden, message: "forbidden"}
	case http.StatusRequestedRangeNotSatisfiable:
		return &apiError{status: status, code: codeRangeNotSatisfiable,
			message: "the Range header asks for bytes outside the file (see Content-Range for its size)"}
	case http.StatusPreconditionFailed:
		return &apiError{status: status, code: codePreconditionFailed, message: "the If-Match or If-Unmodified-Since condition failed"}
	case http.StatusMethodNotAllowed:
		return &apiError{status: status, code: codeMethodNotAllowed, message: "method not allowed"}
	}
	if status < 500 {
		e := invalidf("%s", strings.ToLower(http.StatusText(status)))
		e.status = status
		return e
	}
	return &apiError{status: http.StatusInternalServerError, code: codeInternal, message: "internal error"}
}
