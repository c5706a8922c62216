// Package api holds the wire types of Rosetta's REST API (JSON over HTTP,
// described by GET /openapi.json). The server (httpapi) translates them to
// and from the engine's domain types; Go clients use them as they are.
// They are not the store's records.
package api

import (
	"encoding/json"
	"time"
)

// Space is a named vector space of a collection.
type Space struct {
	Name   string `json:"name"`
	Dim    int    `json:"dim"`
	Metric string `json:"metric"`          // cosine (default), dot, l2
	Model  string `json:"model,omitempty"` // model that fills it, if any
}

// IndexParams tune a collection's HNSW indexes (zero = defaults).
type IndexParams struct {
	M              int    `json:"m,omitempty"`
	EfConstruction int    `json:"ef_construction,omitempty"`
	EfSearch       int    `json:"ef_search,omitempty"`
	Storage        string `json:"storage,omitempty"` // float32 (default) or float16
}

// CreateCollectionRequest is the body of POST /v1/collections: a
// collection without its output-only fields.
type CreateCollectionRequest struct {
	Name   string      `json:"name"`
	Spaces []Space     `json:"spaces"`
	Index  IndexParams `json:"index"`
}

// Collection is a collection's schema plus read-only statistics.
type Collection struct {
	Name    string      `json:"name"`
	Spaces  []Space     `json:"spaces"`
	Index   IndexParams `json:"index"`
	Created time.Time   `json:"created"`
	Count   int         `json:"count"` // live objects
}

// CollectionList is the body of GET /v1/collections.
type CollectionList struct {
	Collections []Collection `json:"collections"`
}

// Object is one item.
type Object struct {
	ID       uint64               `json:"id"`
	Key      string               `json:"key,omitempty"`
	Modality string               `json:"modality,omitempty"`
	Source   string               `json:"source,omitempty"`
	Hash     string               `json:"hash,omitempty"`
	Metadata map[string]any       `json:"metadata,omitempty"`
	Text     map[string]string    `json:"text,omitempty"`
	Vectors  map[string][]float32 `json:"vectors,omitempty"`
	Content  *Content             `json:"content,omitempty"`
	Created  time.Time            `json:"created,omitzero"`
	Updated  time.Time            `json:"updated,omitzero"`
}

// Content is an object's raw content, encoded on write by the models.
type Content struct {
	Text  string `json:"text,omitempty"`
	Image []byte `json:"image,omitempty"` // base64 in JSON
	Audio []byte `json:"audio,omitempty"` // base64 in JSON
	// Keep, true unless set false, keeps the image or audio as the
	// object's original on the server (content-addressed, deduplicated),
	// so its media and thumbnail can be served.
	Keep *bool `json:"keep,omitempty"`
}

// UpsertRequest is the body of PUT /v1/collections/{c}/objects.
type UpsertRequest struct {
	Objects []Object `json:"objects"`
}

// UpsertResponse carries the object ids in the order of the request.
type UpsertResponse struct {
	IDs []uint64 `json:"ids"`
}

// ObjectList is a page of objects; Next, when set, is the after= of the
// next page.
type ObjectList struct {
	Objects []Object `json:"objects"`
	Next    *uint64  `json:"next,omitempty"`
}

// Query is what a search looks for: exactly one field is set.
type Query struct {
	Vector []float32 `json:"vector,omitempty"`
	Object *uint64   `json:"object,omitempty"`
	Text   string    `json:"text,omitempty"`
	Image  []byte    `json:"image,omitempty"`
	Audio  []byte    `json:"audio,omitempty"`
}

// SearchRequest is the body of POST /v1/collections/{c}/search.
type SearchRequest struct {
	Space    string          `json:"space,omitempty"`
	Query    Query           `json:"query"`
	K        int             `json:"k,omitempty"`
	Ef       int             `json:"ef,omitempty"`
	Filter   json.RawMessage `json:"filter,omitempty"`
	Modality string          `json:"modality,omitempty"`
	Fields   []string        `json:"fields,omitempty"`
	Rerank   *Rerank         `json:"rerank,omitempty"`
	GroupBy  string          `json:"group_by,omitempty"` // "parent"
	Exclude  []uint64        `json:"exclude,omitempty"`
	MinScore *float32        `json:"min_score,omitempty"`
	Offset   int             `json:"offset,omitempty"`
}

// Rerank names the matching model and how many candidates it re-scores.
type Rerank struct {
	Model string `json:"model"`
	Top   int    `json:"top"`
}

// Hit is one search result.
type Hit struct {
	ID          uint64   `json:"id"`
	Score       float32  `json:"score"`
	Distance    float32  `json:"distance"`
	RerankScore *float32 `json:"rerank_score,omitempty"`
	Object      *Object  `json:"object,omitempty"`
	Segments    []Hit    `json:"segments,omitempty"` // group_by: the best segments
}

// SearchResponse is the answer to a search; TookMS is the time spent in
// the engine.
type SearchResponse struct {
	Hits   []Hit   `json:"hits"`
	TookMS float64 `json:"took_ms"`
	// Ef is the beam width used; NextOffset, when set, is the offset of
	// the next page (send it with the same ef).
	Ef         int  `json:"ef"`
	NextOffset *int `json:"next_offset,omitempty"`
}

// CollectionStats is GET /v1/collections/{name}/stats.
type CollectionStats struct {
	Collection
	Modalities map[string]int `json:"modalities"`
	Segments   int            `json:"segments"`
	Spaces     []SpaceStats   `json:"space_stats"`
	LastSeq    uint64         `json:"last_seq"`
	AppliedSeq uint64         `json:"applied_seq"`
	MediaRoots []string       `json:"media_roots"`
	State      string         `json:"state"` // ready, loading or failed
	Error      string         `json:"error,omitempty"`
	Server     ServerCounters `json:"server"`
}

// SpaceStats describes one space's index.
type SpaceStats struct {
	Name          string     `json:"name"`
	Live          int        `json:"live"`
	Slots         int        `json:"slots"`
	Tombstones    int        `json:"tombstones"`
	Storage       string     `json:"storage"`
	Skipped       int        `json:"skipped"`
	Snapshot      *time.Time `json:"snapshot,omitempty"`
	SnapshotBytes int64      `json:"snapshot_bytes,omitempty"`
}

// ServerCounters are process-wide cumulative counters.
type ServerCounters struct {
	ObjectsWritten  uint64 `json:"objects_written"`
	ObjectsDeleted  uint64 `json:"objects_deleted"`
	Searches        uint64 `json:"searches"`
	ThumbnailsCache int    `json:"thumbnails_cached"`
}

// Status is the body of a successful health or readiness probe.
type Status struct {
	Status string `json:"status"`
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is an error's machine-readable code and message.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
