package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"rosetta/internal/testaudio"
)

// encodeFLAC writes verbatim frames of the given per-channel samples.
func encodeFLAC(t *testing.T, rate, bits int, chans [][]int32, block int) []byte {
	t.Helper()
	b, err := testaudio.FLAC(rate, bits, chans, block)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeFLAC(t *testing.T) {
	tests := []struct {
		name  string
		bits  int
		chans [][]int32
		want  [][]float32
	}{
		{"16-bit stereo", 16, [][]int32{{-32768, 0, 16384, 32767, 1}, {1, 2, 3, 4, 5}},
			[][]float32{{-1, 0, 0.5, 32767.0 / 32768, 1.0 / 32768}, {1.0 / 32768, 2.0 / 32768, 3.0 / 32768, 4.0 / 32768, 5.0 / 32768}}},
		{"24-bit mono", 24, [][]int32{{-8388608, 4194304, 8388607}},
			[][]float32{{-1, 0.5, 8388607.0 / 8388608}}},
		{"8-bit mono", 8, [][]int32{{-128, 64, 127}},
			[][]float32{{-1, 0.5, 127.0 / 128}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// FLAC needs blocks of at least 16 samples: tile the values
			// over three frames (16, 16, and a short last one).
			tile := func(v []int32) []int32 {
				var out []int32
				for len(out) < 35 {
					out = append(out, v...)
				}
				return out
			}
			var chans [][]int32
			for _, ch := range tc.chans {
				chans = append(chans, tile(ch))
			}
			data := encodeFLAC(t, 22050, tc.bits, chans, 16)
			c, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if c.Rate != 22050 || c.Channels != len(tc.chans) {
				t.Fatalf("%d Hz %d ch", c.Rate, c.Channels)
			}
			for ch := range tc.want {
				if len(c.Samples[ch]) != len(chans[ch]) {
					t.Fatalf("channel %d: %d samples, want %d", ch, len(c.Samples[ch]), len(chans[ch]))
				}
				for i, got := range c.Samples[ch] {
					if w := tc.want[ch][i%len(tc.want[ch])]; got != w {
						t.Errorf("channel %d sample %d = %v, want %v", ch, i, got, w)
					}
				}
			}
			// Every truncation fails cleanly (before the first frame
			// is complete) or decodes the complete frames before it.
			for n := 0; n < len(data); n++ {
				c, err := Decode(data[:n])
				if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
					t.Fatalf("cut at %d: %v", n, err)
				}
				if err == nil && c.Frames() > len(chans[0]) {
					t.Fatalf("cut at %d: %d frames", n, c.Frames())
				}
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(makeWAV(wavOpts{tag: 1, channels: 2, rate: 16000, bits: 16}, []byte{1, 2, 3, 4}))
	f.Add([]byte("fLaC\x00\x00\x00\x22"))
	f.Add([]byte{0xFF, 0xFB, 0x90, 0x00, 0, 0, 0, 0})
	f.Add([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"))
	if ogg, err := os.ReadFile("testdata/tone_stereo.ogg"); err == nil {
		f.Add(ogg[:min(len(ogg), 4500)])
	}
	if mp3, err := os.ReadFile("testdata/tone_stereo.mp3"); err == nil {
		f.Add(mp3[:min(len(mp3), 2000)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v wraps neither sentinel", err)
			}
		} else if c.Channels < 1 || len(c.Samples) != c.Channels || c.Rate < MinRate || c.Rate > MaxRate {
			t.Fatalf("bad clip %d Hz %d ch", c.Rate, c.Channels)
		}
		// The range reader agrees with Decode: same errors' kinds, same
		// samples when both succeed.
		r, rerr := Open(data)
		if rerr != nil {
			if !errors.Is(rerr, ErrCorrupt) && !errors.Is(rerr, ErrUnsupported) {
				t.Fatalf("Open error %v wraps neither sentinel", rerr)
			}
			return
		}
		x, xerr := r.Range(0, r.Frames())
		// Bitwise: float WAVs may hold NaNs, which both paths copy alike.
		bits := func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }
		if err == nil && xerr == nil && !slices.EqualFunc(x, Mono(c), bits) {
			t.Fatalf("Open(...).Range gives %d samples, Mono(Decode) %d, or different values", len(x), c.Frames())
		}
	})
}

// noisyFLAC encodes frames mono samples of noise (so that every frame
// is stored at its full size) in blocks of block samples.
func noisyFLAC(t *testing.T, rate, frames, block int) []byte {
	t.Helper()
	pcm := make([]int32, frames)
	for i := range pcm {
		pcm[i] = int32(i*7919%60000 - 30000)
	}
	return encodeFLAC(t, rate, 16, [][]int32{pcm}, block)
}

// TestFLACRateRange: a FLAC stream outside MinRate..MaxRate Hz is refused
// by Decode and Open, naming the rate and the range.
func TestFLACRateRange(t *testing.T) {
	for _, tc := range []struct {
		rate int
		ok   bool
	}{{1, false}, {MinRate - 1, false}, {MinRate, true}, {MaxRate, true}, {MaxRate + 1, false}} {
		t.Run(fmt.Sprint(tc.rate), func(t *testing.T) {
			data := noisyFLAC(t, min(tc.rate, MaxRate), 100, 50)
			if tc.rate > MaxRate {
				// The encoder cannot write the rate in frame headers:
				// claim it in STREAMINFO only (its first 20 bits at 18).
				v := binary.BigEndian.Uint32(data[18:])
				binary.BigEndian.PutUint32(data[18:], v&0xFFF|uint32(tc.rate)<<12)
			}
			_, err := Decode(data)
			_, oerr := Open(data)
			if tc.ok {
				if err != nil || oerr != nil {
					t.Fatalf("refused: %v / %v", err, oerr)
				}
				return
			}
			for _, e := range []error{err, oerr} {
				if !errors.Is(e, ErrUnsupported) || !strings.Contains(e.Error(), fmt.Sprint(tc.rate)) ||
					!strings.Contains(e.Error(), fmt.Sprintf("%d–%d Hz", MinRate, MaxRate)) {
					t.Fatalf("err = %v, want ErrUnsupported naming %d Hz and the range", e, tc.rate)
				}
			}
		})
	}
}

// TestFLACLengthFromFrames: the length is what the frames present
// decode to, never STREAMINFO's total-samples claim; a stream cut inside
// a frame keeps the complete frames before the cut.
func TestFLACLengthFromFrames(t *testing.T) {
	const block, frames = 1024, 4*1024 + 100
	data := noisyFLAC(t, 16000, frames, block)
	// STREAMINFO (after "fLaC" and a 4-byte block header): bytes 10..17
	// hold rate, channels, bits and a 36-bit total-samples count.
	claim := append([]byte(nil), data...)
	v := binary.BigEndian.Uint64(claim[8+10:])
	binary.BigEndian.PutUint64(claim[8+10:], v|(1<<36-1))
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"whole", data, frames},
		{"claims 2^36 samples", claim, frames},
		{"cut in the last frame", data[:len(data)-10], 4 * block},
		{"cut in the third frame", data[:len(data)/2], 2 * block},
		{"claims 2^36, cut in the last frame", claim[:len(claim)-10], 4 * block},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Decode(tc.data)
			if err != nil || c.Frames() != tc.want {
				t.Fatalf("Decode: %v, %d frames, want %d", err, c.Frames(), tc.want)
			}
			r, err := Open(tc.data)
			if err != nil || r.Frames() != tc.want {
				t.Fatalf("Open: %v, %d frames, want %d", err, r.Frames(), tc.want)
			}
			x, err := r.Range(0, r.Frames())
			if err != nil || !slices.Equal(x, Mono(c)) {
				t.Fatalf("Range: %v, %d samples", err, len(x))
			}
		})
	}
}
