package engine

import (
	"context"
	"errors"
	"hash/fnv"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"rosetta/encoders/clip"
	"rosetta/internal/fixtures"
)

// fakeAudioModel embeds audio only (as HuBERT does): a unit vector from a
// hash of the bytes.
type fakeAudioModel struct{}

func (fakeAudioModel) Dim() int { return 8 }
func (fakeAudioModel) EmbedTexts(context.Context, []string) ([][]float32, error) {
	return nil, errors.New("fake audio model: no text tower")
}
func (fakeAudioModel) EmbedImages(context.Context, []image.Image) ([][]float32, error) {
	return nil, errors.New("fake audio model: no image tower")
}
func (fakeAudioModel) EmbedAudio(_ context.Context, clips [][]byte) ([][]float32, error) {
	out := make([][]float32, len(clips))
	for i, c := range clips {
		h := fnv.New64a()
		h.Write(c)
		s := h.Sum64()
		v := make([]float32, 8)
		for k := range v {
			v[k] = float32(s>>(8*k)&0xff) + 1
		}
		out[i] = normalize(v)
	}
	return out, nil
}

func normalize(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	for k := range v {
		v[k] = float32(float64(v[k]) / math.Sqrt(n))
	}
	return v
}

// fakeTranscriber returns the segments set last, and counts its calls.
type fakeTranscriber struct {
	mu        sync.Mutex
	segs      []TranscriptSegment
	calls     int
	languages []string
}

func (f *fakeTranscriber) set(segs ...TranscriptSegment) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.segs = segs
}

func (f *fakeTranscriber) CheckLanguage(l string) error {
	if l == "" || l == "en" || l == "de" {
		return nil
	}
	return errors.New("no such language")
}

func (f *fakeTranscriber) Transcribe(_ context.Context, audio []byte, language string) (Transcript, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.languages = append(f.languages, language)
	var text []string
	for _, s := range f.segs {
		text = append(text, s.Text)
	}
	return Transcript{Language: "en", Text: strings.Join(text, ""), Segments: f.segs}, nil
}

// TestTranscribeOnWrite: a collection that names a transcriber transcribes
// the audio written with its content. The object gets text.transcript and
// transcript_language; each segment becomes an object with its time range,
// embedded by the text model's tower (CLIP) and not by the audio model,
// while the file's own vector comes from the audio model only; the keyword
// index finds the segment; a re-write replaces the segments that changed;
// an object that brings its own transcript is not transcribed.
func TestTranscribeOnWrite(t *testing.T) {
	modelDir := tinyCLIP(t)
	tr := &fakeTranscriber{}
	dir := t.TempDir()
	open := func(withTranscriber bool) *Engine {
		o := Options{Dir: dir, SnapshotEvery: -1, LoadModel: func(name string) (Encoder, error) {
			switch name {
			case "tiny-clip":
				return clip.Open(modelDir, nil)
			case "fake-audio":
				return fakeAudioModel{}, nil
			}
			return nil, errors.New("unknown model")
		}}
		if withTranscriber {
			o.LoadTranscriber = func(name string) (Transcriber, error) {
				if name != "fake-whisper" {
					return nil, errors.New("unknown transcriber")
				}
				return tr, nil
			}
		}
		e, err := Open(o)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.WaitReady(bg); err != nil {
			t.Fatal(err)
		}
		return e
	}
	spaces := []Space{{Name: "text", Model: "tiny-clip"}, {Name: "audio", Model: "fake-audio"}}

	e := open(false)
	if _, err := e.CreateCollection(bg, Collection{Name: "x", Spaces: spaces, Transcribe: Transcription{Model: "fake-whisper"}}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("a transcriber on an engine without transcribers: %v", err)
	}
	e.Close()
	e = open(true)
	defer func() { e.Close() }()
	for _, c := range []struct {
		spec Transcription
		want error
	}{
		{Transcription{Model: "nope"}, ErrUnsupported},
		{Transcription{Model: "fake-whisper", Language: "xx"}, ErrInvalid},
		{Transcription{Language: "en"}, ErrInvalid},
	} {
		if _, err := e.CreateCollection(bg, Collection{Name: "x", Spaces: spaces, Transcribe: c.spec}); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.spec, err, c.want)
		}
	}
	if _, err := e.CreateCollection(bg, Collection{Name: "talks", Spaces: spaces, Transcribe: Transcription{Model: "fake-whisper", Language: "auto"}}); err != nil {
		t.Fatal(err)
	}

	wav, err := os.ReadFile(filepath.Join(fixtures.Dir(t, "whisper"), "audio_jfk.wav"))
	if err != nil {
		t.Fatal(err)
	}
	tr.set(TranscriptSegment{Start: 0, End: 2.5, Text: " Where is the train station?"},
		TranscriptSegment{Start: 2.5, End: 4, Text: " "},
		TranscriptSegment{Start: 4, End: 7.25, Text: " A cup of coffee, please."})
	md := map[string]any{"file_name": "talk.wav", "file_dir": "/talks"}
	ids, err := e.Upsert(bg, "talks", []Object{{Key: "talk.wav", Source: "/talks/talk.wav", Metadata: md, Content: &Content{Audio: wav}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := md["transcript_language"]; ok {
		t.Fatal("the caller's metadata map was written to")
	}
	if !slices.Equal(tr.languages, []string{""}) {
		t.Fatalf("language auto should reach the transcriber as detection: %q", tr.languages)
	}
	byKey := func() map[string]Object {
		out := map[string]Object{}
		err := e.ScanObjects(bg, "talks", func(o Object) error {
			full, err := e.GetObject(bg, "talks", o.ID)
			out[full.Key] = full
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	objs := byKey()
	file := objs["talk.wav"]
	if file.ID != ids[0] || file.Text["transcript"] != "Where is the train station?  A cup of coffee, please." || file.Metadata["transcript_language"] != "en" {
		t.Fatalf("the file's transcript: %+v", file)
	}
	if _, ok := file.Vectors["text"]; ok || len(file.Vectors["audio"]) != 8 {
		t.Fatalf("the file's vectors must come from the audio model only: %v", file.Vectors)
	}
	c, _ := clip.Open(modelDir, nil)
	keys := []string{TranscriptKey("talk.wav", 0, 2.5), TranscriptKey("talk.wav", 4, 7.25)}
	texts := []string{"Where is the train station?", "A cup of coffee, please."}
	if len(objs) != 3 {
		t.Fatalf("want the file and 2 segments (the blank one dropped), got %d objects", len(objs))
	}
	for i, k := range keys {
		s, ok := objs[k]
		if !ok {
			t.Fatalf("no segment %s", k)
		}
		if s.Modality != "audio" || s.Source != "/talks/talk.wav" || s.Text["transcript"] != texts[i] || s.Metadata["parent"] != "talk.wav" ||
			s.Metadata["segment_kind"] != "transcript" || s.Metadata["file_name"] != "talk.wav" || s.Metadata["segment_start"] == nil {
			t.Fatalf("segment %s: %+v", k, s)
		}
		want, err := c.EmbedTexts(bg, []string{texts[i]})
		if err != nil {
			t.Fatal(err)
		}
		got := s.Vectors["text"]
		if _, ok := s.Vectors["audio"]; ok || len(got) != len(want[0]) {
			t.Fatalf("segment %s vectors: %v", k, s.Vectors)
		}
		for j := range got {
			if math.Abs(float64(got[j]-want[0][j])) > 1e-6 {
				t.Fatalf("segment %s: its text-space vector is not CLIP's embedding of its text", k)
			}
		}
	}
	// The keyword index and a text query in the text space find a segment.
	hits, err := e.Search(bg, "talks", SearchRequest{Mode: ModeKeyword, Query: Query{Text: "station"}, K: 5, Fields: []string{"key"}})
	if err != nil || len(hits) == 0 || hits[0].Object.Key != keys[0] {
		t.Fatalf("keyword search: %+v %v", hits, err)
	}
	hits, err = e.Search(bg, "talks", SearchRequest{Space: "text", Mode: ModeVector, Query: Query{Text: texts[1]}, K: 1, Fields: []string{"key"}})
	if err != nil || len(hits) != 1 || hits[0].Object.Key != keys[1] {
		t.Fatalf("text query in the text space: %+v %v", hits, err)
	}

	// A re-write: the first segment's range stays (same id), the second
	// changes (the old one is deleted).
	tr.set(TranscriptSegment{Start: 0, End: 2.5, Text: " Where is the bus station?"},
		TranscriptSegment{Start: 3, End: 6, Text: " Tea, please."})
	if _, err := e.Upsert(bg, "talks", []Object{{Key: "talk.wav", Content: &Content{Audio: wav}}}); err != nil {
		t.Fatal(err)
	}
	again := byKey()
	if len(again) != 3 || again[keys[0]].ID != objs[keys[0]].ID || again[keys[0]].Text["transcript"] != "Where is the bus station?" {
		t.Fatalf("after a re-write: %d objects, %+v", len(again), again[keys[0]])
	}
	if _, ok := again[keys[1]]; ok {
		t.Fatal("the segment the re-write no longer has is still there")
	}
	if _, ok := again[TranscriptKey("talk.wav", 3, 6)]; !ok {
		t.Fatal("the re-write's new segment is missing")
	}
	// An object with a transcript of its own is not transcribed again.
	calls := tr.calls
	if _, err := e.Upsert(bg, "talks", []Object{{Key: "other.wav", Text: map[string]string{"transcript": "given"}, Content: &Content{Audio: wav}}}); err != nil {
		t.Fatal(err)
	}
	if tr.calls != calls {
		t.Fatal("an object with its own transcript was transcribed")
	}
	// A segment a client sends (ingest --transcribe) is embedded the same way.
	seg := Object{Key: TranscriptKey("other.wav", 0, 1), Modality: "audio", Text: map[string]string{"transcript": "given"},
		Metadata: map[string]any{"parent": "other.wav", "segment_kind": "transcript", "segment_start": 0.0, "segment_end": 1.0}}
	sid, err := e.Upsert(bg, "talks", []Object{seg})
	if err != nil {
		t.Fatal(err)
	}
	if o, err := e.GetObject(bg, "talks", sid[0]); err != nil || len(o.Vectors["text"]) != 16 {
		t.Fatalf("a client's transcript segment: %+v %v", o.Vectors, err)
	}

	// The collection keeps its transcriber across a restart.
	e.Close()
	e = open(true)
	if got, err := e.GetCollection(bg, "talks"); err != nil || got.Transcribe != (Transcription{Model: "fake-whisper", Language: "auto"}) {
		t.Fatalf("after a restart: %+v %v", got.Transcribe, err)
	}
}
