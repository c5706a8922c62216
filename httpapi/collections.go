package httpapi

import (
	"net/http"
	"net/url"

	"rosetta/api"
	"rosetta/api/convert"
)

// createCollection serves POST /v1/collections. The body has no
// output-only fields, so sending "count" or "created" is an unknown-field
// error rather than silently ignored; the engine validates the schema and
// reports every problem at once.
func (a *server) createCollection(w http.ResponseWriter, r *http.Request) {
	var req api.CreateCollectionRequest
	if err := a.decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.e.CreateCollection(r.Context(), convert.ToEngineCollection(req))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/collections/"+url.PathEscape(c.Name))
	a.writeJSON(w, r, http.StatusCreated, convert.FromEngineCollection(c))
}

// listCollections serves GET /v1/collections.
func (a *server) listCollections(w http.ResponseWriter, r *http.Request) {
	cs, err := a.e.ListCollections(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := api.CollectionList{Collections: make([]api.Collection, len(cs))}
	for i, c := range cs {
		out.Collections[i] = convert.FromEngineCollection(c)
	}
	a.writeJSON(w, r, http.StatusOK, out)
}

// getCollection serves GET /v1/collections/{collection}.
func (a *server) getCollection(w http.ResponseWriter, r *http.Request) {
	name, err := collectionParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.e.GetCollection(r.Context(), name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, convert.FromEngineCollection(c))
}

// dropCollection serves DELETE /v1/collections/{collection}; it works on a
// collection whose indexes failed to load too.
func (a *server) dropCollection(w http.ResponseWriter, r *http.Request) {
	name, err := collectionParam(r)
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

// rebuildCollection serves POST /v1/collections/{collection}/rebuild: the
// indexes are rebuilt from the store (the repair for a collection whose
// indexes failed to load). It answers when the rebuild is done.
func (a *server) rebuildCollection(w http.ResponseWriter, r *http.Request) {
	name, err := collectionParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.e.RebuildCollection(r.Context(), name); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// collectionStats serves GET /v1/collections/{collection}/stats: the overview
// plus the server's counters.
func (a *server) collectionStats(w http.ResponseWriter, r *http.Request) {
	name, err := collectionParam(r)
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
	out := convert.FromEngineStats(st)
	out.Server = api.ServerCounters{ObjectsWritten: s.ObjectsWritten, ObjectsDeleted: s.ObjectsDeleted, Searches: s.Searches, ThumbnailsCache: n}
	a.writeJSON(w, r, http.StatusOK, out)
}
