package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rosetta/engine"
)

// TestClusterFigures measures what bench/RESULTS.md §16 records: write
// throughput and search latency for 1, 3 and 6 nodes on loopback, the
// failover time after the stream leader of a shard stops, the catch-up
// rate of a restarted replica, and the size of the cluster map in KV. It
// runs only with ROSETTA_CLUSTER_FIGURES=1 (minutes; nothing else should
// run meanwhile) and prints one JSON line per figure.
//
//	ROSETTA_CLUSTER_FIGURES=1 go test ./cluster -run TestClusterFigures -v -timeout 30m
//
// (=throughput, =failover or =catchup runs one part.)
func TestClusterFigures(t *testing.T) {
	if os.Getenv("ROSETTA_CLUSTER_FIGURES") == "" {
		t.Skip("set ROSETTA_CLUSTER_FIGURES=1 to measure")
	}
	dim := 512
	if d := os.Getenv("ROSETTA_CLUSTER_DIM"); d != "" {
		fmt.Sscan(d, &dim)
	}
	which := os.Getenv("ROSETTA_CLUSTER_FIGURES") // 1 (all), or throughput, failover, catchup
	if which == "1" || which == "throughput" {
		for _, n := range []int{1, 3, 6} {
			figureThroughput(t, n, dim)
		}
	}
	if which == "1" || which == "failover" {
		figureFailover(t, dim)
	}
	if which == "1" || which == "catchup" {
		figureCatchUp(t, dim)
	}
}

func emit(t *testing.T, v map[string]any) {
	b, _ := json.Marshal(v)
	t.Log(string(b))
	fmt.Println(string(b))
}

func randVec(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	c := r.Intn(64)
	for i := range v {
		v[i] = float32(r.NormFloat64()) * 0.2
	}
	v[c%dim] += 1
	return v
}

func bigSchema(name string, dim, shards, replicas int) engine.Collection {
	return engine.Collection{Name: name, Shards: shards, Replicas: replicas, Spaces: []engine.Space{{Name: "v", Dim: dim}}}
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[min(len(d)-1, int(p*float64(len(d))))]
}

// writeTotal is how many objects the throughput figure writes.
const writeTotal = 20000

// figureThroughput: 4 writers of 100-object batches, through every node
// in turn, until writeTotal objects are acknowledged; the time until
// every replica has applied them; then 4 searchers (k 10, eventual) for
// 10 s.
func figureThroughput(t *testing.T, n, dim int) {
	h := newHarness(t, n)
	defer h.closeAll()
	ctx := context.Background()
	replicas := min(2, n)
	if _, err := h.nodes[0].node.CreateCollection(ctx, bigSchema("f", dim, n, replicas)); err != nil {
		t.Fatal(err)
	}
	var objs atomic.Int64
	var wlat []time.Duration
	var mu sync.Mutex
	begin := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(w)))
			for b := 0; objs.Load() < writeTotal; b++ {
				batch := make([]engine.Object, 100)
				for i := range batch {
					batch[i] = engine.Object{Key: fmt.Sprintf("w%d-%d-%d", w, b, i), Vectors: map[string][]float32{"v": randVec(r, dim)}}
				}
				t0 := time.Now()
				if _, err := h.nodes[(w+b)%n].node.Upsert(ctx, "f", batch); err != nil {
					t.Errorf("upsert: %v", err)
					return
				}
				mu.Lock()
				wlat = append(wlat, time.Since(t0))
				mu.Unlock()
				objs.Add(100)
			}
		}()
	}
	wg.Wait()
	el := time.Since(begin)
	// Let the replicas apply everything before the searches.
	waitFor(t, 300*time.Second, "apply", func() error {
		keys, err := h.converged("f")
		if err == nil && int64(len(keys)) < objs.Load() {
			err = fmt.Errorf("%d of %d applied", len(keys), objs.Load())
		}
		return err
	})
	applied := time.Since(begin)
	var slat []time.Duration
	sstop := time.Now().Add(10 * time.Second)
	var searches atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(100 + w)))
			var mine []time.Duration
			for i := 0; time.Now().Before(sstop); i++ {
				t0 := time.Now()
				if _, err := h.nodes[(w+i)%n].node.SearchPage(ctx, "f", engine.SearchRequest{Query: engine.Query{Vector: randVec(r, dim)}, K: 10}); err != nil {
					t.Errorf("search: %v", err)
					return
				}
				mine = append(mine, time.Since(t0))
				searches.Add(1)
			}
			mu.Lock()
			slat = append(slat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	emit(t, map[string]any{"figure": "throughput", "nodes": n, "shards": n, "replicas": replicas, "dim": dim,
		"objects": objs.Load(), "write_objects_per_s": float64(objs.Load()) / el.Seconds(),
		"applied_everywhere_s": applied.Seconds(), "applied_objects_per_s": float64(objs.Load()) / applied.Seconds(),
		"write_batch_p50_ms": ms(pct(wlat, 0.5)), "write_batch_p99_ms": ms(pct(wlat, 0.99)),
		"searches_per_s": float64(searches.Load()) / 10, "search_p50_ms": ms(pct(slat, 0.5)), "search_p99_ms": ms(pct(slat, 0.99))})
	if n == 3 {
		figureKV(t, h)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// figureKV: the bytes the cluster map takes in KV with this collection.
func figureKV(t *testing.T, h *harness) {
	ctx := context.Background()
	n := h.nodes[0].node
	var total uint64
	out := map[string]any{"figure": "kv_bytes"}
	for _, kv := range []string{"meta", "nodes", "lease"} {
		st, err := n.js.Stream(ctx, "KV_"+n.prefix()+"-"+kv)
		if err != nil {
			t.Fatal(err)
		}
		b := st.CachedInfo().State.Bytes
		out[kv] = b
		total += b
	}
	out["total"] = total
	r, _ := n.record("f")
	out["collection_record_bytes"] = len(encodeRecord(r))
	out["shards"] = r.Shards
	emit(t, out)
}

// figureFailover: a writer writes one-object batches to shard 0 through
// a node that is not the shard's stream leader; the leader's routes are
// all cut (the others see what a kill shows them);
// the failover time is from the stop to the first acknowledged write
// after it. Three rounds.
func figureFailover(t *testing.T, dim int) {
	for round := 0; round < 3; round++ {
		h := newHarness(t, 3)
		ctx := context.Background()
		if _, err := h.nodes[0].node.CreateCollection(ctx, bigSchema("fo", dim, 1, 3)); err != nil {
			t.Fatal(err)
		}
		leader := index(h, shardLeader(t, h.nodes[0].node, "fo", 0))
		via := (leader + 1) % 3
		r := rand.New(rand.NewSource(int64(round)))
		write := func() error {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err := h.nodes[via].node.Upsert(cctx, "fo", []engine.Object{{Vectors: map[string][]float32{"v": randVec(r, dim)}}})
			return err
		}
		for i := 0; i < 50; i++ {
			if err := write(); err != nil {
				t.Fatal(err)
			}
		}
		// A crash, as the others see it: every route of the leader's
		// server closes at once (a clean Shutdown would hand the
		// leadership over first, which is not what a kill does).
		h.partition(leader, true)
		start := time.Now()
		fails := 0
		for write() != nil {
			fails++
			if time.Since(start) > time.Minute {
				t.Fatal("no write within a minute of the leader stopping")
			}
		}
		emit(t, map[string]any{"figure": "failover", "round": round, "failover_ms": ms(time.Since(start)), "failed_writes": fails,
			"new_leader": shardLeader(t, h.nodes[via].node, "fo", 0)})
		h.closeAll()
	}
}

// figureCatchUp: one node stops, 20 000 objects are written, the node
// restarts; the rate is objects applied per second from its restart to
// its replicas reaching the log's end.
func figureCatchUp(t *testing.T, dim int) {
	// The stopped node keeps its replicas (no move while it is down).
	h := newHarness(t, 3, func(c *Config) { c.MoveAfter = time.Hour })
	defer h.closeAll()
	ctx := context.Background()
	if _, err := h.nodes[0].node.CreateCollection(ctx, bigSchema("cu", dim, 3, 3)); err != nil {
		t.Fatal(err)
	}
	h.stop(2)
	r := rand.New(rand.NewSource(9))
	const total = 20000
	for b := 0; b < total/200; b++ {
		batch := make([]engine.Object, 200)
		for i := range batch {
			batch[i] = engine.Object{Key: fmt.Sprintf("c%d-%d", b, i), Vectors: map[string][]float32{"v": randVec(r, dim)}}
		}
		if _, err := h.nodes[b%2].node.Upsert(ctx, "cu", batch); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := h.start(2); err != nil {
		t.Fatal(err)
	}
	restarted := time.Since(start)
	rec, err := h.nodes[0].node.record("cu")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Minute, "catch-up", func() error {
		for s := 0; s < 3; s++ {
			last := h.nodes[0].node.lastSeq(ctx, "cu", s)
			a, err := h.nodes[2].eng.Applied(rec.local(s))
			if err != nil {
				return err
			}
			if a < last {
				return fmt.Errorf("shard %d at %d of %d", s, a, last)
			}
		}
		return nil
	})
	el := time.Since(start)
	emit(t, map[string]any{"figure": "catch_up", "objects": total, "dim": dim, "restart_ms": ms(restarted),
		"catch_up_s": el.Seconds(), "objects_per_s": float64(total) / el.Seconds()})
}
