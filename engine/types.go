package engine

import (
	"encoding/json"
	"errors"
	"image"
	"time"

	"rosetta/store"
)

// Errors returned by the engine; httpapi maps them to status codes. The
// store's not-found, exists and closed errors are the same values, so
// errors.Is works across layers.
var (
	ErrNotFound    = store.ErrNotFound                      // 404
	ErrExists      = store.ErrExists                        // 409
	ErrInvalid     = store.ErrInvalid                       // 400
	ErrTooLarge    = errors.New("engine: too large")        // 413: over a documented per-request limit
	ErrUnsupported = errors.New("engine: unsupported")      // 422: e.g. a text query on a collection without a model
	ErrForbidden   = errors.New("engine: forbidden")        // 403: a source outside the media roots
	ErrBusy        = errors.New("engine: busy")             // 429 with Retry-After: the server-wide decode/encode budget is full
	ErrNotReady    = errors.New("engine: index is loading") // 503
	ErrUnavailable = errors.New("engine: unavailable")      // 503: a collection whose indexes failed to load, or a store refusing writes
	ErrDiskFull    = errors.New("engine: disk full")        // 507
	ErrClosed      = store.ErrClosed                        // 503
)

// Space is a named vector space of a collection.
type Space struct {
	Name   string
	Dim    int
	Metric string // cosine (default), dot, l2
	Model  string // model that fills it, if any
	// Precision is what the model computes with: "float32", "int8"
	// (encoders.SetPrecision), or "" for Options.DefaultPrecision.
	Precision string
}

// IndexParams tune a collection's HNSW indexes (zero = defaults).
type IndexParams struct {
	M, EfConstruction, EfSearch int
	Storage                     string // float32 (default), float16, int8 or rabitq
	// Rescore (int8, rabitq): candidates re-scored exactly per result; 0
	// is the storage's default.
	Rescore int
	// RescoreFrom (int8, rabitq): where re-scoring reads full-precision vectors:
	// "memory" (a float16 copy in the index, the default) or "store" (the
	// stored vectors, read per candidate; the index keeps only codes).
	RescoreFrom string
}

// TextSchema says what a collection's keyword (BM25) index holds: every
// object's text content (text objects and their chunks) and derived texts
// (text.caption, text.transcript, …), and the metadata string fields in
// Fields (nil means DefaultTextFields), analysed for Language.
type TextSchema struct {
	Disabled bool     // no keyword index
	Language string   // textindex.Languages(); "" means "en"
	Fields   []string // metadata fields; nil means DefaultTextFields, empty none
}

// Transcription says how a collection transcribes the speech of the audio
// objects written with their content (Content.Audio) and no transcript of
// their own: Model (a speech-to-text model, loaded by
// Options.LoadTranscriber; "" means none) writes the object's
// text.transcript and one segment object per stretch of speech
// (TranscriptSegments), in Language ("" or "auto": detected per object).
type Transcription struct {
	Model    string
	Language string
}

// Collection is a collection's schema plus read-only statistics.
type Collection struct {
	Name       string
	Spaces     []Space
	Index      IndexParams
	Text       TextSchema
	Transcribe Transcription
	// RerankModel names an image-text matching model (a BLIP retrieval
	// checkpoint) whose image tokens every image object written with its
	// content keeps, as float16 beside its record: a text → image re-rank
	// with this model then reads them instead of decoding the candidate's
	// source and running the image tower again, and it is the rerank
	// model a search uses when its rerank names none. "" caches nothing.
	RerankModel string
	// Shards and Replicas lay a collection out over a cluster (package
	// cluster): its objects hashed by id over Shards logs, each applied
	// by Replicas nodes. A single engine refuses them (0 here).
	Shards, Replicas int
	Created          time.Time
	Count            int // live objects (output only)
}

// Object is one item as the engine's callers see it.
type Object struct {
	ID       uint64
	Key      string // unique per collection; upserts by key
	Modality string // image, text, audio or empty
	Source   string // path or URI it came from
	Hash     string
	Metadata map[string]any    // JSON object; scalar fields are filterable
	Text     map[string]string // derived text: captions, transcripts
	Vectors  map[string][]float32
	// Content is what a model encodes on write into the spaces it fills
	// (when the object gives no vector for them). Text content is stored;
	// image and audio bytes are kept as the object's original when
	// Content.Keep is set, else dropped (Source says where they came from).
	Content *Content
	// Blob names the object's original in the blob store (hex SHA-256),
	// when one was kept; set by the engine, ignored on input.
	Blob    string
	Created time.Time
	Updated time.Time
	// tokens are the collection's rerank model's image tokens of the
	// object's image, encoded for the store (encodeTokens); set on write.
	tokens []byte
}

// Content is an object's raw content for encode-on-write. At most one of
// Text, Image (or Decoded) and Audio is set.
type Content struct {
	Text  string
	Image []byte // encoded image file
	Audio []byte // encoded audio file
	// Decoded, when set, is Image already decoded (ingest decodes in its
	// worker pool, under its own limits).
	Decoded image.Image
	// Keep stores the image or audio bytes as the object's original in
	// the data directory's blob store (synced before the write is
	// acknowledged, deduplicated by SHA-256, removed with the last object
	// that names it), so media, thumbnails and re-ranking work whatever
	// the source path. The REST API keeps by default.
	Keep bool
}

// Query is what a search looks for: exactly one of the fields is set.
type Query struct {
	Vector []float32
	Object *uint64 // use a stored object's vector in the space
	Text   string  // encoded by the space's model
	Image  []byte  // encoded by the model
	Audio  []byte
}

// SearchRequest is one k-NN query.
type SearchRequest struct {
	Space  string // may be empty when the collection has one space
	Query  Query
	K      int             // 0 means DefaultK
	Ef     int             // 0 means the collection's default
	Filter json.RawMessage // see store.ParseFilter
	// Modality, when set, returns only objects of that modality (e.g.
	// "text" for an image → text query in a shared CLIP space).
	Modality string
	Fields   []string // object fields to return: key, modality, source, hash, metadata, text, content, vectors, created, updated, *
	// Rerank re-scores the top candidates of a text ↔ image query with an
	// image-text matching model (BLIP's ITM head) and orders them by that.
	Rerank *Rerank
	// GroupBy "parent" folds segments (audio windows, video frames, text chunks: objects
	// whose metadata names a parent) into one hit per parent, carrying its
	// best segments; "" returns every object on its own.
	GroupBy string
	// Exclude leaves these ids out (e.g. the query object of "more like
	// this"); at most MaxExclude.
	Exclude []uint64
	// MinScore, when set, drops hits whose score is below it (cosine and
	// dot spaces only: an l2 score is a distance).
	MinScore *float32
	// Mode picks the ranking: ModeVector (k-NN in the space), ModeKeyword
	// (BM25 over the keyword index) or ModeHybrid (both, fused). "" picks
	// hybrid when the collection's keyword index holds documents and the
	// query has a vector side, keyword when it has only keyword text, and
	// vector otherwise.
	Mode string
	// Keyword is the keyword side's query (textindex syntax); "" uses
	// Query.Text.
	Keyword string
	// Fusion says how hybrid mode fuses the two lists (nil: RRF, k 60).
	Fusion *Fusion
	// Boost multiplies a keyword field's BM25 score (content,
	// text.caption, metadata.title or just title, …).
	Boost map[string]float64
	// NoSnippets leaves Hit.Snippets out: making them reads each keyword
	// hit's record and analyses its texts again (about 25 µs a hit of a
	// 100-word text).
	NoSnippets bool
	// Consistency is "" or ConsistencyEventual, or
	// ConsistencyReadYourWrites: a cluster then answers only from replicas
	// that have applied every write acknowledged before the search. A
	// single engine always reads its own writes.
	Consistency string
	// Offset skips that many hits (paging; offset+k ≤ MaxK). Pages asked
	// with the same Ef come from one traversal of the index, so every hit
	// appears on exactly one page; Page.Ef says which ef was used.
	Offset int
}

// Search modes.
const (
	ModeVector  = "vector"
	ModeKeyword = "keyword"
	ModeHybrid  = "hybrid"
)

// Search consistencies.
const (
	ConsistencyEventual       = "eventual"
	ConsistencyReadYourWrites = "read_your_writes"
)

// Fusion methods.
const (
	FusionRRF           = "rrf"            // reciprocal rank fusion: Σ 1/(K + rank)
	FusionRelativeScore = "relative_score" // Weaviate's relativeScoreFusion: min-max normalised, alpha·vector + (1−alpha)·keyword
)

// Fusion configures hybrid search.
type Fusion struct {
	Method string  // FusionRRF (default) or FusionRelativeScore
	K      int     // RRF's rank constant; 0 means 60
	Alpha  float64 // relative_score: the vector side's weight in [0, 1]
}

// SideHit is where one side of a hybrid search ranked a hit.
type SideHit struct {
	Rank  int     // 1-based
	Score float32 // the side's own score (BM25, or the vector score)
}

// Snippet is a window of a keyword field's text around the query's
// matches, in parts that matched or not (render Match parts highlighted,
// as text: never as markup).
type Snippet struct {
	Field string
	Parts []SnippetPart
}

// SnippetPart is a piece of a snippet.
type SnippetPart struct {
	Text  string
	Match bool
}

// Rerank names the matching model and how many candidates it re-scores.
type Rerank struct {
	Model string // "" means the collection's RerankModel
	Top   int    // candidates to re-score (1..MaxRerank; at least k is used)
}

// Hit is one search result. Score is the similarity users see (cosine,
// inner product, or Euclidean distance for l2); Distance is the index's.
type Hit struct {
	ID       uint64
	Score    float32
	Distance float32
	// RerankScore is the matching model's probability when the query was
	// re-ranked (nil otherwise, or when the candidate could not be scored).
	RerankScore *float32
	Object      *Object
	// Segments are a grouped hit's best segments, best first (GroupBy).
	Segments []Hit
	// Vector and Keyword say where each side ranked the hit (keyword and
	// hybrid modes; nil when that side did not find it).
	Vector, Keyword *SideHit
	// Snippets highlight the keyword query's matches in the hit's texts
	// (keyword and hybrid modes, hits the keyword side found).
	Snippets []Snippet
}

// Page is one page of search results.
type Page struct {
	Hits []Hit
	// Ef is the beam width the search used: send it again with the next
	// Offset to page through the same traversal.
	Ef int
	// NextOffset is the Offset of the next page, nil on the last one.
	NextOffset *int
	// Mode is the ranking the search used.
	Mode string
}

// KeywordStats describe a collection's keyword index.
type KeywordStats struct {
	Documents, Terms int
	Slots            int // document slots, dead ones included (see compactKeyword)
	Postings, Bytes  int64
	Language         string
}

// Stats feed /metrics.
type Stats struct {
	Collections int
	Objects     map[string]int // live objects per collection
	IndexNodes  map[string]int // index slots per collection/space
	// Cumulative counters since the process started.
	ObjectsWritten, ObjectsDeleted, Searches uint64
	// SkippedVectors counts stored vectors an index could not take while
	// loading (logged and left out of the index), per collection/space.
	SkippedVectors map[string]int
	// Keyword holds each collection's keyword index figures, and Lag the
	// committed changes its indexes do not reflect yet.
	Keyword map[string]KeywordStats
	Lag     map[string]uint64
	// Busy counts requests refused because the decode/encode budget was full.
	Busy uint64
	// EncodeBatches describe the encoder calls made for requests, per
	// model and medium: how many inputs each took (batching across
	// requests, batch.go).
	EncodeBatches []EncodeBatchStats
	// Storage engine (Pebble) figures.
	DiskBytes, WALBytes, MemtableBytes uint64
	L0Files, Compactions               int64
	ReadAmp                            int
	// Store health: background errors and write stalls Pebble reported,
	// and writes refused for want of disk space.
	BackgroundErrors, WriteStalls, DiskFullRefusals uint64
	// StoreHealthy is false while the store refuses writes.
	StoreHealthy bool
}
