package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rosetta/engine"
)

// load writes batches and runs searches through the running nodes until
// stopped, recording every key whose write was acknowledged.
type load struct {
	h        *harness
	coll     string
	via      func() int // which node coordinates the next request (-1: none)
	mu       sync.Mutex
	acked    []string
	failed   atomic.Int64 // writes refused (a node down or cut off)
	searches atomic.Int64
	sfailed  atomic.Int64
	stop     chan struct{}
	wg       sync.WaitGroup
	batch    atomic.Int64
	pause    sync.RWMutex // held (read) by a writer per batch; Lock pauses writes
}

func startLoad(h *harness, coll string, via func() int) *load {
	l := &load{h: h, coll: coll, via: via, stop: make(chan struct{})}
	for w := 0; w < 2; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				i := l.via()
				if i < 0 {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				b := l.batch.Add(1)
				var objs []engine.Object
				for k := 0; k < 10; k++ {
					objs = append(objs, obj(fmt.Sprintf("%s-b%d-%d", coll, b, k)))
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				l.pause.RLock()
				_, err := h.get(i).node.Upsert(ctx, coll, objs)
				l.pause.RUnlock()
				cancel()
				if err != nil {
					l.failed.Add(1)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				l.mu.Lock()
				for _, o := range objs {
					l.acked = append(l.acked, o.Key)
				}
				l.mu.Unlock()
			}
		}()
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		r := rand.New(rand.NewSource(1))
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			i := l.via()
			if i < 0 {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := h.get(i).node.SearchPage(ctx, coll, engine.SearchRequest{Query: engine.Query{Vector: vec(fmt.Sprint(r.Int()))}, K: 10})
			cancel()
			l.searches.Add(1)
			if err != nil {
				l.sfailed.Add(1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return l
}

func (l *load) end() []string {
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.acked...)
}

func (l *load) ackedNow() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.acked...)
}

// runningVia picks a random running node (guarded by mu, as the test
// stops and starts nodes).
type picker struct {
	mu   sync.Mutex
	up   map[int]bool
	r    *rand.Rand
	only int // while up, every request goes through it
}

func newPicker(n int) *picker {
	p := &picker{up: map[int]bool{}, r: rand.New(rand.NewSource(3)), only: -1}
	for i := 0; i < n; i++ {
		p.up[i] = true
	}
	return p
}

func (p *picker) set(i int, up bool) {
	p.mu.Lock()
	p.up[i] = up
	p.mu.Unlock()
}

func (p *picker) pick() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.only >= 0 && p.up[p.only] {
		return p.only
	}
	var c []int
	for i, up := range p.up {
		if up {
			c = append(c, i)
		}
	}
	if len(c) == 0 {
		return -1
	}
	return c[p.r.Intn(len(c))]
}

// checkAll waits until every replica of every shard holds the same
// objects and every acknowledged key is among them.
func checkAll(t *testing.T, h *harness, coll string, acked []string, within time.Duration) {
	t.Helper()
	waitFor(t, within, "convergence with every acknowledged write", func() error {
		got, err := h.converged(coll)
		if err != nil {
			return err
		}
		missing := 0
		for _, k := range acked {
			if !got[k] {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d acknowledged keys missing", missing, len(acked))
		}
		return nil
	})
}

// shardLeader is the node whose NATS server leads shard s's stream.
func shardLeader(t *testing.T, n *Node, coll string, s int) string {
	t.Helper()
	var leader string
	waitFor(t, 30*time.Second, "the stream's leader", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := n.js.Stream(ctx, n.streamName(coll, s))
		if err != nil {
			return err
		}
		info := st.CachedInfo()
		if info.Cluster == nil || info.Cluster.Leader == "" {
			return fmt.Errorf("stream %s has no leader", n.streamName(coll, s))
		}
		leader = info.Cluster.Leader
		return nil
	})
	return leader
}

func index(h *harness, name string) int {
	for i, tn := range h.nodes {
		if tn.name == name {
			return i
		}
	}
	return -1
}

// TestClusterKills stops, during concurrent upserts and searches, the
// node whose server leads a shard stream, then a replica, then the node
// coordinating the writes; searches keep answering (recall@10 ≥ 0.95
// against exact search over what was acknowledged) while a node is down;
// every acknowledged write ends up on every replica, whose digests match;
// each stopped node restarts and catches up.
func TestClusterKills(t *testing.T) {
	if testing.Short() {
		t.Skip("kill tests take a minute")
	}
	h := newHarness(t, 3)
	ctx := context.Background()
	if _, err := h.nodes[0].node.CreateCollection(ctx, testSchema("k", 3, 2)); err != nil {
		t.Fatal(err)
	}
	p := newPicker(3)
	l := startLoad(h, "k", p.pick)
	time.Sleep(1500 * time.Millisecond)

	kill := func(what string, i int) {
		t.Helper()
		t.Logf("stopping %s %s with %d writes acknowledged", what, h.nodes[i].name, len(l.ackedNow()))
		p.set(i, false)
		start := time.Now()
		h.stop(i)
		// Writes resume through the others: the failover time.
		before := len(l.ackedNow())
		waitFor(t, 30*time.Second, "writes after "+what+" stop", func() error {
			if len(l.ackedNow()) < before+20 {
				return errors.New("no write acknowledged yet")
			}
			return nil
		})
		t.Logf("writes resumed %s after stopping %s", time.Since(start).Round(time.Millisecond), what)
		// Searches answer while it is down, with recall over what was
		// acknowledged (read_your_writes: replicas have applied it).
		p.mu.Lock()
		only := p.only
		p.only = -1
		p.mu.Unlock()
		live := h.nodes[p.pick()].node
		p.mu.Lock()
		p.only = only
		p.mu.Unlock()
		l.pause.Lock()
		keys := l.ackedNow()
		if r := recallRYW(t, live, "k", stableUnion(t, live, "k", keys), 20); r < 0.95 {
			t.Fatalf("recall@10 with %s down: %.3f", what, r)
		}
		l.pause.Unlock()
		time.Sleep(time.Second)
		start = time.Now()
		if err := h.start(i); err != nil {
			t.Fatal(err)
		}
		p.set(i, true)
		t.Logf("%s restarted in %s", what, time.Since(start).Round(time.Millisecond))
	}
	leader := index(h, shardLeader(t, h.nodes[0].node, "k", 0))
	kill("the stream leader", leader)
	replica := (leader + 1) % 3
	kill("a replica", replica)
	// The coordinator: every write goes through one node, which stops.
	coord := (leader + 2) % 3
	p.mu.Lock()
	p.only = coord
	p.mu.Unlock()
	kill("the coordinator", coord)

	acked := l.end()
	t.Logf("%d writes acknowledged, %d refused; %d searches, %d failed", len(acked), l.failed.Load(), l.searches.Load(), l.sfailed.Load())
	checkAll(t, h, "k", acked, 60*time.Second)
	for _, i := range h.running() {
		if r := recallRYW(t, h.nodes[i].node, "k", stableUnion(t, h.nodes[i].node, "k", acked), 20); r < 0.95 {
			t.Fatalf("recall@10 after recovery on %s: %.3f", h.nodes[i].name, r)
		}
	}
}

// recallRYW is recall with read_your_writes searches.
func recallRYW(t *testing.T, n *Node, coll string, keys []string, queries int) float64 {
	t.Helper()
	return recallWith(t, n, coll, keys, queries, engine.ConsistencyReadYourWrites)
}

// stableUnion waits (writes paused) until the listing holds every
// acknowledged key and stops growing: listing reads replicas without
// waiting for them to apply.
func stableUnion(t *testing.T, n *Node, coll string, acked []string) []string {
	t.Helper()
	var keys []string
	waitFor(t, 20*time.Second, "a stable listing", func() error {
		a := union(t, n, coll, nil)
		have := map[string]bool{}
		for _, k := range a {
			have[k] = true
		}
		for _, k := range acked {
			if !have[k] {
				return fmt.Errorf("acknowledged %s not listed yet", k)
			}
		}
		time.Sleep(300 * time.Millisecond)
		if b := union(t, n, coll, nil); len(b) != len(a) {
			return errors.New("still growing")
		}
		keys = a
		return nil
	})
	return keys
}

// union lists every key the cluster holds (writes whose acknowledgement
// was lost are there too: exact search runs over what is stored) and
// checks that every acknowledged key is among them.
func union(t *testing.T, n *Node, coll string, acked []string) []string {
	t.Helper()
	var keys []string
	have := map[string]bool{}
	after := uint64(0)
	for {
		page, err := n.ListObjects(context.Background(), coll, after, 1000)
		if err != nil {
			t.Fatalf("list on %s: %v", n.Name(), err)
		}
		for _, o := range page {
			keys = append(keys, o.Key)
			have[o.Key] = true
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	for _, k := range acked {
		if !have[k] {
			t.Fatalf("acknowledged key %s is not listed by %s", k, n.Name())
		}
	}
	return keys
}
