package whisper

import (
	"fmt"
	"math"
)

// Frontend turns 16 kHz mono samples into Whisper's log-mel spectrogram,
// as the reference's log_mel_spectrogram does: a short-time Fourier
// transform (periodic Hann window of n_fft samples, hop_length hop,
// centred frames with reflect padding, last frame dropped), the power
// spectrum, a Slaney-scale mel filterbank, log10(max(x, 1e-10)), a clamp to
// the spectrogram's maximum − 8, and (x + 4) / 4.
//
// Arithmetic is float64 throughout (the filterbank is rounded to float32
// first, as the reference ships it), so the output agrees with the
// reference's float32 to well within 1e-5. A Frontend is immutable and
// safe for concurrent use.
type Frontend struct {
	NFFT, Hop, Mels, Rate int

	window  []float64    // periodic Hann, len NFFT
	filters []float64    // [Mels, NFFT/2+1]
	twiddle []complex128 // exp(-2πi j/NFFT)
}

// NewFrontend builds the window and filterbank for the given sizes.
func NewFrontend(nFFT, hop, mels, rate int) (*Frontend, error) {
	if nFFT < 2 || hop <= 0 || mels <= 0 || rate <= 0 {
		return nil, fmt.Errorf("%w: n_fft %d, hop_length %d, feature_size %d, sampling_rate %d", ErrConfig, nFFT, hop, mels, rate)
	}
	f := &Frontend{NFFT: nFFT, Hop: hop, Mels: mels, Rate: rate}
	f.window = make([]float64, nFFT)
	step := float32(2 * math.Pi / float64(nFFT))
	for i := range f.window {
		c := float32(math.Cos(float64(float32(i) * step)))
		f.window[i] = float64(c*-0.5 + 0.5)
	}
	f.twiddle = make([]complex128, nFFT)
	for j := range f.twiddle {
		s, c := math.Sincos(-2 * math.Pi * float64(j) / float64(nFFT))
		f.twiddle[j] = complex(c, s)
	}
	f.filters = MelFilters(rate, nFFT, mels)
	for i, v := range f.filters {
		f.filters[i] = float64(float32(v))
	}
	return f, nil
}

// Bins is the number of STFT frequency bins, NFFT/2 + 1.
func (f *Frontend) Bins() int { return f.NFFT/2 + 1 }

// Filters returns a copy of the mel filterbank, [Mels, Bins] row-major.
func (f *Frontend) Filters() []float64 { return append([]float64(nil), f.filters...) }

// Slaney mel scale (librosa's htk=False): linear below 1 kHz, logarithmic
// above.
const (
	melFSp       = 200.0 / 3
	melMinLogHz  = 1000.0
	melMinLogMel = melMinLogHz / melFSp
)

var melLogStep = math.Log(6.4) / 27

func hzToMel(hz float64) float64 {
	if hz >= melMinLogHz {
		return melMinLogMel + math.Log(hz/melMinLogHz)/melLogStep
	}
	return hz / melFSp
}

func melToHz(mel float64) float64 {
	if mel >= melMinLogMel {
		return melMinLogHz * math.Exp(melLogStep*(mel-melMinLogMel))
	}
	return melFSp * mel
}

// MelFilters computes librosa.filters.mel(sr=rate, n_fft=nFFT,
// n_mels=mels) with fmin 0, fmax rate/2, the Slaney scale and Slaney
// (area) normalisation: [mels, nFFT/2+1] row-major, in float64.
func MelFilters(rate, nFFT, mels int) []float64 {
	bins := nFFT/2 + 1
	freqs := make([]float64, bins)
	for i := range freqs {
		freqs[i] = float64(i) * float64(rate) / float64(nFFT)
	}
	lo, hi := hzToMel(0), hzToMel(float64(rate)/2)
	pts := make([]float64, mels+2)
	for i := range pts {
		pts[i] = melToHz(lo + (hi-lo)*float64(i)/float64(mels+1))
	}
	w := make([]float64, mels*bins)
	for m := 0; m < mels; m++ {
		d0, d1 := pts[m+1]-pts[m], pts[m+2]-pts[m+1]
		norm := 2 / (pts[m+2] - pts[m])
		for k, fk := range freqs {
			lower := (fk - pts[m]) / d0
			upper := (pts[m+2] - fk) / d1
			v := math.Max(0, math.Min(lower, upper))
			w[m*bins+k] = v * norm
		}
	}
	return w
}

// Frames returns how many spectrogram frames n samples give: n/Hop (the
// centred STFT has n/Hop + 1 frames and the last is dropped).
func (f *Frontend) Frames(n int) int { return n / f.Hop }

// LogMel computes the log-mel spectrogram of samples followed by padding
// zeros (the reference pads with 30 s, N_SAMPLES, before transcribing):
// [Mels, frames] row-major with frames = Frames(len(samples)+padding). The
// returned slice is the caller's.
func (f *Frontend) LogMel(samples []float32, padding int) ([]float32, int, error) {
	sp, err := f.newSpectrum(samples, padding)
	if err != nil {
		return nil, 0, err
	}
	logSpec := make([]float64, f.Mels*sp.frames)
	if err := sp.log10Mel(logSpec, 0, sp.frames); err != nil {
		return nil, 0, err
	}
	top := math.Inf(-1)
	for _, v := range logSpec {
		top = math.Max(top, v)
	}
	mel := make([]float32, len(logSpec))
	for i, v := range logSpec {
		mel[i] = clampMel(v, top)
	}
	return mel, sp.frames, nil
}

// clampMel is the last step of log_mel_spectrogram: the clamp to the
// spectrogram's maximum − 8, then (x + 4) / 4.
func clampMel(v, top float64) float32 { return float32((math.Max(v, top-8) + 4) / 4) }

// spectrum computes log10 mel frames of one zero-padded signal, any range
// of frames at a time, with the same arithmetic as LogMel. It reads the
// signal from a Samples source, holding only the samples of the frames
// last computed (a block of the maximum pass, or a window), so ranges of
// frames should move forward. It is not safe for concurrent use (it owns
// its FFT buffers).
type spectrum struct {
	f      *Frontend
	src    Samples
	length int // src.Frames()
	n      int // length + padding
	frames int
	buf    []float32 // samples [bufLo, bufLo+len(buf)) of src, read-only
	bufLo  int
	in     []complex128
	out    []complex128
	power  []float64
}

// newSpectrum is newSourceSpectrum of a slice, whose samples are all
// checked first.
func (f *Frontend) newSpectrum(samples []float32, padding int) (*spectrum, error) {
	s, err := f.newSourceSpectrum(SliceSamples(samples, f.Rate), padding)
	if err != nil {
		return nil, err
	}
	if err := checkFinite(samples); err != nil {
		return nil, err
	}
	return s, nil
}

func (f *Frontend) newSourceSpectrum(src Samples, padding int) (*spectrum, error) {
	length := src.Frames()
	n := length + max(padding, 0)
	half := f.NFFT / 2
	if n <= half {
		return nil, fmt.Errorf("%w: %d samples (with padding) is too short for reflect padding of %d", ErrInput, n, half)
	}
	return &spectrum{
		f: f, src: src, length: length, n: n, frames: f.Frames(n),
		in: make([]complex128, f.NFFT), out: make([]complex128, f.NFFT), power: make([]float64, f.Bins()),
	}, nil
}

// load makes buf hold every sample of src that frames [t0, t1) read
// through the reflect and zero padding, reading src when it does not
// already, and checks that the samples are finite.
func (s *spectrum) load(t0, t1 int) error {
	half := s.f.NFFT / 2
	a, b := t0*s.f.Hop-half, (t1-1)*s.f.Hop-half+s.f.NFFT // x(i) for i in [a, b)
	lo, hi := max(a, 0), min(b, s.n)
	if a < 0 {
		hi = max(hi, -a+1) // x(-i) reads sample i
	}
	if b > s.n {
		lo = min(lo, 2*s.n-1-b) // x(n-1+i) reads sample n-1-i
	}
	lo, hi = max(lo, 0), min(hi, s.length)
	if hi <= lo || lo >= s.bufLo && hi <= s.bufLo+len(s.buf) {
		return nil
	}
	x, err := s.src.Range(lo, hi)
	if err != nil {
		return fmt.Errorf("samples [%d, %d): %w", lo, hi, err)
	}
	if len(x) != hi-lo {
		return fmt.Errorf("%w: samples [%d, %d): the source gave %d", ErrInput, lo, hi, len(x))
	}
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: sample %d is %v", ErrInput, lo+i, v)
		}
	}
	s.buf, s.bufLo = x, lo
	return nil
}

// x reads the zero-padded signal with reflect padding of NFFT/2 on both
// sides, i in [-NFFT/2, n+NFFT/2), from buf.
func (s *spectrum) x(i int) float64 {
	if i < 0 {
		i = -i
	} else if i >= s.n {
		i = 2*(s.n-1) - i
	}
	if i < s.length {
		return float64(s.buf[i-s.bufLo])
	}
	return 0
}

// log10Mel writes log10(max(mel power, 1e-10)) of frames [t0, t1) into
// dst, [Mels, t1-t0] row-major. Errors are the source's, or ErrInput for
// a sample that is not finite.
func (s *spectrum) log10Mel(dst []float64, t0, t1 int) error {
	if t1 <= t0 {
		return nil
	}
	if err := s.load(t0, t1); err != nil {
		return err
	}
	f := s.f
	half := f.NFFT / 2
	bins := f.Bins()
	w := t1 - t0
	for t := t0; t < t1; t++ {
		start := t*f.Hop - half
		for j := range s.in {
			s.in[j] = complex(float64(float32(s.x(start+j)*f.window[j])), 0)
		}
		f.fft(s.out, s.in, f.NFFT, 1, 1)
		for k := range s.power {
			re, im := real(s.out[k]), imag(s.out[k])
			s.power[k] = re*re + im*im
		}
		for m := 0; m < f.Mels; m++ {
			row := f.filters[m*bins : (m+1)*bins]
			var acc float64
			for k, wt := range row {
				acc += wt * s.power[k]
			}
			dst[m*w+t-t0] = math.Log10(math.Max(acc, 1e-10))
		}
	}
	return nil
}

// max is the largest log10 mel value over every frame, computed a block
// of frames at a time (one forward pass over the source).
func (s *spectrum) max() (float64, error) {
	const block = 256
	buf := make([]float64, s.f.Mels*block)
	top := math.Inf(-1)
	for t0 := 0; t0 < s.frames; t0 += block {
		t1 := min(t0+block, s.frames)
		part := buf[:s.f.Mels*(t1-t0)]
		if err := s.log10Mel(part, t0, t1); err != nil {
			return 0, err
		}
		for _, v := range part {
			top = math.Max(top, v)
		}
	}
	return top, nil
}

// fft writes the n-point DFT of in[0], in[stride], … into out[:n]: a
// mixed-radix decimation in time that splits off the smallest prime factor
// (a plain DFT when n is prime). tw steps through the NFFT-point twiddles.
func (f *Frontend) fft(out, in []complex128, n, stride, tw int) {
	if n == 1 {
		out[0] = in[0]
		return
	}
	p := smallestFactor(n)
	m := n / p
	for r := 0; r < p; r++ {
		f.fft(out[r*m:(r+1)*m], in[r*stride:], m, stride*p, tw*p)
	}
	N := f.NFFT
	var buf [8]complex128
	t := buf[:0]
	if p > len(buf) {
		t = make([]complex128, 0, p)
	}
	t = t[:p]
	for k := 0; k < m; k++ {
		for r := 0; r < p; r++ {
			t[r] = out[r*m+k] * f.twiddle[(r*k*tw)%N]
		}
		for s := 0; s < p; s++ {
			var acc complex128
			for r := 0; r < p; r++ {
				acc += t[r] * f.twiddle[(r*s*m*tw)%N]
			}
			out[k+m*s] = acc
		}
	}
}

func smallestFactor(n int) int {
	for p := 2; p*p <= n; p++ {
		if n%p == 0 {
			return p
		}
	}
	return n
}
