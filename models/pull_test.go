package models

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPullFull(t *testing.T) {
	fm := newFixtureModel(t)
	rec := &recorder{}
	l := fm.library(t, "", func(o *Options) { o.Progress = rec })
	res, err := l.Pull(context.Background(), testModel)
	if err != nil {
		t.Fatal(err)
	}
	fm.checkInstalled(t, l)
	if res.AlreadyInstalled || res.Downloaded != fm.totalSize() || len(res.Resumed) != 0 {
		t.Fatalf("result %+v, want %d bytes downloaded, nothing resumed", res, fm.totalSize())
	}
	if !slices.Equal(res.Skipped, []string{"tokenizer.json"}) {
		t.Fatalf("skipped %v, want the optional tokenizer.json the hub lacks", res.Skipped)
	}
	// The tokenizer came from its own repository.
	if q := fm.hub.requests("/vocab.json"); len(q) != 1 || q[0].Path != "/openai/clip-vit-base-patch32/resolve/main/vocab.json" {
		t.Fatalf("vocab.json requests %v", q)
	}
	if rec.bytes["model.safetensors"] != int64(len(fm.content["model.safetensors"])) {
		t.Fatalf("progress saw %d bytes of model.safetensors", rec.bytes["model.safetensors"])
	}
	// Known digests were checked, unknown ones computed.
	mf := res.Manifest
	if r, _ := mf.File("model.safetensors"); !r.CatalogSHA256 {
		t.Fatal("model.safetensors not marked as checked against the catalogue")
	}
	if r, _ := mf.File("merges.txt"); r.CatalogSHA256 || r.SHA256 == "" {
		t.Fatalf("merges.txt record %+v", r)
	}
	if dir, err := l.Resolve(testModel); err != nil || dir != l.Path(testModel) {
		t.Fatalf("Resolve = %q, %v", dir, err)
	}
	if rep, err := l.Verify(context.Background(), testModel); err != nil || rep.Failed() != 0 || len(rep.Files) != len(fm.content) {
		t.Fatalf("verify: %v %+v", err, rep)
	}

	// Pulling again is a no-op that says so.
	n := fm.hub.count()
	res, err = l.Pull(context.Background(), testModel)
	if err != nil || !res.AlreadyInstalled || res.Downloaded != 0 {
		t.Fatalf("second pull: %+v, %v", res, err)
	}
	if fm.hub.count() != n {
		t.Fatal("second pull made requests")
	}
}

// The server drops the connection in the middle of model.safetensors on
// the first attempt; the retry asks for the rest with a Range request and
// the result is byte-identical.
func TestPullResumesInterruptedTransfer(t *testing.T) {
	fm := newFixtureModel(t)
	const cut = 3 << 20
	fm.hub.setHook(func(w http.ResponseWriter, r *http.Request, content []byte, n int) bool {
		if !strings.HasSuffix(r.URL.Path, "/model.safetensors") || n > 0 {
			return false
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.WriteHeader(http.StatusOK)
		w.Write(content[:cut])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // close the connection mid-body
	})
	l := fm.library(t, "", nil)
	res, err := l.Pull(context.Background(), testModel)
	if err != nil {
		t.Fatal(err)
	}
	fm.checkInstalled(t, l)
	q := fm.hub.requests("/model.safetensors")
	if len(q) != 2 || q[0].Range != "" {
		t.Fatalf("requests %v, want a plain GET then a ranged one", q)
	}
	var start int
	if _, err := fmt.Sscanf(q[1].Range, "bytes=%d-", &start); err != nil || start <= 0 || start > cut {
		t.Fatalf("resume request Range %q, want bytes=N- with 0 < N <= %d", q[1].Range, cut)
	}
	// Nothing was fetched twice.
	if res.Downloaded != fm.totalSize() {
		t.Fatalf("downloaded %d bytes, want %d", res.Downloaded, fm.totalSize())
	}
}

// A server that ignores Range answers 200 with the whole file; the part
// file (here with junk in it) must be started again from zero.
func TestPullServerIgnoresRange(t *testing.T) {
	fm := newFixtureModel(t)
	fm.hub.setHook(func(w http.ResponseWriter, r *http.Request, content []byte, n int) bool {
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.Write(content)
		return true
	})
	l := fm.library(t, "", nil)
	staging := filepath.Join(l.Dir(), stagingName(testModel))
	if err := os.MkdirAll(staging, 0o755); err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, 4321)
	for i := range junk {
		junk[i] = byte(i*7 + 1)
	}
	if err := os.WriteFile(filepath.Join(staging, "model.safetensors.part"), junk, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := l.Pull(context.Background(), testModel)
	if err != nil {
		t.Fatal(err)
	}
	fm.checkInstalled(t, l)
	if q := fm.hub.requests("/model.safetensors"); len(q) != 1 || q[0].Range != "bytes=4321-" {
		t.Fatalf("requests %v, want one with Range bytes=4321-", q)
	}
	if !slices.Equal(res.Resumed, []string{"model.safetensors"}) {
		t.Fatalf("resumed %v", res.Resumed)
	}
}

// A part file that already holds the whole file gets 416 for its range:
// the pull finishes it without downloading it again.
func TestPullRangeNotSatisfiable(t *testing.T) {
	fm := newFixtureModel(t)
	l := fm.library(t, "", nil)
	staging := filepath.Join(l.Dir(), stagingName(testModel))
	if err := os.MkdirAll(staging, 0o755); err != nil {
		t.Fatal(err)
	}
	full := fm.content["model.safetensors"]
	if err := os.WriteFile(filepath.Join(staging, "model.safetensors.part"), full, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := l.Pull(context.Background(), testModel)
	if err != nil {
		t.Fatal(err)
	}
	fm.checkInstalled(t, l)
	if want := fm.totalSize() - int64(len(full)); res.Downloaded != want {
		t.Fatalf("downloaded %d bytes, want %d", res.Downloaded, want)
	}
}

// A file whose digest differs from the catalogue's is rejected: the error
// names the file and both digests, and no file is left in place.
func TestPullChecksumMismatch(t *testing.T) {
	fm := newFixtureModel(t)
	for i := range fm.entry.Files {
		if fm.entry.Files[i].Name == "model.safetensors" {
			fm.entry.Files[i].SHA256 = sha256Hex([]byte("something else"))
		}
	}
	l := fm.library(t, "", nil)
	_, err := l.Pull(context.Background(), testModel)
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("err = %v, want ErrChecksum", err)
	}
	actual := sha256Hex(fm.content["model.safetensors"])
	for _, s := range []string{"model.safetensors", sha256Hex([]byte("something else")), actual} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
	if isDir(l.Path(testModel)) {
		t.Fatal("model directory exists after a failed pull")
	}
	staging := filepath.Join(l.Dir(), stagingName(testModel))
	for _, n := range []string{"model.safetensors", "model.safetensors.part"} {
		if _, err := os.Stat(filepath.Join(staging, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left in the staging directory (%v)", n, err)
		}
	}
	if _, err := l.Resolve(testModel); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("Resolve after failed pull: %v", err)
	}
}

func TestPullSizeMismatch(t *testing.T) {
	fm := newFixtureModel(t)
	fm.entry.Files[1].Size++ // model.safetensors
	l := fm.library(t, "", nil)
	_, err := l.Pull(context.Background(), testModel)
	if !errors.Is(err, ErrSize) || !strings.Contains(err.Error(), "model.safetensors") {
		t.Fatalf("err = %v, want ErrSize naming model.safetensors", err)
	}
	if isDir(l.Path(testModel)) {
		t.Fatal("model directory exists after a failed pull")
	}
}

// Cancelling mid-file keeps the part file; the next pull resumes it.
func TestPullCancelAndResume(t *testing.T) {
	fm := newFixtureModel(t)
	const sent = 1 << 20
	stalled := make(chan struct{})
	fm.hub.setHook(func(w http.ResponseWriter, r *http.Request, content []byte, n int) bool {
		if !strings.HasSuffix(r.URL.Path, "/model.safetensors") || n > 0 {
			return false
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.Write(content[:sent])
		w.(http.Flusher).Flush()
		close(stalled)
		<-r.Context().Done() // hold the transfer open until the client goes
		return true
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recorder{cancelOn: "model.safetensors", cancelAt: sent, cancel: cancel}
	l := fm.library(t, "", func(o *Options) { o.Progress = rec })
	_, err := l.Pull(ctx, testModel)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	<-stalled
	part := filepath.Join(l.Dir(), stagingName(testModel), "model.safetensors.part")
	fi, err := os.Stat(part)
	if err != nil || fi.Size() != sent {
		t.Fatalf("part file after cancel: %v, %v (want %d bytes)", fi, err, sent)
	}
	if isDir(l.Path(testModel)) {
		t.Fatal("model directory exists after a cancelled pull")
	}
	if m, _ := l.Get(testModel); m.State != StatePartial {
		t.Fatalf("state %q, want %q", m.State, StatePartial)
	}
	if _, err := l.Resolve(testModel); !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "resumes") {
		t.Fatalf("Resolve: %v", err)
	}

	res, err := l.Pull(context.Background(), testModel)
	if err != nil {
		t.Fatal(err)
	}
	fm.checkInstalled(t, l)
	if !slices.Contains(res.Resumed, "model.safetensors") {
		t.Fatalf("resumed %v", res.Resumed)
	}
	q := fm.hub.requests("/model.safetensors")
	if last := q[len(q)-1]; last.Range != fmt.Sprintf("bytes=%d-", sent) {
		t.Fatalf("resume request Range %q", last.Range)
	}
}

func TestPullRetriesServerErrors(t *testing.T) {
	fm := newFixtureModel(t)
	fm.hub.setHook(func(w http.ResponseWriter, r *http.Request, content []byte, n int) bool {
		if strings.HasSuffix(r.URL.Path, "/config.json") && n < 2 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	l := fm.library(t, "", nil)
	if _, err := l.Pull(context.Background(), testModel); err != nil {
		t.Fatal(err)
	}
	fm.checkInstalled(t, l)
	if q := fm.hub.requests("/config.json"); len(q) != 3 {
		t.Fatalf("%d requests for config.json, want 3", len(q))
	}
}

func TestPullGivesUp(t *testing.T) {
	fm := newFixtureModel(t)
	fm.hub.setHook(func(w http.ResponseWriter, r *http.Request, content []byte, n int) bool {
		http.Error(w, "broken", http.StatusInternalServerError)
		return true
	})
	l := fm.library(t, "", func(o *Options) { o.Retries = 2 })
	_, err := l.Pull(context.Background(), testModel)
	if err == nil || !strings.Contains(err.Error(), "giving up after 3 failed attempts") {
		t.Fatalf("err = %v", err)
	}
	if n := fm.hub.count(); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
}

func TestPullMissingRequiredFile(t *testing.T) {
	fm := newFixtureModel(t)
	delete(fm.hub.files, "/"+testModel+"/resolve/main/preprocessor_config.json")
	l := fm.library(t, "", nil)
	_, err := l.Pull(context.Background(), testModel)
	if !errors.Is(err, ErrHTTP) || !strings.Contains(err.Error(), "/resolve/main/preprocessor_config.json") || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v", err)
	}
	if q := fm.hub.requests("/preprocessor_config.json"); len(q) != 1 {
		t.Fatalf("404 retried: %v", q)
	}
}

func TestPullBusy(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no flock")
	}
	fm := newFixtureModel(t)
	l := fm.library(t, "", nil)
	staging := filepath.Join(l.Dir(), stagingName(testModel))
	if err := os.MkdirAll(staging, 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockFile(filepath.Join(staging, ".lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := l.Pull(context.Background(), testModel); !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
}

func TestPullUnknown(t *testing.T) {
	l, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Pull(context.Background(), "nobody/nothing")
	if !errors.Is(err, ErrUnknownModel) || !strings.Contains(err.Error(), "rosetta models add nobody/nothing --from DIR") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseContentRange(t *testing.T) {
	for _, c := range []struct {
		in          string
		start, size int64
		ok          bool
	}{
		{"bytes 0-99/100", 0, 100, true},
		{"bytes 50-99/100", 50, 100, true},
		{"bytes 50-99/*", 50, -1, true},
		{"bytes */100", -1, 100, true},
		{"bytes 50-100/100", -1, 100, false},
		{"bytes 60-50/100", -1, 100, false},
		{"items 0-1/2", -1, -1, false},
		{"", -1, -1, false},
		{"bytes x-1/2", -1, 2, false},
	} {
		start, size, ok := parseContentRange(c.in)
		if start != c.start || size != c.size || ok != c.ok {
			t.Errorf("parseContentRange(%q) = %d, %d, %v; want %d, %d, %v", c.in, start, size, ok, c.start, c.size, c.ok)
		}
	}
}

// A transfer that stops sending without closing is abandoned after
// StallTimeout and resumed.
func TestPullStalledTransfer(t *testing.T) {
	fm := newFixtureModel(t)
	const sent = 1 << 20
	fm.hub.setHook(func(w http.ResponseWriter, r *http.Request, content []byte, n int) bool {
		if !strings.HasSuffix(r.URL.Path, "/model.safetensors") || n > 0 {
			return false
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.Write(content[:sent])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return true
	})
	l := fm.library(t, "", func(o *Options) { o.StallTimeout = 300 * time.Millisecond })
	if _, err := l.Pull(context.Background(), testModel); err != nil {
		t.Fatal(err)
	}
	fm.checkInstalled(t, l)
	if q := fm.hub.requests("/model.safetensors"); len(q) != 2 || q[1].Range != fmt.Sprintf("bytes=%d-", sent) {
		t.Fatalf("requests %v", q)
	}
}
