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
	// Precision is what the model computes with: float32 or int8 (weights
	// quantised per channel, activations per row); empty is the server's
	// default (float32 unless rosetta serve --precision).
	Precision string `json:"precision,omitempty"`
}

// IndexParams tune a collection's HNSW indexes (zero = defaults).
type IndexParams struct {
	M              int    `json:"m,omitempty"`
	EfConstruction int    `json:"ef_construction,omitempty"`
	EfSearch       int    `json:"ef_search,omitempty"`
	Storage        string `json:"storage,omitempty"`      // float32 (default), float16, int8 or rabitq
	Rescore        int    `json:"rescore,omitempty"`      // int8, rabitq: candidates re-scored per result
	RescoreFrom    string `json:"rescore_from,omitempty"` // int8, rabitq: memory (default) or store
}

// CreateCollectionRequest is the body of POST /v1/collections: a
// collection without its output-only fields.
type CreateCollectionRequest struct {
	Name   string      `json:"name"`
	Spaces []Space     `json:"spaces"`
	Index  IndexParams `json:"index"`
	// The keyword (BM25) index: the metadata string fields it holds
	// besides the text content and derived texts (null or absent: title,
	// description, caption, tags), the analysis language (default "en"),
	// and keyword_index false to have none.
	TextFields   []string `json:"text_fields,omitempty"`
	Language     string   `json:"language,omitempty"`
	KeywordIndex *bool    `json:"keyword_index,omitempty"`
	// Transcribe names a speech-to-text model (Whisper) that transcribes
	// every audio object written with its content: text.transcript and one
	// segment object per stretch of speech.
	Transcribe *Transcription `json:"transcribe,omitempty"`
	// RerankModel names an image-text matching model (a BLIP retrieval
	// checkpoint) whose image tokens every image object written with its
	// content keeps (float16, 0.9 MB per image for BLIP-base), so that a
	// text → image search re-ranked with it reads them instead of running
	// the image tower per candidate; it is also the rerank model of a
	// search whose rerank names none.
	RerankModel string `json:"rerank_model,omitempty"`
	// Shards and replicas (cluster mode only: rosetta serve --cluster):
	// the collection's objects are hashed by id over shards logs, each
	// applied by replicas nodes. Defaults: one shard per live data node,
	// min(2, live data nodes) replicas. A single server refuses them.
	Shards   int `json:"shards,omitempty"`
	Replicas int `json:"replicas,omitempty"`
}

// Transcription is a collection's speech-to-text model and the speech's
// language (auto or absent: detected per object).
type Transcription struct {
	Model    string `json:"model"`
	Language string `json:"language,omitempty"`
}

// Collection is a collection's schema plus read-only statistics.
type Collection struct {
	Name         string         `json:"name"`
	Spaces       []Space        `json:"spaces"`
	Index        IndexParams    `json:"index"`
	TextFields   []string       `json:"text_fields"`
	Language     string         `json:"language"`
	KeywordIndex bool           `json:"keyword_index"`
	Transcribe   *Transcription `json:"transcribe,omitempty"`
	RerankModel  string         `json:"rerank_model,omitempty"`
	Created      time.Time      `json:"created"`
	Count        int            `json:"count"`              // live objects
	Shards       int            `json:"shards,omitempty"`   // cluster mode
	Replicas     int            `json:"replicas,omitempty"` // cluster mode
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
	// Sequences (cluster mode) say where the write is in each shard's log
	// it touched: shard number → the log sequence of its last entry.
	Sequences map[string]uint64 `json:"sequences,omitempty"`
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
	// Consistency (cluster mode): "eventual" (default) or
	// "read_your_writes", which answers only once the replicas asked have
	// applied every write acknowledged before the search (bounded wait).
	Consistency string `json:"consistency,omitempty"`
	// Mode is vector, keyword or hybrid (default: hybrid when the
	// collection's keyword index holds documents and the query has text
	// for it, keyword without a vector side, else vector).
	Mode string `json:"mode,omitempty"`
	// Keyword is the keyword side's query (default: query.text).
	Keyword string  `json:"keyword,omitempty"`
	Fusion  *Fusion `json:"fusion,omitempty"`
	// Alpha is shorthand for fusion {"method": "relative_score", "alpha": …}.
	Alpha *float64           `json:"alpha,omitempty"`
	Boost map[string]float64 `json:"boost,omitempty"`
	// Snippets, true unless set false, highlights the keyword matches of
	// each hit the keyword side found.
	Snippets *bool `json:"snippets,omitempty"`
}

// Fusion says how hybrid search fuses its two lists: "rrf" (k, default
// 60) or "relative_score" (alpha, default 0.75: the vector side's weight).
type Fusion struct {
	Method string   `json:"method"`
	K      int      `json:"k,omitempty"`
	Alpha  *float64 `json:"alpha,omitempty"`
}

// SideHit is where one side of a hybrid search ranked a hit.
type SideHit struct {
	Rank  int     `json:"rank"`
	Score float32 `json:"score"`
}

// FoundBy says which sides found a hit (keyword and hybrid modes).
type FoundBy struct {
	Vector  *SideHit `json:"vector,omitempty"`
	Keyword *SideHit `json:"keyword,omitempty"`
}

// Snippet is a window of a keyword field's text around the matches, in
// parts; parts with match true are the matched words. Render them as text.
type Snippet struct {
	Field string        `json:"field"`
	Parts []SnippetPart `json:"parts"`
}

// SnippetPart is a piece of a snippet.
type SnippetPart struct {
	Text  string `json:"text"`
	Match bool   `json:"match,omitempty"`
}

// Rerank names the matching model and how many candidates it re-scores.
type Rerank struct {
	Model string `json:"model,omitempty"` // absent: the collection's rerank_model
	Top   int    `json:"top"`
}

// Hit is one search result.
type Hit struct {
	ID          uint64    `json:"id"`
	Score       float32   `json:"score"`
	Distance    float32   `json:"distance"`
	RerankScore *float32  `json:"rerank_score,omitempty"`
	Object      *Object   `json:"object,omitempty"`
	Segments    []Hit     `json:"segments,omitempty"` // group_by: the best segments
	FoundBy     *FoundBy  `json:"found_by,omitempty"`
	Snippets    []Snippet `json:"snippets,omitempty"`
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
	// Mode is the ranking used: vector, keyword or hybrid.
	Mode string `json:"mode"`
}

// CollectionStats is GET /v1/collections/{name}/stats.
type CollectionStats struct {
	Collection
	Modalities map[string]int `json:"modalities"`
	Segments   int            `json:"segments"`
	Spaces     []SpaceStats   `json:"space_stats"`
	Keyword    *KeywordStats  `json:"keyword_stats,omitempty"`
	LastSeq    uint64         `json:"last_seq"`
	AppliedSeq uint64         `json:"applied_seq"`
	MediaRoots []string       `json:"media_roots"`
	State      string         `json:"state"` // ready, loading or failed
	Error      string         `json:"error,omitempty"`
	Server     ServerCounters `json:"server"`
}

// KeywordStats describes a collection's keyword index.
type KeywordStats struct {
	Documents int    `json:"documents"`
	Slots     int    `json:"slots"`
	Terms     int    `json:"terms"`
	Postings  int64  `json:"postings"`
	Bytes     int64  `json:"bytes"`
	Language  string `json:"language"`
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

// ClusterStatus is the body of GET /v1/cluster: the nodes as the
// answering node sees them and every collection's shard map.
type ClusterStatus struct {
	Cluster string `json:"cluster"`
	Node    string `json:"node"` // the node that answered
	// Rebalancer says whether the answering node holds the rebalancing lease.
	Rebalancer  bool                `json:"rebalancer"`
	Nodes       []ClusterNode       `json:"nodes"`
	Collections []ClusterCollection `json:"collections"`
}

// ClusterNode is one node of a cluster.
type ClusterNode struct {
	Name string `json:"name"`
	Addr string `json:"addr"` // its REST address
	Role string `json:"role"` // data or encoder
	// Healthy: its last heartbeat is recent; LastSeen is when it was.
	Healthy  bool      `json:"healthy"`
	LastSeen time.Time `json:"last_seen"`
	Started  time.Time `json:"started"`
	// Applied is the log sequence each shard replica it holds has applied
	// ("collection/shard" → sequence).
	Applied map[string]uint64 `json:"applied,omitempty"`
}

// ClusterCollection is a collection's shard map: for each shard, the
// nodes serving it and those joining (replaying its log to serve it).
// Epoch grows with every change.
type ClusterCollection struct {
	Name     string     `json:"name"`
	Shards   int        `json:"shards"`
	Replicas int        `json:"replicas"`
	Epoch    uint64     `json:"epoch"`
	Serving  [][]string `json:"serving"`
	Joining  [][]string `json:"joining"`
}
