package httpapi

import (
	"net/http"
	"time"

	"rosetta/api"
	"rosetta/api/convert"
)

// search serves POST /v1/collections/{collection}/search.
func (a *server) search(w http.ResponseWriter, r *http.Request) {
	coll, err := collectionParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req api.SearchRequest
	if err := a.decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	start := time.Now()
	page, err := a.e.SearchPage(r.Context(), coll, convert.ToEngineSearch(req))
	took := time.Since(start)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, api.SearchResponse{
		Hits:       convert.FromEngineHits(page.Hits),
		TookMS:     float64(took.Microseconds()) / 1000,
		Ef:         page.Ef,
		NextOffset: page.NextOffset,
		Mode:       page.Mode,
	})
}
