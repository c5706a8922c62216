package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"rosetta/api"
)

// writeJSON answers r with status and v as JSON. v is marshalled before
// anything is written, so a value that cannot be encoded (a NaN score from
// the engine) still gets a well-formed 500 answer.
func (a *server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		a.log.LogAttrs(r.Context(), slog.LevelError, "encode response",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("request_id", w.Header().Get(requestIDHeader)),
			slog.Any("err", err))
		status = http.StatusInternalServerError
		b, _ = json.Marshal(api.ErrorBody{Error: api.ErrorDetail{Code: codeInternal, Message: "internal error"}})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n')) // a failed write means the client is gone
}

// decodeJSON decodes r's body, which must hold exactly one JSON value, into
// dst. It rejects a missing or non-JSON Content-Type (415), a body over MaxBodyBytes
// (413), an empty body, malformed JSON, fields dst does not have, values of
// the wrong type and anything after the value (400). The errors it returns
// are *apiError.
func (a *server) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	// A missing Content-Type is refused like a wrong one: accepting it
	// would let a client that forgot the header (or a form post) work by
	// accident, and leave the API without a rule for what it reads.
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return &apiError{
			status:  http.StatusUnsupportedMediaType,
			code:    codeUnsupportedMediaType,
			message: "the request has no Content-Type: send Content-Type: application/json",
		}
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &apiError{
			status:  http.StatusUnsupportedMediaType,
			code:    codeUnsupportedMediaType,
			message: "Content-Type must be application/json",
		}
	}
	limit := a.opts.MaxBodyBytes
	if r.ContentLength > limit {
		return tooLargef("request body exceeds %d bytes", limit)
	}
	// The innermost writer, so that net/http learns of an oversized body
	// and closes the connection instead of draining it.
	dec := json.NewDecoder(http.MaxBytesReader(innermost(w), r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return bodyError(err)
	}
	// Exactly one value: what follows it must be white space only.
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
		return nil
	case err != nil && !isSyntaxError(err):
		return bodyError(err) // over the limit, or the read failed
	default:
		return invalidf("request body has data after the JSON value")
	}
}

// innermost unwraps middleware response writers down to net/http's own.
func innermost(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

func isSyntaxError(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF)
}

// bodyError turns an error from json.Decoder.Decode into an *apiError with
// a message that says what was wrong and where.
func bodyError(err error) *apiError {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
		b64      base64.CorruptInputError
	)
	switch {
	case errors.As(err, &tooLarge):
		return tooLargef("request body exceeds %d bytes", tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return invalidf("request body is empty; expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidf("malformed JSON: unexpected end of the request body")
	case errors.As(err, &syntax):
		return invalidf("malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalidf("request body must be a JSON object, not %s", typ.Value)
		}
		return invalidf("field %q: cannot use JSON %s as %s", typ.Field, typ.Value, goTypeName(typ.Type.String()))
	case errors.As(err, &b64):
		return invalidf("invalid base64 data at input byte %d", int64(b64))
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return invalidf("unknown field %s", name)
	}
	return invalidf("invalid request body: %s", msg)
}

// goTypeName describes a Go type from a decode error in JSON terms.
func goTypeName(t string) string {
	switch t {
	case "int", "int64", "uint64", "uint32", "int32":
		return "an integer (" + t + ")"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "[]uint8":
		return "base64 data"
	}
	switch {
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["), strings.Contains(t, "."):
		return "an object"
	}
	return t
}
