package httpapi

import (
	"net/http"
	"strings"
	"time"

	"rosetta/engine"
)

// searchResponse is the body of a search answer. TookMS is the time spent in
// the engine (encoding the query, searching, fetching objects), in
// milliseconds with microsecond resolution.
type searchResponse struct {
	Hits   []engine.Hit `json:"hits"`
	TookMS float64      `json:"took_ms"`
}

// validateSearch checks what the handler owns before req reaches the
// engine: exactly one query kind, a non-empty, finite vector of bounded
// norm, non-empty media, 1 ≤ k ≤ engine.MaxK and ef ≥ 0. The space, the
// vector's dimension, ef's upper bound, the filter and the field names are
// the engine's to check.
func validateSearch(req *engine.SearchRequest) error {
	q := &req.Query
	var set []string
	if q.Vector != nil {
		set = append(set, "vector")
	}
	if q.Object != nil {
		set = append(set, "object")
	}
	if q.Text != "" {
		set = append(set, "text")
	}
	if q.Image != nil {
		set = append(set, "image")
	}
	if q.Audio != nil {
		set = append(set, "audio")
	}
	switch len(set) {
	case 0:
		return invalidf("query: set exactly one of vector, object, text, image or audio")
	case 1:
	default:
		return invalidf("query: set exactly one of vector, object, text, image or audio, not %s", strings.Join(set, " and "))
	}
	if q.Vector != nil {
		if err := checkVector("query.vector", q.Vector); err != nil {
			return err
		}
	}
	if q.Image != nil && len(q.Image) == 0 {
		return invalidf("query.image: the image is empty")
	}
	if q.Audio != nil && len(q.Audio) == 0 {
		return invalidf("query.audio: the audio is empty")
	}
	switch {
	case req.K <= 0:
		return invalidf("k: must be between 1 and %d, got %d (k is required)", engine.MaxK, req.K)
	case req.K > engine.MaxK:
		return invalidf("k: must be between 1 and %d, got %d", engine.MaxK, req.K)
	case req.Ef < 0:
		return invalidf("ef: must be 0 (the collection's default) or at least k, got %d", req.Ef)
	}
	return nil
}

// search serves POST /v1/collections/{c}/search.
func (a *api) search(w http.ResponseWriter, r *http.Request) {
	coll, err := collectionParam(r, "c")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req engine.SearchRequest
	if err := a.decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := validateSearch(&req); err != nil {
		a.fail(w, r, err)
		return
	}
	start := time.Now()
	hits, err := a.e.Search(r.Context(), coll, req)
	took := time.Since(start)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if hits == nil {
		hits = []engine.Hit{} // [] rather than null
	}
	a.writeJSON(w, r, http.StatusOK, searchResponse{
		Hits:   hits,
		TookMS: float64(took.Microseconds()) / 1000,
	})
}
