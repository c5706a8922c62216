package audio

import (
	"bytes"
	"math"
	"os"
	"testing"
)

// silentMP3 builds n MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, stereo,
// no CRC) whose side information and main data are all zero: silence.
func silentMP3(n int) []byte {
	const frameLen = 144 * 128000 / 44100 // 417 bytes, no padding
	var b bytes.Buffer
	for range n {
		f := make([]byte, frameLen)
		copy(f, []byte{0xFF, 0xFB, 0x90, 0x00})
		b.Write(f)
	}
	return b.Bytes()
}

func TestDecodeMP3Silence(t *testing.T) {
	c, err := Decode(silentMP3(8))
	if err != nil {
		t.Fatal(err)
	}
	if c.Rate != 44100 || c.Channels != 2 {
		t.Fatalf("%d Hz %d ch", c.Rate, c.Channels)
	}
	if c.Frames() == 0 || c.Frames()%576 != 0 || c.Frames() > 8*1152 {
		t.Fatalf("%d frames", c.Frames())
	}
	for _, v := range Mono(c) {
		if v != 0 {
			t.Fatalf("silence decoded to %v", v)
		}
	}
}

// testdata/tone_stereo.mp3 is the signal of tone_stereo.ogg (1 s, 22.05
// kHz, 440 Hz at 0.5 left, 1 kHz at 0.25 right) encoded by LAME 3.100 at
// 64 kbit/s. go-mp3 keeps the encoder's delay and padding, so the test
// finds the delay, then checks the decoded sines.
func TestDecodeMP3Tone(t *testing.T) {
	data, err := os.ReadFile("testdata/tone_stereo.mp3")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if c.Rate != 22050 || c.Channels != 2 || c.Frames() < 22050 || c.Frames()%576 != 0 {
		t.Fatalf("%d Hz, %d channels, %d frames", c.Rate, c.Channels, c.Frames())
	}
	ref := func(ch, i int) float64 {
		if ch == 0 {
			return 0.5 * math.Sin(2*math.Pi*440*float64(i)/22050)
		}
		return 0.25 * math.Sin(2*math.Pi*1000*float64(i)/22050)
	}
	// The delay that best aligns the left channel with its sine.
	best, bestErr := 0, math.Inf(1)
	for lag := 0; lag < 3000; lag++ {
		var e float64
		for i := 2000; i < 4000; i++ {
			d := float64(c.Samples[0][i+lag]) - ref(0, i)
			e += d * d
		}
		if e < bestErr {
			best, bestErr = lag, e
		}
	}
	for ch := range 2 {
		var sig, noise float64
		for i := 1000; i < 21000; i++ {
			r := ref(ch, i)
			d := float64(c.Samples[ch][i+best]) - r
			sig += r * r
			noise += d * d
		}
		if snr := 10 * math.Log10(sig/noise); snr < 20 {
			t.Errorf("channel %d: SNR %.1f dB at delay %d, want ≥ 20", ch, snr, best)
		}
	}
}
