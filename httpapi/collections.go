package httpapi

import (
	"net/http"
	"net/url"

	"rosetta/engine"
)

// createCollectionRequest is the body of POST /v1/collections: a Collection
// without its output-only fields, so that sending "count" or "created" is
// an unknown-field error rather than silently ignored.
type createCollectionRequest struct {
	Name   string             `json:"name"`
	Spaces []engine.Space     `json:"spaces"`
	Index  engine.IndexParams `json:"index"`
}

// validate checks the name, which also appears in URLs and metric labels;
// the engine validates the schema (spaces, dimensions, metrics, index
// parameters) and reports every problem at once.
func (req *createCollectionRequest) validate() error {
	return checkCollectionName(req.Name)
}

// createCollection serves POST /v1/collections.
func (a *api) createCollection(w http.ResponseWriter, r *http.Request) {
	var req createCollectionRequest
	if err := a.decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := req.validate(); err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.e.CreateCollection(r.Context(), engine.Collection{
		Name:   req.Name,
		Spaces: req.Spaces,
		Index:  req.Index,
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/collections/"+url.PathEscape(c.Name))
	a.writeJSON(w, r, http.StatusCreated, c)
}

// collectionList is the body of GET /v1/collections.
type collectionList struct {
	Collections []engine.Collection `json:"collections"`
}

// listCollections serves GET /v1/collections.
func (a *api) listCollections(w http.ResponseWriter, r *http.Request) {
	cs, err := a.e.ListCollections(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if cs == nil {
		cs = []engine.Collection{} // [] rather than null
	}
	a.writeJSON(w, r, http.StatusOK, collectionList{Collections: cs})
}

// getCollection serves GET /v1/collections/{name}.
func (a *api) getCollection(w http.ResponseWriter, r *http.Request) {
	name, err := collectionParam(r, "name")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.e.GetCollection(r.Context(), name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, c)
}

// dropCollection serves DELETE /v1/collections/{name}.
func (a *api) dropCollection(w http.ResponseWriter, r *http.Request) {
	name, err := collectionParam(r, "name")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.e.DropCollection(r.Context(), name); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// statsResponse is a collection's overview plus the server's counters.
type statsResponse struct {
	engine.CollectionStats
	Server serverCounters `json:"server"`
}

// serverCounters are process-wide cumulative counters; a client polling
// them (or the collection's last_seq) sees ingest in progress.
type serverCounters struct {
	ObjectsWritten  uint64 `json:"objects_written"`
	ObjectsDeleted  uint64 `json:"objects_deleted"`
	Searches        uint64 `json:"searches"`
	ThumbnailsCache int    `json:"thumbnails_cached"`
}

// collectionStats serves GET /v1/collections/{name}/stats.
func (a *api) collectionStats(w http.ResponseWriter, r *http.Request) {
	name, err := collectionParam(r, "name")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	st, err := a.e.CollectionStats(r.Context(), name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	s := a.e.Stats()
	n, _ := a.thumbs.len()
	a.writeJSON(w, r, http.StatusOK, statsResponse{CollectionStats: st, Server: serverCounters{
		ObjectsWritten: s.ObjectsWritten, ObjectsDeleted: s.ObjectsDeleted, Searches: s.Searches, ThumbnailsCache: n}})
}
