// Package store will hold Rosetta's durable state in Pebble: collections,
// objects, vectors, metadata postings and the change log the vector index
// replays after a restart (see ../shared/DESIGN.md, decision 1, and the
// durable-store issue). It is empty until that issue lands.
package store
