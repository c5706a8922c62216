package audio

import (
	"bytes"
	"errors"
	"math"
	"os"
	"testing"
)

// testdata/tone_stereo.ogg is 1 s of 22.05 kHz stereo encoded by oggenc
// (vorbis-tools 1.4.2, -q 4): a 440 Hz sine at 0.5 on the left channel and
// a 1 kHz sine at 0.25 on the right.
func TestDecodeOggVorbis(t *testing.T) {
	data, err := os.ReadFile("testdata/tone_stereo.ogg")
	if err != nil {
		t.Fatal(err)
	}
	if Sniff(data) != "ogg" || oggCodec(data) != "vorbis" {
		t.Fatalf("sniffed %q/%q", Sniff(data), oggCodec(data))
	}
	c, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if c.Rate != 22050 || c.Channels != 2 {
		t.Fatalf("%d Hz, %d channels", c.Rate, c.Channels)
	}
	// Vorbis keeps the exact length through the final granule position.
	if c.Frames() != 22050 {
		t.Fatalf("%d frames, want 22050", c.Frames())
	}
	for ch, want := range []struct{ amp, freq float64 }{{0.5, 440}, {0.25, 1000}} {
		var sig, noise float64
		// Skip the first and last 10 ms, where the lapped transform ramps.
		for i := 220; i < c.Frames()-220; i++ {
			ref := want.amp * math.Sin(2*math.Pi*want.freq*float64(i)/22050)
			d := float64(c.Samples[ch][i]) - ref
			sig += ref * ref
			noise += d * d
		}
		snr := 10 * math.Log10(sig/noise)
		if snr < 25 {
			t.Errorf("channel %d: SNR %.1f dB against the encoded sine, want ≥ 25", ch, snr)
		}
	}
}

func TestDecodeOggOtherCodecs(t *testing.T) {
	page := func(packet string) []byte {
		b := []byte("OggS\x00\x02")
		b = append(b, make([]byte, 20)...) // granule, serial, sequence, CRC
		b = append(b, 1, byte(len(packet)))
		return append(b, packet...)
	}
	for codec, packet := range map[string]string{
		"opus":  "OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00",
		"flac":  "\x7fFLAC\x01\x00\x00\x01fLaC",
		"speex": "Speex   1.2.0",
	} {
		_, err := Decode(page(packet))
		if !errors.Is(err, ErrUnsupported) || !bytes.Contains([]byte(err.Error()), []byte(codec)) {
			t.Errorf("%s: err = %v, want ErrUnsupported naming it", codec, err)
		}
	}
}

func TestDecodeOggTruncated(t *testing.T) {
	data, err := os.ReadFile("testdata/tone_stereo.ogg")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 4, 27, 40, 100, 1000, 3000, len(data) - 1} {
		c, err := Decode(data[:n])
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("cut at %d: %v wraps neither sentinel", n, err)
			}
			continue
		}
		if c.Frames() > 22050 {
			t.Fatalf("cut at %d: %d frames", n, c.Frames())
		}
	}
}
