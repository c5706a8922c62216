package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServeAPIKeySources: the key comes from --api-key-file, --api-key or
// $ROSETTA_API_KEY; both flags, an empty file or an empty flag are
// refused rather than starting a server without a key.
func TestServeAPIKeySources(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "key")
	empty := filepath.Join(dir, "empty")
	os.WriteFile(good, []byte("  s3cret\n"), 0o600)
	os.WriteFile(empty, []byte("\n"), 0o600)
	t.Setenv("ROSETTA_API_KEY", "from-env")
	for _, tc := range []struct {
		name, flag, file string
		set              bool
		want             string
		fails            bool
	}{
		{name: "file", file: good, want: "s3cret"},
		{name: "flag", flag: "k", set: true, want: "k"},
		{name: "env", want: "from-env"},
		{name: "both", flag: "k", set: true, file: good, fails: true},
		{name: "empty file", file: empty, fails: true},
		{name: "missing file", file: filepath.Join(dir, "nope"), fails: true},
		{name: "empty flag", set: true, fails: true},
	} {
		got, err := serverAPIKey(tc.flag, tc.file, tc.set)
		if (err != nil) != tc.fails || got != tc.want {
			t.Errorf("%s: %q, %v", tc.name, got, err)
		}
	}
}

// lockedBuffer collects a process's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeConventions runs the binary: it binds 127.0.0.1 by default
// (per --help), takes the key from a file, answers CORS preflights for
// --cors-origin, and logs every request at the default info level.
func TestServeConventions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	help, err := exec.Command(bin, "serve", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(help), `--addr string`) || !strings.Contains(string(help), `(default "127.0.0.1:7700")`) {
		t.Fatalf("serve --help (%v) does not show the loopback default:\n%s", err, help)
	}
	if !strings.Contains(string(help), "--encode-batch-wait duration") || !strings.Contains(string(help), "(default 2ms)") ||
		!strings.Contains(string(help), "--encode-batch-max int") {
		t.Errorf("serve --help does not document batching across requests:\n%s", help)
	}
	if out, err := exec.Command(bin, "serve", "--data", t.TempDir(), "--encode-batch-wait", "-1ms").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "cannot be negative") {
		t.Errorf("serve --encode-batch-wait -1ms: %v\n%s", err, out)
	}

	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte("file-key\n"), 0o600)
	addr := freeAddr(t)
	var logs lockedBuffer
	cmd := exec.Command(bin, "serve", "--data", t.TempDir(), "--addr", addr, "--api-key-file", keyFile,
		"--cors-origin", "https://app.example.com", "--snapshot-every", "-1s")
	cmd.Env = append(os.Environ(), "ROSETTA_API_KEY=") // the file, not the environment
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	base := "http://" + addr
	get := func(method, path string, hdr ...string) *http.Response {
		req, _ := http.NewRequest(method, base+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil
		}
		resp.Body.Close()
		return resp
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if r := get("GET", "/readyz", "Authorization", "Bearer file-key"); r != nil && r.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready; log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := get("GET", "/v1/collections"); r.StatusCode != 401 {
		t.Errorf("without the key: %d", r.StatusCode)
	}
	if r := get("GET", "/v1/collections", "Authorization", "Bearer file-key", "X-Request-ID", "serve-test-1"); r.StatusCode != 200 {
		t.Errorf("with the file's key: %d", r.StatusCode)
	}
	pre := get("OPTIONS", "/v1/collections", "Origin", "https://app.example.com", "Access-Control-Request-Method", "GET")
	if pre.StatusCode != 204 || pre.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
	deadline = time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "request_id=serve-test-1") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	var line string
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "request_id=serve-test-1") {
			line = l
		}
	}
	for _, want := range []string{"level=INFO", `msg="http request"`, "method=GET", "route=/v1/collections", "status=200", "duration=", "bytes="} {
		if !strings.Contains(line, want) {
			t.Errorf("access log line %q lacks %s", line, want)
		}
	}
}
