package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unicode"

	"rosetta/encoders/audio"
	"rosetta/internal/fixtures"
)

// realSpeech returns the speech clips of $ROSETTA_E2E_PHOTOS/speech (the
// LibriVox WAVs and espeak-ng WAV and Ogg clips scripts/e2e-media.sh
// makes) and a recording of them end to end (speechMedia's, at 16 kHz).
// Tones would not do here: without them the test skips, or fails in CI
// and under ROSETTA_REQUIRE_FIXTURES=1.
func realSpeech(t *testing.T) (clips []string, long []float32) {
	t.Helper()
	dir := filepath.Join(os.Getenv("ROSETTA_E2E_PHOTOS"), "speech")
	wavs, _ := filepath.Glob(filepath.Join(dir, "*.wav"))
	oggs, _ := filepath.Glob(filepath.Join(dir, "*.ogg"))
	if os.Getenv("ROSETTA_E2E_PHOTOS") == "" || len(wavs) == 0 || len(oggs) == 0 {
		msg := "no WAV or no Ogg speech clips under $ROSETTA_E2E_PHOTOS/speech (scripts/e2e-media.sh makes them)"
		if os.Getenv("CI") != "" || os.Getenv("ROSETTA_REQUIRE_FIXTURES") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return speechMedia(t)
}

// audioSeconds is the duration of an audio file as ingest decodes it.
func audioSeconds(t *testing.T, path string) float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	clip, err := audio.Decode(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return float64(len(audio.Mono(clip))) / float64(clip.Rate)
}

// storedObject is an object as GET /v1/collections/{c}/objects lists it.
type storedObject struct {
	ID       uint64            `json:"id"`
	Key      string            `json:"key"`
	Source   string            `json:"source"`
	Modality string            `json:"modality"`
	Metadata map[string]any    `json:"metadata"`
	Text     map[string]string `json:"text"`
}

// transcriptSegments lists a collection's transcript segments through the
// API, by key.
func transcriptSegments(t *testing.T, s *server, coll string) map[string]storedObject {
	t.Helper()
	out := map[string]storedObject{}
	var page struct {
		Objects []storedObject `json:"objects"`
		Next    *uint64        `json:"next"`
	}
	for after := uint64(0); ; after = *page.Next {
		page.Objects, page.Next = nil, nil
		if code, err := s.do("GET", fmt.Sprintf("/v1/collections/%s/objects?limit=1000&after=%d", coll, after), nil, &page); code != 200 {
			t.Fatalf("list %s: %d %v", coll, code, err)
		}
		for _, o := range page.Objects {
			if o.Metadata["segment_kind"] == "transcript" {
				out[o.Key] = o
			}
		}
		if page.Next == nil {
			return out
		}
	}
}

// words splits a transcript as a search box user would: lower case, runs
// of letters and digits.
func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// distinctWord picks, from the stored segments, a word that occurs in
// exactly one of them (the longest such word, then the first in order, so
// the choice is deterministic and no stop word), and that segment. The
// fixture Whisper's words are not real ones, so no test can name one.
func distinctWord(t *testing.T, segs map[string]storedObject) (string, storedObject) {
	t.Helper()
	in := map[string][]string{} // word → keys of the segments that hold it
	for k, o := range segs {
		for _, w := range words(o.Text["transcript"]) {
			if !slices.Contains(in[w], k) {
				in[w] = append(in[w], k)
			}
		}
	}
	best := ""
	for w, keys := range in {
		if len(keys) == 1 && (len(w) > len(best) || len(w) == len(best) && w < best) {
			best = w
		}
	}
	if best == "" {
		var texts []string
		for k, o := range segs {
			texts = append(texts, fmt.Sprintf("%s %q", filepath.Base(k), o.Text["transcript"]))
		}
		slices.Sort(texts)
		t.Fatalf("no word occurs in exactly one transcript segment:\n%s", strings.Join(texts, "\n"))
	}
	return best, segs[in[best][0]]
}

// keywordHit is a hit of a keyword search, as the checks need it.
type keywordHit struct {
	ID     uint64 `json:"id"`
	Object struct {
		Key      string            `json:"key"`
		Metadata map[string]any    `json:"metadata"`
		Text     map[string]string `json:"text"`
	} `json:"object"`
	Snippets []struct {
		Field string `json:"field"`
		Parts []struct {
			Text  string `json:"text"`
			Match bool   `json:"match"`
		} `json:"parts"`
	} `json:"snippets"`
}

// checkKeywordFindsSegment runs a keyword search for word and checks that
// the one transcript segment among its hits is seg, with seg's time range,
// its transcript and a snippet that marks the word; any other hit is seg's
// file (whose whole transcript holds the word too). It returns the hits'
// keys, in order.
func checkKeywordFindsSegment(t *testing.T, s *server, coll, word string, seg storedObject) []string {
	t.Helper()
	var res struct {
		Hits []keywordHit `json:"hits"`
	}
	code, err := s.do("POST", "/v1/collections/"+coll+"/search", map[string]any{
		"keyword": word, "mode": "keyword", "k": 20, "fields": []string{"key", "metadata", "text"}}, &res)
	if err != nil || code != 200 {
		t.Fatalf("keyword search %q: %d %v", word, code, err)
	}
	var keys []string
	found := false
	for _, h := range res.Hits {
		keys = append(keys, h.Object.Key)
		md := h.Object.Metadata
		if md["segment_kind"] != "transcript" {
			if h.Object.Key != seg.Metadata["parent"] {
				t.Errorf("keyword %q: hit %s is neither the segment nor its file", word, h.Object.Key)
			}
			continue
		}
		if found || h.ID != seg.ID || h.Object.Key != seg.Key || md["segment_start"] != seg.Metadata["segment_start"] ||
			md["segment_end"] != seg.Metadata["segment_end"] || md["parent"] != seg.Metadata["parent"] ||
			h.Object.Text["transcript"] != seg.Text["transcript"] {
			t.Fatalf("keyword %q: segment hit #%d %+v, want the stored segment #%d %+v", word, h.ID, h.Object, seg.ID, seg)
		}
		found = true
		marked := false
		for _, sn := range h.Snippets {
			for _, p := range sn.Parts {
				marked = marked || sn.Field == "text.transcript" && p.Match && slices.Contains(words(p.Text), word)
			}
		}
		if !marked {
			t.Errorf("keyword %q: the segment's snippets do not mark it: %+v", word, h.Snippets)
		}
	}
	if !found {
		t.Fatalf("keyword %q: no hit is segment %s; hits %q", word, seg.Key, keys)
	}
	return keys
}

// checkSegmentsWithinClips checks every stored transcript segment against
// the files ingested: its key, its parent among them, and a time range
// inside that file's duration.
func checkSegmentsWithinClips(t *testing.T, segs map[string]storedObject, seconds map[string]float64) {
	t.Helper()
	if len(segs) == 0 {
		t.Fatal("no transcript segments stored")
	}
	perFile := map[string]int{}
	for k, o := range segs {
		md := o.Metadata
		parent, _ := md["parent"].(string)
		start, _ := md["segment_start"].(float64)
		end, _ := md["segment_end"].(float64)
		dur, ok := seconds[parent]
		switch {
		case !ok:
			t.Errorf("segment %s: parent %q is not an ingested file", k, parent)
		case k != fmt.Sprintf("%s#w=%.3f,%.3f", parent, start, end) || o.Source != parent || o.Modality != "audio":
			t.Errorf("segment %s: key, source or modality do not match %+v", k, o)
		case !(0 <= start && start < end && end <= dur):
			t.Errorf("segment %s: %v–%v s is not inside its file's %.3f s", k, start, end, dur)
		case strings.TrimSpace(o.Text["transcript"]) == "":
			t.Errorf("segment %s has no text", k)
		}
		perFile[parent]++
	}
	for f := range seconds {
		if perFile[f] == 0 {
			t.Errorf("%s: no transcript segment", filepath.Base(f))
		}
	}
}

// TestEndToEndTranscript ingests real speech (the LibriVox and espeak-ng
// clips, WAV and Ogg, and a recording of them end to end) with
// --transcribe and the tiny fixture Whisper through the CLI, serves it,
// and checks over HTTP that every transcript segment lies inside its file,
// and that a keyword query for a word of one segment's transcript alone
// returns that segment with its time range, before and after a restart.
// Then it ingests through a server (ingest --server --transcribe: Whisper
// runs in the client, the segments go over the API) and asks again, and
// the segment's media is its file's. The fixture model's words are
// deterministic but not real (every short clip gets the same ones), so
// the word is taken from what was stored.
func TestEndToEndTranscript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	clips, long := realSpeech(t)
	wdir := fixtures.Dir(t, "whisper")
	hubert := hubertModelDir(t)
	media := t.TempDir()
	seconds := map[string]float64{}
	for _, c := range clips {
		b, _ := os.ReadFile(c)
		p := filepath.Join(media, filepath.Base(c))
		os.WriteFile(p, b, 0o644)
		seconds[p] = audioSeconds(t, p)
	}
	longPath := filepath.Join(media, "long.wav")
	os.WriteFile(longPath, pcm16WAV(long, 16000), 0o644)
	seconds[longPath] = audioSeconds(t, longPath)

	bin := buildBinary(t)
	data := t.TempDir()
	out, err := exec.Command(bin, "ingest", media, "--collection", "talks", "--data", data, "--model", hubert,
		"--transcribe", wdir, "--transcribe-language", "en", "--report", filepath.Join(t.TempDir(), "f.jsonl")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "added "+itoa(len(seconds))+",") || !strings.Contains(string(out), "failed 0") ||
		strings.Contains(string(out), "without a transcript") {
		t.Fatalf("ingest --transcribe: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	s := startServer(t, bin, data, addr)
	stop := func(s *server) { s.cmd.Process.Signal(syscall.SIGTERM); s.cmd.Wait() }
	segs := transcriptSegments(t, s, "talks")
	checkSegmentsWithinClips(t, segs, seconds)
	word, seg := distinctWord(t, segs)
	t.Logf("%d transcript segments; %q is only in %s", len(segs), word, filepath.Base(seg.Key))
	before := checkKeywordFindsSegment(t, s, "talks", word, seg)
	code, ctype, body := get(t, fmt.Sprintf("%s/v1/collections/talks/objects/%d/media", s.base, seg.ID))
	if code != 200 || !strings.HasPrefix(ctype, "audio/") || len(body) == 0 {
		t.Errorf("media of segment %s: %d %s", seg.Key, code, ctype)
	}

	// A restart (the keyword index reloaded from disk): the same answer.
	stop(s)
	s = startServer(t, bin, data, addr)
	if after := checkKeywordFindsSegment(t, s, "talks", word, seg); !slices.Equal(after, before) {
		t.Errorf("keyword %q after a restart: hits %q, before %q", word, after, before)
	}
	stop(s)

	// Through a server: the segment's file and an Ogg clip (the last).
	some := t.TempDir()
	viaSeconds := map[string]float64{}
	parent := seg.Metadata["parent"].(string)
	for _, f := range []string{parent, clips[len(clips)-1]} {
		b, _ := os.ReadFile(filepath.Join(media, filepath.Base(f)))
		p := filepath.Join(some, filepath.Base(f))
		os.WriteFile(p, b, 0o644)
		viaSeconds[p] = seconds[filepath.Join(media, filepath.Base(f))]
	}
	models := modelsDirWith(t, map[string]string{"tiny-hubert": hubert})
	s = startServer(t, bin, t.TempDir(), freeAddr(t), "--models", models)
	defer stop(s)
	out, err = exec.Command(bin, "ingest", some, "--collection", "talks", "--server", s.base, "--model", "tiny-hubert",
		"--transcribe", wdir, "--transcribe-language", "en", "--report", filepath.Join(t.TempDir(), "f.jsonl")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "added "+itoa(len(viaSeconds))+",") || !strings.Contains(string(out), "failed 0") ||
		strings.Contains(string(out), "without a transcript") {
		t.Fatalf("ingest --server --transcribe: %v\n%s", err, out)
	}
	viaSegs := transcriptSegments(t, s, "talks")
	checkSegmentsWithinClips(t, viaSegs, viaSeconds)
	// The same files, so the same segments (keys under the other folder).
	var want, got []string
	for k, o := range segs {
		if _, ok := viaSeconds[filepath.Join(some, filepath.Base(o.Metadata["parent"].(string)))]; ok {
			want = append(want, strings.TrimPrefix(k, media)+" "+o.Text["transcript"])
		}
	}
	for k, o := range viaSegs {
		got = append(got, strings.TrimPrefix(k, some)+" "+o.Text["transcript"])
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("segments through the server:\n got %q\nwant %q", got, want)
	}
	viaSeg := viaSegs[filepath.Join(some, strings.TrimPrefix(seg.Key, media))]
	checkKeywordFindsSegment(t, s, "talks", word, viaSeg)
	// The server keeps the file's original; the segment plays from it.
	code, ctype, body = get(t, fmt.Sprintf("%s/v1/collections/talks/objects/%d/media", s.base, viaSeg.ID))
	if orig, _ := os.ReadFile(parent); code != 200 || !strings.HasPrefix(ctype, "audio/") || string(body) != string(orig) {
		t.Errorf("media of segment %s through the server: %d %s, %d bytes", viaSeg.Key, code, ctype, len(body))
	}
}
