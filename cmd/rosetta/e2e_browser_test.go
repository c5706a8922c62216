package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"rosetta/internal/fixtures"
)

// chromiumPath finds the browser for TestBrowserSearchPage: $ROSETTA_CHROMIUM,
// else Debian's /usr/bin/chromium. Outside CI a missing browser skips the
// test; in CI (.ci/run installs the package) it fails it.
func chromiumPath(t *testing.T) string {
	p := os.Getenv("ROSETTA_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no Chromium at %s: .ci/run installs Debian's chromium package", p)
		}
		t.Skipf("no Chromium at %s (apt-get install chromium, or set ROSETTA_CHROMIUM)", p)
	}
	return p
}

// artifactDir is where the browser test leaves its screenshots:
// $ROSETTA_ARTIFACTS, else $TMPDIR/rosetta-artifacts. It outlives the test.
func artifactDir(t *testing.T) string {
	d := os.Getenv("ROSETTA_ARTIFACTS")
	if d == "" {
		d = filepath.Join(os.TempDir(), "rosetta-artifacts")
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// newBrowser starts headless Chromium with the flags that work on a
// machine without network access, in a fresh profile.
func newBrowser(t *testing.T) (context.Context, context.CancelFunc) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1100),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	// The first action starts the browser, which lives as long as the
	// context of that call: start it before deriving the timeout.
	if err := chromedp.Do(bctx); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("starting Chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(bctx, 3*time.Minute)
	return ctx, func() { cancelTimeout(); cancelBrowser(); cancelAlloc() }
}

// card is what the page shows for one hit.
type card struct {
	ID       string `json:"id"`
	Key      string `json:"key"`
	Modality string `json:"modality"`
	Score    string `json:"score"`
	Source   string `json:"source"`
	ImgSrc   string `json:"imgSrc"`
	ImgW     int    `json:"imgW"`
	AudioSrc string `json:"audioSrc"`
	Segment  string `json:"segment"`
	Snippet  string `json:"snippet"`
	Caption  string `json:"caption"`
	Path     string `json:"path"`
}

const readCards = `[...document.querySelectorAll('#results .card')].map(c => {
  const img = c.querySelector('img.thumb'), au = c.querySelector('audio');
  const q = (s) => { const e = c.querySelector(s); return e ? e.textContent : ''; };
  return {id: c.dataset.id, key: c.dataset.key || '', modality: q('.modality'), score: q('.score'),
    source: c.querySelector('.source').title, imgSrc: img ? img.src : '', imgW: img ? img.naturalWidth : 0,
    audioSrc: au ? au.src : '',
    segment: q('.segment'), snippet: q('.snippet'), caption: q('.caption'), path: q('.source')};
})`

// step is a browser action whose value, if any, has been stored.
type step = chromedp.Action[chromedp.Void]

// into makes a step of an action that returns a value: it stores the value
// in *dst.
func into[T any](a chromedp.Action[T], dst *T) step {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		if err == nil {
			*dst = v
		}
		return chromedp.Void{}, err
	}
}

// waitJS polls a JavaScript expression until it is true.
func waitJS(expr string) step {
	return into(chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(60*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)), new(bool))
}

// TestBrowserSearchPage drives the page that `rosetta serve` serves at / in
// headless Chromium: a text query, an image upload, "more like this", a
// modality choice, an API error, an audio upload that finds a segment of a
// long recording, a keyword search for a word of a Whisper transcript
// segment (its line shown, its audio played from its start), and the
// API-key flow. Results on the page must be the
// API's results for the same request, in order, with their thumbnails and
// audio actually loaded. The tiny fixture models make rankings meaningless
// beyond identities, so that is what the expectations rest on.
func TestBrowserSearchPage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives a browser")
	}
	chromiumPath(t) // skip early when there is no browser

	media := t.TempDir()
	photos := e2ePhotos(t)
	for _, p := range photos {
		b, _ := os.ReadFile(p)
		os.WriteFile(filepath.Join(media, filepath.Base(p)), b, 0o644)
	}
	texts := map[string]string{"cat.txt": "a tabby cat sleeping on a sofa", "rocket.md": "a rocket on the launch pad", "coffee.txt": "a cup of coffee"}
	for n, tx := range texts {
		os.WriteFile(filepath.Join(media, n), []byte(tx), 0o644)
	}
	clips, long := speechMedia(t)
	speech := t.TempDir()
	for _, c := range clips[:min(3, len(clips))] {
		b, _ := os.ReadFile(c)
		os.WriteFile(filepath.Join(speech, filepath.Base(c)), b, 0o644)
	}
	longPath := filepath.Join(speech, "long.wav")
	os.WriteFile(longPath, pcm16WAV(long, 16000), 0o644)
	window := filepath.Join(t.TempDir(), "window.wav")
	os.WriteFile(window, pcm16WAV(pcm16Round(long[8*16000:18*16000]), 16000), 0o644)

	bin := buildBinary(t)
	data := t.TempDir()
	// The photos get captions from the tiny fixture BLIP (random words, but
	// real generated text to show).
	capModel := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors", "preprocessor_config.json", "generation_config.json"} {
		os.Symlink(filepath.Join(fixtures.Dir(t, "blip-caption"), f), filepath.Join(capModel, f))
	}
	os.Symlink(filepath.Join(fixtures.Dir(t, "tokenizer-bert"), "vocab.txt"), filepath.Join(capModel, "vocab.txt"))
	for _, in := range []struct {
		dir, coll, model string
		extra            []string
	}{{media, "photos", clipModelDir(t), []string{"--caption", capModel}},
		{speech, "speech", hubertModelDir(t), []string{"--transcribe", fixtures.Dir(t, "whisper"), "--transcribe-language", "en"}}} {
		args := append([]string{"ingest", in.dir, "--collection", in.coll, "--data", data, "--model", in.model,
			"--report", filepath.Join(t.TempDir(), "f.jsonl")}, in.extra...)
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "failed 0") {
			t.Fatalf("ingest %s: %v\n%s", in.coll, err, out)
		}
	}
	art := artifactDir(t)

	t.Run("open", func(t *testing.T) {
		s := startServer(t, bin, data, freeAddr(t))
		defer func() { s.cmd.Process.Signal(syscall.SIGTERM); s.cmd.Wait() }()
		ctx, cancel := newBrowser(t)
		defer cancel()
		browseWithoutKey(t, ctx, s, media, photos, longPath, window, art)
	})
	// Files ingested through a server (which keeps their originals) show
	// their thumbnails and play their audio on the page.
	t.Run("through-server", func(t *testing.T) {
		models := modelsDirWith(t, map[string]string{"tiny-clip": clipModelDir(t), "tiny-hubert": hubertModelDir(t)})
		s := startServer(t, bin, t.TempDir(), freeAddr(t), "--models", models)
		defer func() { s.cmd.Process.Signal(syscall.SIGTERM); s.cmd.Wait() }()
		for _, in := range []struct{ dir, coll, model string }{{media, "photos", "tiny-clip"}, {speech, "speech", "tiny-hubert"}} {
			out, err := exec.Command(bin, "ingest", in.dir, "--collection", in.coll, "--server", s.base, "--model", in.model,
				"--report", filepath.Join(t.TempDir(), "f.jsonl")).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "failed 0") {
				t.Fatalf("ingest --server %s: %v\n%s", in.coll, err, out)
			}
		}
		ctx, cancel := newBrowser(t)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/?collection=photos"), waitJS(`document.querySelector('#overview b') !== null`)); err != nil {
			t.Fatal(err)
		}
		cards := submitAndRead(t, ctx,
			chromedp.SendKeys(chromedp.CSS(`#q-text`), "a photo"),
			chromedp.Click(chromedp.CSS(`#search-button`)),
		)
		if len(cards) == 0 {
			t.Fatal("no results")
		}
		if err := chromedp.Do(ctx, waitJS(`(t => t.length > 0 && t.every(i => i.complete && i.naturalWidth > 0))([...document.querySelectorAll('#results img.thumb')])`)); err != nil {
			t.Fatalf("thumbnails of server-ingested photos did not load: %v", err)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/?collection=speech"),
			waitJS(`document.querySelector('#overview b') !== null && document.getElementById('space').options.length > 0`)); err != nil {
			t.Fatal(err)
		}
		cards = submitAndRead(t, ctx,
			chromedp.SetUploadFiles(chromedp.CSS(`#q-file`), []string{window}),
			waitJS(`document.getElementById('q-file-name').textContent.includes('window.wav')`),
			chromedp.Click(chromedp.CSS(`#search-button`)),
		)
		if len(cards) == 0 || cards[0].Modality != "audio" || !strings.HasSuffix(cards[0].AudioSrc, "/media#t=8,18") {
			t.Fatalf("audio upload: %+v", cards)
		}
		if err := chromedp.Do(ctx, waitJS(`(a => a.readyState >= 1 && a.currentTime >= 8)(document.querySelector('#results .card audio'))`)); err != nil {
			t.Fatalf("the server-ingested segment's player did not load or seek: %v", err)
		}
		screenshot(t, ctx, filepath.Join(art, "through-server.png"))
	})
	t.Run("api-key", func(t *testing.T) {
		const key = "browser-test-key"
		s := startServer(t, bin, data, freeAddr(t), "--api-key", key)
		defer func() { s.cmd.Process.Signal(syscall.SIGTERM); s.cmd.Wait() }()
		ctx, cancel := newBrowser(t)
		defer cancel()
		browseWithKey(t, ctx, s, key, min(12, len(photos)+len(texts)), art)
	})
}

// apiSearch runs the search the page should have run and returns the hit
// ids in order.
func apiSearch(t *testing.T, s *server, coll string, body map[string]any) []string {
	t.Helper()
	var res struct {
		Hits []struct {
			ID uint64 `json:"id"`
		} `json:"hits"`
	}
	code, err := s.do("POST", "/v1/collections/"+coll+"/search", body, &res)
	if err != nil || code != 200 {
		t.Fatalf("API search: %d %v", code, err)
	}
	var ids []string
	for _, h := range res.Hits {
		ids = append(ids, fmt.Sprint(h.ID))
	}
	return ids
}

func cardIDs(cards []card) []string {
	var ids []string
	for _, c := range cards {
		ids = append(ids, c.ID)
	}
	return ids
}

func screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// search submits the form and waits for the status line of a finished
// search, then reads the cards.
func submitAndRead(t *testing.T, ctx context.Context, actions ...step) []card {
	t.Helper()
	var cards []card
	actions = append([]step{into(chromedp.Evaluate[string](`document.getElementById('status').textContent = ''`), new(string))}, actions...)
	actions = append(actions,
		waitJS(`/results? for/.test(document.getElementById('status').textContent) || !document.getElementById('error').hidden`),
		into(chromedp.Evaluate[[]card](readCards), &cards))
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
	return cards
}

func browseWithoutKey(t *testing.T, ctx context.Context, s *server, media string, photos []string, longPath, window, art string) {
	const k = 6
	// The page loads, lists the collections and shows the overview.
	var overview string
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.base+"/?collection=photos"),
		waitJS(`document.querySelector('#overview b') !== null`),
		into(chromedp.Text(chromedp.CSS(`#overview`)), &overview),
	)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("objects %d", len(photos)+3)
	if !strings.Contains(overview, want) || !strings.Contains(overview, fmt.Sprintf("images %d", len(photos))) ||
		!strings.Contains(overview, "texts 3") || !strings.Contains(overview, "tombstones") {
		t.Fatalf("overview %q, want %q, per-modality counts and index health", overview, want)
	}

	// A text query: the page shows the API's hits in its order, and every
	// image's thumbnail has loaded.
	query := "a photo of an astronaut"
	cards := submitAndRead(t, ctx,
		chromedp.SetValue(chromedp.CSS(`#k`), fmt.Sprint(k)),
		chromedp.SendKeys(chromedp.CSS(`#q-text`), query),
		chromedp.Click(chromedp.CSS(`#search-button`)),
	)
	wantIDs := apiSearch(t, s, "photos", map[string]any{"query": map[string]any{"text": query}, "k": k})
	if got := cardIDs(cards); strings.Join(got, ",") != strings.Join(wantIDs, ",") {
		t.Fatalf("text query: page shows %v, API answers %v", got, wantIDs)
	}
	if err := chromedp.Do(ctx, waitJS(`[...document.querySelectorAll('#results img.thumb')].every(i => i.complete && i.naturalWidth > 0)`)); err != nil {
		t.Fatalf("thumbnails did not load: %v", err)
	}
	if err := chromedp.Do(ctx, into(chromedp.Evaluate[[]card](readCards), &cards)); err != nil {
		t.Fatal(err)
	}
	images := 0
	for _, c := range cards {
		switch c.Modality {
		case "image":
			images++
			if !strings.Contains(c.ImgSrc, "/thumbnail?size=256") || c.ImgW == 0 || c.ImgW > 256 {
				t.Errorf("image card %+v: thumbnail not from the server or not loaded", c)
			}
			if c.Caption == "" || c.Path != c.Source || !strings.HasPrefix(c.Path, media+"/") {
				t.Errorf("image card %+v: no caption, or not its source path", c)
			}
		case "text":
			if c.Snippet == "" {
				t.Errorf("text card without its text: %+v", c)
			}
		}
	}
	if images == 0 {
		t.Fatalf("no image among %d hits", len(cards))
	}
	screenshot(t, ctx, filepath.Join(art, "search-text.png"))

	// "More results" doubles k and runs the same query again: the API's
	// first 12 (of 11 objects: all of them).
	more := submitAndRead(t, ctx, chromedp.Click(chromedp.CSS(`#more-results`)))
	wantMore := apiSearch(t, s, "photos", map[string]any{"query": map[string]any{"text": query}, "k": 2 * k})
	if got := cardIDs(more); strings.Join(got, ",") != strings.Join(wantMore, ",") || len(got) <= k {
		t.Fatalf("more results: page shows %v, API answers %v", got, wantMore)
	}
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`#k`), fmt.Sprint(k))); err != nil {
		t.Fatal(err)
	}
	// Everything the page loaded came from the server itself (no CDN).
	var loaded []string
	err = chromedp.Do(ctx, into(chromedp.Evaluate[[]string](`performance.getEntriesByType('resource').map(e => e.name)`), &loaded))
	if err != nil || !slices.ContainsFunc(loaded, func(u string) bool { return strings.HasSuffix(u, "/ui/app.js") }) {
		t.Fatalf("resources the page loaded: %v %v", loaded, err)
	}
	for _, u := range loaded {
		if !strings.HasPrefix(u, s.base+"/") {
			t.Errorf("the page loaded %s, not from the server", u)
		}
	}

	// An image upload: the photo itself comes back first with score 1.
	astronaut := photos[0]
	for _, p := range photos {
		if filepath.Base(p) == "astronaut.png" {
			astronaut = p
		}
	}
	cards = submitAndRead(t, ctx,
		chromedp.SetUploadFiles(chromedp.CSS(`#q-file`), []string{astronaut}),
		waitJS(`document.getElementById('q-file-name').textContent.includes('`+filepath.Base(astronaut)+`')`),
		chromedp.Click(chromedp.CSS(`#search-button`)),
	)
	if len(cards) != k || cards[0].Key != filepath.Join(media, filepath.Base(astronaut)) || cards[0].Score != "1.0000" {
		t.Fatalf("image upload: first card %+v of %d", cards[0], len(cards))
	}
	var text string
	err = chromedp.Do(ctx,
		into(chromedp.Value(chromedp.CSS(`#q-text`)), &text),
		waitJS(`[...document.querySelectorAll('#results img.thumb')].every(i => i.complete && i.naturalWidth > 0)`),
	)
	if err != nil || text != "" {
		t.Fatalf("after choosing a file: text box %q, thumbnails: %v", text, err)
	}
	screenshot(t, ctx, filepath.Join(art, "search-image.png"))

	// "More like this" on the second result runs an object query that
	// leaves that object out (it would come first).
	second := cards[1].ID
	cards = submitAndRead(t, ctx, chromedp.Click(chromedp.CSS(`#results .card:nth-child(2) .more`)))
	if len(cards) == 0 || slices.ContainsFunc(cards, func(c card) bool { return c.ID == second }) {
		t.Fatalf("more like this #%s: %v", second, cardIDs(cards))
	}

	// Texts only, from a text query.
	cards = submitAndRead(t, ctx,
		chromedp.Click(chromedp.CSS(`#q-clear`)),
		chromedp.SetValue(chromedp.CSS(`#modality`), "text"),
		chromedp.SendKeys(chromedp.CSS(`#q-text`), "coffee"),
		chromedp.Click(chromedp.CSS(`#search-button`)),
	)
	if len(cards) != 3 {
		t.Fatalf("modality text: %d cards, want the 3 texts", len(cards))
	}
	for _, c := range cards {
		if c.Modality != "text" {
			t.Fatalf("modality text returned %+v", c)
		}
	}

	// Keyword mode: BM25 over the texts (and captions); the matched word is
	// highlighted in a <mark> built as text.
	cards = submitAndRead(t, ctx,
		into(chromedp.Evaluate[string](`document.getElementById('mode').value = 'keyword'; document.getElementById('q-text').value = 'coffee'`), new(string)),
		chromedp.Click(chromedp.CSS(`#search-button`)),
	)
	var marks []string
	if err := chromedp.Do(ctx, into(chromedp.Evaluate[[]string](`[...document.querySelectorAll('#results .card .highlight mark')].map(m => m.textContent)`), &marks)); err != nil {
		t.Fatal(err)
	}
	wantKW := apiSearch(t, s, "photos", map[string]any{"keyword": "coffee", "mode": "keyword", "k": k, "modality": "text"})
	if got := cardIDs(cards); len(cards) != 1 || strings.Join(got, ",") != strings.Join(wantKW, ",") || strings.Join(marks, ",") != "coffee" {
		t.Fatalf("keyword mode: page shows %v with marks %q, API answers %v", got, marks, wantKW)
	}
	screenshot(t, ctx, filepath.Join(art, "search-keyword.png"))
	if err := chromedp.Do(ctx, into(chromedp.Evaluate[string](`document.getElementById('mode').value = ''`), new(string))); err != nil {
		t.Fatal(err)
	}

	// A field filter from the form: only .md files.
	cards = submitAndRead(t, ctx,
		chromedp.Click(chromedp.CSS(`#add-filter`)),
		chromedp.SendKeys(chromedp.CSS(`#filter-rows .f-field`), "file_ext"),
		chromedp.SendKeys(chromedp.CSS(`#filter-rows .f-value`), ".md"),
		chromedp.Click(chromedp.CSS(`#search-button`)),
	)
	if len(cards) != 1 || !strings.HasSuffix(cards[0].Source, "rocket.md") {
		t.Fatalf("filter file_ext = .md: %+v", cards)
	}

	// A bad raw filter: the API's error is shown, not swallowed.
	var errText string
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#raw-filter summary`)),
		chromedp.SendKeys(chromedp.CSS(`#filter-json`), `{"field": "x", "between": [1, 2]}`),
		chromedp.Click(chromedp.CSS(`#search-button`)),
		waitJS(`!document.getElementById('error').hidden`),
		into(chromedp.Text(chromedp.CSS(`#error`)), &errText),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errText, "400") || !strings.Contains(errText, "invalid_request") {
		t.Fatalf("error banner %q", errText)
	}
	screenshot(t, ctx, filepath.Join(art, "search-error.png"))

	// Audio: upload a 10 s window cut from the long recording; the first
	// hit is that recording's 8–18 s segment, and its player loads the
	// file (through range requests) and starts at 8 s.
	err = chromedp.Do(ctx,
		chromedp.Navigate(s.base+"/?collection=speech"),
		waitJS(`document.querySelector('#overview b') !== null && document.getElementById('space').options.length > 0`),
	)
	if err != nil {
		t.Fatal(err)
	}
	cards = submitAndRead(t, ctx,
		chromedp.SetUploadFiles(chromedp.CSS(`#q-file`), []string{window}),
		waitJS(`document.getElementById('q-file-name').textContent.includes('window.wav')`),
		chromedp.Click(chromedp.CSS(`#search-button`)),
	)
	if len(cards) == 0 || cards[0].Modality != "audio" || cards[0].Source != longPath || cards[0].Segment != "segment 8.0–18.0 s" ||
		!strings.HasSuffix(cards[0].AudioSrc, "/media#t=8,18") {
		t.Fatalf("audio upload: %+v", cards)
	}
	if err := chromedp.Do(ctx, waitJS(`(a => a.readyState >= 1 && a.currentTime >= 8)(document.querySelector('#results .card audio'))`)); err != nil {
		t.Fatalf("the segment's player did not load or seek: %v", err)
	}
	screenshot(t, ctx, filepath.Join(art, "search-audio.png"))

	// A write while the page is open: the overview's next poll shows ingest
	// in progress, from the collection's change counter.
	vec := make([]float32, 32)
	vec[0] = 1
	code, err := s.do("PUT", "/v1/collections/speech/objects", map[string]any{"objects": []map[string]any{
		{"key": "written-while-watching", "modality": "audio", "vectors": map[string]any{"embedding": vec}}}}, nil)
	if err != nil || code != 200 {
		t.Fatalf("upsert: %d %v", code, err)
	}
	var progress string
	err = chromedp.Do(ctx,
		waitJS(`document.getElementById('ingest-progress') !== null`),
		into(chromedp.Text(chromedp.CSS(`#ingest-progress`)), &progress),
	)
	if err != nil || !strings.HasPrefix(progress, "ingest in progress: 1 change in ") {
		t.Fatalf("ingest progress %q: %v", progress, err)
	}

	// An object written through the API with a source outside the media
	// folders: the page shows the server's refusal on the card, and the
	// file never reaches the browser.
	code, err = s.do("PUT", "/v1/collections/speech/objects", map[string]any{"objects": []map[string]any{
		{"key": "probe", "modality": "image", "source": "/etc/passwd", "metadata": map[string]any{"probe": "outside"},
			"vectors": map[string]any{"embedding": vec}}}}, nil)
	if err != nil || code != 200 {
		t.Fatalf("upsert: %d %v", code, err)
	}
	var mediaErr string
	cards = submitAndRead(t, ctx,
		chromedp.Click(chromedp.CSS(`#add-filter`)),
		chromedp.SendKeys(chromedp.CSS(`#filter-rows .f-field`), "probe"),
		chromedp.SendKeys(chromedp.CSS(`#filter-rows .f-value`), "outside"),
		chromedp.Click(chromedp.CSS(`#search-button`)),
	)
	if len(cards) != 1 || cards[0].Key != "probe" {
		t.Fatalf("probe filter: %+v", cards)
	}
	err = chromedp.Do(ctx,
		waitJS(`document.querySelector('#results .media-error') !== null`),
		into(chromedp.Text(chromedp.CSS(`#results .media-error`)), &mediaErr),
	)
	if err != nil || !strings.Contains(mediaErr, "403 forbidden") {
		t.Fatalf("media error on the card %q: %v", mediaErr, err)
	}
	screenshot(t, ctx, filepath.Join(art, "media-refused.png"))

	browseTranscript(t, ctx, s, art)
}

// browseTranscript searches the page, in keyword mode, for a word of one
// transcript segment of the speech collection (ingested with the fixture
// Whisper; the word is picked from what was stored): the page shows the
// API's hits, the segment's card shows its transcript line with the word
// marked and its time range, and its player plays from segment_start.
func browseTranscript(t *testing.T, ctx context.Context, s *server, art string) {
	word, seg := distinctWord(t, transcriptSegments(t, s, "speech"))
	start, end := seg.Metadata["segment_start"].(float64), seg.Metadata["segment_end"].(float64)
	if start <= 0 {
		t.Fatalf("segment %s starts at 0: playing from its start would prove nothing", seg.Key)
	}
	lit, _ := json.Marshal(word)
	var k int
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.base+"/?collection=speech"),
		waitJS(`document.querySelector('#overview b') !== null`),
		into(chromedp.Evaluate[int](`Number(document.getElementById('k').value)`), &k),
	)
	if err != nil {
		t.Fatal(err)
	}
	cards := submitAndRead(t, ctx,
		into(chromedp.Evaluate[string](`document.getElementById('mode').value = 'keyword'; document.getElementById('q-text').value = `+string(lit)), new(string)),
		chromedp.Click(chromedp.CSS(`#search-button`)),
	)
	want := apiSearch(t, s, "speech", map[string]any{"keyword": word, "mode": "keyword", "k": k})
	if got := cardIDs(cards); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("keyword %q: page shows %v, API answers %v", word, got, want)
	}
	i := slices.IndexFunc(cards, func(c card) bool { return c.Key == seg.Key })
	if i < 0 {
		t.Fatalf("keyword %q: no card for segment %s in %+v", word, seg.Key, cards)
	}
	c := cards[i]
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	if c.Modality != "audio" || c.ID != fmt.Sprint(seg.ID) || c.Segment != fmt.Sprintf("segment %.1f–%.1f s", start, end) ||
		!strings.HasSuffix(c.AudioSrc, fmt.Sprintf("/objects/%d/media#t=%s,%s", seg.ID, num(start), num(end))) {
		t.Fatalf("segment card %+v, want segment #%d %v–%v s", c, seg.ID, start, end)
	}
	// The transcript line: the segment's text, the word in a <mark>.
	type highlight struct {
		Field string   `json:"field"`
		Text  string   `json:"text"`
		Marks []string `json:"marks"`
	}
	var line highlight
	cardJS := fmt.Sprintf(`document.querySelectorAll('#results .card')[%d]`, i)
	err = chromedp.Do(ctx, into(chromedp.Evaluate[highlight](`(c => { const p = c.querySelector('.highlight'); return p ? {field: p.dataset.field, text: p.textContent,
  marks: [...p.querySelectorAll('mark')].map(m => m.textContent)} : {field: '', text: '', marks: []}; })(`+cardJS+`)`), &line))
	if err != nil {
		t.Fatal(err)
	}
	if line.Field != "text.transcript" || !strings.Contains(line.Text, seg.Text["transcript"]) ||
		!slices.ContainsFunc(line.Marks, func(m string) bool { return strings.EqualFold(strings.TrimSpace(m), word) }) {
		t.Fatalf("segment card's transcript line %+v, want %q with %q marked", line, seg.Text["transcript"], word)
	}
	// Play: the player starts at segment_start (the page seeks there once
	// the file's metadata is in) and plays on from it.
	var from float64
	err = chromedp.Do(ctx,
		waitJS(`(a => a.readyState >= 1 && a.currentTime >= `+num(start)+`)(`+cardJS+`.querySelector('audio'))`),
		into(chromedp.Evaluate[bool](`(a => { window.playedFrom = null; a.addEventListener('playing', () => { window.playedFrom = a.currentTime; }, {once: true});
  a.play().catch(e => { window.playError = String(e); }); return true; })(`+cardJS+`.querySelector('audio'))`), new(bool)),
		waitJS(`window.playError !== undefined || (window.playedFrom !== null && `+cardJS+`.querySelector('audio').currentTime > window.playedFrom)`),
		into(chromedp.Evaluate[float64](`window.playError !== undefined ? -1 : window.playedFrom`), &from),
	)
	if err != nil || from < 0 {
		t.Fatalf("the segment's player did not play: %v", err)
	}
	if from < start-0.05 || from > start+0.5 {
		t.Fatalf("the segment's player started at %v s, want its start %v s", from, start)
	}
	screenshot(t, ctx, filepath.Join(art, "search-transcript.png"))

	// One hit per file: the file's card lists the segment with its
	// transcript line, and its player starts at that segment.
	cards = submitAndRead(t, ctx,
		chromedp.Click(chromedp.CSS(`#group`)),
		chromedp.Click(chromedp.CSS(`#search-button`)),
	)
	i = slices.IndexFunc(cards, func(c card) bool { return c.Key == seg.Metadata["parent"] })
	if i < 0 || !strings.HasSuffix(cards[i].AudioSrc, fmt.Sprintf("/media#t=%s,%s", num(start), num(end))) {
		t.Fatalf("keyword %q, one hit per file: no card for %v playing from %v s in %+v", word, seg.Metadata["parent"], start, cards)
	}
	var items []string
	cardJS = fmt.Sprintf(`document.querySelectorAll('#results .card')[%d]`, i)
	if err := chromedp.Do(ctx, into(chromedp.Evaluate[[]string](`[...`+cardJS+`.querySelectorAll('.segments li')].map(li => li.textContent)`), &items)); err != nil {
		t.Fatal(err)
	}
	wantItem := fmt.Sprintf("%.1f–%.1f s", start, end)
	if !slices.ContainsFunc(items, func(it string) bool {
		return strings.HasPrefix(it, wantItem) && strings.Contains(it, "“"+seg.Text["transcript"]+"”")
	}) {
		t.Fatalf("grouped card's segments %q, want %s with “%s”", items, wantItem, seg.Text["transcript"])
	}
	screenshot(t, ctx, filepath.Join(art, "search-transcript-grouped.png"))
}

func browseWithKey(t *testing.T, ctx context.Context, s *server, key string, wantCards int, art string) {
	// The page loads without the key, meets a 401, and asks for it.
	var errText string
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.base+"/?collection=photos"),
		waitJS(`document.getElementById('key-dialog').open`),
		into(chromedp.Text(chromedp.CSS(`#error`)), &errText),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errText, "401") {
		t.Fatalf("error banner before the key: %q", errText)
	}
	// Entered once, it is kept in session storage and used for the API;
	// the thumbnails load through the media cookie it was traded for.
	var stored string
	cards := submitAndRead(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#key-input`), key),
		chromedp.Click(chromedp.CSS(`#key-save`)),
		waitJS(`document.querySelector('#overview b') !== null`),
		into(chromedp.Evaluate[string](`sessionStorage.getItem('rosetta-api-key')`), &stored),
		chromedp.SendKeys(chromedp.CSS(`#q-text`), "a cat"),
		chromedp.Click(chromedp.CSS(`#search-button`)),
	)
	if stored != key {
		t.Fatalf("session storage holds %q", stored)
	}
	if len(cards) != wantCards {
		t.Fatalf("%d cards with the key, want %d (k = 12)", len(cards), wantCards)
	}
	if err := chromedp.Do(ctx, waitJS(`[...document.querySelectorAll('#results img.thumb')].every(i => i.complete && i.naturalWidth > 0 && i.src.includes('/thumbnail?size=256'))`)); err != nil {
		t.Fatalf("thumbnails did not load with the key: %v", err)
	}
	if err := chromedp.Do(ctx, waitJS(`document.querySelectorAll('#results .media-error').length === 0`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, filepath.Join(art, "search-api-key.png"))
}
