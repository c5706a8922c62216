package audio

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func TestMono(t *testing.T) {
	c := &Clip{Rate: 8000, Channels: 2, Samples: [][]float32{{1, 0.5, -1}, {0, 0.5, 1}}}
	if got := Mono(c); !reflect.DeepEqual(got, []float32{0.5, 0.5, 0}) {
		t.Fatalf("Mono = %v", got)
	}
	one := &Clip{Rate: 8000, Channels: 1, Samples: [][]float32{{0.25}}}
	got := Mono(one)
	got[0] = 9
	if one.Samples[0][0] != 0.25 {
		t.Fatal("Mono aliases the clip")
	}
	if Mono(nil) != nil || Mono(&Clip{}) != nil {
		t.Fatal("empty clip should give nil")
	}
}

func TestNormalize(t *testing.T) {
	got := Normalize([]float32{1, 2, 3, 4})
	// mean 2.5, population variance 1.25.
	s := math.Sqrt(1.25 + 1e-7)
	for i, v := range []float64{-1.5, -0.5, 0.5, 1.5} {
		if math.Abs(float64(got[i])-v/s) > 1e-7 {
			t.Fatalf("Normalize[%d] = %v, want %v", i, got[i], v/s)
		}
	}
	if got := Normalize([]float32{3, 3}); got[0] != 0 || got[1] != 0 {
		t.Fatalf("constant input: %v", got)
	}
	if got := Normalize(nil); len(got) != 0 {
		t.Fatal("empty input")
	}
}

func TestWindows(t *testing.T) {
	s := time.Second
	tests := []struct {
		name            string
		n, rate         int
		length, overlap time.Duration
		want            []Window
	}{
		{"short clip", 500, 1000, s, 0, []Window{{0, 500}}},
		{"exact fit", 1000, 1000, s, 0, []Window{{0, 1000}}},
		{"no overlap", 2500, 1000, s, 0, []Window{{0, 1000}, {1000, 2000}, {2000, 2500}}},
		{"overlap", 2500, 1000, s, 500 * time.Millisecond,
			[]Window{{0, 1000}, {500, 1500}, {1000, 2000}, {1500, 2500}}},
		{"last shorter", 2200, 1000, s, 500 * time.Millisecond,
			[]Window{{0, 1000}, {500, 1500}, {1000, 2000}, {1500, 2200}}},
		{"rounded", 10, 3, s, 0, []Window{{0, 3}, {3, 6}, {6, 9}, {9, 10}}},
		{"empty", 0, 1000, s, 0, nil},
		{"overlap too big", 10, 1000, s, s, nil},
		{"negative overlap", 10, 1000, s, -1, nil},
		{"sub-sample window", 10, 1000, time.Microsecond, 0, nil},
		{"bad rate", 10, 0, s, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Windows(tc.n, tc.rate, tc.length, tc.overlap)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Windows = %v, want %v", got, tc.want)
			}
		})
	}
	// Long recordings: windows cover everything, in order, hop apart.
	ws := Windows(16000*3600, 16000, 30*s, 5*s)
	if ws[0].Start != 0 || ws[len(ws)-1].End != 16000*3600 {
		t.Fatalf("coverage %v … %v", ws[0], ws[len(ws)-1])
	}
	for i := 1; i < len(ws); i++ {
		if ws[i].Start-ws[i-1].Start != 25*16000 || ws[i].Start >= ws[i-1].End {
			t.Fatalf("window %d %v after %v", i, ws[i], ws[i-1])
		}
	}
}
