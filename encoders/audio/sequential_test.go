package audio

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"
)

// TestSequentialMatchesDecode reads FLAC, MP3 and Ogg streams through
// Sequential in overlapping forward windows, random forward ranges, and a
// backward jump, and checks every range against Mono(Decode(data)).
func TestSequentialMatchesDecode(t *testing.T) {
	ogg, err := os.ReadFile("testdata/tone_stereo.ogg")
	if err != nil {
		t.Fatal(err)
	}
	mp3, err := os.ReadFile("testdata/tone_stereo.mp3")
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	l, r := make([]int32, n), make([]int32, n)
	for i := range n {
		l[i] = int32(20000 * math.Sin(float64(i)/17))
		r[i] = int32(9000 * math.Cos(float64(i)/5))
	}
	streams := map[string][]byte{
		"ogg":  ogg,
		"flac": encodeFLAC(t, 8000, 16, [][]int32{l, r}, 1024),
		"mp3":  mp3,
	}
	for name, data := range streams {
		t.Run(name, func(t *testing.T) {
			c, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			want := Mono(c)
			s, err := OpenSequential(data)
			if err != nil {
				t.Fatal(err)
			}
			if s.Frames() != len(want) || s.Rate() != c.Rate || s.Channels() != c.Channels {
				t.Fatalf("frames %d rate %d ch %d; Decode gives %d, %d, %d", s.Frames(), s.Rate(), s.Channels(), len(want), c.Rate, c.Channels)
			}
			check := func(a, b int) {
				t.Helper()
				got, err := s.Range(a, b)
				if err != nil {
					t.Fatalf("Range(%d, %d): %v", a, b, err)
				}
				a, b = max(0, min(a, len(want))), max(0, min(b, len(want)))
				if !slices.Equal(got, want[a:max(a, b)]) {
					t.Fatalf("Range(%d, %d) differs from the whole decode (%d vs %d samples)", a, b, len(got), max(0, b-a))
				}
			}
			// The windows ingest asks for: overlapping, forward.
			win := Windows(len(want), c.Rate, 100*time.Millisecond, 30*time.Millisecond)
			if len(win) < 3 {
				t.Fatalf("only %d windows", len(win))
			}
			for _, w := range win {
				check(w.Start, w.End)
			}
			// Random forward ranges after a restart, then past the end.
			check(0, 10)
			rng := rand.New(rand.NewPCG(1, 2))
			pos := 0
			for range 50 {
				pos += rng.IntN(len(want)/40 + 1)
				check(pos, pos+rng.IntN(len(want)/10+1))
			}
			check(len(want)-3, len(want)+100)
			check(len(want)+5, len(want)+10)
			check(10, 5)
		})
	}
}

func TestSequentialErrors(t *testing.T) {
	for name, data := range map[string][]byte{
		"wav":     makeWAV(wavOpts{tag: 1, channels: 1, rate: 8000, bits: 16}, []byte{1, 2}),
		"garbage": []byte("not audio at all"),
		"opus":    []byte("OggS\x00\x02" + string(make([]byte, 20)) + "\x01\x13OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00"),
	} {
		if _, err := OpenSequential(data); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", name, err)
		}
	}
	ogg, _ := os.ReadFile("testdata/tone_stereo.ogg")
	for _, cut := range []int{30, 200, 3000} {
		if _, err := OpenSequential(ogg[:cut]); err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
			t.Errorf("cut at %d: %v wraps neither sentinel", cut, err)
		}
	}
}
