package audio

import (
	"os"
	"path/filepath"
	"testing"

	"rosetta/internal/fixtures"
)

// TestWAVStreamRanges: converting a range equals slicing the full decode.
func TestWAVStreamRanges(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixtures.Dir(t, "preprocess-audio"), "tone22050.wav"))
	if err != nil {
		t.Fatal(err)
	}
	full, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	w, err := OpenWAV(b)
	if err != nil {
		t.Fatal(err)
	}
	if w.Frames() != full.Frames() || w.Rate() != full.Rate || w.Channels() != full.Channels {
		t.Fatalf("header: %d frames %d Hz %d ch", w.Frames(), w.Rate(), w.Channels())
	}
	for _, r := range [][2]int{{0, 100}, {5000, 9000}, {w.Frames() - 10, w.Frames() + 50}, {-5, 3}, {10, 5}} {
		c := w.Range(r[0], r[1])
		lo := max(0, min(r[0], w.Frames()))
		for i, v := range c.Samples[0] {
			if v != full.Samples[0][lo+i] {
				t.Fatalf("range %v sample %d: %v vs %v", r, i, v, full.Samples[0][lo+i])
			}
		}
	}
	if _, err := OpenWAV([]byte("RIFF")); err == nil {
		t.Fatal("truncated header accepted")
	}
}
