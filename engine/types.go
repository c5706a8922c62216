// Package engine wires the store, the vector indexes and the encoders into
// the database that httpapi and ingest use: collections with named vector
// spaces, objects, filtered k-NN search, and the index lifecycle (load the
// snapshot, replay the change log, or rebuild from the store).
package engine

import (
	"encoding/json"
	"errors"

	"rosetta/store"
)

// Errors returned by the engine; httpapi maps them to status codes. The
// store's errors are the same values, so errors.Is works across layers.
var (
	ErrNotFound    = store.ErrNotFound                      // 404
	ErrExists      = store.ErrExists                        // 409
	ErrInvalid     = store.ErrInvalid                       // 400
	ErrUnsupported = errors.New("engine: unsupported")      // 422: e.g. a text query on a collection without a model
	ErrNotReady    = errors.New("engine: index is loading") // 503
	ErrClosed      = store.ErrClosed                        // 503
)

// The data model is the store's.
type (
	// Space is a named vector space of a collection.
	Space = store.Space
	// IndexParams tune a collection's HNSW indexes (zero = defaults).
	IndexParams = store.IndexParams
	// Collection is a collection's schema plus read-only statistics.
	Collection = store.Collection
	// Object is one stored item.
	Object = store.Object
	// Content is an object's raw content, encoded on write by the models.
	Content = store.Content
)

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
	// Modality, when set, returns only objects of that modality (e.g.
	// "text" for an image → text query in a shared CLIP space).
	Modality string   `json:"modality,omitempty"`
	Fields   []string `json:"fields,omitempty"` // object fields to return: key, modality, source, hash, metadata, text, vectors, created, updated
	// Rerank re-scores the top candidates of a text ↔ image query with an
	// image-text matching model (BLIP's ITM head) and orders them by that.
	Rerank *Rerank `json:"rerank,omitempty"`
}

// Rerank names the matching model and how many candidates it re-scores.
type Rerank struct {
	Model string `json:"model"`
	Top   int    `json:"top"` // candidates to re-score (1..MaxRerank; at least k is used)
}

// MaxRerank bounds Rerank.Top: every candidate costs a cross-attention pass.
const MaxRerank = 200

// Hit is one search result. Score is the similarity users see (cosine,
// inner product, or Euclidean distance for l2); Distance is the index's.
type Hit struct {
	ID       uint64  `json:"id"`
	Score    float32 `json:"score"`
	Distance float32 `json:"distance"`
	// RerankScore is the matching model's probability when the query was
	// re-ranked (nil otherwise, or when the candidate could not be scored).
	RerankScore *float32 `json:"rerank_score,omitempty"`
	Object      *Object  `json:"object,omitempty"`
}

// Stats feed /metrics.
type Stats struct {
	Collections int
	Objects     map[string]int // live objects per collection
	IndexNodes  map[string]int // index slots per collection/space
	// Cumulative counters since the process started.
	ObjectsWritten, ObjectsDeleted, Searches uint64
	// Storage engine (Pebble) figures.
	DiskBytes, WALBytes, MemtableBytes uint64
	L0Files, Compactions               int64
	ReadAmp                            int
}

// MaxBatch is the most objects one upsert may carry.
const MaxBatch = 1000

// MaxK bounds k in a search.
const MaxK = 10000
