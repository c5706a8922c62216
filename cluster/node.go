// Package cluster runs Rosetta on several machines over NATS JetStream.
//
// Each collection has S shards (objects hashed by id); each shard is one
// JetStream stream, file-backed and replicated (3 replicas, synced on
// every write), which is the write-ahead log: a write is acknowledged once
// the stream has it on a quorum. R Rosetta nodes replicate each shard:
// each consumes the stream in order and applies it to a local engine
// collection, recording the applied sequence in the same Pebble batch
// (engine.ApplyLog), so every replica applies every entry exactly once
// and all converge. The small cluster map — collections and their shard
// assignment, node heartbeats, the rebalancing lease — is in JetStream KV
// buckets, changed by compare-and-set on revisions. Any node coordinates
// any request: it encodes a write once and publishes it to the shard
// streams, and scatters a search to one live replica of each shard and
// merges the answers. See DESIGN.md §11 and docs/cluster.md.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"rosetta/engine"
)

// Roles a node can have.
const (
	RoleData    = "data"    // holds shard replicas, coordinates requests
	RoleEncoder = "encoder" // pulls ingest work, encodes, writes to the shard streams
	// RoleClient reads the cluster map and queues work (rosetta ingest
	// --cluster): no heartbeat, no replicas, no engine needed.
	RoleClient = "client"
)

// Config configures a node. Name, Node and Conn are required; Engine too
// for a data node.
type Config struct {
	Name string // the cluster's name (streams and buckets are prefixed with it)
	Node string // this node's name, unique in the cluster
	Addr string // this node's REST address, shown in GET /v1/cluster
	Role string // RoleData (default) or RoleEncoder
	// Engine is the node's local database: it holds the shard replicas
	// as collections named <collection>-s<shard>, and encodes writes.
	Engine *engine.Engine
	// Conn is a connection to the NATS cluster (the embedded server's, or
	// an external one's). The node does not close it.
	Conn   *nats.Conn
	Logger *slog.Logger
	// StreamReplicas is the JetStream replica count of every stream and
	// bucket the cluster creates (default 3; 1 for a one-server NATS).
	StreamReplicas int
	// HeartbeatEvery (1s), NodeTTL (5s: a node whose last heartbeat is
	// older is down and gets no searches) and MoveAfter (30s: a node down
	// that long loses its shard replicas to others).
	HeartbeatEvery, NodeTTL, MoveAfter time.Duration
	// CatchUpLag: a joining replica starts serving once it has applied its
	// shard's log to within this many entries of the end (default 16).
	CatchUpLag uint64
	// WaitApplied bounds how long a read_your_writes search waits for a
	// replica to apply (default 5s); RequestTimeout bounds one request to
	// a replica (default 10s) and one publish to a shard log.
	WaitApplied, RequestTimeout time.Duration
	// WorkAckWait (encoders): how long an item may be held before
	// JetStream redelivers it (default WorkAckWait).
	WorkAckWait time.Duration
}

func (c *Config) defaults() error {
	if !engine.ValidName(c.Name) || !engine.ValidName(c.Node) {
		return fmt.Errorf("%w: cluster and node names must match %s", engine.ErrInvalid, engine.NamePattern)
	}
	if c.Conn == nil {
		return fmt.Errorf("%w: no NATS connection", engine.ErrInvalid)
	}
	if c.Role == "" {
		c.Role = RoleData
	}
	if c.Role != RoleData && c.Role != RoleEncoder && c.Role != RoleClient {
		return fmt.Errorf("%w: role %q: want %s or %s", engine.ErrInvalid, c.Role, RoleData, RoleEncoder)
	}
	if c.Engine == nil && c.Role != RoleClient {
		return fmt.Errorf("%w: a node needs an engine (models for encoders, shards for data nodes)", engine.ErrInvalid)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.StreamReplicas <= 0 {
		c.StreamReplicas = 3
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HeartbeatEvery, time.Second)
	def(&c.NodeTTL, 5*time.Second)
	def(&c.MoveAfter, 30*time.Second)
	def(&c.WaitApplied, 5*time.Second)
	def(&c.RequestTimeout, 10*time.Second)
	def(&c.WorkAckWait, WorkAckWait)
	if c.CatchUpLag == 0 {
		c.CatchUpLag = 16
	}
	return nil
}

// Node is one Rosetta process of a cluster. It implements httpapi.Engine:
// every node answers the whole API for every collection.
type Node struct {
	cfg Config
	log *slog.Logger
	eng *engine.Engine
	nc  *nats.Conn
	js  jetstream.JetStream

	meta, nodes, lease jetstream.KeyValue
	blobs              jetstream.ObjectStore

	mu       sync.RWMutex
	colls    map[string]*collRecord
	peers    map[string]*nodeRecord
	replicas map[string]*replica // by local collection name

	started   time.Time
	leader    atomic.Bool
	rr        atomic.Uint64
	itemsDone atomic.Int64 // encoder: work items written

	reconcileC chan struct{}
	sub        *nats.Subscription
	beatSub    *nats.Subscription
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	closed     atomic.Bool
}

func (n *Node) prefix() string { return "rosetta-" + n.cfg.Name }

func (n *Node) streamName(coll string, shard int) string {
	return fmt.Sprintf("RS-%s-%s-%d", n.cfg.Name, coll, shard)
}

func (n *Node) subject(coll string, shard int) string {
	return fmt.Sprintf("rosetta.%s.log.%s.%d", n.cfg.Name, coll, shard)
}

func (n *Node) rpcSubject(node string) string { return "rosetta." + n.cfg.Name + ".rpc." + node }

// Open joins the cluster: it creates the metadata buckets if this is the
// first node, starts the heartbeat, the watchers of the cluster map, the
// rebalancer and (data nodes) the replicas of the shards assigned here.
// It retries while JetStream elects its leaders, until ctx ends.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(cfg.Conn)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.Node), eng: cfg.Engine, nc: cfg.Conn, js: js,
		colls: map[string]*collRecord{}, peers: map[string]*nodeRecord{}, replicas: map[string]*replica{},
		started: time.Now().UTC(), reconcileC: make(chan struct{}, 1)}
	r := cfg.StreamReplicas
	err = retry(ctx, func(ctx context.Context) error {
		var err error
		if n.meta, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: n.prefix() + "-meta",
			Description: "Rosetta cluster collections and shard maps", History: 1, Storage: jetstream.FileStorage, Replicas: r}); err != nil {
			return err
		}
		if n.nodes, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: n.prefix() + "-nodes",
			Description: "Rosetta node heartbeats", History: 1, Storage: jetstream.FileStorage, Replicas: r}); err != nil {
			return err
		}
		if n.lease, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: n.prefix() + "-lease",
			Description: "Rosetta background-job leases", History: 1, TTL: 3 * cfg.HeartbeatEvery * 2, Storage: jetstream.FileStorage, Replicas: r}); err != nil {
			return err
		}
		if n.blobs, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: n.prefix() + "-blobs",
			Description: "originals kept by cluster writes, by SHA-256", Storage: jetstream.FileStorage, Replicas: r}); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: creating the metadata buckets: %w", err)
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if cfg.Role != RoleClient {
		if err := n.beat(ctx); err != nil {
			n.cancel()
			return nil, fmt.Errorf("cluster: first heartbeat: %w", err)
		}
	}
	if n.beatSub, err = cfg.Conn.Subscribe(n.beatSubject(), n.onBeat); err != nil {
		n.cancel()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	// A restarted server may still be recovering its streams: retry.
	var metaW, nodeW jetstream.KeyWatcher
	if err := retry(ctx, func(context.Context) error {
		var err error
		if metaW == nil {
			if metaW, err = n.meta.WatchAll(n.ctx); err != nil {
				return err
			}
		}
		nodeW, err = n.nodes.WatchAll(n.ctx)
		return err
	}); err != nil {
		if metaW != nil {
			metaW.Stop()
		}
		n.cancel()
		return nil, fmt.Errorf("cluster: watching the cluster map: %w", err)
	}
	initial := make(chan struct{}, 2)
	n.wg.Add(2)
	go n.watch(metaW, initial, n.putColl)
	go n.watch(nodeW, initial, n.putPeer)
	for i := 0; i < 2; i++ {
		select {
		case <-initial:
		case <-ctx.Done():
			n.Close()
			return nil, ctx.Err()
		}
	}
	if cfg.Role == RoleData {
		if n.sub, err = cfg.Conn.Subscribe(n.rpcSubject(cfg.Node), n.serveRPC); err != nil {
			n.Close()
			return nil, fmt.Errorf("cluster: %w", err)
		}
	}
	switch cfg.Role {
	case RoleData:
		n.wg.Add(3)
		go n.heartbeatLoop()
		go n.rebalanceLoop()
		go n.reconcileLoop()
	case RoleEncoder:
		n.wg.Add(2)
		go n.heartbeatLoop()
		go n.workLoop()
	}
	return n, nil
}

// retry runs f until it succeeds or ctx ends, backing off up to 1s:
// JetStream answers "temporarily unavailable" while it elects leaders.
func retry(ctx context.Context, f func(ctx context.Context) error) error {
	wait := 50 * time.Millisecond
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := f(cctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// Close stops the node's replicas and background work; it leaves the
// cluster map as it is (the node is still a member, down until it
// returns). The engine and the NATS connection are the caller's.
func (n *Node) Close() error {
	if n.closed.Swap(true) {
		return nil
	}
	if n.sub != nil {
		n.sub.Unsubscribe()
	}
	if n.beatSub != nil {
		n.beatSub.Unsubscribe()
	}
	n.cancel()
	n.wg.Wait()
	n.mu.Lock()
	reps := n.replicas
	n.replicas = map[string]*replica{}
	n.mu.Unlock()
	for _, r := range reps {
		r.stop()
	}
	return nil
}

// Engine is the node's local engine.
func (n *Node) Engine() *engine.Engine { return n.eng }

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Node }

func (n *Node) beat(ctx context.Context) error {
	rec := nodeRecord{Name: n.cfg.Node, Addr: n.cfg.Addr, Role: n.cfg.Role, Started: n.started, Applied: n.appliedMap()}
	b, err := jsonMarshal(rec)
	if err != nil {
		return err
	}
	// Liveness travels on core NATS (no quorum needed: a heartbeat must
	// not stall while a bucket elects a leader); the KV record keeps the
	// membership for nodes that join later and for the rebalancer.
	n.nc.Publish(n.beatSubject(), b)
	cctx, cancel := context.WithTimeout(ctx, n.cfg.HeartbeatEvery*3)
	defer cancel()
	_, err = n.nodes.Put(cctx, n.cfg.Node, b)
	return err
}

func (n *Node) beatSubject() string { return "rosetta." + n.cfg.Name + ".beat" }

// onBeat takes a heartbeat published on core NATS.
func (n *Node) onBeat(m *nats.Msg) {
	var r nodeRecord
	if err := jsonUnmarshal(m.Data, &r); err != nil || r.Name == "" {
		return
	}
	r.seen = time.Now()
	n.mu.Lock()
	if old := n.peers[r.Name]; old == nil || !old.seen.After(r.seen) {
		n.peers[r.Name] = &r
	}
	n.mu.Unlock()
}

func (n *Node) heartbeatLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
			if err := n.beat(n.ctx); err != nil && n.ctx.Err() == nil {
				n.log.Warn("heartbeat failed", "err", err)
			}
			n.refresh(n.nodes, n.putPeer)
		}
	}
}

// watch feeds a bucket's changes to put until the node closes; it
// signals initial once the bucket's current values are delivered.
func (n *Node) watch(w jetstream.KeyWatcher, initial chan<- struct{}, put func(jetstream.KeyValueEntry)) {
	defer n.wg.Done()
	defer w.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil {
				initial <- struct{}{}
				n.kick()
				continue
			}
			put(e)
		}
	}
}

// putColl takes a collection record from the meta bucket.
func (n *Node) putColl(e jetstream.KeyValueEntry) {
	name, found := cutPrefix(e.Key(), "coll.")
	if !found {
		return
	}
	n.mu.Lock()
	if e.Operation() != jetstream.KeyValuePut {
		if old := n.colls[name]; old != nil && old.rev < e.Revision() {
			delete(n.colls, name)
		}
	} else if r, err := decodeRecord(e.Value(), e.Revision()); err != nil {
		n.log.Error("bad collection record in the cluster map", "collection", name, "err", err)
	} else if old := n.colls[name]; old == nil || old.rev < r.rev {
		n.colls[name] = r
	}
	n.mu.Unlock()
	n.kick()
}

// putPeer takes a heartbeat from the nodes bucket.
func (n *Node) putPeer(e jetstream.KeyValueEntry) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut {
		delete(n.peers, e.Key())
		return
	}
	var r nodeRecord
	if err := jsonUnmarshal(e.Value(), &r); err != nil {
		return
	}
	if old := n.peers[e.Key()]; old != nil && !old.seen.Before(e.Created()) {
		return
	}
	r.seen = e.Created()
	n.peers[e.Key()] = &r
}

// refresh reads a whole bucket. The watchers deliver changes as they
// happen, but a watcher can stall for a while when its stream's leader
// moves; heartbeats and the shard map must not.
func (n *Node) refresh(kv jetstream.KeyValue, put func(jetstream.KeyValueEntry)) {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.HeartbeatEvery*2)
	defer cancel()
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return
	}
	var names []string
	for k := range keys.Keys() {
		names = append(names, k)
	}
	for _, k := range names {
		if e, err := kv.Get(ctx, k); err == nil {
			put(e)
		}
	}
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

// kick asks the reconciler to compare the replicas here with the map.
func (n *Node) kick() {
	select {
	case n.reconcileC <- struct{}{}:
	default:
	}
}

// live reports whether a node's last heartbeat is recent.
func (n *Node) live(name string) bool {
	if name == n.cfg.Node {
		return !n.closed.Load()
	}
	n.mu.RLock()
	p := n.peers[name]
	n.mu.RUnlock()
	return p != nil && time.Since(p.seen) < n.cfg.NodeTTL
}

// dataNodes returns the data nodes seen within d, sorted.
func (n *Node) dataNodes(d time.Duration) []string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	var out []string
	for name, p := range n.peers {
		if p.Role == RoleData && time.Since(p.seen) < d {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// record is a collection's record as this node last saw it.
func (n *Node) record(name string) (*collRecord, error) {
	if n.closed.Load() {
		return nil, engine.ErrClosed
	}
	n.mu.RLock()
	r := n.colls[name]
	n.mu.RUnlock()
	if r != nil {
		return r, nil
	}
	// The watcher may not have delivered a collection created a moment
	// ago through another node: ask the bucket.
	if !engine.ValidName(name) {
		return nil, fmt.Errorf("%w: collection %q not found", engine.ErrNotFound, name)
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.RequestTimeout)
	defer cancel()
	// KV reads may be served by a bucket replica a few milliseconds
	// behind the leader: a collection just created through another node
	// can look absent for a moment.
	var e jetstream.KeyValueEntry
	var err error
	for try := 0; ; try++ {
		e, err = n.meta.Get(ctx, collKey(name))
		if !errors.Is(err, jetstream.ErrKeyNotFound) || try == 5 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: collection %q not found", engine.ErrNotFound, name)
	}
	if err != nil {
		return nil, unavailable("reading the cluster map", err)
	}
	if r, err = decodeRecord(e.Value(), e.Revision()); err != nil {
		return nil, fmt.Errorf("%w: collection %q: bad record: %v", engine.ErrUnavailable, name, err)
	}
	n.mu.Lock()
	if old := n.colls[name]; old == nil || old.rev < r.rev {
		n.colls[name] = r
	} else {
		r = old
	}
	n.mu.Unlock()
	return r, nil
}

// randID is a fresh id for an object written with neither id nor key.
func randID() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		if id := binary.LittleEndian.Uint64(b[:]) & idMask; id != 0 {
			return id
		}
	}
}

// unavailable words a failure to reach the log or a replica.
func unavailable(what string, err error) error {
	if errors.Is(err, engine.ErrInvalid) || errors.Is(err, engine.ErrNotFound) {
		return err
	}
	return fmt.Errorf("%w: %s: %v", engine.ErrUnavailable, what, err)
}
