package whisper

import (
	"fmt"
	"math"
)

// Samples is mono audio at one sampling rate, read a range at a time:
// what TranscribeSamples reads instead of a slice, so that a long file
// need not be decoded whole. audio.Recording implements it; so does
// audio.OpenResampled's result, which converts an encoded file to the
// model's rate a range at a time.
//
// TranscribeSamples reads the source twice, front to back each time: once
// for the spectrogram's maximum (ranges of about 2.6 s, each starting
// after the previous one), then once for the windows (ranges of about
// 30 s, each starting at or after the previous one's start). A source that
// can only move forward must therefore restart from the beginning when a
// range starts before the previous one, as audio.Sequential does.
type Samples interface {
	Rate() int   // samples per second
	Frames() int // number of samples
	// Range returns samples [start, end) with 0 <= start < end <=
	// Frames(). The caller only reads the result, and only until its next
	// call.
	Range(start, end int) ([]float32, error)
}

// SliceSamples is a Samples over x at rate Hz; Range returns subslices of
// x, not copies.
func SliceSamples(x []float32, rate int) Samples { return sliceSamples{x, rate} }

type sliceSamples struct {
	x    []float32
	rate int
}

func (s sliceSamples) Rate() int   { return s.rate }
func (s sliceSamples) Frames() int { return len(s.x) }
func (s sliceSamples) Range(start, end int) ([]float32, error) {
	start, end = max(0, min(start, len(s.x))), max(0, min(end, len(s.x)))
	return s.x[start:max(start, end):max(start, end)], nil
}

// checkFinite refuses a NaN or infinite sample.
func checkFinite(x []float32) error {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: sample %d is %v", ErrInput, i, v)
		}
	}
	return nil
}
