// Package index holds Rosetta's vector indexes: an HNSW graph written here
// (github.com/coder/hnsw v0.6.1 returns recall@10 of 0.01–0.15 and is kept
// only as a benchmark baseline) and an exact Flat index with the same Index
// interface. The index never imports the store: it persists itself through
// io.Writer/io.Reader, and the store decides where and when.
//
// # The graph
//
// HNSW follows Malkov & Yashunin (2018). Each node draws a top layer from
// an exponential distribution with factor 1/ln(M); layer 0 keeps up to 2M
// links, upper layers M. Inserts run a best-first search with
// efConstruction on each layer from the node's top down, pick neighbours
// with the paper's heuristic (Algorithm 4: keep a candidate only if it is
// closer to the new node than to every neighbour kept so far) and add
// back-links, pruning a full list with the same heuristic. Searches descend
// greedily to layer 0 and run the best-first search there with the query's
// ef (SearchOptions.Ef; the shared index is never mutated per query).
//
// Storage is segmented: slots are grouped in fixed-size segments of
// 1<<segShift consecutive slots (segment.go), and node i lives in segment
// i>>segShift at offset o = i&segMask: its vector at o*Dim of the
// segment's vector array (float32, or IEEE binary16 with Config.Storage =
// StorageFloat16, which halves the bytes a search streams), contiguous as
// in one slab; its layer-0 list at o*(2M+1) of the segment's []uint32
// (count, then ids); its external id, top layer, state and upper lists (one
// pointer per node) at o of the segment's small arrays. A segment is the
// largest power of two of slots that fits in 4 MiB, at most 4096 slots:
// 1024 slots at 512 float32 dimensions and M = 16, so a 1M-node index has
// 977 segments, and the first insert reserves ~2 MB. The segment size is fixed
// per index and is not part of the snapshot. Every accessor on the hot
// path (distQ, prefetch, list, load, store) does one shift, one mask and
// one more load than with a single slab; nothing allocates or branches
// more. Internal ids are uint32 slots; external ids are uint64 and mapped
// both ways. Visited sets are generation-counter arrays pooled with the
// search heaps.
//
// Growing never moves a segment. grow allocates whole segments (enough
// for the request and at least 1/8 of the present capacity, so exclusive
// sections stay rare) and builds the new segment table, a copy of the
// segment headers (264 bytes a segment: 26 KB at 100k nodes of 512
// dimensions, 258 KB at 1M), holding only growMu; it then takes mu
// exclusively to store the table's slice header, and nothing else. So no
// vector, list, id, level or state is copied, and a grow's exclusive
// section is a pointer swap whatever the index size.
//
// # Quantised storage: int8 and RaBitQ
//
// Config.Storage = StorageInt8 keeps one byte a dimension (per-dimension
// min/max scalar quantisation, sq8.go); StorageRaBitQ one bit a dimension
// and three floats (Gao & Long's RaBitQ, rabitq.go). The graph is built
// and searched on the codes: a query is turned once into a "query form"
// (for int8 the per-dimension scaled components, for RaBitQ the rotated
// query quantised to 4-bit planes) and distQ scores a node's code against
// it (kernels.DotU8, kernels.PopDot4). Distances between two stored nodes
// (neighbour selection, compaction repair) use the code's own form (int8)
// or the Hamming estimate of the angle (RaBitQ). A search keeps the
// Config.Rescore·k best candidates (ef is raised to that when smaller) and
// re-ranks them by the exact distance to the full-precision vectors,
// which live either in the index as float16 (Originals = OriginalsMemory)
// or in the owner's store, read per candidate through SetVectorSource
// (OriginalsStore: the index then holds only codes and links). Filtered
// exact scans scan the codes the same way and re-score.
//
// The quantiser is trained from the index's own vectors once Config.
// TrainSize are live (default 4096): before that the vectors are float16
// and searched as such, and the Add that reaches the size learns the
// ranges (int8) or the centroid (RaBitQ; the rotation comes from
// Config.Seed), encodes every vector, and publishes a new segment table
// holding growMu and mu exclusively, as grow does, so a snapshot streaming
// the old table is undisturbed. A rebuild retrains. Snapshots carry the
// quantiser, the codes and (OriginalsMemory) the float16 originals; a
// snapshot of one storage is never read as another (the engine rebuilds
// when the collection asks for a different storage).
//
// # Concurrency
//
// Writes never stall searches. Each lock guards one thing:
//
//   - mu (RWMutex) guards the segment table. Searches, inserts and
//     deletes hold it shared for one operation; grow takes it exclusively
//     only to publish a longer table (allocating and copying headers
//     happen before, under growMu), and compaction takes it exclusively
//     for its short final phase only. Nothing holds it shared for long (a
//     snapshot not at all, a compaction worker one chunk of 64 nodes at a
//     time): RWMutex prefers a waiting writer, so a long reader would stall
//     every search queued behind a grow. What is left of a grow's cost to a
//     search is that wait: a search arriving while grow waits for mu waits
//     for the operations already holding it shared (at most one insert's
//     linking), not for any copy.
//   - growMu serialises growers, so that inserts that find the index full
//     allocate once. Lock order: growMu before mu; nothing holding mu
//     takes growMu.
//   - links (1024 striped mutexes) serialise writers of a node's neighbour
//     lists; a goroutine holds at most one stripe. Readers take no lock and
//     load list entries atomically, so a search may see a list mid-update,
//     which HNSW tolerates, and the race detector accepts.
//   - idMu serialises writers of the id map, the live/tombstone/free slot
//     sets, the allocation cursor and the level RNG. Nothing on the search
//     path takes it: the id map is an open-addressing table read with
//     atomic loads (idtable.go), and the live count, the cursor (next) and
//     each slot's state are atomics.
//   - epMu serialises writers of the entry point, which readers load as one
//     atomic word. An insert that raises the top layer holds it for its
//     whole insertion, as hnswlib does.
//   - compactMu serialises compactions and snapshots: while it is held no
//     slot is freed.
//
// So Search takes mu shared and nothing else; Len and Contains take no
// lock. A new node is written into a slot that reads as free, then
// published (state live, id map, live set, under idMu), then linked, so
// any node a search, scan or snapshot reaches is complete, and a published
// slot's vector, level and external id stay fixed until compaction frees
// it.
//
// # Deletes, tombstones and compaction
//
// Delete (and the replaced node of an update) becomes a tombstone: its slot
// joins a roaring bitmap and its state flips to deleted, read atomically on
// the search path. Tombstones keep routing searches but never enter results
// and are never chosen as new neighbours. When tombstones pass
// Config.CompactRatio of the slots (default 0.2), a background compaction
// starts (unless a compaction or snapshot holds compactMu; it is then
// skipped, and a later write retries); Compact runs the same on demand.
//
// A compaction captures the tombstones of the moment and, on all CPUs,
// rebuilds every live list that links to one from its live neighbours plus
// the live neighbours of those tombstones (two hops through chains of
// them), pruned with the insert heuristic. This repair holds mu shared (a
// chunk at a time) and reads and writes each list under its node's stripe
// lock, so searches, inserts and deletes run meanwhile, and an insert's
// back-link is neither lost nor able to re-add a captured tombstone. A
// short exclusive phase (mu) then drops every link to the captured
// tombstones that is left (lists of nodes deleted or inserted during the
// repair; one pass over the lists, no distances), frees their slots (a
// second bitmap, reused by later inserts) and replaces a deleted entry
// point by the live node of the highest layer. Tombstones made during the
// repair wait for the next compaction. A cancelled compaction leaves valid
// lists and every tombstone in place.
//
// # Filtered search
//
// SearchOptions.Allow is a roaring64 bitmap of external ids. The graph walk
// tests candidates against a flat bitset over the allow-list's id span,
// built once per query (allow.go), when that span is at most 256 bits per
// allowed id; otherwise it asks the bitmap. At or below
// Config.ExactScanMax allowed ids (default 1000), or when the allow-list is
// small enough that card² <= 5·ef·n (the measured crossover: an exact
// scan costs one distance per allowed id, a filtered traversal about
// ef/selectivity and more as the filter tightens), the query is answered by
// an exact scan of those ids. Otherwise the layer-0 search
// routes through every node but only collects allowed live ones; if fewer
// than k were found, ef is widened (x4) and the search repeated, and as a
// last resort the allowed ids are scanned exactly, so whenever k live ids
// pass the filter exactly k results come back.
//
// The switch point was measured with `rosetta bench ann --switch-sizes`:
// see bench/RESULTS.md.
//
// # Snapshot format
//
// WriteTo writes a versioned, CRC-32C-checksummed file (layout in codec.go
// and persist.go). It streams through one 64 KiB buffer, checksumming as
// it goes, and makes no copy of the index. It holds compactMu for its run
// and mu shared plus idMu only to capture the slot count, the segment
// table, the live slots and the tombstones; then it writes every slot from
// that capture, streaming the segments in slot order (captured live and
// tombstoned slots with their vectors, levels and lists, whose links to
// slots outside the capture are dropped; any other slot as free) while
// searches, inserts, deletes and grows go on: a grow only appends
// segments, so the captured ones stay valid. The file lays each section
// out over all slots in order, as when storage was one slab, so segmenting
// changed no byte of it (TestSnapshotFormatUnchanged loads snapshots
// written by the slab layout and reproduces them exactly at any segment
// size); ReadFrom fills the segments section by section.
// The file is always a valid index, holds every Add and Delete that
// completed before WriteTo was called, and may or may not hold those
// concurrent with it: the engine records its change sequence before the
// snapshot and replays later changes, which is idempotent.
//
// ReadHNSW/ReadFlat read it whole, verify the checksum, then
// validate every structural invariant a search relies on (counts, id
// ranges, layers of linked nodes, entry point, unique external ids) so that
// a corrupt file is an error and never a panic; FuzzReadIndex checks this.
// Use internal/atomicfile to write snapshots crash-safely.
//
// # Vector validation
//
// Check (on HNSW, Flat and Index) is the one home of "can the index take
// this vector"; Add applies the same function (check.go), and Search the
// same rules less the float16 range. A vector is refused for a wrong
// dimension (ErrDimension), a NaN or ±Inf component (ErrNonFinite), a
// squared norm above MaxFloat32/8, so that no distance between accepted
// vectors can overflow float32 (ErrMagnitude), under cosine a squared norm
// below 2^-126, whose float32 square underflows (ErrZeroVector; cosine
// vectors are normalised in float64, identically on every CPU), and with
// float16 storage a component beyond ±65504 (ErrNonFinite).
package index
