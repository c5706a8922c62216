package httpapi

import (
	"math"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
)

// namePattern is the rule for collection and space names, as documented to
// clients. validName implements it without a regexp.
const namePattern = `^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$`

// maxNameLen is the longest valid collection or space name.
const maxNameLen = 64

// validName reports whether s matches namePattern.
func validName(s string) bool {
	if len(s) == 0 || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// checkCollectionName returns a 400 error unless name is a valid collection
// name.
func checkCollectionName(name string) error {
	if !validName(name) {
		return invalidf("invalid collection name %s: must match %s", quote(name), namePattern)
	}
	return nil
}

// collectionParam returns the collection name in the route parameter key,
// validated.
func collectionParam(r *http.Request, key string) (string, error) {
	name := chi.URLParam(r, key)
	return name, checkCollectionName(name)
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

// finite reports whether v has no NaN or infinite component, and if it has,
// where the first one is.
func finite(v []float32) (int, bool) {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return i, false
		}
	}
	return 0, true
}

// maxQuoted bounds how much of a client-supplied string an error message
// repeats.
const maxQuoted = 80

// quote quotes s for an error message, shortened when it is long.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}
