package audio

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"rosetta/encoders/safetensors"
	"rosetta/internal/fixtures"
)

// maxAbsDiff returns the largest |a[i]-b[i]|, failing on a length mismatch.
func maxAbsDiff(t *testing.T, name string, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	var m float64
	for i := range got {
		m = math.Max(m, math.Abs(float64(got[i])-float64(want[i])))
	}
	return m
}

// TestGoldenPreprocess checks decoding, resampling and normalisation against
// the torchaudio / transformers references in preprocess-audio.
func TestGoldenPreprocess(t *testing.T) {
	dir := fixtures.Dir(t, "preprocess-audio")
	ck, err := safetensors.OpenCheckpoint(filepath.Join(dir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	load := func(name string) []float32 {
		t.Helper()
		v, _, err := ck.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, rate := range []int{22050, 44100} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, fmt.Sprintf("tone%d.wav", rate)))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			clip, err := DecodeWAV(f)
			if err != nil {
				t.Fatal(err)
			}
			if clip.Rate != rate || clip.Channels != 1 {
				t.Fatalf("decoded %d Hz %d ch", clip.Rate, clip.Channels)
			}
			pcm := Mono(clip)
			if d := maxAbsDiff(t, "pcm", pcm, load(fmt.Sprintf("pcm%d", rate))); d != 0 {
				t.Errorf("pcm%d differs by %g, want exact", rate, d)
			}
			r := Resample(pcm, rate, 16000)
			d := maxAbsDiff(t, "resampled", r, load(fmt.Sprintf("resampled16000_from%d", rate)))
			t.Logf("resampled16000_from%d: max abs error %.3g", rate, d)
			if d > 2e-6 {
				t.Errorf("resampled16000_from%d differs by %g", rate, d)
			}
			n := Normalize(r)
			d = maxAbsDiff(t, "normalized", n, load(fmt.Sprintf("normalized16000_from%d", rate)))
			t.Logf("normalized16000_from%d: max abs error %.3g", rate, d)
			if d > 2e-6 {
				t.Errorf("normalized16000_from%d differs by %g", rate, d)
			}
		})
	}
}
