package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"
)

// stereoWAV is frames of a 16-bit stereo WAV at rate Hz: a chirp on the
// left, noise on the right.
func stereoWAV(rate, frames int) []byte {
	raw := make([]byte, 4*frames)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range frames {
		l := int16(20000 * math.Sin(float64(i)*float64(i)/float64(40*frames)))
		r := int16(rng.IntN(30000) - 15000)
		binary.LittleEndian.PutUint16(raw[4*i:], uint16(l))
		binary.LittleEndian.PutUint16(raw[4*i+2:], uint16(r))
	}
	return makeWAV(wavOpts{tag: 1, channels: 2, rate: rate, bits: 16}, raw)
}

// TestOpenResampledMatchesWhole: every range of OpenResampled equals the
// same slice of Resample(Mono(Decode(data))) bit for bit, for a 48 kHz
// stereo WAV, FLAC, Ogg Vorbis and MP3, in the forward overlapping ranges
// Whisper asks for (two passes: the second restarts from 0), in blocks,
// and at the ends.
func TestOpenResampledMatchesWhole(t *testing.T) {
	ogg, err := os.ReadFile("testdata/tone_stereo.ogg")
	if err != nil {
		t.Fatal(err)
	}
	mp3, err := os.ReadFile("testdata/tone_stereo.mp3")
	if err != nil {
		t.Fatal(err)
	}
	const n = 30000
	l, r := make([]int32, n), make([]int32, n)
	for i := range n {
		l[i] = int32(20000 * math.Sin(float64(i)/17))
		r[i] = int32(9000 * math.Cos(float64(i)/5))
	}
	streams := map[string][]byte{
		"wav48k":  stereoWAV(48000, 3*48000+17),
		"wav44k":  stereoWAV(44100, 44100+5),
		"flac22k": encodeFLAC(t, 22050, 16, [][]int32{l, r}, 1024),
		"ogg":     ogg,
		"mp3":     mp3,
	}
	for name, data := range streams {
		t.Run(name, func(t *testing.T) {
			c, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			const rate = 16000
			want := Resample(Mono(c), c.Rate, rate)
			bytesRec, err := OpenResampled(data, rate)
			if err != nil {
				t.Fatal(err)
			}
			at, err := OpenReaderAt(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			for src, rec := range map[string]Recording{"bytes": bytesRec, "readerAt": Resampled(at, rate)} {
				t.Run(src, func(t *testing.T) { checkResampled(t, rec, want, c) })
			}
		})
	}
}

// checkResampled compares rec's ranges with want, the whole-file path's
// samples of the clip c.
func checkResampled(t *testing.T, rec Recording, want []float32, c *Clip) {
	t.Helper()
	const rate = 16000
	if rec.Frames() != len(want) || rec.Rate() != rate || rec.Channels() != c.Channels {
		t.Fatalf("frames %d rate %d ch %d; whole path %d, %d, %d", rec.Frames(), rec.Rate(), rec.Channels(), len(want), rate, c.Channels)
	}
	bits := func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }
	check := func(a, b int) {
		t.Helper()
		got, err := rec.Range(a, b)
		if err != nil {
			t.Fatalf("Range(%d, %d): %v", a, b, err)
		}
		a, b = max(0, min(a, len(want))), max(0, min(b, len(want)))
		if !slices.EqualFunc(got, want[a:max(a, b)], bits) {
			t.Fatalf("Range(%d, %d) differs from the whole-file path (%d vs %d samples)", a, b, len(got), max(0, b-a))
		}
	}
	for range 2 {
		// Overlapping forward windows, as Whisper's STFT reads them.
		for _, w := range Windows(len(want), rate, 250*time.Millisecond, 60*time.Millisecond) {
			check(w.Start-200, w.End+200)
		}
	}
	for a := 0; a < len(want); a += 4097 {
		check(a, a+4097)
	}
	check(0, 1)
	check(len(want)-1, len(want)+10)
	check(len(want)+5, len(want)+10)
	check(10, 5)
}

// TestResampledEqualRate: at the recording's own rate Resampled is the
// recording itself.
func TestResampledEqualRate(t *testing.T) {
	rec, err := OpenResampled(stereoWAV(16000, 100), 16000)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.(wavRecording); !ok {
		t.Fatalf("%T, want the WAV recording itself", rec)
	}
	if _, err := OpenResampled(stereoWAV(16000, 100), 0); err == nil {
		t.Fatal("rate 0 accepted")
	}
}

// TestOpenReaderAtWAV: a WAV read through OpenReaderAt has the same
// samples as Open's, reading only the chunk headers at open; its header
// errors are Open's.
func TestOpenReaderAtWAV(t *testing.T) {
	data := stereoWAV(48000, 5000)
	want, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenReaderAt(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.(*wavAt); !ok || got.Frames() != want.Frames() || got.Rate() != want.Rate() || got.Channels() != want.Channels() {
		t.Fatalf("%T: %d frames %d Hz %d ch", got, got.Frames(), got.Rate(), got.Channels())
	}
	for _, r := range [][2]int{{0, 100}, {50, 4000}, {4990, 6000}, {-5, 3}, {10, 5}} {
		a, _ := want.Range(r[0], r[1])
		b, err := got.Range(r[0], r[1])
		if err != nil || !slices.Equal(a, b) {
			t.Fatalf("range %v: %v", r, err)
		}
	}
	for _, cut := range []int{0, 5, 12, 30, 44} {
		_, err1 := Open(data[:cut])
		_, err2 := OpenReaderAt(bytes.NewReader(data[:cut]), int64(cut))
		if cut >= 12 && (err1 == nil || err2 == nil || err1.Error() != err2.Error()) {
			t.Errorf("cut at %d: Open %v, OpenReaderAt %v", cut, err1, err2)
		}
		if cut < 12 && (err2 == nil || !errors.Is(err2, ErrCorrupt) && !errors.Is(err2, ErrUnsupported)) {
			t.Errorf("cut at %d: OpenReaderAt %v", cut, err2)
		}
	}
}
