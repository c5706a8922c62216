package whisper

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"rosetta/encoders/audio"
)

// floatStereoWAV encodes two channels as a 32-bit float WAV.
func floatStereoWAV(l, r []float32, rate int) []byte {
	n := len(l)
	b := make([]byte, 44+8*n)
	le := binary.LittleEndian
	copy(b, "RIFF")
	le.PutUint32(b[4:], uint32(36+8*n))
	copy(b[8:], "WAVEfmt ")
	le.PutUint32(b[16:], 16)
	le.PutUint16(b[20:], 3) // IEEE float
	le.PutUint16(b[22:], 2)
	le.PutUint32(b[24:], uint32(rate))
	le.PutUint32(b[28:], uint32(8*rate))
	le.PutUint16(b[32:], 8)
	le.PutUint16(b[34:], 32)
	copy(b[36:], "data")
	le.PutUint32(b[40:], uint32(8*n))
	for i := range n {
		le.PutUint32(b[44+8*i:], math.Float32bits(l[i]))
		le.PutUint32(b[48+8*i:], math.Float32bits(r[i]))
	}
	return b
}

// wholeFile is the path the command line took before streaming: the
// whole file decoded, mixed to mono and resampled to 16 kHz.
func wholeFile(t *testing.T, data []byte) []float32 {
	t.Helper()
	c, err := audio.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	x := audio.Mono(c)
	if c.Rate != 16000 {
		x = audio.Resample(x, c.Rate, 16000)
	}
	return x
}

// TestTranscribeStreamedFile: TranscribeSamples over audio.OpenResampled
// (a range at a time from the file's bytes) gives exactly the transcript
// of the whole-file path, for audio_long as a 48 kHz stereo WAV (two
// windows) and for a short stereo Ogg Vorbis at 22.05 kHz (read by
// audio.Sequential, which restarts for the second pass).
func TestTranscribeStreamedFile(t *testing.T) {
	m := loadModel(t)
	tok := loadTokenizer(t)
	dir, _ := golden(t)
	long := readWAV(t, filepath.Join(dir, "audio_long.wav"))
	l := audio.Resample(long, 16000, 48000)
	r := make([]float32, len(l))
	for i, v := range l {
		r[i] = -0.5 * v * float32(i%7) / 7
	}
	ogg, err := os.ReadFile("../audio/testdata/tone_stereo.ogg")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"wav48k-stereo": floatStereoWAV(l, r, 48000), "ogg22k-stereo": ogg} {
		t.Run(name, func(t *testing.T) {
			opt := DefaultTranscribeOptions()
			opt.Language = "en"
			want, err := m.Transcribe(context.Background(), tok, wholeFile(t, data), opt)
			if err != nil {
				t.Fatal(err)
			}
			src, err := audio.OpenResampled(data, 16000)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.TranscribeSamples(context.Background(), tok, src, opt)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("streamed:\n%+v\nwhole file:\n%+v", got, want)
			}
			t.Logf("%d windows, %d segments, text %q", len(got.Windows), len(got.Segments), got.Text)
		})
	}
}

// forwardOnly is a Samples that, like a compressed stream, can only move
// forward: a range starting before the previous one counts a restart. It
// records the longest range asked for.
type forwardOnly struct {
	x        []float32
	last     int
	restarts int
	longest  int
	calls    int
}

func (f *forwardOnly) Rate() int   { return 16000 }
func (f *forwardOnly) Frames() int { return len(f.x) }
func (f *forwardOnly) Range(start, end int) ([]float32, error) {
	if start < 0 || end > len(f.x) || end <= start {
		return nil, errors.New("range out of bounds")
	}
	if start < f.last {
		f.restarts++
	}
	f.last = start
	f.calls++
	f.longest = max(f.longest, end-start)
	return slices.Clone(f.x[start:end]), nil
}

// TestTranscribeSamplesForward: the source is read in two forward passes
// (one restart), never more than a window's samples (plus the STFT's
// reach) at once, and the transcript equals the slice path's.
func TestTranscribeSamplesForward(t *testing.T) {
	m := loadModel(t)
	tok := loadTokenizer(t)
	dir, _ := golden(t)
	long := readWAV(t, filepath.Join(dir, "audio_long.wav"))
	opt := DefaultTranscribeOptions()
	want, err := m.Transcribe(context.Background(), tok, long, opt) // with language detection
	if err != nil {
		t.Fatal(err)
	}
	src := &forwardOnly{x: long}
	got, err := m.TranscribeSamples(context.Background(), tok, src, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("forward-only source:\n%+v\nslice:\n%+v", got, want)
	}
	window := m.Preprocessor().NSamples + m.Frontend().NFFT
	if src.restarts != 1 || src.longest > window {
		t.Errorf("%d restarts (want 1), longest range %d samples (at most %d)", src.restarts, src.longest, window)
	}
	t.Logf("%d ranges, longest %d samples", src.calls, src.longest)

	if _, err := m.TranscribeSamples(context.Background(), tok, audio.Resampled(wavRecordingOf(t, long), 8000), opt); !errors.Is(err, ErrInput) {
		t.Errorf("8 kHz source: %v, want ErrInput", err)
	}
	bad := slices.Clone(long)
	bad[len(bad)-3] = float32(math.NaN())
	if _, err := m.TranscribeSamples(context.Background(), tok, &forwardOnly{x: bad}, opt); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN sample: %v, want ErrInput", err)
	}
}

// wavRecordingOf opens mono 16 kHz samples as an audio.Recording.
func wavRecordingOf(t *testing.T, x []float32) audio.Recording {
	t.Helper()
	rec, err := audio.Open(floatStereoWAV(x, x, 16000))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestTranscribeInitialPrompt: the initial prompt's tokens (" " + the
// stripped text) are the first window's prompt and, with conditioning on
// previous text, the start of the second's; without it the second window
// has no prompt. The transcript changes, and its text is its segments'
// tokens alone.
func TestTranscribeInitialPrompt(t *testing.T) {
	m := loadModel(t)
	tok := loadTokenizer(t)
	dir, _ := golden(t)
	long := readWAV(t, filepath.Join(dir, "audio_long.wav"))
	const text = "  Ask not what your country can do.\n"
	prompt := tok.Encode(" Ask not what your country can do.")
	for _, condition := range []bool{true, false} {
		opt := DefaultTranscribeOptions()
		opt.Language = "en"
		opt.ConditionOnPreviousText = condition
		plain, err := m.Transcribe(context.Background(), tok, long, opt)
		if err != nil {
			t.Fatal(err)
		}
		opt.InitialPrompt = text
		r, err := m.Transcribe(context.Background(), tok, long, opt)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Windows) < 2 {
			t.Fatalf("condition %v: %d windows", condition, len(r.Windows))
		}
		if !slices.Equal(r.Windows[0].Prompt, prompt) {
			t.Errorf("condition %v: first window prompt %v, want %v", condition, r.Windows[0].Prompt, prompt)
		}
		second := r.Windows[1].Prompt
		if condition && !slices.Equal(second[:min(len(prompt), len(second))], prompt) {
			t.Errorf("second window prompt %v does not start with the initial prompt %v", second, prompt)
		}
		if !condition && len(second) != 0 {
			t.Errorf("without conditioning the second window has prompt %v", second)
		}
		if slices.EqualFunc(r.Windows, plain.Windows, func(a, b DecodedWindow) bool { return slices.Equal(a.Tokens, b.Tokens) }) {
			t.Errorf("condition %v: the initial prompt changed no window's tokens", condition)
		}
		var toks []int
		for _, s := range r.Segments {
			toks = append(toks, s.Tokens...)
		}
		if want := tok.Decode(toks); r.Text != want || strings.Contains(r.Text, "Ask not") {
			t.Errorf("condition %v: text %q, want the segments' %q", condition, r.Text, want)
		}
		t.Logf("condition %v: %q (without the prompt %q)", condition, r.Text, plain.Text)
	}
}
