package cluster

import (
	"context"
	"fmt"
	"hash/fnv"
	"image"
	"io"
	"log/slog"
	"math"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"rosetta/engine"
	"rosetta/internal/testnet"
)

// deadRoute is an address nobody listens on (port 1), for servers that
// route ("" for a standalone one).
func deadRoute(route string) string {
	if route == "" {
		return ""
	}
	return "127.0.0.1:1"
}

// The harness runs N embedded NATS servers and N Rosetta nodes in the
// test process, on loopback. Every route between two servers goes
// through a TCP proxy the test can cut, in both directions (see
// deadRoute), so a node can be partitioned away.

type proxy struct {
	listen, target string
	mu             sync.Mutex
	ln             net.Listener
	conns          map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{listen: ln.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	p.serve(ln)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[u] = true, true
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close(); c.Close() }()
			go func() { io.Copy(c, u); u.Close(); c.Close() }()
		}
	}()
}

// cut closes the listener and every connection through it.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// heal listens again on the same address.
func (p *proxy) heal(t *testing.T) {
	for i := 0; ; i++ {
		ln, err := net.Listen("tcp", p.listen)
		if err == nil {
			p.serve(ln)
			return
		}
		if i > 100 {
			t.Fatalf("proxy %s: %v", p.listen, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type testNode struct {
	name      string
	dir       string
	client    string // NATS client address
	route     string // NATS route address
	ns        *server.Server
	nc        *nats.Conn
	eng       *engine.Engine
	node      *Node
	running   bool
	peerProxy []string // route addresses (through proxies) of the others
}

type harness struct {
	t       *testing.T
	mu      sync.RWMutex // guards the nodes slice (addNode grows it under load)
	nodes   []*testNode
	proxies map[[2]int]*proxy // [from][to]
	cfg     func(*Config)
}

// freeAddr is a loopback address to listen on later (testnet.FreeAddr).
func freeAddr(t *testing.T) string { return testnet.FreeAddr(t) }

func quiet() *slog.Logger {
	if os.Getenv("ROSETTA_CLUSTER_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newHarness starts n NATS servers (routed through proxies) and n nodes.
// Extra nodes added later (addNode) route to every earlier one.
func newHarness(t *testing.T, n int, cfg ...func(*Config)) *harness {
	h := &harness{t: t, proxies: map[[2]int]*proxy{}}
	if len(cfg) > 0 {
		h.cfg = cfg[0]
	}
	for i := 0; i < n; i++ {
		tn := &testNode{name: fmt.Sprintf("n%d", i+1), dir: t.TempDir(), client: freeAddr(t)}
		if n > 1 {
			tn.route = freeAddr(t) // one node runs a standalone JetStream server
		}
		h.nodes = append(h.nodes, tn)
	}
	for i := range h.nodes {
		for j := range h.nodes {
			if i != j {
				p := newProxy(t, h.nodes[j].route)
				h.proxies[[2]int{i, j}] = p
				h.nodes[i].peerProxy = append(h.nodes[i].peerProxy, p.listen)
			}
		}
	}
	t.Cleanup(h.closeAll)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range h.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = h.start(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func (h *harness) config(tn *testNode) Config {
	c := Config{Name: "test", Node: tn.name, Addr: tn.client, Engine: tn.eng, Conn: tn.nc, Logger: quiet(),
		StreamReplicas: min(3, len(h.nodes)), HeartbeatEvery: 200 * time.Millisecond, NodeTTL: 1500 * time.Millisecond,
		MoveAfter: 4 * time.Second, RequestTimeout: 3 * time.Second, WaitApplied: 10 * time.Second, CatchUpLag: 2}
	if h.cfg != nil {
		h.cfg(&c)
	}
	return c
}

// start starts node i's NATS server, engine and cluster node.
func (h *harness) start(i int) error {
	tn := h.nodes[i]
	// Servers gossip the routes they accept, and a server that learns of
	// a peer it is not connected to dials the gossiped address directly,
	// around the proxies; advertising a dead address keeps every route on
	// the proxies, so a partition is one.
	ns, err := StartNATS(NATSConfig{Cluster: "test", Node: tn.name, Listen: tn.client, ClusterListen: tn.route,
		Peers: tn.peerProxy, Dir: filepath.Join(tn.dir, "nats"), RouteAdvertise: deadRoute(tn.route)})
	if err != nil {
		return err
	}
	tn.ns = ns
	nc, err := nats.Connect("nats://"+tn.client, nats.DontRandomize(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		return err
	}
	tn.nc = nc
	eng, err := engine.Open(engine.Options{Dir: filepath.Join(tn.dir, "rosetta"), Logger: quiet(), SnapshotEvery: -1, LoadModel: loadFake})
	if err != nil {
		return err
	}
	tn.eng = eng
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	node, err := Open(ctx, h.config(tn))
	if err != nil {
		return fmt.Errorf("node %s: %w", tn.name, err)
	}
	tn.node = node
	tn.running = true
	return nil
}

// stop stops node i: cluster node, engine, connection and NATS server,
// as a crash of the whole process would (the engine's snapshot on close
// aside; TestClusterSIGKILL in cmd/rosetta kills a real process).
func (h *harness) stop(i int) {
	tn := h.nodes[i]
	if !tn.running {
		return
	}
	tn.running = false
	tn.node.Close()
	tn.nc.Close()
	tn.eng.Close()
	tn.ns.Shutdown()
	tn.ns.WaitForShutdown()
}

func (h *harness) closeAll() {
	for i := range h.nodes {
		h.stop(i)
	}
	for _, p := range h.proxies {
		p.cut()
	}
}

// partition cuts (or heals) every route between node i and the others.
func (h *harness) partition(i int, cut bool) {
	for k, p := range h.proxies {
		if k[0] == i || k[1] == i {
			if cut {
				p.cut()
			} else {
				p.heal(h.t)
			}
		}
	}
}

// addNode starts one more node routed to every existing one (and they,
// through new proxies, to it: their routes list is static, so the new
// server dials them and they accept).
func (h *harness) addNode() int {
	i := len(h.nodes)
	tn := &testNode{name: fmt.Sprintf("n%d", i+1), dir: h.t.TempDir(), client: freeAddr(h.t), route: freeAddr(h.t)}
	h.mu.Lock()
	h.nodes = append(h.nodes, tn)
	h.mu.Unlock()
	for j := 0; j < i; j++ {
		p := newProxy(h.t, h.nodes[j].route)
		h.proxies[[2]int{i, j}] = p
		tn.peerProxy = append(tn.peerProxy, p.listen)
	}
	if err := h.start(i); err != nil {
		h.t.Fatal(err)
	}
	return i
}

// get is node i, for goroutines that run while addNode may grow the list.
func (h *harness) get(i int) *testNode {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.nodes[i]
}

func (h *harness) running() []int {
	var out []int
	for i, tn := range h.nodes {
		if tn.running {
			out = append(out, i)
		}
	}
	return out
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const testDim = 16

func testSchema(name string, shards, replicas int) engine.Collection {
	return engine.Collection{Name: name, Shards: shards, Replicas: replicas,
		Spaces: []engine.Space{{Name: "v", Dim: testDim}}}
}

// vec is the deterministic vector of key k: clustered so an HNSW search
// has work to do.
func vec(k string) []float32 {
	h := fnv.New64a()
	h.Write([]byte(k))
	r := rand.New(rand.NewSource(int64(h.Sum64())))
	v := make([]float32, testDim)
	c := r.Intn(8)
	for i := range v {
		v[i] = float32(r.NormFloat64()) * 0.3
	}
	v[c] += 2
	return v
}

func obj(k string) engine.Object {
	return engine.Object{Key: k, Vectors: map[string][]float32{"v": vec(k)}, Metadata: map[string]any{"k": k}}
}

// digest hashes (id, key, updated) over one local shard collection.
func digest(e *engine.Engine, local string) (uint64, int, error) {
	type row struct {
		id  uint64
		key string
		up  int64
	}
	var rows []row
	err := e.ScanObjects(engine.Trusted(context.Background()), local, func(o engine.Object) error {
		rows = append(rows, row{o.ID, o.Key, o.Updated.UnixNano()})
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].id < rows[j].id })
	h := fnv.New64a()
	for _, r := range rows {
		fmt.Fprintf(h, "%d/%s/%d;", r.id, r.key, r.up)
	}
	return h.Sum64(), len(rows), nil
}

// converged checks that every replica of every shard (in the view of the
// first running node) holds the same objects, and returns the keys held.
func (h *harness) converged(coll string) (map[string]bool, error) {
	var view *Node
	for _, i := range h.running() {
		view = h.nodes[i].node
		break
	}
	r, err := view.record(coll)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for s := 0; s < r.Shards; s++ {
		if len(r.Joining[s]) > 0 {
			return nil, fmt.Errorf("shard %d has joining replicas %v", s, r.Joining[s])
		}
		var first uint64
		for k, m := range r.Serving[s] {
			tn := h.byName(m)
			if tn == nil || !tn.running {
				return nil, fmt.Errorf("shard %d: serving node %s is not running", s, m)
			}
			d, cnt, err := digest(tn.eng, r.local(s))
			if err != nil {
				return nil, fmt.Errorf("shard %d on %s: %v", s, m, err)
			}
			if k == 0 {
				first = d
				e := tn.eng
				e.ScanObjects(engine.Trusted(context.Background()), r.local(s), func(o engine.Object) error {
					keys[o.Key] = true
					return nil
				})
			} else if d != first {
				return nil, fmt.Errorf("shard %d: replica %s differs (%d objects)", s, m, cnt)
			}
		}
	}
	return keys, nil
}

func (h *harness) byName(name string) *testNode {
	for _, tn := range h.nodes {
		if tn.name == name {
			return tn
		}
	}
	return nil
}

// recall checks searches against exact search over the keys written.
func recall(t *testing.T, n *Node, coll string, keys []string, queries int) float64 {
	t.Helper()
	return recallWith(t, n, coll, keys, queries, "")
}

func recallWith(t *testing.T, n *Node, coll string, keys []string, queries int, consistency string) float64 {
	t.Helper()
	if len(keys) == 0 {
		return 1
	}
	r := rand.New(rand.NewSource(7))
	found, total := 0, 0
	for q := 0; q < queries; q++ {
		qv := vec(fmt.Sprintf("query-%d", r.Int()))
		type kd struct {
			id uint64
			d  float64
		}
		exact := make([]kd, len(keys))
		for i, k := range keys {
			exact[i] = kd{keyID(k), cosDist(qv, vec(k))}
		}
		sort.Slice(exact, func(i, j int) bool { return exact[i].d < exact[j].d })
		k := min(10, len(exact))
		p, err := n.SearchPage(context.Background(), coll, engine.SearchRequest{Query: engine.Query{Vector: qv}, K: k, Consistency: consistency})
		if err != nil {
			t.Fatalf("search on %s: %v", n.Name(), err)
		}
		got := map[uint64]bool{}
		for _, hit := range p.Hits {
			got[hit.ID] = true
		}
		for _, e := range exact[:k] {
			if got[e.id] {
				found++
			}
		}
		total += k
	}
	return float64(found) / float64(total)
}

func cosDist(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return 1 - d/math.Sqrt(na*nb)
}

// fakeModel embeds a text as vec(text) and an image by its size and
// first pixel, so tests can check what an encoder wrote.
type fakeModel struct{}

func loadFake(name string) (engine.Encoder, error) {
	if name != "fake" {
		return nil, fmt.Errorf("%w: no model %q", engine.ErrNotFound, name)
	}
	return fakeModel{}, nil
}

func (fakeModel) Dim() int { return testDim }

func (fakeModel) EmbedTexts(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = vec(t)
	}
	return out, nil
}

func (fakeModel) EmbedImages(_ context.Context, imgs []image.Image) ([][]float32, error) {
	out := make([][]float32, len(imgs))
	for i, im := range imgs {
		r, g, b, _ := im.At(0, 0).RGBA()
		out[i] = vec(fmt.Sprintf("image-%v-%d-%d-%d", im.Bounds().Size(), r, g, b))
	}
	return out, nil
}

// encoderNode is an encoder worker connected to data node i's NATS server.
type encoderNode struct {
	eng  *engine.Engine
	nc   *nats.Conn
	node *Node
}

func (h *harness) startEncoder(name string, i int) *encoderNode {
	nc, err := nats.Connect("nats://"+h.nodes[i].client, nats.DontRandomize(), nats.MaxReconnects(-1))
	if err != nil {
		h.t.Fatal(err)
	}
	eng, err := engine.Open(engine.Options{Dir: h.t.TempDir(), Logger: quiet(), SnapshotEvery: -1, LoadModel: loadFake})
	if err != nil {
		h.t.Fatal(err)
	}
	tn := &testNode{name: name, eng: eng, nc: nc}
	c := h.config(tn)
	c.Role, c.WorkAckWait = RoleEncoder, 2*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node, err := Open(ctx, c)
	if err != nil {
		h.t.Fatal(err)
	}
	en := &encoderNode{eng: eng, nc: nc, node: node}
	h.t.Cleanup(en.stop)
	return en
}

func (en *encoderNode) stop() {
	en.node.Close()
	en.nc.Close()
	en.eng.Close()
}
