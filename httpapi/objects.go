package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"strconv"

	"rosetta/engine"
)

// upsertRequest is the body of PUT /v1/collections/{c}/objects.
type upsertRequest struct {
	Objects []engine.Object `json:"objects"`
}

// upsertResponse is its answer: the object ids in the order of the request.
type upsertResponse struct {
	IDs []uint64 `json:"ids"`
}

// validate checks the batch size, that no external key appears twice (the
// engine would upsert both into one object, and which one wins would be an
// accident of order), and that every vector is finite and not empty.
func (req *upsertRequest) validate() error {
	n := len(req.Objects)
	switch {
	case n == 0:
		return invalidf("objects: the batch is empty; send 1 to %d objects", engine.MaxBatch)
	case n > engine.MaxBatch:
		return tooLargef("objects: the batch has %d objects; at most %d are allowed per request, split it", n, engine.MaxBatch)
	}
	firstByKey := make(map[string]int, n)
	for i := range req.Objects {
		o := &req.Objects[i]
		if o.Key != "" {
			if j, dup := firstByKey[o.Key]; dup {
				return invalidf("objects[%d].key: duplicate key %s in the batch (also objects[%d])", i, quote(o.Key), j)
			}
			firstByKey[o.Key] = i
		}
		for space, v := range o.Vectors {
			if err := checkVector(fmt.Sprintf("objects[%d].vectors[%s]", i, quote(space)), v); err != nil {
				return err
			}
		}
	}
	return nil
}

// maxNormSquared bounds a vector's squared L2 norm so that any dot product
// or squared distance between two accepted vectors, |a·b| ≤ |a||b| and
// |a-b|² ≤ (|a|+|b|)², stays finite in float32. Real embeddings are many
// orders of magnitude smaller.
const maxNormSquared = math.MaxFloat32 / 4

// checkVector returns a 400 error naming field unless v is non-empty, finite
// and of a magnitude whose distances are finite. JSON cannot carry NaN or
// ±Inf, but a vector must never reach a kernel with one, whatever the
// decoder does, nor one that makes a kernel overflow to Inf.
func checkVector(field string, v []float32) error {
	if len(v) == 0 {
		return invalidf("%s: the vector is empty", field)
	}
	if i, ok := finite(v); !ok {
		return invalidf("%s[%d]: %v is not a finite number", field, i, v[i])
	}
	var n2 float64
	for _, x := range v {
		n2 += float64(x) * float64(x)
	}
	if n2 > maxNormSquared {
		return invalidf("%s: the vector's squared norm %.3g exceeds %.3g", field, n2, float64(maxNormSquared))
	}
	return nil
}

// upsertObjects serves PUT /v1/collections/{c}/objects.
func (a *api) upsertObjects(w http.ResponseWriter, r *http.Request) {
	coll, err := collectionParam(r, "c")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req upsertRequest
	decode := a.decodeJSON
	if isMultipart(r) {
		decode = func(w http.ResponseWriter, r *http.Request, dst any) error {
			return a.decodeMultipartUpsert(w, r, dst.(*upsertRequest))
		}
	}
	if err := decode(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := req.validate(); err != nil {
		a.fail(w, r, err)
		return
	}
	ids, err := a.e.Upsert(r.Context(), coll, req.Objects)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(ids) != len(req.Objects) {
		a.fail(w, r, fmt.Errorf("engine returned %d ids for %d objects", len(ids), len(req.Objects)))
		return
	}
	a.writeJSON(w, r, http.StatusOK, upsertResponse{IDs: ids})
}

// getObject serves GET /v1/collections/{c}/objects/{id}.
func (a *api) getObject(w http.ResponseWriter, r *http.Request) {
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
	a.writeJSON(w, r, http.StatusOK, obj)
}

// listResponse is a page of objects; Next, when set, is the after= of the
// next page.
type listResponse struct {
	Objects []engine.Object `json:"objects"`
	Next    *uint64         `json:"next,omitempty"`
}

// listObjects serves GET /v1/collections/{c}/objects?after=ID&limit=N.
func (a *api) listObjects(w http.ResponseWriter, r *http.Request) {
	coll, err := collectionParam(r, "c")
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
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > engine.MaxList {
			a.fail(w, r, invalidf("limit=%s: must be an integer in 1..%d", quote(s), engine.MaxList))
			return
		}
	}
	objs, err := a.e.ListObjects(r.Context(), coll, after, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	resp := listResponse{Objects: objs}
	if resp.Objects == nil {
		resp.Objects = []engine.Object{}
	}
	if len(objs) == limit {
		next := objs[len(objs)-1].ID
		resp.Next = &next
	}
	a.writeJSON(w, r, http.StatusOK, resp)
}

// deleteObject serves DELETE /v1/collections/{c}/objects/{id}.
func (a *api) deleteObject(w http.ResponseWriter, r *http.Request) {
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

// objectPath returns the validated {c} and {id} of an object route.
func objectPath(r *http.Request) (string, uint64, error) {
	coll, err := collectionParam(r, "c")
	if err != nil {
		return "", 0, err
	}
	id, err := objectIDParam(r)
	return coll, id, err
}
