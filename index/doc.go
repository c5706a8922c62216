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
// Storage is flat: node i's vector lives at i*Dim of one slab (float32, or
// IEEE binary16 with Config.Storage = StorageFloat16, which halves the bytes
// a search streams), its layer-0 list at i*(2M+1) of one []uint32 (count,
// then ids), and its upper lists in one []uint32 per node. Internal ids are
// uint32 slots; external ids are uint64 and mapped both ways. Visited sets
// are generation-counter arrays pooled with the search heaps.
//
// # Concurrency
//
// One RWMutex (mu) is held shared by every search and insert and exclusively
// only to grow the slabs (x1.5), to compact, and to snapshot. Writers of a
// neighbour list take one of 1024 striped mutexes; readers take no lock and
// load list entries atomically, so a search may see a list mid-update, which
// HNSW tolerates, and the race detector accepts. A new node is written and
// published in the id map before it is linked, so any node a search reaches
// is complete. An insert that raises the top layer holds the entry-point
// lock for its whole insertion, as hnswlib does.
//
// # Deletes, tombstones and compaction
//
// Delete (and the replaced node of an update) becomes a tombstone: its slot
// joins a roaring bitmap and its state flips to deleted, read atomically on
// the search path. Tombstones keep routing searches but never enter results
// and are never chosen as new neighbours. When tombstones pass
// Config.CompactRatio of the slots (default 0.2), a background compaction
// takes the index exclusively and, on all CPUs, rebuilds every live list
// that links to a tombstone from its live neighbours plus the live
// neighbours of those tombstones (two hops through chains of them), pruned
// with the insert heuristic; then the tombstones' slots are freed (a second
// bitmap) and reused by later inserts, and a freed entry point is replaced
// by the live node of the highest layer. Compact runs the same on demand.
//
// # Filtered search
//
// SearchOptions.Allow is a roaring64 bitmap of external ids. At or below
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
// and persist.go) while holding the index exclusively, so the snapshot is
// consistent. ReadHNSW/ReadFlat read it whole, verify the checksum, then
// validate every structural invariant a search relies on (counts, id
// ranges, layers of linked nodes, entry point, unique external ids) so that
// a corrupt file is an error and never a panic; FuzzReadIndex checks this.
// Use internal/atomicfile to write snapshots crash-safely.
package index
