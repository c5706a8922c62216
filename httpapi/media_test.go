package httpapi

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// mediaFixture is a test server whose collection "m" has objects whose
// sources are files inside a media root, outside it, and tricks.
type mediaFixture struct {
	s       *testServer
	root    string
	ids     map[string]uint64 // by key
	png     []byte            // the 600×300 photo
	wavSize int
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// testWAV is one second of 16-bit mono silence at 8 kHz.
func testWAV() []byte {
	const n = 8000
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)})
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(2*n))
	b.Write(make([]byte, 2*n))
	return b.Bytes()
}

func newMediaFixture(t *testing.T, opts Options) *mediaFixture {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "media")
	outside := filepath.Join(base, "secret")

	img := image.NewNRGBA(image.Rect(0, 0, 600, 300))
	for y := range 300 {
		for x := range 600 {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var pb bytes.Buffer
	png.Encode(&pb, img)
	wav := testWAV()
	writeFile(t, filepath.Join(root, "photo.png"), pb.Bytes())
	writeFile(t, filepath.Join(root, "talk.wav"), wav)
	writeFile(t, filepath.Join(root, "note.txt"), []byte("plain text note\n"))
	writeFile(t, filepath.Join(root, "page.html"), []byte("<!doctype html><script>alert(1)</script>"))
	writeFile(t, filepath.Join(outside, "passwd"), []byte("root:x:0:0\n"))
	if err := os.Symlink(filepath.Join(outside, "passwd"), filepath.Join(root, "link-out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "photo.png"), filepath.Join(root, "link-in.png")); err != nil {
		t.Fatal(err)
	}

	s := newTestServer(t, opts)
	s.mustDo(201, nil, "POST", "/v1/collections", `{"name":"m","spaces":[{"name":"v","dim":2}]}`)
	s.e.addMediaRoot("m", root)
	sources := map[string]string{
		"photo":    filepath.Join(root, "photo.png"),
		"talk":     filepath.Join(root, "talk.wav"),
		"note":     filepath.Join(root, "note.txt"),
		"html":     filepath.Join(root, "page.html"),
		"outside":  filepath.Join(outside, "passwd"),
		"dotdot":   root + "/../secret/passwd",
		"relative": "media/photo.png",
		"link-out": filepath.Join(root, "link-out"),
		"link-in":  filepath.Join(root, "link-in.png"),
		"gone":     filepath.Join(root, "deleted.png"),
		"nowhere":  filepath.Join(outside, "no-such-file"),
		"dir":      root,
		"none":     "",
	}
	var objs []string
	keys := []string{"photo", "talk", "note", "html", "outside", "dotdot", "relative", "link-out", "link-in", "gone", "nowhere", "dir", "none"}
	for _, k := range keys {
		src, _ := json.Marshal(sources[k])
		objs = append(objs, fmt.Sprintf(`{"key":%q,"source":%s,"vectors":{"v":[1,0]}}`, k, src))
	}
	var up struct {
		IDs []uint64 `json:"ids"`
	}
	s.mustDo(200, &up, "PUT", "/v1/collections/m/objects", `{"objects":[`+strings.Join(objs, ",")+`]}`)
	f := &mediaFixture{s: s, root: root, ids: map[string]uint64{}, png: pb.Bytes(), wavSize: len(wav)}
	for i, k := range keys {
		f.ids[k] = up.IDs[i]
	}
	return f
}

func (f *mediaFixture) path(key, what string) string {
	return fmt.Sprintf("/v1/collections/m/objects/%d/%s", f.ids[key], what)
}

func TestMediaServesFilesUnderRoots(t *testing.T) {
	f := newMediaFixture(t, Options{})
	for _, tc := range []struct{ key, ctype string }{
		{"photo", "image/png"},
		{"talk", "audio/wav"},
		{"note", "text/plain; charset=utf-8"},
		{"link-in", "image/png"}, // a symlink that stays inside the root
	} {
		rec := f.s.do("GET", f.path(tc.key, "media"), "")
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", tc.key, rec.Code, rec.Body)
		}
		h := rec.Header()
		if h.Get("Content-Type") != tc.ctype {
			t.Errorf("%s: Content-Type %q, want %q", tc.key, h.Get("Content-Type"), tc.ctype)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("%s: missing nosniff/sandbox headers: %v", tc.key, h)
		}
		if h.Get("Cache-Control") != "private, max-age=3600" || h.Get("ETag") == "" || h.Get("Last-Modified") == "" {
			t.Errorf("%s: caching headers %v", tc.key, h)
		}
		if h.Get("Accept-Ranges") != "bytes" {
			t.Errorf("%s: Accept-Ranges %q", tc.key, h.Get("Accept-Ranges"))
		}
	}
	if got := f.s.do("GET", f.path("photo", "media"), "").Body.Bytes(); !bytes.Equal(got, f.png) {
		t.Error("photo bytes differ from the file")
	}
}

func TestMediaRangeAndConditional(t *testing.T) {
	f := newMediaFixture(t, Options{})
	p := f.path("talk", "media")
	rec := f.s.do("GET", p, "", "Range", "bytes=44-1043")
	if rec.Code != 206 || rec.Body.Len() != 1000 {
		t.Fatalf("range: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	if cr := rec.Header().Get("Content-Range"); cr != fmt.Sprintf("bytes 44-1043/%d", f.wavSize) {
		t.Errorf("Content-Range %q", cr)
	}
	if rec.Header().Get("Content-Type") != "audio/wav" {
		t.Errorf("range Content-Type %q", rec.Header().Get("Content-Type"))
	}
	rec = f.s.do("GET", p, "", "Range", "bytes=-10")
	if rec.Code != 206 || rec.Body.Len() != 10 {
		t.Errorf("suffix range: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	// An unsatisfiable range is a JSON error like every other (net/http
	// writes it as text), and still says the file's size.
	rec = f.s.do("GET", p, "", "Range", fmt.Sprintf("bytes=%d-", f.wavSize+5))
	wantError(t, rec, 416, codeRangeNotSatisfiable)
	if cr := rec.Header().Get("Content-Range"); cr != fmt.Sprintf("bytes */%d", f.wavSize) {
		t.Errorf("416 Content-Range %q", cr)
	}
	wantError(t, f.s.do("GET", p, "", "If-Match", `"nope"`), 412, codePreconditionFailed)
	wantError(t, f.s.do("GET", f.path("photo", "thumbnail"), "", "Range", "bytes=99999999-"), 416, codeRangeNotSatisfiable)
	etag := f.s.do("GET", p, "").Header().Get("ETag")
	if rec := f.s.do("GET", p, "", "If-None-Match", etag); rec.Code != 304 || rec.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	// A changed file gets a new validator.
	os.WriteFile(filepath.Join(f.root, "talk.wav"), append(testWAV(), 0, 0), 0o644)
	if rec := f.s.do("GET", p, "", "If-None-Match", etag); rec.Code != 200 {
		t.Errorf("If-None-Match after the file changed: %d", rec.Code)
	}
}

// TestMediaRefusesPathsOutsideRoots: nothing but an object id names a
// file, and an object whose source leaves the media roots (absolute path
// elsewhere, ../, a symlink out, a relative path) is refused with 4xx,
// never served.
func TestMediaRefusesPathsOutsideRoots(t *testing.T) {
	f := newMediaFixture(t, Options{})
	for _, tc := range []struct {
		key    string
		status int
		code   string
	}{
		{"outside", 403, codeForbidden},
		{"dotdot", 403, codeForbidden},
		{"link-out", 403, codeForbidden},
		{"relative", 403, codeForbidden},
		{"dir", 403, codeForbidden},
		{"html", 415, codeUnsupportedMediaType},
		{"gone", 404, codeNotFound},
		// Missing and outside: 403 like any other outside path, so the
		// answer tells nothing about which files exist elsewhere.
		{"nowhere", 403, codeForbidden},
		{"none", 404, codeNotFound},
	} {
		for _, what := range []string{"media", "thumbnail"} {
			t.Run(tc.key+"/"+what, func(t *testing.T) {
				f.s.t = t
				rec := f.s.do("GET", f.path(tc.key, what), "")
				wantError(t, rec, tc.status, tc.code)
				if strings.Contains(rec.Body.String(), "root:x") {
					t.Fatal("served the file outside the roots")
				}
			})
		}
	}
	f.s.t = t
	// Paths in the URL itself: ids must be numbers, and the page's static
	// files cannot be used to climb out either.
	for _, p := range []string{
		"/v1/collections/m/objects/..%2F..%2Fsecret%2Fpasswd/media",
		"/v1/collections/m/objects/%2Fetc%2Fpasswd/media",
		"/v1/collections/m/objects/1%2F..%2F..%2F/media",
		"/v1/collections/m/objects/" + f.root + "/secret/passwd/media",
		"/ui/../../../etc/passwd",
		"/ui/..%2F..%2F..%2Fetc%2Fpasswd",
		"/ui/%2Fetc%2Fpasswd",
		"/ui/",
		"/v1/collections/m/objects/1/media/../../../../etc/passwd",
	} {
		rec := f.s.do("GET", p, "")
		if rec.Code < 400 || rec.Code > 499 {
			t.Errorf("GET %s: status %d, want 4xx", p, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "root:") {
			t.Errorf("GET %s served a system file", p)
		}
	}
	// Without a recorded root nothing is served, and --media-root adds one.
	g := newMediaFixture(t, Options{})
	g.s.e.mu.Lock()
	g.s.e.colls["m"].roots = nil
	g.s.e.mu.Unlock()
	wantError(t, g.s.do("GET", g.path("photo", "media"), ""), 403, codeForbidden)
	h := newMediaFixture(t, Options{})
	h.s.e.mu.Lock()
	h.s.e.colls["m"].roots = nil
	h.s.e.roots = []string{"/nonexistent-root", h.root} // the engine's Options.MediaRoots
	h.s.e.mu.Unlock()
	if rec := h.s.do("GET", h.path("photo", "media"), ""); rec.Code != 200 {
		t.Errorf("with the engine's MediaRoots: %d %s", rec.Code, rec.Body)
	}
	wantError(t, h.s.do("GET", h.path("outside", "media"), ""), 403, codeForbidden)
}

func TestThumbnail(t *testing.T) {
	f := newMediaFixture(t, Options{})
	decode := func(size string) (image.Image, string) {
		t.Helper()
		p := f.path("photo", "thumbnail")
		if size != "" {
			p += "?size=" + size
		}
		rec := f.s.do("GET", p, "")
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/jpeg" {
			t.Fatalf("thumbnail %s: %d %q %s", size, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		img, err := jpeg.Decode(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		return img, rec.Header().Get("ETag")
	}
	img, etag := decode("")
	if b := img.Bounds(); b.Dx() != 256 || b.Dy() != 128 {
		t.Errorf("default thumbnail %v, want 256×128", b)
	}
	img, etag64 := decode("64")
	if b := img.Bounds(); b.Dx() != 64 || b.Dy() != 32 {
		t.Errorf("size 64: %v", b)
	}
	if etag == etag64 {
		t.Error("sizes share an ETag")
	}
	// Never enlarged.
	if img, _ := decode("1024"); img.Bounds().Dx() != 600 || img.Bounds().Dy() != 300 {
		t.Errorf("size 1024 of a 600×300 photo: %v", img.Bounds())
	}
	// The colours survive: the left-top corner is dark red-ish blue.
	img, _ = decode("64")
	r, g, b, _ := img.At(1, 1).RGBA()
	if r>>8 > 30 || g>>8 > 30 || b>>8 < 100 || b>>8 > 156 {
		t.Errorf("corner colour %d %d %d", r>>8, g>>8, b>>8)
	}
	// Cached: of the four requests (256, 64, 1024, 64) the second 64 is
	// the one hit.
	if hits, misses := thumbCounter(t, f.s, "hit"), thumbCounter(t, f.s, "miss"); hits != 1 || misses != 3 {
		t.Errorf("cache hits %v, misses %v; want 1 and 3", hits, misses)
	}
	rec := f.s.do("GET", f.path("photo", "thumbnail")+"?size=64", "", "If-None-Match", etag64)
	if rec.Code != 304 {
		t.Errorf("If-None-Match: %d", rec.Code)
	}
	for _, bad := range []string{"0", "31", "1025", "abc", "-5"} {
		wantError(t, f.s.do("GET", f.path("photo", "thumbnail")+"?size="+bad, ""), 400, codeInvalidRequest)
	}
	wantError(t, f.s.do("GET", f.path("talk", "thumbnail"), ""), 415, codeUnsupportedMediaType)
	wantError(t, f.s.do("GET", f.path("note", "thumbnail"), ""), 415, codeUnsupportedMediaType)
}

func TestThumbCacheEvicts(t *testing.T) {
	c := newThumbCache(100)
	c.put("a", make([]byte, 40))
	c.put("b", make([]byte, 40))
	c.get("a") // a is now the most recent
	c.put("c", make([]byte, 40))
	if _, ok := c.get("b"); ok {
		t.Error("b survived; it was the least recently used")
	}
	if _, ok := c.get("a"); !ok {
		t.Error("a evicted")
	}
	if n, used := c.len(); n != 2 || used != 80 {
		t.Errorf("%d entries, %d bytes", n, used)
	}
	c.put("huge", make([]byte, 101))
	if _, ok := c.get("huge"); ok {
		t.Error("an entry over the limit was cached")
	}
	off := newThumbCache(0)
	off.put("x", []byte{1})
	if _, ok := off.get("x"); ok {
		t.Error("a zero-byte cache kept an entry")
	}
}

func TestCollectionStatsRoute(t *testing.T) {
	f := newMediaFixture(t, Options{})
	var st struct {
		Name       string         `json:"name"`
		Count      int            `json:"count"`
		Modalities map[string]int `json:"modalities"`
		MediaRoots []string       `json:"media_roots"`
		SpaceStats []struct {
			Name string `json:"name"`
			Live int    `json:"live"`
		} `json:"space_stats"`
		Server struct {
			ObjectsWritten uint64 `json:"objects_written"`
		} `json:"server"`
	}
	f.s.mustDo(200, &st, "GET", "/v1/collections/m/stats", "")
	if st.Name != "m" || st.Count != 13 || st.Modalities[""] != 13 || len(st.SpaceStats) != 1 || st.SpaceStats[0].Live != 13 {
		t.Errorf("stats %+v", st)
	}
	if len(st.MediaRoots) != 1 || st.MediaRoots[0] != f.root {
		t.Errorf("media roots %v", st.MediaRoots)
	}
	wantError(t, f.s.do("GET", "/v1/collections/nope/stats", ""), 404, codeNotFound)
}

// TestUIPageIsPublicAndLocked: the page loads without the API key (so it
// can ask for it), with a strict CSP; the API and media still need the key.
func TestUIPageIsPublicAndLocked(t *testing.T) {
	f := newMediaFixture(t, Options{APIKey: "sekret"})
	for _, p := range []string{"/", "/ui/app.js", "/ui/app.css"} {
		rec := f.s.do("GET", p, "", "Authorization", "")
		if rec.Code != 200 {
			t.Fatalf("GET %s without a key: %d", p, rec.Code)
		}
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP %q", p, csp)
		}
	}
	if ct := f.s.do("GET", "/", "").Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("page Content-Type %q", ct)
	}
	if ct := f.s.do("GET", "/ui/app.js", "").Header().Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("app.js Content-Type %q", ct)
	}
	// Errors under /ui/ are JSON too (net/http's file server writes text).
	for _, p := range []string{"/ui/nope.js", "/ui/", "/ui/sub/"} {
		wantError(t, f.s.do("GET", p, "", "Authorization", ""), 404, codeNotFound)
	}
	// The public prefix cannot be used to reach the API without the key.
	for _, p := range []string{"/ui/../v1/collections", "/ui/..%2Fv1%2Fcollections", "/ui/../../v1/collections/m/stats"} {
		rec := f.s.do("GET", p, "", "Authorization", "")
		if rec.Code < 400 || rec.Code > 499 || strings.Contains(rec.Body.String(), `"collections"`) || strings.Contains(rec.Body.String(), `"name"`) {
			t.Errorf("GET %s without a key: %d %s", p, rec.Code, rec.Body)
		}
	}
	for _, p := range []string{f.path("photo", "media"), f.path("photo", "thumbnail"), "/v1/collections/m/stats"} {
		wantError(t, f.s.do("GET", p, "", "Authorization", ""), 401, codeUnauthorized)
		if rec := f.s.do("GET", p, ""); rec.Code != 200 {
			t.Errorf("GET %s with the key: %d", p, rec.Code)
		}
	}
}

// thumbCounter reads rosetta_thumbnails_total{result=...} from the server's
// registry.
func thumbCounter(t *testing.T, s *testServer, result string) float64 {
	t.Helper()
	mfs, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "rosetta_thumbnails_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestMediaCookie: the page trades its key for a cookie that opens only
// GET/HEAD of media and thumbnails, and is not the key.
func TestMediaCookie(t *testing.T) {
	f := newMediaFixture(t, Options{APIKey: "sekret"})
	wantError(t, f.s.do("POST", "/v1/session/media", "", "Authorization", ""), 401, codeUnauthorized)
	rec := f.s.do("POST", "/v1/session/media", "")
	if rec.Code != 204 {
		t.Fatalf("POST /v1/session/media: %d %s", rec.Code, rec.Body)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	c := cookies[0]
	if c.Name != mediaCookie || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/v1/collections/" ||
		c.MaxAge <= 0 || c.Value == "" || strings.Contains(c.Value, "sekret") {
		t.Fatalf("cookie %+v", c)
	}
	cookie := c.Name + "=" + c.Value
	for _, p := range []string{f.path("photo", "media"), f.path("photo", "thumbnail"), f.path("talk", "media")} {
		if rec := f.s.do("GET", p, "", "Authorization", "", "Cookie", cookie); rec.Code != 200 {
			t.Errorf("GET %s with the cookie: %d %s", p, rec.Code, rec.Body)
		}
		if rec := f.s.do("GET", p, "", "Authorization", "", "Cookie", mediaCookie+"=00"+c.Value[2:]); rec.Code != 401 {
			t.Errorf("GET %s with a forged cookie: %d", p, rec.Code)
		}
	}
	// Nothing else opens with it, and it is no bearer token.
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1/collections", ""},
		{"GET", "/v1/collections/m/stats", ""},
		{"GET", fmt.Sprintf("/v1/collections/m/objects/%d", f.ids["photo"]), ""},
		{"DELETE", fmt.Sprintf("/v1/collections/m/objects/%d", f.ids["photo"]), ""},
		{"POST", "/v1/session/media", ""},
		{"PUT", "/v1/collections/m/objects", `{"objects":[]}`},
	} {
		wantError(t, f.s.do(tc.method, tc.path, tc.body, "Authorization", "", "Cookie", cookie), 401, codeUnauthorized)
	}
	wantError(t, f.s.do("GET", "/v1/collections", "", "Authorization", "Bearer "+c.Value), 401, codeUnauthorized)
	// DELETE clears it.
	rec = f.s.do("DELETE", "/v1/session/media", "")
	if cs := rec.Result().Cookies(); rec.Code != 204 || len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Errorf("DELETE: %d %v", rec.Code, cs)
	}
	// Without an API key there is nothing to set.
	g := newMediaFixture(t, Options{})
	if rec := g.s.do("POST", "/v1/session/media", ""); rec.Code != 204 || len(rec.Result().Cookies()) != 0 {
		t.Errorf("no key: %d %v", rec.Code, rec.Result().Cookies())
	}
}

// TestThumbnailConcurrent serves many thumbnail and media requests at once
// (run under -race by scripts/test.sh): the cache, the slots that bound
// thumbnail making, and ServeContent share nothing unsafely, and every
// answer is whole.
func TestThumbnailConcurrent(t *testing.T) {
	f := newMediaFixture(t, Options{ThumbnailCacheBytes: 20 << 10}) // small: evictions happen
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := f.path("photo", "thumbnail") + fmt.Sprintf("?size=%d", 32+16*(i%8))
			if i%4 == 3 {
				p = f.path("talk", "media")
			}
			req := httptest.NewRequest("GET", p, nil)
			rec := httptest.NewRecorder()
			f.s.h.ServeHTTP(rec, req)
			if rec.Code != 200 || rec.Body.Len() == 0 {
				errs <- fmt.Sprintf("%s: %d", p, rec.Code)
				return
			}
			if i%4 != 3 {
				if _, err := jpeg.Decode(rec.Body); err != nil {
					errs <- fmt.Sprintf("%s: %v", p, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
