package store

import (
	"errors"
	"time"
)

// Errors. Check them with errors.Is.
var (
	ErrNotFound      = errors.New("store: not found")
	ErrExists        = errors.New("store: already exists")
	ErrInvalid       = errors.New("store: invalid")
	ErrFormatVersion = errors.New("store: unsupported data format version")
	ErrClosed        = errors.New("store: closed")
)

// FormatVersion is the key-layout version this build writes and reads.
const FormatVersion = 1

// Space is a named vector space of a collection.
type Space struct {
	Name   string `json:"name"`
	Dim    int    `json:"dim"`
	Metric string `json:"metric"`          // cosine (default), dot, l2
	Model  string `json:"model,omitempty"` // model that fills it, if any
	// Precision is the weights' precision the model runs at: float32 or
	// int8; empty is the server's default (float32 unless serve --precision).
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

// Collection is a collection's schema plus read-only statistics.
type Collection struct {
	Name    string      `json:"name"`
	Spaces  []Space     `json:"spaces"`
	Index   IndexParams `json:"index"`
	Created time.Time   `json:"created"`
	Count   int         `json:"count"` // live objects (output only)
	// Text is the keyword index's schema (absent in collections made
	// before it existed: those get the defaults).
	Text       TextSchema    `json:"text,omitzero"`
	Transcribe Transcription `json:"transcribe,omitzero"`
	// RerankModel names the image-text matching model whose image tokens
	// the engine caches per image object (Object.Tokens).
	RerankModel string `json:"rerank_model,omitempty"`
	CID         uint32 `json:"-"` // internal id (stored separately)
}

// Transcription names the speech-to-text model that transcribes a
// collection's audio on write, and the speech's language.
type Transcription struct {
	Model    string `json:"model,omitempty"`
	Language string `json:"language,omitempty"`
}

// TextSchema says what a collection's keyword index holds.
type TextSchema struct {
	Disabled bool     `json:"disabled,omitempty"`
	Language string   `json:"language,omitempty"`
	Fields   []string `json:"fields"` // metadata fields; null means the defaults
}

// Object is one stored record: what the engine keeps of an object. Its
// JSON form is the store's private record encoding (the "o" keys), not a
// wire type; vectors are kept under their own keys.
type Object struct {
	ID       uint64               `json:"id"`
	Key      string               `json:"key,omitempty"` // unique per collection; upserts by key
	Modality string               `json:"modality,omitempty"`
	Source   string               `json:"source,omitempty"`
	Hash     string               `json:"hash,omitempty"`
	Metadata map[string]any       `json:"metadata,omitempty"` // JSON object; scalar fields are filterable
	Text     map[string]string    `json:"text,omitempty"`     // derived text: captions, transcripts
	Vectors  map[string][]float32 `json:"vectors,omitempty"`  // per space; stored separately, never in the record
	Content  *Content             `json:"content,omitempty"`
	// Blob names the object's original in the engine's blob store (the
	// hex SHA-256 of its bytes); every object that names a blob holds a
	// reference key ("b" cid sha id) written in the same batch.
	Blob string `json:"blob,omitempty"`
	// Tokens is a cache the engine keeps beside the object (a re-rank
	// model's image tokens, in the engine's encoding; opaque here): written
	// under its own key ("m" cid id) in the object's batch, replaced or
	// removed with every upsert of the object and deleted with it. It is
	// never part of the record, and Get does not read it (Tokens does).
	Tokens  []byte    `json:"-"`
	Created time.Time `json:"created,omitzero"`
	Updated time.Time `json:"updated,omitzero"`
}

// Content is the stored part of an object's content: its text (image and
// audio bytes are never stored in records).
type Content struct {
	Text string `json:"text,omitempty"`
}

// Op is a change-log operation.
type Op uint8

const (
	OpUpsert Op = 1
	OpDelete Op = 2
)

// Change is one committed change, as the commit hook and ChangesSince see it.
type Change struct {
	Seq     uint64
	Op      Op
	ID      uint64
	Vectors map[string][]float32 // new vectors (upserts; nil when read from the log)
	// Object is the record written (upserts, commit hook only; without
	// vectors). Hook callers must not modify it.
	Object *Object
	// Unref is a blob the object referenced before this change and no
	// longer does (commit hook only): it may now be unreferenced.
	Unref string
}
