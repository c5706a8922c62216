package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"rosetta/api"
)

// clusterProc is one `rosetta serve --cluster` process.
type clusterProc struct {
	name, dir, addr, nats, route, monitor string
	peers                                 []string
	cmd                                   *exec.Cmd
	extra                                 []string
}

func (p *clusterProc) args() []string {
	a := []string{"serve", "--data", p.dir, "--addr", p.addr, "--cluster", "e2e", "--node", p.name,
		"--nats-listen", p.nats, "--nats-cluster-listen", p.route, "--nats-peers", strings.Join(p.peers, ","),
		"--nats-monitor-listen", p.monitor,
		"--log-level", "warn", "--heartbeat", "200ms", "--node-ttl", "1500ms", "--move-after", "6s"}
	return append(a, p.extra...)
}

func (p *clusterProc) start(t *testing.T, bin string) {
	t.Helper()
	p.cmd = exec.Command(bin, p.args()...)
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

func (p *clusterProc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Kill() // SIGKILL
		p.cmd.Wait()
	}
}

func waitReady(t *testing.T, base string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not become ready within %s", base, within)
}

// TestClusterServe runs three `rosetta serve --cluster` processes with the
// documented flags, creates a sharded, replicated collection over REST,
// writes through every node while one node is SIGKILLed and restarted,
// and checks that every acknowledged write is served by every node, that
// the replicas converge (GET /v1/cluster: the same applied sequence on
// every replica of a shard) and that read_your_writes sees a write at
// once. Then two encoder workers and `rosetta ingest --cluster` ingest
// photos, which every node finds.
func TestClusterServe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five processes")
	}
	bin := buildBinary(t)
	models := modelsDirWith(t, map[string]string{"clip": clipModelDir(t)})
	procs := make([]*clusterProc, 3)
	for i := range procs {
		procs[i] = &clusterProc{name: fmt.Sprintf("n%d", i+1), dir: t.TempDir(), addr: freeAddr(t), nats: freeAddr(t),
			route: freeAddr(t), monitor: freeAddr(t), extra: []string{"--models", models}}
	}
	for i, p := range procs {
		for j, q := range procs {
			if i != j {
				p.peers = append(p.peers, q.route)
			}
		}
	}
	for _, p := range procs {
		p.start(t, bin)
		defer p.kill()
	}
	for _, p := range procs {
		waitReady(t, "http://"+p.addr, 90*time.Second)
	}
	srv := func(i int) *server { return &server{base: "http://" + procs[i].addr} }

	var c api.Collection
	if code, err := srv(0).do("POST", "/v1/collections", map[string]any{"name": "vecs", "shards": 3, "replicas": 2,
		"spaces": []map[string]any{{"name": "v", "dim": 8}}}, &c); code != 201 || err != nil || c.Shards != 3 || c.Replicas != 2 {
		t.Fatalf("create: %d %v %+v", code, err, c)
	}
	if code, _ := srv(1).do("POST", "/v1/collections", map[string]any{"name": "bad", "shards": 3, "replicas": 9,
		"spaces": []map[string]any{{"name": "v", "dim": 8}}}, nil); code != 400 {
		t.Fatalf("9 replicas on 3 nodes: %d", code)
	}
	vec := func(k int) []float32 {
		r := rand.New(rand.NewPCG(uint64(k), 7))
		v := make([]float32, 8)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	var mu sync.Mutex
	acked := map[uint64][]float32{}
	down := map[int]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; ; b++ {
				select {
				case <-stop:
					return
				default:
				}
				i := (w + b) % 3
				mu.Lock()
				skip := down[i]
				mu.Unlock()
				if skip {
					continue
				}
				var objs []map[string]any
				var vs [][]float32
				for k := 0; k < 10; k++ {
					n := w*1_000_000 + b*10 + k
					vs = append(vs, vec(n))
					objs = append(objs, map[string]any{"key": fmt.Sprint("o", n), "vectors": map[string]any{"v": vec(n)}})
				}
				var resp api.UpsertResponse
				code, err := srv(i).do("PUT", "/v1/collections/vecs/objects", map[string]any{"objects": objs}, &resp)
				if code != 200 || err != nil {
					continue
				}
				if len(resp.Sequences) == 0 {
					t.Errorf("upsert answered without sequences: %+v", resp)
				}
				mu.Lock()
				for k, id := range resp.IDs {
					acked[id] = vs[k]
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second)
	mu.Lock()
	down[2] = true
	mu.Unlock()
	procs[2].kill()
	t.Logf("SIGKILLed n3 with %d writes acknowledged", len(acked))
	time.Sleep(2 * time.Second)
	// Searches keep answering while n3 is down.
	var page api.SearchResponse
	if code, err := srv(0).do("POST", "/v1/collections/vecs/search", map[string]any{"query": map[string]any{"vector": vec(1)}, "k": 10}, &page); code != 200 || err != nil {
		t.Fatalf("search with n3 down: %d %v", code, err)
	}
	procs[2].start(t, bin)
	waitReady(t, "http://"+procs[2].addr, 60*time.Second)
	mu.Lock()
	down[2] = false
	mu.Unlock()
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	t.Logf("%d writes acknowledged", len(acked))

	// Converged: every node healthy, nothing joining, and each shard's
	// replicas at the same applied sequence.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st api.ClusterStatus
		code, err := srv(1).do("GET", "/v1/cluster", nil, &st)
		why := ""
		switch {
		case code != 200 || err != nil:
			why = fmt.Sprintf("GET /v1/cluster: %d %v", code, err)
		case len(st.Nodes) != 3 || len(st.Collections) != 1:
			why = fmt.Sprintf("%d nodes, %d collections", len(st.Nodes), len(st.Collections))
		default:
			applied := map[string]uint64{}
			for _, n := range st.Nodes {
				if !n.Healthy {
					why = n.Name + " unhealthy"
				}
				applied[n.Name] = 0
			}
			cc := st.Collections[0]
			for s := 0; s < cc.Shards && why == ""; s++ {
				if len(cc.Joining[s]) > 0 {
					why = fmt.Sprintf("shard %d: %v joining", s, cc.Joining[s])
					break
				}
				var seqs []uint64
				for _, m := range cc.Serving[s] {
					for _, n := range st.Nodes {
						if n.Name == m {
							seqs = append(seqs, n.Applied[fmt.Sprintf("vecs/%d", s)])
						}
					}
				}
				for _, q := range seqs {
					if q != seqs[0] || q == 0 {
						why = fmt.Sprintf("shard %d: replicas applied %v", s, seqs)
					}
				}
			}
		}
		if why == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no convergence: %s", why)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i := range procs {
		// Counts read one replica per shard without waiting for it to
		// apply: poll until every node counts every acknowledged write.
		var cc api.Collection
		for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			code, err := srv(i).do("GET", "/v1/collections/vecs", nil, &cc)
			if code == 200 && err == nil && cc.Count >= len(acked) {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("n%d counts %d objects (%d acknowledged): %d %v", i+1, cc.Count, len(acked), code, err)
			}
		}
		n := 0
		for id, v := range acked {
			if n++; n > 200 {
				break
			}
			var o api.Object
			if code, err := srv(i).do("GET", fmt.Sprintf("/v1/collections/vecs/objects/%d", id), nil, &o); code != 200 || err != nil {
				t.Fatalf("n%d lacks acknowledged object %d: %d %v", i+1, id, code, err)
			}
			_ = v
		}
	}
	// read_your_writes: a write through n1 found by n3 at once.
	var resp api.UpsertResponse
	if code, err := srv(0).do("PUT", "/v1/collections/vecs/objects", map[string]any{"objects": []map[string]any{{"key": "ryw", "vectors": map[string]any{"v": vec(-1)}}}}, &resp); code != 200 || err != nil {
		t.Fatalf("upsert: %d %v", code, err)
	}
	if code, err := srv(2).do("POST", "/v1/collections/vecs/search", map[string]any{"query": map[string]any{"vector": vec(-1)}, "k": 1, "consistency": "read_your_writes"}, &page); code != 200 || err != nil || len(page.Hits) != 1 || page.Hits[0].ID != resp.IDs[0] {
		t.Fatalf("read_your_writes: %d %v %+v", code, err, page.Hits)
	}
	if code, _ := srv(2).do("POST", "/v1/collections/vecs/search", map[string]any{"query": map[string]any{"vector": vec(-1)}, "consistency": "strong"}, nil); code != 400 {
		t.Fatalf("a bad consistency: %d", code)
	}

	// Distributed ingest: two encoder workers (joining with --nats-url,
	// the sync setting checked through a node's monitor), photos queued
	// by `ingest --cluster`.
	if code, err := srv(1).do("POST", "/v1/collections", map[string]any{"name": "photos", "shards": 2, "replicas": 2,
		"spaces": []map[string]any{{"name": "clip", "model": "clip"}}}, &c); code != 201 || err != nil {
		t.Fatalf("create photos: %d %v", code, err)
	}
	for w := 0; w < 2; w++ {
		enc := exec.Command(bin, "serve", "--data", t.TempDir(), "--addr", freeAddr(t), "--cluster", "e2e", "--node", fmt.Sprint("enc", w),
			"--role", "encoder", "--nats-url", "nats://"+procs[w].nats, "--nats-monitor", "http://"+procs[w].monitor,
			"--models", models, "--log-level", "warn", "--heartbeat", "200ms")
		enc.Stderr = os.Stderr
		if err := enc.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { enc.Process.Kill(); enc.Wait() }()
	}
	photos := e2ePhotos(t)
	dir := t.TempDir()
	for _, p := range photos {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ing := exec.Command(bin, "ingest", dir, "--collection", "photos", "--cluster", "e2e",
		"--nats-url", "nats://"+procs[2].nats, "--nats-monitor", "http://"+procs[2].monitor, "--batch", "4")
	out, err := ing.CombinedOutput()
	if err != nil {
		t.Fatalf("ingest --cluster: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("added %d", len(photos))) {
		t.Fatalf("ingest --cluster said:\n%s", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		var cc api.Collection
		if code, _ := srv(0).do("GET", "/v1/collections/photos", nil, &cc); code == 200 && cc.Count == len(photos) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if ctx.Err() != nil {
		t.Fatalf("the encoders did not write the %d photos", len(photos))
	}
	for i := range procs {
		if code, err := srv(i).do("POST", "/v1/collections/photos/search", map[string]any{"query": map[string]any{"text": "a photo"}, "k": 3, "consistency": "read_your_writes"}, &page); code != 200 || err != nil || len(page.Hits) != 3 {
			t.Fatalf("text search on n%d: %d %v %d hits", i+1, code, err, len(page.Hits))
		}
	}
	// A re-run queues the same files and adds nothing.
	if out, err := exec.Command(bin, "ingest", dir, "--collection", "photos", "--cluster", "e2e",
		"--nats-url", "nats://"+procs[0].nats, "--nats-monitor", "http://"+procs[0].monitor).CombinedOutput(); err != nil || !strings.Contains(string(out), "added 0") {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
}
