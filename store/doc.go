// Package store keeps Rosetta's durable state in Pebble: it is the source of
// truth, and the vector indexes are caches rebuilt from it.
//
// # Key layout (format version 1)
//
// Integers are big-endian so that keys sort numerically. cid is a
// collection's 4-byte internal id, id an object's 8-byte id, seq an 8-byte
// change sequence number, field a 2-byte length followed by the bytes.
//
//	"\x00format"                      → u32 format version (1)
//	"\x00nextcid"                     → u32 next collection id
//	"c" name                          → collection schema (JSON)
//	"s" cid                           → collection state: next id u64, last seq u64
//	"o" cid id                        → object without vectors (JSON)
//	"v" cid space(u16) id             → vector, float32 little-endian
//	"k" cid key                       → id of the object with that external key
//	"t" cid field type value 0x00 id  → "" posting: string ('s') or bool ('b') field value
//	"n" cid field f64 id              → "" numeric posting; f64 is order-preserving
//	"e" cid field id                  → "" the field exists (scalar or array) on id
//	"l" cid seq                       → change: op (1 = upsert, 2 = delete) then id
//	"r" cid dir                       → "" a media root recorded by local ingest
//	"b" cid sha id                    → "" object id names blob sha (its original, kept by the engine)
//	"m" cid id                        → the object's cached tokens (Object.Tokens, opaque: the engine's)
//
// The "b" keys are written and deleted in the object's own batch, so the
// engine can tell when a blob has no object left (BlobReferenced); the
// commit hook's Change.Unref names a blob an object stopped naming. They
// are new keys in format version 1: an older data directory simply has
// none. So are the "m" keys: written in the object's batch when the
// engine gives an object Tokens, deleted by every upsert and delete of
// the object (a later upsert writes them again or leaves none), and with
// the collection.
//
// # Write path
//
// Every write (an upsert or delete batch, a collection create or drop, a
// media root) is a request to a single committer goroutine. It groups the
// upserts and deletes that arrive while a sync is in flight into one
// Pebble batch committed with Sync before any of them is acknowledged
// (group commit), assigns change sequence numbers in commit order, and
// only then updates the in-memory state (key map, live set, posting
// bitmaps) and calls the commit hook that feeds the indexes, so the
// change log and the indexes see writes in the same order. Creates,
// drops and media roots are committed alone, in their place in the
// request order: a write submitted after a drop finds no collection, so
// it cannot recreate keys of the dropped one, and the store-wide mutex
// (DB.mu) is never held across a Pebble commit. The store checks only
// what it needs to key a write (a vector's space must exist); vector
// values are the engine's to validate.
//
// # Close
//
// submit checks DB.closed and registers the request as pending under
// DB.mu; Close sets closed under DB.mu, waits until every pending request
// is committed and acknowledged, and only then stops the committer and
// closes Pebble. So a write either returns its result or ErrClosed;
// none is left waiting on a committer that has gone.
//
// # Full disk and stalls
//
// What Pebble v2.1.7 does on ENOSPC (measured on a 20 MB tmpfs): a
// failed memtable flush is reported to EventListener.BackgroundError and
// retried at once, forever (about 200 attempts a second, each a new
// sstable number); once MemTableStopWritesThreshold memtables wait, Pebble
// stalls writes ("memtable count limit reached") and a commit blocks
// until a flush succeeds, which it does by itself once space is freed. A
// WAL write or sync that fails is fatal: Pebble calls Logger.Fatalf
// ("fatal commit error"), its commit pipeline is unusable afterwards,
// and our logger logs it and panics. Each WAL rotation also preallocates
// 110 % of the memtable size (4.4 MiB by default) at once.
//
// So the committer never lets Pebble reach ENOSPC: before each commit it
// calls statfs on the store's directory and refuses the request with
// ErrDiskFull (nothing written) when the commit would leave less than
// Options.DiskReserveBytes free (default 64 MiB; drops may use half of
// it, to reclaim space). The reserve must hold a WAL preallocation, the
// unflushed memtables (up to 2 × 4 MiB) flushed to sstables, and the
// outputs of a running compaction; on the 20 MB test disk a 4 MiB reserve
// was crossed in one step (0.8 MB left after a WAL rotation), 8 MiB kept
// every flush and compaction working with no background error. Health
// re-checks free space, so it and writes recover as soon as space is
// freed, without a restart. Limits: the guard cannot see space taken by
// others between its check and Pebble's writes, nor a compaction larger
// than the reserve; what is left there is Pebble's behaviour above.
//
// A commit watchdog bounds the wait: a writer whose commit has not been
// acknowledged within Options.CommitTimeout (default 10 s) gets
// ErrUnavailable (the write may still be applied: it is queued or in
// Pebble's hands), and while a commit or a Pebble write stall has lasted
// longer than that, new writes fail at once with ErrUnavailable and
// Health reports why. Pebble's background errors (rate-limited), write
// stalls and slow-disk reports go to Options.Logger and to the counts of
// DB.Events; Pebble's own log goes to the logger too.
//
// # Corrupt records
//
// Every stored value is decoded by a length-checked function (decode.go)
// that returns ErrCorrupt rather than panic. A corrupt object record or
// vector is logged, counted (Events.CorruptRecords) and skipped by Open
// and the scans, so the collection stays usable (Get of that object
// returns ErrCorrupt). A corrupt next-cid record is rebuilt from the
// collections. A corrupt collection or state record fails Open with
// ErrCorrupt (guessing there could reuse ids), and a corrupt change-log
// entry stops ChangesSince with ErrCorrupt (skipping it would let an
// index miss a change).
//
// Opening a directory written with another format version fails with
// ErrFormatVersion.
package store
