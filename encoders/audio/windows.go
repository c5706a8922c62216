package audio

import "time"

// Window is a half-open range [Start, End) of sample indices.
type Window struct {
	Start, End int
}

// Windows cuts n samples at rate Hz into windows of the given length that
// overlap by overlap, for encoding long recordings piecewise. Consecutive
// windows start length-overlap apart; the last one ends at n and may be
// shorter; a recording shorter than one window gives one window [0, n).
// Durations are rounded to the nearest sample.
//
// It returns nil when n < 1, rate < 1, the window is shorter than one
// sample, or overlap is negative or not shorter than length.
func Windows(n, rate int, length, overlap time.Duration) []Window {
	if n < 1 || rate < 1 || length <= 0 || overlap < 0 || overlap >= length {
		return nil
	}
	win := samplesIn(length, rate)
	ovl := samplesIn(overlap, rate)
	hop := win - ovl
	if win < 1 || hop < 1 {
		return nil
	}
	out := make([]Window, 0, (max(n-ovl, 1)+hop-1)/hop)
	for start := 0; ; start += hop {
		end := min(start+win, n)
		out = append(out, Window{Start: start, End: end})
		if end == n {
			return out
		}
	}
}

// samplesIn converts a duration to samples, rounding to nearest, without
// overflowing for long durations.
func samplesIn(d time.Duration, rate int) int {
	sec := d / time.Second
	rem := d % time.Second
	return int(sec)*rate + int((int64(rem)*int64(rate)+int64(time.Second)/2)/int64(time.Second))
}
