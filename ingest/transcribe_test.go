package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"rosetta/encoders"
	"rosetta/encoders/audio"
	"rosetta/encoders/whisper"
	"rosetta/engine"
	"rosetta/internal/fixtures"
)

// whisperTranscriber adapts the fixture Whisper to Transcriber, as
// cmd/rosetta does, with the language given (the goldens' "en").
type whisperTranscriber struct {
	m   *whisper.Model
	tok *whisper.Tokenizer
}

func (w whisperTranscriber) CheckLanguage(string) error { return nil }

func (w whisperTranscriber) Transcribe(ctx context.Context, data []byte, language string) (engine.Transcript, error) {
	src, err := audio.OpenResampled(data, w.m.Preprocessor().SamplingRate)
	if err != nil {
		return engine.Transcript{}, err
	}
	opt := whisper.DefaultTranscribeOptions()
	opt.Language = language
	r, err := w.m.TranscribeSamples(ctx, w.tok, src, opt)
	if err != nil {
		return engine.Transcript{}, err
	}
	t := engine.Transcript{Language: r.Language, Text: r.Text}
	for _, s := range r.Segments {
		t.Segments = append(t.Segments, engine.TranscriptSegment{Start: s.Start, End: s.End, Text: s.Text})
	}
	return t, nil
}

// objectsByKey lists a collection's objects (with their texts) by key.
func objectsByKey(t *testing.T, e *engine.Engine, coll string) map[string]engine.Object {
	t.Helper()
	out := map[string]engine.Object{}
	err := e.ScanObjects(context.Background(), coll, func(o engine.Object) error {
		full, err := e.GetObject(context.Background(), coll, o.ID)
		if err != nil {
			return err
		}
		out[full.Key] = full
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIngestTranscribe ingests the fixture WAVs with the tiny fixture
// Whisper as Transcriber: each file holds its transcript, audio_long.wav's
// segments are the golden transcribe() segments (their keys, times and
// texts) kept within the recording's duration, and a keyword query for a word of one segment finds that
// segment, before and after a restart.
func TestIngestTranscribe(t *testing.T) {
	wdir := fixtures.Dir(t, "whisper")
	m, err := whisper.Load(wdir, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := whisper.LoadTokenizer(wdir)
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Transcribe map[string]struct {
			Text     string `json:"text"`
			Language string `json:"language"`
			Segments []struct {
				Start, End float64
				Text       string
			} `json:"segments"`
		} `json:"transcribe"`
	}
	b, err := os.ReadFile(filepath.Join(wdir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	want, ok := golden.Transcribe["long/condition_on_previous_text"]
	if !ok || len(want.Segments) == 0 {
		t.Fatal("golden.json has no long/condition_on_previous_text transcribe case")
	}

	root := t.TempDir()
	for _, f := range []string{"audio_jfk.wav", "audio_long.wav"} {
		copyFile(t, filepath.Join(wdir, f), filepath.Join(root, f))
	}
	hub := hubertDir(t)
	dataDir := t.TempDir()
	open := func() *engine.Engine {
		e, err := engine.Open(engine.Options{Dir: dataDir, SnapshotEvery: -1,
			LoadModel: func(string) (engine.Encoder, error) { return encoders.Open(hub) }})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.WaitReady(context.Background()); err != nil {
			t.Fatal(err)
		}
		return e
	}
	e := open()
	defer func() { e.Close() }()
	var rep bytes.Buffer
	tr := whisperTranscriber{m, tok}
	s, err := Run(context.Background(), EngineSink{e}, []string{root}, Options{Collection: "talks", Model: "hubert", Recursive: true,
		Report: &rep, Transcriber: tr, TranscribeLanguage: "en"})
	if err != nil || s.Added != 2 || s.Failed != 0 || s.Warnings != 0 {
		t.Fatalf("%+v %v\n%s", s.Progress, err, rep.String())
	}

	objs := objectsByKey(t, e, "talks")
	long := filepath.Join(root, "audio_long.wav")
	for _, f := range []string{"audio_jfk.wav", "audio_long.wav"} {
		path := filepath.Join(root, f)
		data, _ := os.ReadFile(path)
		r, err := tr.Transcribe(context.Background(), data, "en")
		if err != nil {
			t.Fatal(err)
		}
		o, ok := objs[path]
		if !ok {
			t.Fatalf("no object for %s", path)
		}
		// The text of the segments that start within the recording.
		clip, err := audio.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		var heard string
		for _, s := range r.Segments {
			if s.Start < float64(clip.Frames())/float64(clip.Rate) {
				heard += s.Text
			}
		}
		if got := o.Text["transcript"]; got != strings.TrimSpace(heard) || got == "" {
			t.Errorf("%s: text.transcript %q, want %q", f, got, strings.TrimSpace(heard))
		}
		if o.Metadata["transcript_language"] != "en" {
			t.Errorf("%s: transcript_language %v", f, o.Metadata["transcript_language"])
		}
	}
	// The golden segments as stored: within the recording's 45 s (the
	// reference's timestamps run into the padding of the last window, to
	// 59.92 s).
	const longSeconds = 45.0
	var wantKeys []string
	var wantText string
	cut := false
	for _, g := range want.Segments {
		if g.Start < longSeconds {
			wantText += g.Text
		}
		if strings.TrimSpace(g.Text) == "" || g.Start >= longSeconds {
			continue
		}
		if g.End > longSeconds {
			g.End, cut = longSeconds, true
		}
		key := fmt.Sprintf("%s#w=%.3f,%.3f", long, g.Start, g.End)
		wantKeys = append(wantKeys, key)
		o, ok := objs[key]
		if !ok {
			t.Errorf("no segment object %s", key)
			continue
		}
		md := o.Metadata
		if md["parent"] != long || md["segment_start"] != g.Start || md["segment_end"] != g.End || md["segment_kind"] != "transcript" ||
			o.Modality != "audio" || o.Source != long || o.Text["transcript"] != strings.TrimSpace(g.Text) || len(o.Vectors) != 0 {
			t.Errorf("segment %s: %+v", key, o)
		}
	}
	var gotKeys []string
	for k := range objs {
		if strings.HasPrefix(k, long+"#w=") {
			gotKeys = append(gotKeys, k)
		}
	}
	if got := objs[long].Text["transcript"]; got != strings.TrimSpace(wantText) {
		t.Errorf("audio_long.wav: transcript %q, want the golden's text up to %v s %q", got, longSeconds, wantText)
	}
	slices.Sort(gotKeys)
	slices.Sort(wantKeys)
	if !slices.Equal(gotKeys, wantKeys) || !cut || len(wantKeys) == len(want.Segments) {
		t.Errorf("transcript segments of audio_long.wav (none past %v s, one cut at it):\n got %q\nwant %q", longSeconds, gotKeys, wantKeys)
	}

	// " dam" is the text of one golden segment alone.
	var seg struct{ Start, End float64 }
	for _, g := range want.Segments {
		if strings.TrimSpace(g.Text) == "dam" {
			seg.Start, seg.End = g.Start, g.End
		}
	}
	if seg.End == 0 {
		t.Fatal("golden segments have no \" dam\"")
	}
	segKey := fmt.Sprintf("%s#w=%.3f,%.3f", long, seg.Start, seg.End)
	check := func(when string) {
		t.Helper()
		page, err := e.SearchPage(context.Background(), "talks", engine.SearchRequest{Mode: engine.ModeKeyword, Keyword: "dam", K: 10,
			Fields: []string{"key", "metadata", "text"}})
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		for _, h := range page.Hits {
			if h.Object.Key != segKey {
				continue
			}
			md := h.Object.Metadata
			if md["segment_start"] != seg.Start || md["segment_end"] != seg.End || md["parent"] != long {
				t.Fatalf("%s: segment hit %+v", when, h.Object)
			}
			if len(h.Snippets) == 0 || h.Snippets[0].Field != "text.transcript" {
				t.Errorf("%s: snippets %+v", when, h.Snippets)
			}
			return
		}
		var keys []string
		for _, h := range page.Hits {
			keys = append(keys, h.Object.Key)
		}
		t.Fatalf("%s: keyword dam: no hit %s in %q", when, segKey, keys)
	}
	check("after ingest")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = open()
	check("after a restart")
}

// fakeTranscriber returns, for every recording, the segments (or the
// error) set last.
type fakeTranscriber struct {
	mu   sync.Mutex
	segs []engine.TranscriptSegment
	err  error
}

func (f *fakeTranscriber) set(err error, segs ...engine.TranscriptSegment) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.segs, f.err = segs, err
}

func (f *fakeTranscriber) CheckLanguage(string) error { return nil }

func (f *fakeTranscriber) Transcribe(ctx context.Context, data []byte, language string) (engine.Transcript, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return engine.Transcript{}, f.err
	}
	var text []string
	for _, s := range f.segs {
		text = append(text, s.Text)
	}
	return engine.Transcript{Language: "de", Text: strings.Join(text, ""), Segments: f.segs}, nil
}

// TestTranscriptReingest: a changed file's transcript segments replace its
// old ones (a segment with the same time range keeps its id, one no longer
// there is deleted); a failed transcription stores the file without a
// transcript, reports it and drops the old segments; prune removes the
// segments of a file that is gone.
func TestTranscriptReingest(t *testing.T) {
	hub := hubertDir(t)
	root := t.TempDir()
	path := filepath.Join(root, "talk.wav")
	os.WriteFile(path, pcmWAV(200, 300, 1.5, 16000), 0o644)
	e, err := engine.Open(engine.Options{Dir: t.TempDir(), SnapshotEvery: -1,
		LoadModel: func(string) (engine.Encoder, error) { return encoders.Open(hub) }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.WaitReady(context.Background())
	ft := &fakeTranscriber{}
	var tr engine.Transcriber = ft // the runs' Transcriber
	run := func(o Options) (Summary, string) {
		t.Helper()
		var rep bytes.Buffer
		o.Collection, o.Model, o.Recursive, o.Transcriber, o.Report = "talks", "hubert", true, tr, &rep
		s, err := Run(context.Background(), EngineSink{e}, []string{root}, o)
		if err != nil {
			t.Fatal(err)
		}
		return s, rep.String()
	}
	segKeys := func() map[string]uint64 {
		out := map[string]uint64{}
		for k, o := range objectsByKey(t, e, "talks") {
			if strings.Contains(k, "#w=") {
				out[k] = o.ID
			}
		}
		return out
	}
	key := func(a, b float64) string { return fmt.Sprintf("%s#w=%.3f,%.3f", path, a, b) }

	ft.set(nil, engine.TranscriptSegment{Start: 0, End: 0.5, Text: " hello"}, engine.TranscriptSegment{Start: 0.5, End: 0.5, Text: " "}, engine.TranscriptSegment{Start: 0.5, End: 1.2, Text: " world"})
	if s, rep := run(Options{}); s.Added != 1 || s.Segments != 2 || s.Failed+s.Warnings != 0 {
		t.Fatalf("%+v\n%s", s.Progress, rep)
	}
	first := segKeys()
	if len(first) != 2 || first[key(0, 0.5)] == 0 || first[key(0.5, 1.2)] == 0 {
		t.Fatalf("segments %v", first)
	}
	if o := objectsByKey(t, e, "talks")[path]; o.Text["transcript"] != "hello  world" || o.Metadata["transcript_language"] != "de" {
		t.Fatalf("file %+v", o)
	}

	// The file changes: one segment stays, one goes, one is new.
	os.WriteFile(path, pcmWAV(300, 400, 1.5, 16000), 0o644)
	ft.set(nil, engine.TranscriptSegment{Start: 0, End: 0.5, Text: " hello"}, engine.TranscriptSegment{Start: 0.7, End: 1.4, Text: " there"})
	if s, rep := run(Options{}); s.Updated != 1 || s.Segments != 2 {
		t.Fatalf("%+v\n%s", s.Progress, rep)
	}
	second := segKeys()
	if len(second) != 2 || second[key(0, 0.5)] != first[key(0, 0.5)] || second[key(0.7, 1.4)] == 0 {
		t.Fatalf("after the change: segments %v (before %v)", second, first)
	}
	page, err := e.SearchPage(context.Background(), "talks", engine.SearchRequest{Mode: engine.ModeKeyword, Keyword: "world", K: 10})
	if err != nil || len(page.Hits) != 0 {
		t.Fatalf("keyword world after the change: %+v %v", page.Hits, err)
	}

	// Transcription fails: the file is stored, reported, and keeps no
	// transcript of its old content.
	os.WriteFile(path, pcmWAV(400, 500, 1.5, 16000), 0o644)
	ft.set(errors.New("no speech model"))
	s, rep := run(Options{})
	if s.Updated != 1 || s.Failed != 0 || s.Warnings != 1 || !strings.Contains(rep, "transcribe: no speech model") {
		t.Fatalf("%+v\n%s", s.Progress, rep)
	}
	if left := segKeys(); len(left) != 0 {
		t.Fatalf("after a failed transcription: segments %v", left)
	}
	if o := objectsByKey(t, e, "talks")[path]; o.Text["transcript"] != "" || o.Metadata["transcript_language"] != nil {
		t.Fatalf("file %+v", o)
	}

	// The file is gone: prune takes its segments too.
	os.WriteFile(path, pcmWAV(500, 600, 1.5, 16000), 0o644)
	ft.set(nil, engine.TranscriptSegment{Start: 0, End: 1, Text: " bye"})
	if s, _ := run(Options{}); s.Segments != 1 {
		t.Fatalf("%+v", s.Progress)
	}
	os.Remove(path)
	if s, _ := run(Options{Prune: true}); s.Pruned != 2 {
		t.Fatalf("prune: %+v", s.Progress)
	}
	if c, _ := e.GetCollection(context.Background(), "talks"); c.Count != 0 {
		t.Fatalf("count %d after prune", c.Count)
	}

	// A file stored without a Transcriber is transcribed by the next run
	// that has one, then skipped; so is a file whose transcription failed.
	os.WriteFile(path, pcmWAV(600, 700, 1.5, 16000), 0o644)
	tr = nil
	s, _ = run(Options{})
	if s.Added != 1 || s.Segments != 0 {
		t.Fatalf("without a transcriber: %+v", s.Progress)
	}
	if s, _ := run(Options{}); s.Skipped != 1 {
		t.Fatalf("re-run without a transcriber: %+v", s.Progress)
	}
	tr = ft
	ft.set(errors.New("busy"))
	if s, rep := run(Options{}); s.Updated != 1 || s.Warnings != 1 || !strings.Contains(rep, "busy") {
		t.Fatalf("failed transcription: %+v\n%s", s.Progress, rep)
	}
	ft.set(nil, engine.TranscriptSegment{Start: 0, End: 1, Text: " late"})
	if s, _ := run(Options{}); s.Updated != 1 || s.Segments != 1 {
		t.Fatalf("transcribing a stored file: %+v", s.Progress)
	}
	if s, _ := run(Options{}); s.Skipped != 1 || s.Segments != 0 {
		t.Fatalf("re-run: %+v", s.Progress)
	}
	if keys := segKeys(); len(keys) != 1 || keys[key(0, 1)] == 0 {
		t.Fatalf("segments %v", keys)
	}
}

// TestTranscriptWithinRecording: segments whose timestamps run past the
// end of the recording (Whisper's into a window's padding) are kept within
// it: one that ends late is cut at the end, one that starts there is not
// stored, nor is its text in the file's transcript.
func TestTranscriptWithinRecording(t *testing.T) {
	hub := hubertDir(t)
	root := t.TempDir()
	path := filepath.Join(root, "short.wav")
	os.WriteFile(path, pcmWAV(200, 300, 1.5, 8000), 0o644) // resampled to 16 kHz: still 1.5 s
	e, err := engine.Open(engine.Options{Dir: t.TempDir(), SnapshotEvery: -1,
		LoadModel: func(string) (engine.Encoder, error) { return encoders.Open(hub) }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.WaitReady(context.Background())
	ft := &fakeTranscriber{}
	ft.set(nil, engine.TranscriptSegment{Start: 0.2, End: 1, Text: " one"}, engine.TranscriptSegment{Start: 1, End: 12.5, Text: " two"}, engine.TranscriptSegment{Start: 1.5, End: 29.9, Text: " three"})
	var rep bytes.Buffer
	s, err := Run(context.Background(), EngineSink{e}, []string{root}, Options{Collection: "talks", Model: "hubert", Recursive: true,
		Report: &rep, Transcriber: ft})
	if err != nil || s.Added != 1 || s.Segments != 2 || s.Failed+s.Warnings != 0 {
		t.Fatalf("%+v %v\n%s", s.Progress, err, rep.String())
	}
	objs := objectsByKey(t, e, "talks")
	var keys []string
	for k, o := range objs {
		if strings.Contains(k, "#w=") {
			keys = append(keys, k)
			if end := o.Metadata["segment_end"].(float64); end > 1.5 {
				t.Errorf("segment %s ends at %v s, after the recording", k, end)
			}
		}
	}
	slices.Sort(keys)
	want := []string{path + "#w=0.200,1.000", path + "#w=1.000,1.500"}
	if !slices.Equal(keys, want) {
		t.Fatalf("segments %q, want %q", keys, want)
	}
	if got := objs[path].Text["transcript"]; got != "one two" {
		t.Fatalf("transcript %q", got)
	}
}
