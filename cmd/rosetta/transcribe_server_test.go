package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"rosetta/internal/fixtures"
)

// TestServerTranscribes: a collection created over REST with a transcribe
// model (the fixture Whisper) and spaces of an audio model and a text
// model. `ingest --server` without --transcribe sends the recording whole;
// the server transcribes it: a keyword search for a word only one segment
// holds returns that segment, with its time range inside the recording and
// a vector in the text model's space; the same after a restart. Bad
// transcribe options are refused with 400.
func TestServerTranscribes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	models := modelsDirWith(t, map[string]string{"tiny-clip": clipModelDir(t), "tiny-hubert": hubertModelDir(t),
		"tiny-whisper": fixtures.Dir(t, "whisper")})
	data := t.TempDir()
	s := startServer(t, bin, data, freeAddr(t), "--models", models)
	stop := func() { s.cmd.Process.Signal(syscall.SIGTERM); s.cmd.Wait() }
	defer func() { stop() }()

	spaces := []map[string]any{{"name": "audio", "model": "tiny-hubert"}, {"name": "text", "model": "tiny-clip"}}
	for _, bad := range []map[string]any{
		{"model": "tiny-whisper", "language": "xx"},
		{"model": "/etc"},
		{"language": "en"},
	} {
		code, err := s.do("POST", "/v1/collections", map[string]any{"name": "bad", "spaces": spaces, "transcribe": bad}, nil)
		if err != nil || code != 400 {
			t.Errorf("transcribe %v: %d %v, want 400", bad, code, err)
		}
	}
	var created struct {
		Transcribe struct{ Model, Language string } `json:"transcribe"`
	}
	code, err := s.do("POST", "/v1/collections", map[string]any{"name": "talks", "spaces": spaces,
		"transcribe": map[string]any{"model": "tiny-whisper", "language": "en"}}, &created)
	if err != nil || code != 201 || created.Transcribe.Model != "tiny-whisper" || created.Transcribe.Language != "en" {
		t.Fatalf("create: %d %v %+v", code, err, created)
	}

	dir := t.TempDir()
	wav, err := os.ReadFile(filepath.Join(fixtures.Dir(t, "whisper"), "audio_long.wav"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "long.wav"), wav, 0o644)
	out, err := exec.Command(bin, "ingest", dir, "--collection", "talks", "--server", s.base,
		"--report", filepath.Join(t.TempDir(), "f.jsonl")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "failed 0") {
		t.Fatalf("ingest --server: %v\n%s", err, out)
	}

	type hit struct {
		ID     uint64 `json:"id"`
		Object struct {
			Key      string               `json:"key"`
			Metadata map[string]any       `json:"metadata"`
			Text     map[string]string    `json:"text"`
			Vectors  map[string][]float32 `json:"vectors"`
		} `json:"object"`
	}
	list := func() []hit {
		var res struct {
			Objects []struct {
				ID       uint64            `json:"id"`
				Key      string            `json:"key"`
				Metadata map[string]any    `json:"metadata"`
				Text     map[string]string `json:"text"`
			} `json:"objects"`
		}
		code, err := s.do("GET", "/v1/collections/talks/objects?limit=1000", nil, &res)
		if err != nil || code != 200 {
			t.Fatalf("list objects: %d %v", code, err)
		}
		var out []hit
		for _, o := range res.Objects {
			var h hit
			h.ID, h.Object.Key, h.Object.Metadata, h.Object.Text = o.ID, o.Key, o.Metadata, o.Text
			out = append(out, h)
		}
		return out
	}
	objs := list()
	var segs []hit
	file := ""
	for _, o := range objs {
		if o.Object.Metadata["segment_kind"] == "transcript" {
			segs = append(segs, o)
		} else if o.Object.Metadata["parent"] == nil {
			file = o.Object.Key
			if o.Object.Text["transcript"] == "" || o.Object.Metadata["transcript_language"] != "en" {
				t.Fatalf("the file was not transcribed: %+v", o.Object)
			}
		}
	}
	if len(segs) == 0 || file == "" {
		t.Fatalf("no transcript segments among %d objects", len(objs))
	}
	// A word (letters only, at least 4) that exactly one segment holds.
	var word string
	var want hit
	count := map[string]int{}
	owner := map[string]hit{}
	for _, sg := range segs {
		seen := map[string]bool{}
		for _, w := range strings.Fields(strings.ToLower(sg.Object.Text["transcript"])) {
			if len(w) < 4 || strings.ContainsFunc(w, func(r rune) bool { return r < 'a' || r > 'z' }) || seen[w] {
				continue
			}
			seen[w] = true
			count[w]++
			owner[w] = sg
		}
	}
	for w, n := range count {
		if n == 1 && (word == "" || w < word) {
			word, want = w, owner[w]
		}
	}
	if word == "" {
		t.Fatalf("no word is in exactly one of %d segments", len(segs))
	}
	check := func(when string) {
		var res struct {
			Hits []hit `json:"hits"`
		}
		code, err := s.do("POST", "/v1/collections/talks/search", map[string]any{"mode": "keyword", "keyword": word, "k": 10,
			"fields": []string{"key", "metadata", "vectors"}}, &res)
		if err != nil || code != 200 {
			t.Fatalf("%s: keyword search: %d %v", when, code, err)
		}
		found := false
		for _, h := range res.Hits {
			if h.Object.Key != want.Object.Key && h.Object.Key != file {
				t.Errorf("%s: %q found %s, which does not hold it", when, word, h.Object.Key)
			}
			if h.Object.Key == want.Object.Key {
				found = true
				st, _ := h.Object.Metadata["segment_start"].(float64)
				en, _ := h.Object.Metadata["segment_end"].(float64)
				if st != want.Object.Metadata["segment_start"] || en != want.Object.Metadata["segment_end"] || st < 0 || en <= st || en > 60.5 {
					t.Errorf("%s: the segment's time range %v..%v", when, st, en)
				}
				if len(h.Object.Vectors["text"]) != 16 || h.Object.Vectors["audio"] != nil {
					t.Errorf("%s: the segment's vectors: text %d values, audio %v", when, len(h.Object.Vectors["text"]), h.Object.Vectors["audio"] != nil)
				}
			}
		}
		if !found {
			t.Fatalf("%s: keyword %q did not return its segment %s: %+v", when, word, want.Object.Key, res.Hits)
		}
	}
	check("served")
	stop()
	s = startServer(t, bin, data, freeAddr(t), "--models", models)
	check("after a restart")
}
