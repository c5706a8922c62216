package audio

import (
	"bytes"
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
