package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rosetta/encoders"
	"rosetta/engine"
	"rosetta/internal/fixtures"
	"rosetta/internal/testaudio"
)

// hubertDir links the tiny fixture HuBERT into a temp model directory.
func hubertDir(t testing.TB) string {
	hub := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors", "preprocessor_config.json"} {
		os.Symlink(filepath.Join(fixtures.Dir(t, "hubert"), f), filepath.Join(hub, f))
	}
	return hub
}

// pcmWAV writes a mono 16-bit WAV of a sine sweep.
func pcmWAV(f0, f1 float64, seconds float64, rate int) []byte {
	n := int(seconds * float64(rate))
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, le, uint32(16))
	binary.Write(&b, le, uint16(1))
	binary.Write(&b, le, uint16(1))
	binary.Write(&b, le, uint32(rate))
	binary.Write(&b, le, uint32(2*rate))
	binary.Write(&b, le, uint16(2))
	binary.Write(&b, le, uint16(16))
	b.WriteString("data")
	binary.Write(&b, le, uint32(2*n))
	for i := 0; i < n; i++ {
		t := float64(i) / float64(rate)
		f := f0 + (f1-f0)*t/seconds
		binary.Write(&b, le, int16(12000*math.Sin(2*math.Pi*f*t)))
	}
	return b.Bytes()
}

// TestIngestAudio ingests WAV files with the tiny fixture HuBERT and
// queries each clip: it must come back first (mechanics only: the tiny
// model's vectors carry no meaning).
func TestIngestAudio(t *testing.T) {
	hub := hubertDir(t)
	root := t.TempDir()
	for _, f := range []string{"tone22050.wav", "tone44100.wav"} {
		copyFile(t, filepath.Join(fixtures.Dir(t, "preprocess-audio"), f), filepath.Join(root, f))
	}
	os.WriteFile(filepath.Join(root, "low.wav"), pcmWAV(200, 300, 1.5, 16000), 0o644)
	os.WriteFile(filepath.Join(root, "high.wav"), pcmWAV(2000, 3000, 1.0, 8000), 0o644)
	os.WriteFile(filepath.Join(root, "bad.wav"), []byte("RIFF\x10\x00\x00\x00WAVEfmt "), 0o644)
	e, err := engine.Open(engine.Options{Dir: t.TempDir(), SnapshotEvery: -1,
		LoadModel: func(string) (engine.Encoder, error) { return encoders.Open(hub) }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.WaitReady(context.Background())
	var rep bytes.Buffer
	s, err := Run(context.Background(), EngineSink{e}, []string{root}, Options{Collection: "sounds", Model: "hubert", Recursive: true, Report: &rep})
	if err != nil {
		t.Fatal(err)
	}
	if s.Added != 4 || s.Failed != 1 {
		t.Fatalf("%+v\n%s", s.Progress, rep.String())
	}
	// Local ingest records its folder, so a server may serve these files.
	if roots, err := e.MediaRoots(context.Background(), "sounds"); err != nil || len(roots) != 1 || roots[0] != root {
		t.Errorf("media roots %v %v, want [%s]", roots, err, root)
	}
	for _, f := range []string{"tone22050.wav", "tone44100.wav", "low.wav", "high.wav"} {
		b, _ := os.ReadFile(filepath.Join(root, f))
		hits, err := e.Search(context.Background(), "sounds", engine.SearchRequest{Query: engine.Query{Audio: b}, K: 2, Fields: []string{"source", "modality"}})
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(hits[0].Object.Source) != f || hits[0].Object.Modality != "audio" {
			t.Fatalf("query %s: %+v", f, hits)
		}
	}
}

// TestAudioSegments: a long recording is cut into windows; a window cut
// from it finds its segment with the right time range.
func TestAudioSegments(t *testing.T) {
	hub := hubertDir(t)
	root := t.TempDir()
	long := pcmWAV(100, 3000, 25, 8000)
	os.WriteFile(filepath.Join(root, "long.wav"), long, 0o644)
	e, _ := engine.Open(engine.Options{Dir: t.TempDir(), SnapshotEvery: -1,
		LoadModel: func(string) (engine.Encoder, error) { return encoders.Open(hub) }})
	defer e.Close()
	e.WaitReady(context.Background())
	s, err := Run(context.Background(), EngineSink{e}, []string{root}, Options{Collection: "sounds", Model: "hubert", Recursive: true})
	if err != nil || s.Added != 1 || s.Segments != 3 {
		t.Fatalf("%+v %v", s.Progress, err)
	}
	// The 8–18 s window, cut from the samples, as its own WAV.
	samples := make([]float32, 0, 80000)
	for i := 8 * 8000; i < 18*8000; i++ {
		v := int16(binary.LittleEndian.Uint16(long[44+2*i:]))
		samples = append(samples, float32(v)/32768)
	}
	hits, err := e.Search(context.Background(), "sounds", engine.SearchRequest{Query: engine.Query{Audio: floatWAV(samples, 8000)}, K: 4, Fields: []string{"key", "metadata"}})
	if err != nil {
		t.Fatal(err)
	}
	md := hits[0].Object.Metadata
	if md["segment_start"] != 8.0 || md["segment_end"] != 18.0 || md["parent"] != filepath.Join(root, "long.wav") {
		t.Fatalf("best hit %+v", hits[0].Object)
	}
	// A re-run skips the file and leaves its segments; prune keeps them.
	s, _ = Run(context.Background(), EngineSink{e}, []string{root}, Options{Collection: "sounds", Recursive: true, Prune: true})
	if s.Skipped != 1 || s.Pruned != 0 || s.Segments != 0 {
		t.Fatalf("re-run: %+v", s.Progress)
	}
	if c, _ := e.GetCollection(context.Background(), "sounds"); c.Count != 4 {
		t.Fatalf("count %d", c.Count)
	}

	// A file too long to encode whole gets the mean of its segments.
	root2 := t.TempDir()
	os.WriteFile(filepath.Join(root2, "long2.wav"), pcmWAV(300, 2000, 25, 8000), 0o644)
	s, err = Run(context.Background(), EngineSink{e}, []string{root2}, Options{Collection: "sounds", Recursive: true, AudioWholeMax: 15 * time.Second})
	if err != nil || s.Added != 1 || s.Segments != 3 {
		t.Fatalf("pooled run: %+v %v", s.Progress, err)
	}
	page, _ := e.ListObjects(context.Background(), "sounds", 0, 100)
	var file engine.Object
	var segs [][]float32
	for _, o := range page {
		full, _ := e.GetObject(context.Background(), "sounds", o.ID)
		switch {
		case full.Key == filepath.Join(root2, "long2.wav"):
			file = full
		case full.Metadata["parent"] == filepath.Join(root2, "long2.wav"):
			segs = append(segs, full.Vectors["embedding"])
		}
	}
	v := file.Vectors["embedding"]
	if len(segs) != 3 || len(v) == 0 {
		t.Fatalf("file vector %d values, %d segments", len(v), len(segs))
	}
	mean := make([]float64, len(v))
	for _, sv := range segs {
		for i, x := range sv {
			mean[i] += float64(x)
		}
	}
	var n float64
	for _, x := range mean {
		n += x * x
	}
	for i := range v {
		if math.Abs(float64(v[i])-mean[i]/math.Sqrt(n)) > 1e-5 {
			t.Fatalf("pooled [%d] = %v, want %v", i, v[i], mean[i]/math.Sqrt(n))
		}
	}
}

// TestAudioSegmentsCompressed: a long FLAC is streamed into windows
// (audio.Sequential) and its segments get the same time ranges and vectors
// as the same samples in a WAV.
func TestAudioSegmentsCompressed(t *testing.T) {
	hub := hubertDir(t)
	root := t.TempDir()
	wav := pcmWAV(100, 3000, 25, 8000)
	pcm := make([]int32, (len(wav)-44)/2)
	for i := range pcm {
		pcm[i] = int32(int16(binary.LittleEndian.Uint16(wav[44+2*i:])))
	}
	fl, err := testaudio.FLAC(8000, 16, [][]int32{pcm}, 4096)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "long.wav"), wav, 0o644)
	os.WriteFile(filepath.Join(root, "long.flac"), fl, 0o644)
	e, _ := engine.Open(engine.Options{Dir: t.TempDir(), SnapshotEvery: -1,
		LoadModel: func(string) (engine.Encoder, error) { return encoders.Open(hub) }})
	defer e.Close()
	e.WaitReady(context.Background())
	s, err := Run(context.Background(), EngineSink{e}, []string{root}, Options{Collection: "sounds", Model: "hubert", Recursive: true,
		AudioWholeMax: 15 * time.Second})
	if err != nil || s.Added != 2 || s.Segments != 6 || s.Failed != 0 {
		t.Fatalf("%+v %v", s.Progress, err)
	}
	segs := map[string]map[string][]float32{} // file → key suffix → vector
	page, _ := e.ListObjects(context.Background(), "sounds", 0, 100)
	for _, o := range page {
		full, _ := e.GetObject(context.Background(), "sounds", o.ID)
		parent, _ := full.Metadata["parent"].(string)
		if parent == "" {
			if full.Metadata["duration_s"] != 25.0 {
				t.Errorf("%s: duration %v", full.Key, full.Metadata["duration_s"])
			}
			continue
		}
		if segs[parent] == nil {
			segs[parent] = map[string][]float32{}
		}
		segs[parent][strings.TrimPrefix(full.Key, parent)] = full.Vectors["embedding"]
	}
	w, f := segs[filepath.Join(root, "long.wav")], segs[filepath.Join(root, "long.flac")]
	if len(w) != 3 || len(f) != 3 {
		t.Fatalf("segments: wav %d, flac %d", len(w), len(f))
	}
	for k, wv := range w {
		fv, ok := f[k]
		if !ok {
			t.Fatalf("FLAC has no segment %s", k)
		}
		for i := range wv {
			if math.Abs(float64(wv[i]-fv[i])) > 1e-6 {
				t.Fatalf("segment %s [%d]: wav %v, flac %v", k, i, wv[i], fv[i])
			}
		}
	}
}

// TestIngestRefusesAbsurdRate: a tiny WAV whose header claims 1 Hz (590
// samples: ten minutes of "audio") fails with a reason naming the rate,
// before anything is resampled; a 4 kHz one is stored.
func TestIngestRefusesAbsurdRate(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "one-hertz.wav"), pcmWAV(0, 0, 590, 1), 0o644)
	os.WriteFile(filepath.Join(root, "four-khz.wav"), pcmWAV(300, 600, 0.5, 4000), 0o644)
	var rep bytes.Buffer
	s, err := Run(context.Background(), &fakeSink{}, []string{root}, Options{Collection: "c", Report: &rep})
	if err != nil || s.Added != 1 || s.Failed != 1 {
		t.Fatalf("%+v %v\n%s", s.Progress, err, rep.String())
	}
	if !strings.Contains(rep.String(), "one-hertz.wav") || !strings.Contains(rep.String(), "sample rate 1 Hz") {
		t.Fatalf("report: %s", rep.String())
	}
}
