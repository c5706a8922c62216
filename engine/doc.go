// Package engine is Rosetta's database: it owns the domain (collections,
// objects, searches), decides what is valid, what the server may read from
// disk and how much work one request may cause, and keeps the store and
// the indexes in step. httpapi and ingest call it; they repeat none of its
// rules.
//
// # Types
//
// The engine's types (Collection, Object, Content, SearchRequest, Hit) are
// its own. The store keeps a private record of an object (store.Object,
// its JSON is the record encoding; image and audio bytes never reach it),
// and the REST API has wire types of its own (package api, translated by
// api/convert). Content may carry a decoded image.Image for the encoders;
// the store never sees one.
//
// # Validation and limits (validate.go, limits.go)
//
// validate.go is the one home of the request rules: names, batch size,
// duplicate keys, key/source/text sizes, modality (image, text, audio),
// metadata nesting (MaxMetadataDepth), k (DefaultK, MaxK) and ef, filters,
// and every vector — which is checked with the Check method of the index
// of its space, exactly what the index's Add accepts (dimension, finite
// components, a float32 norm a cosine index can normalise, a magnitude
// whose distances stay finite). So nothing is acknowledged that an index
// would refuse. A vector already stored that an index refuses (written
// before these rules, or by a tool) is logged, counted (Stats.SkippedVectors,
// rosetta_index_skipped_vectors) and left out when the index loads; it is
// never a reason not to start.
//
// limits.go bounds media work: an image's declared size against
// Limits.MaxImagePixels and a request's audio against MaxAudioSeconds
// (ErrTooLarge, 413); server-wide FIFO budgets of decoded pixels, audio
// seconds being encoded and concurrent forward passes, which a request
// waits for up to QueueWait before ErrBusy (429 with Retry-After). An
// upsert's images are decoded and encoded a chunk at a time (at most 8,
// and at most half the pixel budget), the chunk's pixels reserved at once
// before any is decoded, so two requests never hold part of the budget
// each while waiting for the rest.
//
// # Batching across requests (batch.go)
//
// Every text and image encode made for a request (a query, an upsert's
// chunk, transcript segments) goes through a batcher per model and medium.
// One that finds no encode of its kind running runs at once; otherwise it
// joins a batch that starts after Options.EncodeBatchWait (2 ms) or once it
// holds EncodeBatchMax inputs, and runs as one encoder call in one encode
// slot; while it waits for that slot (all busy) it keeps taking callers,
// at no cost in latency. A caller that leaves drops its inputs (and their pixels) if the
// batch has not started; a failed batch is redone request by request. The
// vectors are bit for bit those of an encode alone: kernels.GemmPacked
// gives a row the same bits whatever the row count.
//
// # The write path
//
//	Upsert → validateBatch → encodeContent (chunks, budgets) → cacheTokens
//	  (the rerank model's image tokens, float16; tokens.go) → store.Upsert
//	  store: committer goroutine groups concurrent requests into one Pebble
//	         batch, commits it with Sync, updates its in-memory state, then
//	         calls onCommit per collection — before acknowledging anyone
//	  engine.onCommit: applies the group's changes to the collection's
//	         indexes with up to ApplyThreads goroutines (default one CPU
//	         fewer than GOMAXPROCS, so searches keep a CPU; changes
//	         partitioned by id, so one id's changes stay in sequence
//	         order), then advances the collection's applied sequence
//	  → the writers are acknowledged: a write is visible to every search
//	    that starts after its Upsert returned.
//
// Deletes take the same path. A commit the disk cannot take fails fast
// with ErrDiskFull (507) and Health reports it until space is freed; see
// the store's doc.
//
// # Locks and what they guard
//
//   - Engine.mu guards the registry map (name → *coll). It is held only to
//     look up, add or remove an entry, never across I/O, a commit or index
//     work.
//   - coll.applyMu serialises applying a committed group (onCommit, on the
//     store's committer goroutine) with the last step of a load or rebuild
//     (replaying the change log and publishing the new indexes), so that no
//     committed change is missed. Searches never take it.
//   - coll.state (atomic) says whether the collection serves: loading,
//     ready, failed (with the reason) or dropped. Writes and searches need
//     ready; get, stats and drop work in every state.
//   - coll.idx and coll.text (atomic pointers) hold the vector indexes and
//     the keyword index; a rebuild swaps them.
//   - coll.applied (atomic) is the change sequence the indexes reflect:
//     every change up to it is applied.
//   - Engine.snapMu serialises snapshots.
//   - The HNSW index takes care of its own concurrency: searches and
//     inserts run in parallel, and neither snapshots nor compaction stop
//     searches (see index/doc.go).
//   - models.mu guards the model cache map only: each model loads once,
//     outside the lock, and callers wait for that model alone.
//   - batchers.mu guards the map of batchers; batcher.mu guards its open
//     batch, its count of calls in flight and every field of its batches.
//     Neither is held across an encoder call or a slot wait.
//
// # Index lifecycle
//
// Open registers every collection as loading and loads them one by one
// in the background: each space from its snapshot plus a replay of the
// change log after the snapshot's sequence, or rebuilt from every stored
// vector when the snapshot is missing, corrupt or for another schema. A
// failed load leaves that collection failed — Health (/readyz) says why —
// while the others serve; DropCollection and RebuildCollection work on it.
// Snapshot reads a collection's applied sequence and then streams each
// index to a temporary file while writes and searches go on (the file
// holds every change up to that sequence and perhaps later ones; replay
// is idempotent, as it reads each object's current vector), then renames
// it into place. Temporary files of snapshots a kill interrupted are
// removed at Open.
//
// # Keyword and hybrid search (keyword.go, hybrid.go)
//
// Each collection has a keyword index (textindex.Index, nil when the
// schema disables it) beside its vector indexes, kept by the same
// lifecycle: onCommit puts each upserted record's texts (content, derived
// texts, the schema's metadata fields: keywordFields) and deletes what
// was deleted; Snapshot writes it to CID-text.snap with the same header
// and sequence as the vector snapshots; a load reads it and replays the
// change log after it (reading each object's current record), or
// rebuilds it from every stored object. The index takes its own read
// lock for a search and its write lock per document (after analysing it
// outside the lock).
//
// SearchPage resolves the mode (checkKeywordRequest), runs the vector side
// (the HNSW, with the filter, modality and exclusions as an allow-list)
// and/or the keyword side (BM25, the same allow-list), each fetching
// max(HybridOversample·window, HybridMinCandidates) in hybrid mode, fuses
// them (fuse: RRF or relative score), and then applies min_score,
// paging, re-ranking and grouping to the fused list as to a vector list.
// Snippets come last, for the hits of the page the keyword side found.
//
// # Files the server reads
//
// media.go is the one file policy: OpenSource opens an object's source
// only if, symbolic links resolved, it lies under a media root recorded
// by local ingest (AddMediaRoot) or given in Options.MediaRoots; the
// /media and /thumbnail routes and re-ranking all read through it, and
// re-ranking reads at most MaxSourceRead bytes. OpenStill is the still
// image that stands for an object — a video frame's kept keyframe, a
// video's (the frame its metadata names), else the source — which
// thumbnails and re-ranking read; a frame's /media is its video (video.go
// describes video objects). Model names from
// untrusted callers (a space's model at create, a rerank model) are
// vetted by Options.CheckModelName before anything is loaded; local
// tools mark their context with Trusted.
package engine
