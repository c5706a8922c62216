package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"rosetta/internal/fixtures"
)

func runTranscribe(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newTranscribeCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

type goldenTranscribeCLI struct {
	Text     string        `json:"text"`
	Language string        `json:"language"`
	Segments []segmentJSON `json:"segments"`
}

// --json on audio_long.wav equals the reference's transcribe() goldens
// (condition_on_previous_text true and false) field by field.
func TestTranscribeCLIGolden(t *testing.T) {
	dir := fixtures.Dir(t, "whisper")
	b, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Transcribe map[string]goldenTranscribeCLI `json:"transcribe"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	wav := filepath.Join(dir, "audio_long.wav")
	for name, flag := range map[string]string{"long/condition_on_previous_text": "true", "long/no_condition": "false"} {
		t.Run(name, func(t *testing.T) {
			want, ok := g.Transcribe[name]
			if !ok {
				t.Fatalf("golden.json lacks transcribe %q", name)
			}
			out, err := runTranscribe(t, "--model", dir, "--language", "en", "--condition-on-previous-text="+flag, "--json", wav)
			if err != nil {
				t.Fatal(err)
			}
			var got fileTranscriptJSON
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if got.File != wav || got.Language != want.Language || got.Text != want.Text {
				t.Errorf("file %q language %q text %q, want %q %q %q", got.File, got.Language, got.Text, wav, want.Language, want.Text)
			}
			if len(got.Segments) != len(want.Segments) {
				t.Fatalf("%d segments, want %d", len(got.Segments), len(want.Segments))
			}
			for i, s := range got.Segments {
				w := want.Segments[i]
				if s.ID != w.ID || s.Seek != w.Seek || s.Start != w.Start || s.End != w.End || s.Text != w.Text || !slices.Equal(s.Tokens, w.Tokens) {
					t.Errorf("segment %d: %+v, want %+v", i, s, w)
				}
			}
		})
	}
}

// The default, --srt and --vtt outputs of audio_long.wav, written as the
// reference's verbose print, WriteSRT and WriteVTT write the golden
// segments.
func TestTranscribeCLIFormats(t *testing.T) {
	dir := fixtures.Dir(t, "whisper")
	wav := filepath.Join(dir, "audio_long.wav")
	cases := []struct {
		flag, want, last string
	}{
		{"", "[00:00.360 --> 00:10.520] ushima\n[00:10.520 --> 00:29.700]  dam\n", "[00:59.780 --> 00:59.920]  Конечно\n"},
		{"--srt", "1\n00:00:00,360 --> 00:00:10,520\nushima\n\n2\n00:00:10,520 --> 00:00:29,700\ndam\n\n", "7\n00:00:59,780 --> 00:00:59,920\nКонечно\n\n"},
		{"--vtt", "WEBVTT\n\n00:00.360 --> 00:10.520\nushima\n\n00:10.520 --> 00:29.700\ndam\n\n", "00:59.780 --> 00:59.920\nКонечно\n\n"},
	}
	for _, c := range cases {
		t.Run(c.flag, func(t *testing.T) {
			args := []string{"--model", dir, "--language", "en", wav}
			if c.flag != "" {
				args = append(args, c.flag)
			}
			out, err := runTranscribe(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out, c.want) {
				t.Errorf("output starts\n%q\nwant\n%q", out[:min(len(out), len(c.want))], c.want)
			}
			if !strings.Contains(out, c.last) {
				t.Errorf("output lacks the last segment's end %s:\n%s", c.last, out)
			}
		})
	}
}

// audio_jfk.wav fits in one window: one decode, and without timestamps
// one segment spanning the 11 s of audio with every token.
func TestTranscribeCLIOneWindow(t *testing.T) {
	dir := fixtures.Dir(t, "whisper")
	wav := filepath.Join(dir, "audio_jfk.wav")
	out, err := runTranscribe(t, "--model", dir, "--language", "en", "--without-timestamps", "--json", wav)
	if err != nil {
		t.Fatal(err)
	}
	var got fileTranscriptJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got.Segments) != 1 {
		t.Fatalf("%d segments, want 1: %s", len(got.Segments), out)
	}
	s := got.Segments[0]
	if s.Seek != 0 || s.Start != 0 || s.End != 11 || len(s.Tokens) == 0 || strings.TrimSpace(s.Text) != got.Text {
		t.Errorf("segment %+v, text %q", s, got.Text)
	}
}

func TestTranscribeCLIRefuses(t *testing.T) {
	dir := fixtures.Dir(t, "whisper")
	wav := filepath.Join(dir, "audio_jfk.wav")
	for _, args := range [][]string{
		{"--model", dir, "--json", "--srt", wav},
		{"--model", dir, "--srt", wav, wav},
		{"--model", dir, "--task", "summarise", wav},
		{"--model", dir, "--language", "xx", wav},
	} {
		if _, err := runTranscribe(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestFormatTimestamp(t *testing.T) {
	for _, c := range []struct {
		sec         float64
		alwaysHours bool
		marker      string
		want        string
	}{
		{0, false, ".", "00:00.000"},
		{0.36, false, ".", "00:00.360"},
		{40.480000000000004, false, ".", "00:40.480"},
		{59.92, true, ",", "00:00:59,920"},
		{3661.5, false, ".", "01:01:01.500"},
		{0.0005, false, ".", "00:00.000"}, // round half to even
		{0.0015, false, ".", "00:00.002"},
	} {
		if got := formatTimestamp(c.sec, c.alwaysHours, c.marker); got != c.want {
			t.Errorf("formatTimestamp(%v, %v, %q) = %q, want %q", c.sec, c.alwaysHours, c.marker, got, c.want)
		}
	}
}

// --fallback on audio_jfk.wav: this random model fails the greedy
// window's thresholds, so the segments come from sampled decodes.
func TestTranscribeCLIFallback(t *testing.T) {
	dir := fixtures.Dir(t, "whisper")
	out, err := runTranscribe(t, "--model", dir, "--language", "en", "--fallback", "--best-of", "1", "--json", filepath.Join(dir, "audio_jfk.wav"))
	if err != nil {
		t.Fatal(err)
	}
	var got fileTranscriptJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	greedy, err := runTranscribe(t, "--model", dir, "--language", "en", "--json", filepath.Join(dir, "audio_jfk.wav"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Segments) == 0 || out == greedy {
		t.Errorf("--fallback gave the greedy output or no segments:\n%s", out)
	}
}

// --initial-prompt changes the transcript of audio_jfk.wav, and neither
// the text nor any segment holds the prompt's words.
func TestTranscribeCLIInitialPrompt(t *testing.T) {
	dir := fixtures.Dir(t, "whisper")
	wav := filepath.Join(dir, "audio_jfk.wav")
	plain, err := runTranscribe(t, "--model", dir, "--language", "en", "--json", wav)
	if err != nil {
		t.Fatal(err)
	}
	out, err := runTranscribe(t, "--model", dir, "--language", "en", "--initial-prompt", " Ask not what your country can do ", "--json", wav)
	if err != nil {
		t.Fatal(err)
	}
	var got fileTranscriptJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out == plain || len(got.Segments) == 0 {
		t.Fatalf("--initial-prompt gave the plain output or no segments:\n%s", out)
	}
	var text strings.Builder
	for _, s := range got.Segments {
		text.WriteString(s.Text)
		if strings.Contains(s.Text, "Ask not") {
			t.Errorf("segment %d holds the prompt: %q", s.ID, s.Text)
		}
	}
	if strings.Contains(got.Text, "Ask not") || !strings.Contains(text.String(), strings.TrimSpace(got.Text)) {
		t.Errorf("text %q: holds the prompt, or is not the segments' %q", got.Text, text.String())
	}
}
