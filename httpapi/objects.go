package httpapi

import (
	"fmt"
	"net/http"
	"strconv"

	"rosetta/api"
	"rosetta/api/convert"
	"rosetta/engine"
)

// upsertObjects serves PUT /v1/collections/{collection}/objects.
func (a *server) upsertObjects(w http.ResponseWriter, r *http.Request) {
	coll, err := collectionParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req api.UpsertRequest
	if isMultipart(r) {
		err = a.decodeMultipartUpsert(w, r, &req)
	} else {
		err = a.decodeJSON(w, r, &req)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	objs := make([]engine.Object, len(req.Objects))
	for i, o := range req.Objects {
		objs[i] = convert.ToEngineObject(o)
	}
	var ids []uint64
	var seqs map[string]uint64
	if c, ok := a.e.(Clustered); ok {
		ids, seqs, err = c.UpsertSequences(r.Context(), coll, objs)
	} else {
		ids, err = a.e.Upsert(r.Context(), coll, objs)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(ids) != len(req.Objects) {
		a.fail(w, r, fmt.Errorf("engine returned %d ids for %d objects", len(ids), len(req.Objects)))
		return
	}
	a.writeJSON(w, r, http.StatusOK, api.UpsertResponse{IDs: ids, Sequences: seqs})
}

// getObject serves GET /v1/collections/{collection}/objects/{id}.
func (a *server) getObject(w http.ResponseWriter, r *http.Request) {
	coll, id, err := objectPath(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	obj, err := a.e.GetObject(r.Context(), coll, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, convert.FromEngineObject(obj))
}

// listObjects serves GET /v1/collections/{collection}/objects?after=ID&limit=N.
func (a *server) listObjects(w http.ResponseWriter, r *http.Request) {
	coll, err := collectionParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	after, limit := uint64(0), 100
	if s := q.Get("after"); s != "" {
		if after, err = strconv.ParseUint(s, 10, 64); err != nil {
			a.fail(w, r, invalidf("after=%s: must be a decimal object id", quote(s)))
			return
		}
	}
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil {
			a.fail(w, r, invalidf("limit=%s: must be an integer", quote(s)))
			return
		}
	}
	objs, err := a.e.ListObjects(r.Context(), coll, after, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	resp := api.ObjectList{Objects: make([]api.Object, len(objs))}
	for i, o := range objs {
		resp.Objects[i] = convert.FromEngineObject(o)
	}
	if len(objs) == limit {
		next := objs[len(objs)-1].ID
		resp.Next = &next
	}
	a.writeJSON(w, r, http.StatusOK, resp)
}

// deleteObject serves DELETE /v1/collections/{collection}/objects/{id}.
func (a *server) deleteObject(w http.ResponseWriter, r *http.Request) {
	coll, id, err := objectPath(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.e.DeleteObject(r.Context(), coll, id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// objectPath returns the validated {collection} and {id} of an object route.
func objectPath(r *http.Request) (string, uint64, error) {
	coll, err := collectionParam(r)
	if err != nil {
		return "", 0, err
	}
	id, err := objectIDParam(r)
	return coll, id, err
}

// clusterStatus serves GET /v1/cluster.
func (a *server) clusterStatus(w http.ResponseWriter, r *http.Request) {
	c, ok := a.e.(Clustered)
	if !ok {
		a.fail(w, r, fmt.Errorf("%w: this server is not part of a cluster (rosetta serve --cluster)", engine.ErrNotFound))
		return
	}
	a.writeJSON(w, r, http.StatusOK, c.ClusterStatus())
}
