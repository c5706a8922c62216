package models

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"rosetta/internal/fixtures"
)

// fakeHub serves files under the hub's URL pattern
// /{repo}/resolve/{revision}/{file}, with Range support from
// http.ServeContent, and lets a test take over chosen requests.
type fakeHub struct {
	srv   *httptest.Server
	files map[string][]byte // URL path → content

	mu   sync.Mutex
	reqs []hubReq
	// hook, if set, may handle a request itself (returning true). n is
	// how many requests this path had before this one.
	hook func(w http.ResponseWriter, r *http.Request, content []byte, n int) bool
}

type hubReq struct {
	Path, Range string
}

func newFakeHub(t *testing.T) *fakeHub {
	h := &fakeHub{files: make(map[string][]byte)}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fakeHub) add(repo, name string, content []byte) {
	h.files["/"+repo+"/resolve/main/"+name] = content
}

func (h *fakeHub) setHook(f func(w http.ResponseWriter, r *http.Request, content []byte, n int) bool) {
	h.mu.Lock()
	h.hook = f
	h.mu.Unlock()
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	n := 0
	for _, q := range h.reqs {
		if q.Path == r.URL.Path {
			n++
		}
	}
	h.reqs = append(h.reqs, hubReq{r.URL.Path, r.Header.Get("Range")})
	hook := h.hook
	h.mu.Unlock()
	content, ok := h.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if hook != nil && hook(w, r, content, n) {
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(content))
}

// requests returns the requests for paths ending in suffix.
func (h *fakeHub) requests(suffix string) []hubReq {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []hubReq
	for _, q := range h.reqs {
		if strings.HasSuffix(q.Path, suffix) {
			out = append(out, q)
		}
	}
	return out
}

func (h *fakeHub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.reqs)
}

const testModel = "test/clip-vit"

// fixtureModel is the clip-vit fixture (a tiny CLIP in the real HF
// layout) served as hub repo test/clip-vit, with the tokenizer files
// served from openai/clip-vit-base-patch32 as the catalogue's open_clip
// entries fetch them.
type fixtureModel struct {
	hub     *fakeHub
	entry   Entry
	content map[string][]byte // file name → bytes
}

func newFixtureModel(t *testing.T) *fixtureModel {
	t.Helper()
	dir := fixtures.Dir(t, "clip-vit")
	tokDir := fixtures.Dir(t, "tokenizer-clip")
	fm := &fixtureModel{hub: newFakeHub(t), content: make(map[string][]byte)}
	fm.entry = Entry{
		Name: testModel, Repo: testModel, Layout: LayoutHF, Arch: "clip-vit",
		Modalities: []string{"image", "text"}, EmbedDim: 16, License: "test",
	}
	for _, f := range []struct {
		name, dir, repo string
		digest          bool
	}{
		{"config.json", dir, "", true},
		{"model.safetensors", dir, "", true},
		{"preprocessor_config.json", dir, "", false},
		{"vocab.json", tokDir, tokenizerRepo, true},
		{"merges.txt", tokDir, tokenizerRepo, false},
	} {
		b, err := os.ReadFile(filepath.Join(f.dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		fm.content[f.name] = b
		repo := f.repo
		if repo == "" {
			repo = testModel
		}
		fm.hub.add(repo, f.name, b)
		cf := File{Name: f.name, Repo: f.repo}
		if f.digest { // what a catalogue entry with known digests has
			cf.Size, cf.SHA256 = int64(len(b)), sha256Hex(b)
		}
		fm.entry.Files = append(fm.entry.Files, cf)
	}
	// On the catalogue, absent from this hub: skipped.
	fm.entry.Files = append(fm.entry.Files, File{Name: "tokenizer.json", Optional: true})
	return fm
}

func (fm *fixtureModel) totalSize() int64 {
	var n int64
	for _, b := range fm.content {
		n += int64(len(b))
	}
	return n
}

// library opens a library in a fresh models directory against the hub.
func (fm *fixtureModel) library(t *testing.T, dir string, mod func(*Options)) *Library {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	o := &Options{
		BaseURL:    fm.hub.srv.URL,
		Client:     fm.hub.srv.Client(),
		Catalog:    []Entry{fm.entry},
		Retries:    3,
		Backoff:    time.Millisecond,
		MaxBackoff: 5 * time.Millisecond,
	}
	if mod != nil {
		mod(o)
	}
	l, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// checkInstalled asserts that the model directory holds exactly the
// fixture's files, byte for byte, plus the manifest.
func (fm *fixtureModel) checkInstalled(t *testing.T, l *Library) {
	t.Helper()
	dir := l.Path(testModel)
	for name, want := range fm.content {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: %d bytes differ from the served %d", name, len(got), len(want))
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != len(fm.content)+1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("model directory holds %v, want the %d files and the manifest", names, len(fm.content))
	}
	mf, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range fm.content {
		rec, ok := mf.File(name)
		if !ok || rec.Size != int64(len(want)) || rec.SHA256 != sha256Hex(want) {
			t.Fatalf("manifest record %+v for %s (%d bytes)", rec, name, len(want))
		}
	}
	if isDir(filepath.Join(l.Dir(), stagingName(testModel))) {
		t.Fatal("staging directory left behind")
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// recorder is a Progress that records totals and can cancel a context
// once enough bytes of one file have arrived.
type recorder struct {
	mu       sync.Mutex
	file     string
	bytes    map[string]int64
	starts   []string
	cancelAt int64
	cancelOn string
	cancel   context.CancelFunc
}

func (r *recorder) Start(model, file string, have, total int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bytes == nil {
		r.bytes = make(map[string]int64)
	}
	r.file = file
	r.starts = append(r.starts, file)
}

func (r *recorder) Advance(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bytes[r.file] += n
	if r.cancel != nil && r.file == r.cancelOn && r.bytes[r.file] >= r.cancelAt {
		r.cancel()
		r.cancel = nil
	}
}

func (r *recorder) Finish(err error) {}
