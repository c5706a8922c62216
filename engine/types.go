// Package engine wires the store, the vector indexes and the encoders into
// the database that httpapi and ingest use: collections with named vector
// spaces, objects, filtered k-NN search, and the index lifecycle (load the
// snapshot, replay the change log, or rebuild from the store).
package engine

import (
	"encoding/json"
	"errors"
	"time"
)

// Errors returned by the engine; httpapi maps them to status codes.
var (
	ErrNotFound    = errors.New("engine: not found")           // 404
	ErrExists      = errors.New("engine: already exists")      // 409
	ErrInvalid     = errors.New("engine: invalid request")     // 400
	ErrUnsupported = errors.New("engine: unsupported")         // 422: e.g. a text query on a collection without a model
	ErrNotReady    = errors.New("engine: index is rebuilding") // 503
	ErrClosed      = errors.New("engine: closed")              // 503
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

// Collection is a collection's schema plus read-only statistics.
type Collection struct {
	Name    string      `json:"name"`
	Spaces  []Space     `json:"spaces"`
	Index   IndexParams `json:"index"`
	Created time.Time   `json:"created"`
	Count   int         `json:"count"` // live objects (output only)
}

// Object is one stored item.
type Object struct {
	ID       uint64               `json:"id"`
	Key      string               `json:"key,omitempty"` // unique per collection; upserts by key
	Modality string               `json:"modality,omitempty"`
	Source   string               `json:"source,omitempty"`
	Hash     string               `json:"hash,omitempty"`
	Metadata map[string]any       `json:"metadata,omitempty"` // JSON object; scalar fields are filterable
	Text     map[string]string    `json:"text,omitempty"`     // derived text: captions, transcripts
	Vectors  map[string][]float32 `json:"vectors,omitempty"`  // per space
	Created  time.Time            `json:"created"`
	Updated  time.Time            `json:"updated"`
}

// Query is what a search looks for: exactly one of the fields is set.
type Query struct {
	Vector []float32 `json:"vector,omitempty"`
	Object *uint64   `json:"object,omitempty"` // use a stored object's vector in the space
	Text   string    `json:"text,omitempty"`   // encoded by the space's model
	Image  []byte    `json:"image,omitempty"`  // base64 in JSON; encoded by the model
	Audio  []byte    `json:"audio,omitempty"`
}

// SearchRequest is one k-NN query.
type SearchRequest struct {
	Space  string          `json:"space"` // may be empty when the collection has one space
	Query  Query           `json:"query"`
	K      int             `json:"k"`
	Ef     int             `json:"ef,omitempty"`
	Filter json.RawMessage `json:"filter,omitempty"` // see store.ParseFilter
	Fields []string        `json:"fields,omitempty"` // object fields to return: key, modality, source, hash, metadata, text, vectors, created, updated
}

// Hit is one search result. Score is the similarity users see (cosine,
// inner product, or Euclidean distance for l2); Distance is the index's.
type Hit struct {
	ID       uint64  `json:"id"`
	Score    float32 `json:"score"`
	Distance float32 `json:"distance"`
	Object   *Object `json:"object,omitempty"`
}

// Stats feed /metrics.
type Stats struct {
	Collections int
	Objects     map[string]int // live objects per collection
	IndexNodes  map[string]int // index slots per collection/space
}

// MaxBatch is the most objects one upsert may carry.
const MaxBatch = 1000

// MaxK bounds k in a search.
const MaxK = 10000
