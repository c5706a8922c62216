package cluster

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	"rosetta/engine"
)

// The cluster's metadata lives in three small JetStream KV buckets:
//
//	<prefix>-meta   coll.<name> → collRecord (schema + shard map), one key per collection
//	<prefix>-nodes  <node>      → nodeRecord, rewritten every heartbeat, expiring after NodeTTL
//	<prefix>-lease  rebalance   → the node holding the rebalancing lease, expiring after LeaseTTL
//
// Nothing is kept per object or per segment: the data is in the shard
// streams and in each replica's Pebble.

// collRecord is a cluster collection: its schema and where its shards are.
type collRecord struct {
	Schema   engine.Collection `json:"schema"` // Shards and Replicas zero; see below
	Shards   int               `json:"shards"`
	Replicas int               `json:"replicas"`
	// Inc names this incarnation of the collection (random, set at
	// creation): local shard collections carry it, so a collection
	// dropped and created again under the same name never reuses a
	// replica of the old one.
	Inc string `json:"inc"`
	// Epoch grows with every change of the assignment.
	Epoch uint64 `json:"epoch"`
	// Serving[s] are the nodes that serve shard s's searches; Joining[s]
	// the nodes replaying its log to serve it next.
	Serving [][]string `json:"serving"`
	Joining [][]string `json:"joining"`

	rev uint64 // the KV revision it was read at
}

// nodeRecord is a node's heartbeat.
type nodeRecord struct {
	Name    string    `json:"name"`
	Addr    string    `json:"addr"` // its REST address
	Role    string    `json:"role"`
	Started time.Time `json:"started"`
	// Applied is the log sequence each shard replica it holds has applied
	// ("coll/shard" → seq).
	Applied map[string]uint64 `json:"applied,omitempty"`

	seen time.Time // the server's time of the last heartbeat
}

func collKey(name string) string { return "coll." + name }

func shardID(coll string, shard int) string { return coll + "/" + strconv.Itoa(shard) }

// local is the local engine collection that holds a replica of shard s:
// <collection>-<incarnation>-s<shard>.
func (r *collRecord) local(shard int) string {
	return r.Schema.Name + "-" + r.Inc + "-s" + strconv.Itoa(shard)
}

// parseLocal splits a local shard collection name; ok is false for others.
func parseLocal(name string) (coll string, shard int, ok bool) {
	i := strings.LastIndex(name, "-s")
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(name[i+2:])
	if err != nil || n < 0 || strconv.Itoa(n) != name[i+2:] {
		return "", 0, false
	}
	return name[:i], n, true
}

// shardOf is the shard an object id belongs to.
func shardOf(id uint64, shards int) int {
	// ids are hashes already (idFor), but a client may choose small ones.
	x := id * 0x9E3779B97F4A7C15
	return int((x >> 32) % uint64(shards))
}

// idMask keeps ids below 2^62: positive in every JSON reader that parses
// numbers as int64, and far from the store's uint64 limits.
const idMask = 1<<62 - 1

// keyID is the id of an object written by key without an id: a hash of
// the key, so every coordinator and every retry names it the same.
func keyID(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	id := h.Sum64() & idMask
	if id == 0 {
		id = 1
	}
	return id
}

// rendezvous ranks nodes for a shard by highest random weight: each
// shard's order is independent, and adding or removing a node moves only
// the shards whose top R changes.
func rendezvous(coll string, shard int, nodes []string) []string {
	type w struct {
		n string
		h uint64
	}
	ws := make([]w, len(nodes))
	for i, n := range nodes {
		h := fnv.New64a()
		fmt.Fprintf(h, "%s\x00%d\x00%s", coll, shard, n)
		ws[i] = w{n, h.Sum64()}
	}
	sort.Slice(ws, func(i, j int) bool {
		if ws[i].h != ws[j].h {
			return ws[i].h > ws[j].h
		}
		return ws[i].n < ws[j].n
	})
	out := make([]string, len(ws))
	for i := range ws {
		out[i] = ws[i].n
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func remove(xs []string, x string) []string {
	out := xs[:0:0]
	for _, y := range xs {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}

func encodeRecord(r *collRecord) []byte {
	b, _ := json.Marshal(r)
	return b
}

func decodeRecord(b []byte, rev uint64) (*collRecord, error) {
	var r collRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	if r.Shards < 1 || len(r.Serving) != r.Shards || len(r.Joining) != r.Shards || !engine.ValidName(r.Inc) {
		return nil, fmt.Errorf("collection record with %d shards and %d/%d assignments", r.Shards, len(r.Serving), len(r.Joining))
	}
	r.rev = rev
	return &r, nil
}

// clone copies a record deeply enough to edit its assignment.
func (r *collRecord) clone() *collRecord {
	c := *r
	c.Serving = make([][]string, len(r.Serving))
	c.Joining = make([][]string, len(r.Joining))
	for i := range r.Serving {
		c.Serving[i] = append([]string(nil), r.Serving[i]...)
		c.Joining[i] = append([]string(nil), r.Joining[i]...)
	}
	return &c
}

// holds reports whether node is in a shard's replica set (serving or joining).
func (r *collRecord) holds(node string, shard int) bool {
	return contains(r.Serving[shard], node) || contains(r.Joining[shard], node)
}
