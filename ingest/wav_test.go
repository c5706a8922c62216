package ingest

import (
	"testing"

	"rosetta/encoders/audio"
)

// TestMonoWAV: the float and 16-bit PCM files the ingest writes for the
// audio path decode, through the audio decoder, to the samples given.
func TestMonoWAV(t *testing.T) {
	pcm := []int16{0, 1, -1, 32767, -32768, 1234}
	c, err := audio.Decode(pcm16WAV(pcm, 16000))
	if err != nil {
		t.Fatal(err)
	}
	if c.Rate != 16000 || c.Channels != 1 || c.Frames() != len(pcm) {
		t.Fatalf("pcm16: rate %d, %d channels, %d frames", c.Rate, c.Channels, c.Frames())
	}
	for i, v := range pcm {
		if want := float32(v) / 32768; c.Samples[0][i] != want {
			t.Errorf("pcm16 sample %d = %v, want %v", i, c.Samples[0][i], want)
		}
	}
	fl := []float32{0, 0.5, -0.25, 1, -1}
	c, err = audio.Decode(floatWAV(fl, 22050))
	if err != nil {
		t.Fatal(err)
	}
	if c.Rate != 22050 || c.Channels != 1 || c.Frames() != len(fl) {
		t.Fatalf("float: rate %d, %d channels, %d frames", c.Rate, c.Channels, c.Frames())
	}
	for i, v := range fl {
		if c.Samples[0][i] != v {
			t.Errorf("float sample %d = %v, want %v", i, c.Samples[0][i], v)
		}
	}
}
