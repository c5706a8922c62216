package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"rosetta/internal/testnet"
)

// buildBinary compiles this command once per test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rosetta")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

// freeAddr is a loopback address to listen on later (testnet.FreeAddr).
func freeAddr(t *testing.T) string { return testnet.FreeAddr(t) }

type server struct {
	cmd  *exec.Cmd
	base string
}

// startServer runs `rosetta serve` on addr with extra flags and waits until
// it is ready.
func startServer(t *testing.T, bin, dir, addr string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--data", dir, "--addr", addr, "--log-level", "warn", "--snapshot-every", "500ms"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, base: "http://" + addr}
	ready, _ := http.NewRequest("GET", s.base+"/readyz", nil)
	for i, a := range extra {
		if a == "--api-key" && i+1 < len(extra) {
			ready.Header.Set("Authorization", "Bearer "+extra[i+1])
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.DefaultClient.Do(ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	t.Fatal("server did not become ready")
	return nil
}

func (s *server) do(method, path string, body any, out any) (int, error) {
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode, nil
}

// uniqueWord is a word only the object with key k holds: the key's bytes
// spelled in consonants, which no English stemmer or stop list touches.
func uniqueWord(k string) string {
	const letters = "bcdfghjklmnpqrtvwxz"
	var b []byte
	for _, c := range []byte(k) {
		b = append(b, letters[int(c)%len(letters)], letters[int(c)/len(letters)%len(letters)])
	}
	return string(b)
}

type sentBatch struct {
	keys  []string
	vecs  [][]float32
	acked bool
	ids   []uint64
}

// TestCrashDurability starts `rosetta serve`, drives concurrent upserts,
// SIGKILLs it at random moments over several rounds, restarts it, and
// checks that every acknowledged upsert is present and searchable (by its
// vector and by a word only its text holds) and that every batch is
// either wholly present or wholly absent.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	r := rand.New(rand.NewPCG(7, 7))
	const dim, writers, per, rounds = 8, 4, 5, 5
	var mu sync.Mutex
	var batches []*sentBatch
	totalAcked := 0

	verify := func(s *server, stage string) {
		t.Helper()
		present := 0
		for bi, b := range batches {
			found := 0
			for i, k := range b.keys {
				var res struct {
					Hits []struct {
						ID     uint64 `json:"id"`
						Object struct {
							Key      string               `json:"key"`
							Metadata map[string]any       `json:"metadata"`
							Vectors  map[string][]float32 `json:"vectors"`
						} `json:"object"`
					} `json:"hits"`
				}
				code, err := s.do("POST", "/v1/collections/crash/search", map[string]any{
					"query": map[string]any{"vector": b.vecs[i]}, "k": 1,
					"filter": map[string]any{"field": "k", "eq": k}, "fields": []string{"key", "metadata", "vectors"}}, &res)
				if err != nil || code != 200 {
					t.Fatalf("%s: search for %s: %d %v", stage, k, code, err)
				}
				// The keyword index agrees: the object's own word finds
				// exactly it when it is present, and nothing when not.
				var kw struct {
					Hits []struct {
						ID uint64 `json:"id"`
					} `json:"hits"`
				}
				code, err = s.do("POST", "/v1/collections/crash/search", map[string]any{
					"keyword": uniqueWord(k), "mode": "keyword", "k": 2}, &kw)
				if err != nil || code != 200 {
					t.Fatalf("%s: keyword search for %s: %d %v", stage, k, code, err)
				}
				if len(res.Hits) == 0 {
					if len(kw.Hits) != 0 {
						t.Fatalf("%s: %s is absent but its word finds %v", stage, k, kw.Hits)
					}
					continue
				}
				h := res.Hits[0]
				if len(kw.Hits) != 1 || kw.Hits[0].ID != h.ID {
					t.Fatalf("%s: %s (id %d) is present but its word %q finds %v", stage, k, h.ID, uniqueWord(k), kw.Hits)
				}
				if h.Object.Key != k || len(h.Object.Vectors["v"]) != dim || h.Object.Metadata["k"] != k {
					t.Fatalf("%s: %s half-written: %+v", stage, k, h)
				}
				if b.acked && h.ID != b.ids[i] {
					t.Fatalf("%s: %s has id %d, acknowledged as %d", stage, k, h.ID, b.ids[i])
				}
				found++
			}
			if b.acked && found != len(b.keys) {
				t.Fatalf("%s: acknowledged batch %d has %d of %d objects", stage, bi, found, len(b.keys))
			}
			if found != 0 && found != len(b.keys) {
				t.Fatalf("%s: batch %d is partly visible (%d of %d)", stage, bi, found, len(b.keys))
			}
			if found > 0 {
				present++
			}
		}
		t.Logf("%s: %d batches sent, %d acknowledged, %d present", stage, len(batches), totalAcked, present)
	}

	for round := 0; round < rounds; round++ {
		s := startServer(t, bin, dir, addr)
		if round == 0 {
			code, err := s.do("POST", "/v1/collections", map[string]any{"name": "crash", "spaces": []map[string]any{{"name": "v", "dim": dim}}}, nil)
			if err != nil || code != 201 {
				t.Fatalf("create collection: %d %v", code, err)
			}
		}
		verify(s, fmt.Sprintf("round %d start", round))
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			seed := r.Uint64()
			go func() {
				defer wg.Done()
				wr := rand.New(rand.NewPCG(seed, 1))
				for i := 0; ctx.Err() == nil; i++ {
					b := &sentBatch{}
					var objs []map[string]any
					for j := 0; j < per; j++ {
						k := fmt.Sprintf("r%d-w%d-%d-%d", round, w, i, j)
						v := make([]float32, dim)
						for x := range v {
							v[x] = float32(wr.NormFloat64())
						}
						b.keys = append(b.keys, k)
						b.vecs = append(b.vecs, v)
						objs = append(objs, map[string]any{"key": k, "metadata": map[string]any{"k": k, "round": round}, "vectors": map[string]any{"v": v},
							"content": map[string]any{"text": "crash test object " + uniqueWord(k) + " with shared words"}})
					}
					mu.Lock()
					batches = append(batches, b)
					mu.Unlock()
					var res struct {
						IDs []uint64 `json:"ids"`
					}
					code, err := s.do("PUT", "/v1/collections/crash/objects", map[string]any{"objects": objs}, &res)
					if err == nil && code == 200 && len(res.IDs) == per {
						mu.Lock()
						b.acked, b.ids = true, res.IDs
						totalAcked++
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(200+r.IntN(800)) * time.Millisecond)
		s.cmd.Process.Signal(syscall.SIGKILL)
		s.cmd.Wait()
		cancel()
		wg.Wait()
	}
	s := startServer(t, bin, dir, addr)
	verify(s, "after the last kill")
	// A clean shutdown snapshots; the next start loads the snapshot.
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("clean shutdown: %v", err)
	}
	s = startServer(t, bin, dir, addr)
	defer func() { s.cmd.Process.Signal(syscall.SIGTERM); s.cmd.Wait() }()
	verify(s, "after a clean restart")
	if totalAcked == 0 {
		t.Fatal("no upsert was acknowledged")
	}
}
