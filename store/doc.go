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
//
// Every write request (an upsert or delete batch) becomes part of one Pebble
// batch committed with Sync before it is acknowledged. A single committer
// goroutine groups the requests that arrive while a sync is in flight into
// one batch (group commit), assigns change sequence numbers in commit
// order, and only then updates the in-memory state (key map, live set,
// posting bitmaps) and calls the commit hook that feeds the indexes, so
// the change log and the indexes see writes in the same order.
//
// Opening a directory written with another format version fails with
// ErrFormatVersion.
package store
