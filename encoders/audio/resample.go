package audio

import "math"

// Parameters of torchaudio.functional.resample's defaults.
const (
	lowpassFilterWidth = 6
	rolloff            = 0.99
)

// Resample converts x from one sample rate to another as
// torchaudio.functional.resample(x, from, to) does with its defaults
// (resampling_method "sinc_interp_hann", lowpass_filter_width 6, rolloff
// 0.99): both rates are divided by their gcd, a bank of to/g windowed-sinc
// filters of 2·width+from/g taps is built, x is zero-padded by width on the
// left and width+from/g on the right, convolved with stride from/g, and the
// phases are interleaved and cut to ceil(to·len(x)/from) samples.
//
// The kernel is evaluated step by step in float32, as torchaudio does for a
// float32 waveform: that rounding moves outputs by up to ~1e-5, so
// reproducing it (rather than evaluating the sinc in float64) is what makes
// results agree with torchaudio to float32 rounding (~1e-7). Products are
// summed in float64. Taps where the reference clamps the sinc argument to
// ±lowpass_filter_width (weights below 1e-20) are skipped, which keeps the
// cost at about 2·width taps per output sample however the rates relate.
//
// Equal rates give a copy of x; a rate below 1 gives nil. The result is a
// new slice.
func Resample(x []float32, from, to int) []float32 {
	if from < 1 || to < 1 {
		return nil
	}
	if from == to {
		return append([]float32(nil), x...)
	}
	g := gcd(from, to)
	orig, nw := from/g, to/g
	k := newSincKernel(orig, nw)

	n := len(x)
	out := make([]float32, k.outLen(n))
	for o := range out {
		out[o] = k.at(o, x, 0, n)
	}
	return out
}

// outLen is the resampled length of n input samples, ceil(new·n/orig).
func (k *sincKernel) outLen(n int) int {
	return int(ceilDiv(int64(k.nw)*int64(n), int64(k.orig)))
}

// inputs returns the input samples [lo, hi) that outputs [o0, o1) read
// (o1 > o0), not clamped to the input.
func (k *sincKernel) inputs(o0, o1 int) (lo, hi int) {
	return (o0/k.nw)*k.orig - k.width, ((o1-1)/k.nw)*k.orig + k.taps - k.width
}

// at computes output sample o of an input of n samples, given the input
// samples [off, off+len(x)) in x, which must hold every index in [0, n)
// that inputs(o, o+1) covers. Indices outside [0, n) are the zero padding.
func (k *sincKernel) at(o int, x []float32, off, n int) float32 {
	p, phase := o/k.nw, o%k.nw
	taps, first := k.phase(phase)
	// Padded index p*orig+j holds x[p*orig+j-width].
	base := p*k.orig + first - k.width
	var s float64
	for j, w := range taps {
		idx := base + j
		if idx < 0 || idx >= n {
			continue
		}
		s += float64(w) * float64(x[idx-off])
	}
	return float32(s)
}

// sincKernel is the filter bank of torchaudio's _get_sinc_resample_kernel,
// stored per phase as the run of taps whose sinc argument is not clamped.
// Phases are built on first use, so short inputs touch few of them.
type sincKernel struct {
	orig, nw int
	width    int     // ceil(lowpass_filter_width·orig/base)
	baseFreq float64 // min(orig, new)·rolloff
	taps     int     // 2·width + orig
	phases   [][]float32
	first    []int // index of each phase's first stored tap
}

func newSincKernel(orig, nw int) *sincKernel {
	base := float64(min(orig, nw)) * rolloff
	width := int(math.Ceil(lowpassFilterWidth * float64(orig) / base))
	return &sincKernel{
		orig: orig, nw: nw, width: width, baseFreq: base,
		taps:   2*width + orig,
		phases: make([][]float32, nw),
		first:  make([]int, nw),
	}
}

// phase returns the taps of output phase i and the index of the first one.
func (k *sincKernel) phase(i int) ([]float32, int) {
	if k.phases[i] != nil {
		return k.phases[i], k.first[i]
	}
	// t = ((j-width)/orig - i/new)·base; only |t| < lowpass_filter_width
	// matters. Widen the analytic bounds by one tap on each side and
	// evaluate those exactly as the reference does.
	centre := float64(i) / float64(k.nw)
	reach := lowpassFilterWidth / k.baseFreq
	lo := int(math.Floor(float64(k.orig)*(centre-reach))) + k.width - 1
	hi := int(math.Ceil(float64(k.orig)*(centre+reach))) + k.width + 1
	lo = max(lo, 0)
	hi = min(hi, k.taps-1)
	if hi < lo {
		hi = lo
	}
	w := make([]float32, hi-lo+1)
	// The reference's float32 steps, in its order: python scalars enter
	// float32 arithmetic rounded to float32.
	const (
		lw = float32(lowpassFilterWidth)
		pi = float32(math.Pi)
	)
	base := float32(k.baseFreq)
	scale := float32(k.baseFreq / float64(k.orig))
	phaseOff := float32(-i) / float32(k.nw)
	for j := lo; j <= hi; j++ {
		t := phaseOff + float32(j-k.width)/float32(k.orig)
		t *= base
		t = max(-lw, min(lw, t))
		c := float32(math.Cos(float64(t * pi / lw / 2)))
		window := c * c
		t *= pi
		v := float32(1)
		if t != 0 {
			v = float32(math.Sin(float64(t))) / t
		}
		w[j-lo] = v * (window * scale)
	}
	k.phases[i], k.first[i] = w, lo
	return w, lo
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
