package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

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
	e := &apiError{message: err.Error(), cause: err}
	switch {
	case errors.Is(err, engine.ErrNotFound):
		e.status, e.code = http.StatusNotFound, codeNotFound
	case errors.Is(err, engine.ErrExists):
		e.status, e.code = http.StatusConflict, codeAlreadyExists
	case errors.Is(err, engine.ErrInvalid):
		e.status, e.code = http.StatusBadRequest, codeInvalidRequest
	case errors.Is(err, engine.ErrUnsupported):
		e.status, e.code = http.StatusUnprocessableEntity, codeUnsupported
	case errors.Is(err, engine.ErrNotReady):
		e.status, e.code = http.StatusServiceUnavailable, codeNotReady
	case errors.Is(err, engine.ErrClosed):
		e.status, e.code = http.StatusServiceUnavailable, codeUnavailable
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

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// retryAfterSeconds is what a 503 tells clients to wait before retrying.
const retryAfterSeconds = "5"

// fail answers r with err mapped by apiErrorFrom. Internal errors are
// logged at error level and timeouts at warning level, with their cause;
// everything else is the client's and shows only in the debug request log.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	ae := apiErrorFrom(err)
	level, logged := slog.LevelError, true
	switch ae.code {
	case codeInternal:
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
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", retryAfterSeconds)
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="rosetta"`)
	}
	a.writeJSON(w, r, ae.status, errorBody{Error: errorDetail{Code: ae.code, Message: ae.message}})
}
