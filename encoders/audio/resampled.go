package audio

import "fmt"

// Resampled returns r converted to rate Hz a range at a time: its Range
// gives Resample(all of r's samples, r.Rate(), rate)[start:end] bit for
// bit, reading from r only the input samples that those outputs' filter
// taps reach (a few dozen beyond each end). It keeps r's forward-order
// rule: ranges that move forward read r's ranges forward. Equal rates (or
// a rate below 1) return r itself. Like r, the result is not safe for
// concurrent use (it builds filter phases on first use).
func Resampled(r Recording, rate int) Recording {
	from := r.Rate()
	if rate < 1 || from < 1 || rate == from {
		return r
	}
	g := gcd(from, rate)
	k := newSincKernel(from/g, rate/g)
	return &resampled{src: r, rate: rate, k: k, frames: k.outLen(r.Frames())}
}

// OpenResampled opens an audio file (Open) and converts it to mono at
// rate Hz a range at a time (Resampled): Range gives what
// Resample(Mono(Decode(data)), rate of data, rate)[start:end] gives, in
// memory bounded by the range, not the file. data is read, never copied or
// changed, and must stay unchanged while the recording is used.
func OpenResampled(data []byte, rate int) (Recording, error) {
	if rate < 1 {
		return nil, fmt.Errorf("%w: resampling to %d Hz", ErrUnsupported, rate)
	}
	r, err := Open(data)
	if err != nil {
		return nil, err
	}
	return Resampled(r, rate), nil
}

type resampled struct {
	src    Recording
	rate   int
	k      *sincKernel
	frames int
}

func (r *resampled) Rate() int     { return r.rate }
func (r *resampled) Channels() int { return r.src.Channels() }
func (r *resampled) Frames() int   { return r.frames }

// Range computes outputs [start, end), clamped to Frames, from the input
// samples they reach.
func (r *resampled) Range(start, end int) ([]float32, error) {
	start, end = max(0, min(start, r.frames)), max(0, min(end, r.frames))
	if end <= start {
		return []float32{}, nil
	}
	n := r.src.Frames()
	lo, hi := r.k.inputs(start, end)
	lo, hi = max(lo, 0), min(hi, n)
	x, err := r.src.Range(lo, hi)
	if err != nil {
		return nil, err
	}
	if len(x) != hi-lo {
		return nil, fmt.Errorf("%w: samples [%d, %d): got %d", ErrCorrupt, lo, hi, len(x))
	}
	out := make([]float32, end-start)
	for o := range out {
		out[o] = r.k.at(start+o, x, lo, n)
	}
	return out, nil
}
