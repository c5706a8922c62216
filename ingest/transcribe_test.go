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

func (w whisperTranscriber) Transcribe(ctx context.Context, data []byte) (Transcript, error) {
	src, err := audio.OpenResampled(data, w.m.Preprocessor().SamplingRate)
	if err != nil {
		return Transcript{}, err
	}
	opt := whisper.DefaultTranscribeOptions()
	opt.Language = "en"
	r, err := w.m.TranscribeSamples(ctx, w.tok, src, opt)
	if err != nil {
		return Transcript{}, err
	}
	t := Transcript{Language: r.Language, Text: r.Text}
	for _, s := range r.Segments {
		t.Segments = append(t.Segments, TranscriptSegment{Start: s.Start, End: s.End, Text: s.Text})
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
// texts), and a keyword query for a word of one segment finds that
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
		Report: &rep, Transcriber: tr})
	if err != nil || s.Added != 2 || s.Failed != 0 || s.Warnings != 0 {
		t.Fatalf("%+v %v\n%s", s.Progress, err, rep.String())
	}

	objs := objectsByKey(t, e, "talks")
	long := filepath.Join(root, "audio_long.wav")
	for _, f := range []string{"audio_jfk.wav", "audio_long.wav"} {
		path := filepath.Join(root, f)
		data, _ := os.ReadFile(path)
		r, err := tr.Transcribe(context.Background(), data)
		if err != nil {
			t.Fatal(err)
		}
		o, ok := objs[path]
		if !ok {
			t.Fatalf("no object for %s", path)
		}
		if got := o.Text["transcript"]; got != strings.TrimSpace(r.Text) || got == "" {
			t.Errorf("%s: text.transcript %q, want %q", f, got, strings.TrimSpace(r.Text))
		}
		if o.Metadata["transcript_language"] != "en" {
			t.Errorf("%s: transcript_language %v", f, o.Metadata["transcript_language"])
		}
	}
	if objs[long].Text["transcript"] != strings.TrimSpace(want.Text) {
		t.Errorf("audio_long.wav: transcript %q, want the golden %q", objs[long].Text["transcript"], want.Text)
	}
	var wantKeys []string
	for _, g := range want.Segments {
		if strings.TrimSpace(g.Text) == "" {
			continue
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
	slices.Sort(gotKeys)
	slices.Sort(wantKeys)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("transcript segments of audio_long.wav:\n got %q\nwant %q", gotKeys, wantKeys)
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
	segs []TranscriptSegment
	err  error
}

func (f *fakeTranscriber) set(err error, segs ...TranscriptSegment) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.segs, f.err = segs, err
}

func (f *fakeTranscriber) Transcribe(ctx context.Context, data []byte) (Transcript, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Transcript{}, f.err
	}
	var text []string
	for _, s := range f.segs {
		text = append(text, s.Text)
	}
	return Transcript{Language: "de", Text: strings.Join(text, ""), Segments: f.segs}, nil
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
	var tr Transcriber = ft // the runs' Transcriber
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

	ft.set(nil, TranscriptSegment{0, 0.5, " hello"}, TranscriptSegment{0.5, 0.5, " "}, TranscriptSegment{0.5, 1.2, " world"})
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
	ft.set(nil, TranscriptSegment{0, 0.5, " hello"}, TranscriptSegment{0.7, 1.4, " there"})
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
	ft.set(nil, TranscriptSegment{0, 1, " bye"})
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
	ft.set(nil, TranscriptSegment{0, 1, " late"})
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
