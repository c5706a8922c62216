package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"rosetta/encoders/audio"
	"rosetta/internal/fixtures"
)

func pcm16WAV(x []float32, rate int) []byte {
	b := make([]byte, 44+2*len(x))
	le := binary.LittleEndian
	copy(b, "RIFF")
	le.PutUint32(b[4:], uint32(36+2*len(x)))
	copy(b[8:], "WAVEfmt ")
	le.PutUint32(b[16:], 16)
	le.PutUint16(b[20:], 1)
	le.PutUint16(b[22:], 1)
	le.PutUint32(b[24:], uint32(rate))
	le.PutUint32(b[28:], uint32(2*rate))
	le.PutUint16(b[32:], 2)
	le.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	le.PutUint32(b[40:], uint32(2*len(x)))
	for i, v := range x {
		le.PutUint16(b[44+2*i:], uint16(int16(math.Round(float64(max(-1, min(v, 32767.0/32768))*32768)))))
	}
	return b
}

// speechMedia returns the speech clips for the end-to-end tests (WAV and
// Ogg files under $ROSETTA_E2E_PHOTOS/speech, made by scripts/e2e-media.sh;
// else fixture tones) and a recording of at least 25 s at 16 kHz made by
// concatenating them.
func speechMedia(t *testing.T) (clips []string, long []float32) {
	t.Helper()
	if d := os.Getenv("ROSETTA_E2E_PHOTOS"); d != "" {
		clips, _ = filepath.Glob(filepath.Join(d, "speech", "*.wav"))
		oggs, _ := filepath.Glob(filepath.Join(d, "speech", "*.ogg"))
		if (len(clips) == 0 || len(oggs) == 0) && os.Getenv("CI") != "" {
			t.Fatal("no WAV or no Ogg speech clips under $ROSETTA_E2E_PHOTOS/speech (scripts/e2e-media.sh makes them)")
		}
		clips = append(clips, oggs...)
	}
	if len(clips) == 0 {
		dir := fixtures.Dir(t, "preprocess-audio")
		clips = []string{filepath.Join(dir, "tone22050.wav"), filepath.Join(dir, "tone44100.wav"),
			filepath.Join("..", "..", "encoders", "audio", "testdata", "tone_stereo.ogg")}
	}
	const rate = 16000
	for len(long) < 25*rate {
		for _, c := range clips {
			b, err := os.ReadFile(c)
			if err != nil {
				t.Fatal(err)
			}
			clip, err := audio.Decode(b)
			if err != nil {
				t.Fatalf("%s: %v", c, err)
			}
			long = append(long, audio.Resample(audio.Mono(clip), clip.Rate, rate)...)
		}
	}
	return clips, long
}

// hubertModelDir links the tiny fixture HuBERT into a temp model dir.
func hubertModelDir(t *testing.T) string {
	model := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors", "preprocessor_config.json"} {
		os.Symlink(filepath.Join(fixtures.Dir(t, "hubert"), f), filepath.Join(model, f))
	}
	return model
}

// TestEndToEndAudio ingests real speech (LibriVox clips from Debian's
// pocketsphinx-testdata in CI) and a long recording made of them with the
// tiny fixture HuBERT through the CLI, serves it, and checks over HTTP that
// each clip finds itself first and that a window cut from the long file
// finds that file's segment with the right time range. Mechanics only: the
// tiny model's vectors carry no meaning.
func TestEndToEndAudio(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	clips, long := speechMedia(t)
	model := hubertModelDir(t)
	media := t.TempDir()
	const rate = 16000
	for _, c := range clips {
		b, _ := os.ReadFile(c)
		os.WriteFile(filepath.Join(media, filepath.Base(c)), b, 0o644)
	}
	longPath := filepath.Join(media, "long.wav")
	os.WriteFile(longPath, pcm16WAV(long, rate), 0o644)

	bin := buildBinary(t)
	data := t.TempDir()
	out, err := exec.Command(bin, "ingest", media, "--collection", "speech", "--data", data, "--model", model,
		"--report", filepath.Join(t.TempDir(), "f.jsonl")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "failed 0") || !strings.Contains(string(out), "audio segments stored:") {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	s := startServer(t, bin, data, freeAddr(t))
	defer func() { s.cmd.Process.Signal(syscall.SIGTERM); s.cmd.Wait() }()
	type hit struct {
		Object struct {
			Source   string         `json:"source"`
			Key      string         `json:"key"`
			Metadata map[string]any `json:"metadata"`
		} `json:"object"`
	}
	query := func(wav []byte) []hit {
		var res struct {
			Hits []hit `json:"hits"`
		}
		code, err := s.do("POST", "/v1/collections/speech/search", map[string]any{
			"query": map[string]any{"audio": base64.StdEncoding.EncodeToString(wav)}, "k": 3, "fields": []string{"key", "source", "metadata"}}, &res)
		if err != nil || code != 200 || len(res.Hits) == 0 {
			t.Fatalf("audio search: %d %v", code, err)
		}
		return res.Hits
	}
	for _, c := range clips {
		b, _ := os.ReadFile(c)
		h := query(b)
		if h[0].Object.Key != filepath.Join(media, filepath.Base(c)) {
			t.Fatalf("clip %s: best hit %+v", filepath.Base(c), h[0].Object)
		}
	}
	// The 8–18 s window of the long file: its segment, with that time range.
	h := query(pcm16WAV(pcm16Round(long[8*rate:18*rate]), rate))
	md := h[0].Object.Metadata
	if md["parent"] != longPath || md["segment_start"] != 8.0 || md["segment_end"] != 18.0 {
		t.Fatalf("window query: best hit %+v", h[0].Object)
	}

	// rosetta encode --segments prints the vectors ingest stored: each
	// line, as a vector query, finds its own segment at score 1.
	enc, err := exec.Command(bin, "encode", "--model", model, "--audio", longPath, "--segments").Output()
	if err != nil {
		t.Fatalf("encode --segments: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(enc)), "\n")
	if len(lines) < 3 {
		t.Fatalf("encode --segments printed %d lines", len(lines))
	}
	for _, l := range lines {
		var seg struct {
			Start, End float64
			Embedding  []float32
		}
		if err := json.Unmarshal([]byte(l), &seg); err != nil {
			t.Fatal(err)
		}
		var res struct {
			Hits []struct {
				Score  float64 `json:"score"`
				Object struct {
					Metadata map[string]any `json:"metadata"`
				} `json:"object"`
			} `json:"hits"`
		}
		code, err := s.do("POST", "/v1/collections/speech/search", map[string]any{
			"query": map[string]any{"vector": seg.Embedding}, "k": 1, "fields": []string{"metadata"}, "filter": map[string]any{"field": "parent", "exists": true}}, &res)
		if err != nil || code != 200 || len(res.Hits) != 1 {
			t.Fatalf("vector search: %d %v", code, err)
		}
		got := res.Hits[0]
		if got.Score < 0.99999 || got.Object.Metadata["segment_start"] != seg.Start || got.Object.Metadata["segment_end"] != seg.End {
			t.Fatalf("segment %v–%v: best stored segment %+v at score %v", seg.Start, seg.End, got.Object.Metadata, got.Score)
		}
	}
}

// pcm16Round quantises samples as the long file's PCM16 stores them.
func pcm16Round(x []float32) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(int16(math.Round(float64(max(-1, min(v, 32767.0/32768))*32768)))) / 32768
	}
	return out
}

// TestEncodeLongAudioMatchesIngest: a recording longer than
// encoders.MaxAudioSeconds cannot be encoded whole; `rosetta encode` then
// prints the normalised mean of its windows' vectors, which is the vector
// ingest stores for that file.
func TestEncodeLongAudioMatchesIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const rate, seconds = 8000, 610
	x := make([]float32, rate*seconds)
	for i := range x {
		tt := float64(i) / rate
		x[i] = float32(0.3 * math.Sin(2*math.Pi*(150+float64(i/rate%40)*35)*tt))
	}
	media := t.TempDir()
	path := filepath.Join(media, "long.wav")
	os.WriteFile(path, pcm16WAV(x, rate), 0o644)
	model := hubertModelDir(t)
	bin := buildBinary(t)
	// Over --max-file-mb (the WAV is 9.8 MB): reported, not ingested.
	report := filepath.Join(t.TempDir(), "f.jsonl")
	out, _ := exec.Command(bin, "ingest", media, "--collection", "long", "--data", t.TempDir(), "--model", model,
		"--report", report, "--max-file-mb", "5").CombinedOutput()
	if rep, _ := os.ReadFile(report); !strings.Contains(string(out), "added 0,") || !strings.Contains(string(out), "failed 1") ||
		!strings.Contains(string(rep), "limit") {
		t.Fatalf("--max-file-mb 5: %s\n%s", out, rep)
	}
	data := t.TempDir()
	if out, err := exec.Command(bin, "ingest", media, "--collection", "long", "--data", data, "--model", model,
		"--report", filepath.Join(t.TempDir(), "f.jsonl")).CombinedOutput(); err != nil || !strings.Contains(string(out), "failed 0") {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "encode", "--model", model, "--audio", path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	enc, err := cmd.Output()
	if err != nil {
		t.Fatalf("encode: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "mean of its") {
		t.Errorf("encode did not say the vector is a mean of windows: %q", stderr.String())
	}
	var line struct{ Embedding []float32 }
	if err := json.Unmarshal(enc, &line); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, bin, data, freeAddr(t))
	defer func() { s.cmd.Process.Signal(syscall.SIGTERM); s.cmd.Wait() }()
	var res struct {
		Hits []struct {
			Score  float64 `json:"score"`
			Object struct {
				Key string `json:"key"`
			} `json:"object"`
		} `json:"hits"`
	}
	code, err := s.do("POST", "/v1/collections/long/search", map[string]any{
		"query": map[string]any{"vector": line.Embedding}, "k": 1, "fields": []string{"key"},
		"filter": map[string]any{"not": map[string]any{"field": "parent", "exists": true}}}, &res)
	if err != nil || code != 200 || len(res.Hits) != 1 {
		t.Fatalf("search: %d %v", code, err)
	}
	if res.Hits[0].Object.Key != path || res.Hits[0].Score < 0.99999 {
		t.Fatalf("pooled vector's best file: %+v", res.Hits[0])
	}
}
