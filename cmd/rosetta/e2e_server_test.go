package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// modelsDirWith makes a models directory holding the given model
// directories (linked) under the given names, as `serve --models` wants.
func modelsDirWith(t *testing.T, models map[string]string) string {
	dir := t.TempDir()
	for name, src := range models {
		if err := os.Symlink(src, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func get(t *testing.T, url string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// TestServerFlow is the README's flow through a server, literally: serve
// a fresh data directory, `ingest --server` into a collection that does
// not exist yet (created from --model), `search --server`, and the media
// and thumbnails of the files ingested that way (their originals kept on
// the server), photos and audio.
func TestServerFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	models := modelsDirWith(t, map[string]string{"tiny-clip": clipModelDir(t), "tiny-hubert": hubertModelDir(t)})
	s := startServer(t, bin, t.TempDir(), freeAddr(t), "--models", models)
	defer func() { s.cmd.Process.Signal(syscall.SIGTERM); s.cmd.Wait() }()

	photos := t.TempDir()
	for _, p := range e2ePhotos(t)[:3] {
		b, _ := os.ReadFile(p)
		os.WriteFile(filepath.Join(photos, filepath.Base(p)), b, 0o644)
	}
	sounds := t.TempDir()
	clips, long := speechMedia(t)
	b, _ := os.ReadFile(clips[0])
	os.WriteFile(filepath.Join(sounds, "clip"+filepath.Ext(clips[0])), b, 0o644)
	os.WriteFile(filepath.Join(sounds, "long.wav"), pcm16WAV(long, 16000), 0o644)
	for _, c := range []struct{ dir, coll, model string }{{photos, "photos", filepath.Join(models, "tiny-clip")}, {sounds, "talks", "tiny-hubert"}} {
		out, err := exec.Command(bin, "ingest", c.dir, "--collection", c.coll, "--server", s.base, "--model", c.model,
			"--report", filepath.Join(t.TempDir(), "f.jsonl")).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "failed 0") {
			t.Fatalf("ingest --server into a new collection: %v\n%s", err, out)
		}
	}
	var q bytes.Buffer
	png.Encode(&q, image.NewGray(image.Rect(0, 0, 32, 32)))
	qf := filepath.Join(t.TempDir(), "q.png")
	os.WriteFile(qf, q.Bytes(), 0o644)
	out, err := exec.Command(bin, "search", "--server", s.base, "--collection", "photos", "--image", qf, "-k", "3", "--json").CombinedOutput()
	if err != nil || strings.Count(string(out), "\n") != 3 {
		t.Fatalf("search --server: %v\n%s", err, out)
	}
	// An audio query, folded per file: the long recording comes back as one
	// hit carrying its best windows.
	out, err = exec.Command(bin, "search", "--server", s.base, "--collection", "talks", "--audio", filepath.Join(sounds, "long.wav"),
		"--group-by", "parent", "--json").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"segments":[{`) || !strings.Contains(string(out), `"rank":1`) {
		t.Fatalf("search --audio --group-by parent --json: %v\n%s", err, out)
	}
	// Errors are printed once, without internal package prefixes.
	out, err = exec.Command(bin, "search", "--server", s.base, "--collection", "nope", "--text", "x").CombinedOutput()
	if err == nil || strings.TrimSpace(string(out)) != `rosetta: collection "nope" not found` {
		t.Fatalf("unknown collection: %v\n%s", err, out)
	}
	// ingest takes single files as well as folders.
	one := filepath.Join(t.TempDir(), "single.png")
	os.WriteFile(one, q.Bytes(), 0o644)
	if out, err := exec.Command(bin, "ingest", one, "--collection", "photos", "--server", s.base,
		"--report", filepath.Join(t.TempDir(), "f.jsonl")).CombinedOutput(); err != nil || !strings.Contains(string(out), "added 1,") {
		t.Fatalf("ingest FILE: %v\n%s", err, out)
	}
	var res struct {
		Hits []struct {
			ID     uint64 `json:"id"`
			Object struct {
				Key string `json:"key"`
			} `json:"object"`
		} `json:"hits"`
	}
	for _, c := range []struct{ coll, route, ctype string }{
		{"photos", "thumbnail", "image/jpeg"}, {"photos", "media", "image/"}, {"talks", "media", "audio/"},
	} {
		code, err := s.do("POST", "/v1/collections/"+c.coll+"/search", map[string]any{
			"query": map[string]any{"object": 1}, "k": 50, "fields": []string{"key"}}, &res)
		if err != nil || code != 200 || len(res.Hits) == 0 {
			t.Fatalf("search %s: %d %v", c.coll, code, err)
		}
		for _, h := range res.Hits {
			code, ctype, body := get(t, fmt.Sprintf("%s/v1/collections/%s/objects/%d/%s", s.base, c.coll, h.ID, c.route))
			if code != 200 || !strings.HasPrefix(ctype, c.ctype) || len(body) == 0 {
				t.Errorf("%s %s of %s: %d %s %.80s", c.coll, c.route, h.Object.Key, code, ctype, body)
			}
		}
	}
}

// TestBlobsSurviveKill SIGKILLs a server while clients upload images
// (kept as originals), restarts it, and checks that every object has its
// original and that, after the start's sweep, no original is left that
// no object names.
func TestBlobsSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	s := startServer(t, bin, dir, addr)
	if code, err := s.do("POST", "/v1/collections", map[string]any{"name": "up", "spaces": []map[string]any{{"name": "v", "dim": 2}}}, nil); code != 201 {
		t.Fatalf("create: %d %v", code, err)
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := n.Add(1)
				img := image.NewGray(image.Rect(0, 0, 64, 64))
				for j := range img.Pix {
					img.Pix[j] = byte(i*31 + int64(j))
				}
				// Distinct content for every i (the pattern above repeats
				// every 256, and equal originals are stored once).
				binary.BigEndian.PutUint64(img.Pix[:8], uint64(i))
				var b bytes.Buffer
				png.Encode(&b, img)
				s.do("PUT", "/v1/collections/up/objects", map[string]any{"objects": []map[string]any{{"key": fmt.Sprint(i),
					"vectors": map[string]any{"v": []float32{1, float32(i)}}, "content": map[string]any{"image": base64.StdEncoding.EncodeToString(b.Bytes())}}}}, nil)
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
	close(stop)
	wg.Wait()
	// A blob written for a write the kill cut off is an orphan.
	s = startServer(t, bin, dir, addr)
	defer func() { s.cmd.Process.Signal(syscall.SIGTERM); s.cmd.Wait() }()
	var page struct {
		Objects []struct {
			ID uint64 `json:"id"`
		} `json:"objects"`
		Next *uint64 `json:"next"`
	}
	objects := 0
	for after := uint64(0); ; after = *page.Next {
		page.Next = nil
		if code, err := s.do("GET", fmt.Sprintf("/v1/collections/up/objects?limit=1000&after=%d", after), nil, &page); code != 200 {
			t.Fatalf("list: %d %v", code, err)
		}
		for _, o := range page.Objects {
			objects++
			if code, _, _ := get(t, fmt.Sprintf("%s/v1/collections/up/objects/%d/media", s.base, o.ID)); code != 200 {
				t.Errorf("object %d lost its original: %d", o.ID, code)
			}
		}
		if page.Next == nil {
			break
		}
	}
	if objects == 0 {
		t.Fatal("nothing was acknowledged before the kill")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "blobs", "*", "*"))
		if len(files) == objects {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d originals on disk for %d objects after the restart's sweep", len(files), objects)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d objects uploaded before the kill, each with its original", objects)
}
