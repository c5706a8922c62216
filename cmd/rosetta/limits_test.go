package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// rssBound is the documented bound on the server's peak resident memory
// under the hostile requests below (README: "Limits"); the default
// decoded-pixel budget (64 Mpx) is what keeps it.
const rssBound = 1 << 30

// greyPNG is a w×h grey PNG: tiny on the wire, w×h bytes decoded.
func greyPNG(t *testing.T, w, h int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// oneHertzWAV is a 634-byte 16-bit WAV whose header says 1 Hz: 295
// samples that claim to be 295 s of audio.
func oneHertzWAV() []byte {
	n := 295
	b := make([]byte, 44+2*n)
	le := binary.LittleEndian
	copy(b, "RIFF")
	le.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	le.PutUint32(b[16:], 16)
	le.PutUint16(b[20:], 1)
	le.PutUint16(b[22:], 1)
	le.PutUint32(b[24:], 1) // 1 Hz
	le.PutUint32(b[28:], 2)
	le.PutUint16(b[32:], 2)
	le.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	le.PutUint32(b[40:], uint32(2*n))
	return b
}

// peakRSS reads a process's peak resident set (VmHWM) from /proc.
func peakRSS(t *testing.T, pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestRequestsAreBounded sends the requests that once took gigabytes to a
// real server — a 62 KB PNG of 8000×8000 as a query (16 at once) and in a
// batch of 30, a 634-byte WAV whose header says 1 Hz, and 16 concurrent
// queries just under the size limit — and checks that each is answered
// 4xx or 429 (the last, and a batch of six, may also succeed) and that
// the server's peak RSS stays under rssBound.
func TestRequestsAreBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	clip, hubert := clipModelDir(t), hubertModelDir(t)
	// Create the collections with the local CLI (trusted: model paths).
	seed := t.TempDir()
	os.WriteFile(filepath.Join(seed, "a.txt"), []byte("a seed text"), 0o644)
	for _, c := range []struct{ name, model string }{{"img", clip}, {"aud", hubert}} {
		dir := seed
		if c.name == "aud" {
			dir = t.TempDir()
			os.WriteFile(filepath.Join(dir, "s.wav"), pcm16WAV(make([]float32, 16000), 16000), 0o644)
		}
		if out, err := exec.Command(bin, "ingest", dir, "--collection", c.name, "--data", data, "--model", c.model,
			"--report", filepath.Join(t.TempDir(), "f.jsonl")).CombinedOutput(); err != nil {
			t.Fatalf("ingest %s: %v\n%s", c.name, err, out)
		}
	}
	s := startServer(t, bin, data, freeAddr(t))
	defer func() { s.cmd.Process.Signal(syscall.SIGTERM); s.cmd.Wait() }()
	pid := s.cmd.Process.Pid
	base := peakRSS(t, pid)

	post := func(path string, body any) int {
		code, err := s.do("POST", path, body, nil)
		if err != nil {
			t.Error(err)
		}
		return code
	}
	put := func(path string, body any) int {
		code, err := s.do("PUT", path, body, nil)
		if err != nil {
			t.Error(err)
		}
		return code
	}
	concurrently := func(n int, f func() int) []int {
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Add(1)
			go func() { defer wg.Done(); codes[i] = f() }()
		}
		wg.Wait()
		return codes
	}

	huge := base64.StdEncoding.EncodeToString(greyPNG(t, 8000, 8000))
	for _, code := range concurrently(16, func() int {
		return post("/v1/collections/img/search", map[string]any{"query": map[string]any{"image": huge}})
	}) {
		if code != http.StatusRequestEntityTooLarge {
			t.Errorf("8000×8000 query: %d, want 413", code)
		}
	}
	objs := make([]map[string]any, 30)
	for i := range objs {
		objs[i] = map[string]any{"key": fmt.Sprint(i), "content": map[string]any{"image": huge}}
	}
	if code := put("/v1/collections/img/objects", map[string]any{"objects": objs}); code != http.StatusRequestEntityTooLarge {
		t.Errorf("batch of 30 8000×8000 images: %d, want 413", code)
	}
	wav := base64.StdEncoding.EncodeToString(oneHertzWAV())
	if code := post("/v1/collections/aud/search", map[string]any{"query": map[string]any{"audio": wav}}); code != http.StatusBadRequest {
		t.Errorf("1 Hz WAV query: %d, want 400", code)
	}
	if code := put("/v1/collections/aud/objects", map[string]any{"objects": []map[string]any{{"content": map[string]any{"audio": wav}}}}); code != http.StatusBadRequest {
		t.Errorf("1 Hz WAV upsert: %d, want 400", code)
	}
	// Just under the 50 Mpx limit: decoded a few at a time, the rest wait
	// and may be told to come back.
	under := base64.StdEncoding.EncodeToString(greyPNG(t, 7000, 7000))
	ok := 0
	codes := concurrently(16, func() int {
		return post("/v1/collections/img/search", map[string]any{"query": map[string]any{"image": under}})
	})
	for _, code := range codes {
		switch code {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
		default:
			t.Errorf("7000×7000 query: %d, want 200 or 429", code)
		}
	}
	if ok == 0 {
		t.Errorf("no 7000×7000 query succeeded: %v", codes)
	}
	// A batch of them is decoded and encoded a chunk at a time.
	batch := make([]map[string]any, 6)
	for i := range batch {
		batch[i] = map[string]any{"key": fmt.Sprint("under", i), "content": map[string]any{"image": under}}
	}
	batchCode := put("/v1/collections/img/objects", map[string]any{"objects": batch})
	if batchCode != http.StatusOK && batchCode != http.StatusTooManyRequests {
		t.Errorf("batch of six 7000×7000 images: %d, want 200 or 429", batchCode)
	}
	peak := peakRSS(t, pid)
	t.Logf("server peak RSS %d MiB (%d MiB after start); 7000×7000 queries: %v; batch of six: %d", peak>>20, base>>20, codes, batchCode)
	if peak > rssBound {
		t.Errorf("server peak RSS %d MiB exceeds %d MiB", peak>>20, rssBound>>20)
	}
}
