package httpapi

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"rosetta/engine"
	"rosetta/internal/textfmt"
)

// The handlers check only what is HTTP's: route parameters and body
// syntax. What makes a request valid (names, batch sizes, vectors, k,
// filters, media) is the engine's to decide; its ErrInvalid is answered
// 400 with its message.

// collectionParam returns the route's {collection}, checked by the
// engine's rule for names. Every route names the collection the same way,
// so that the OpenAPI document has one parameter for it.
func collectionParam(r *http.Request) (string, error) {
	name := chi.URLParam(r, "collection")
	return name, engine.CheckCollectionName(name)
}

// objectIDParam returns the route's {id} as a uint64.
func objectIDParam(r *http.Request) (uint64, error) {
	s := chi.URLParam(r, "id")
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, invalidf("invalid object id %s: must be a decimal integer in [0, 2^64)", quote(s))
	}
	return id, nil
}

// quote quotes a client-supplied string for an error message.
func quote(s string) string { return textfmt.Quote(s) }
