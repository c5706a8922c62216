package whisper

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"rosetta/encoders/audio"
	"slices"
	"testing"
)

func TestLogMelGolden(t *testing.T) {
	dir, g := golden(t)
	p, err := loadPreprocessor(dir, Config{NumMelBins: 80})
	if err != nil {
		t.Fatal(err)
	}
	fe, err := NewFrontend(p.NFFT, p.HopLength, p.FeatureSize, p.SamplingRate)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"jfk", "tone", "silence", "long"} {
		t.Run(name, func(t *testing.T) {
			samples := readWAV(t, filepath.Join(dir, fmt.Sprintf("audio_%s.wav", name)))
			if want, ok := g.f32["audio_"+name]; ok {
				checkClose(t, "audio_"+name, samples, want, 0)
			}
			mel, frames, err := fe.LogMel(samples, p.NSamples)
			if err != nil {
				t.Fatal(err)
			}
			want := g.f32["mel_"+name]
			if frames*p.FeatureSize != len(want) {
				t.Fatalf("%d frames, golden has %d", frames, len(want)/p.FeatureSize)
			}
			checkMel(t, "mel_"+name, mel, want)
		})
	}
}
func readWAV(t *testing.T, path string) []float32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := audio.DecodeWAV(f)
	if err != nil {
		t.Fatal(err)
	}
	if c.Channels != 1 || c.Rate != 16000 {
		t.Fatalf("%s: %d channels at %d Hz, want mono 16 kHz", path, c.Channels, c.Rate)
	}
	return c.Samples[0]
}

// checkMel compares a spectrogram with the reference's. The reference
// computes the STFT in float32 (pocketfft); in bins whose power is ~1e-9
// of the frame's peak its rounding moves log10 by a few 1e-5, and a
// float32 FFT of another algorithm moves them by as much, so exact float64
// arithmetic cannot be held to 1e-5 there. The bound is therefore 1e-5 for
// all but one value in 10⁴, and 3e-5 for every value.
func checkMel(t *testing.T, name string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	var worst float64
	over := 0
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		worst = math.Max(worst, d)
		if d > 1e-5 {
			over++
		}
	}
	t.Logf("%s: max abs error %.3g; %d of %d values above 1e-5", name, worst, over, len(want))
	if worst > 3e-5 || over*10000 > len(want) {
		t.Errorf("%s: max abs error %.3g, %d of %d values above 1e-5", name, worst, over, len(want))
	}
}

// TestEncoderFromOurMel runs the encoder on this package's own spectrogram
// of the WAV file: the front end's differences from the reference do not
// reach the 1e-4 bound of the encoder output.
func TestEncoderFromOurMel(t *testing.T) {
	m := loadModel(t)
	dir, g := golden(t)
	for _, name := range []string{"jfk", "tone"} {
		t.Run(name, func(t *testing.T) {
			mel, frames, err := m.LogMel(readWAV(t, filepath.Join(dir, fmt.Sprintf("audio_%s.wav", name))))
			if err != nil {
				t.Fatal(err)
			}
			w, err := m.Window(mel, frames, 0)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := m.Encode(w, m.AudioFrames())
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "enc_"+name+" from our mel", enc, g.f32["enc_"+name], 1e-4)
		})
	}
}

// TestDecodeFromWAV decodes from this package's own spectrogram of the WAV
// file: the front end's rounding differences stay inside the golden
// decode's margins.
func TestDecodeFromWAV(t *testing.T) {
	m := loadModel(t)
	tok := loadTokenizer(t)
	dir, _ := golden(t)
	var g struct {
		Decode map[string]goldenDecode `json:"decode"`
	}
	goldenJSON(t, dir, &g)
	mel, frames, err := m.LogMel(readWAV(t, filepath.Join(dir, "audio_jfk.wav")))
	if err != nil {
		t.Fatal(err)
	}
	w, err := m.Window(mel, frames, 0)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := m.Encode(w, m.AudioFrames())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"jfk/en_transcribe_timestamps", "jfk/en_transcribe_notimestamps"} {
		c := g.Decode[name]
		r, err := m.Decode(context.Background(), tok, enc, DecodeOptions{Language: "en", WithoutTimestamps: c.Options.WithoutTimestamps})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Tokens, c.Tokens) || r.TextWithTimestamps != c.TextWithTimestamps {
			t.Errorf("%s: tokens %v, want %v", name, r.Tokens, c.Tokens)
		}
	}
}
