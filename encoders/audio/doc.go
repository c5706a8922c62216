// Package audio turns recorded sound into the float32 waveforms that the
// speech encoders (Wav2Vec2, HuBERT) consume.
//
// The pipeline is Decode (or DecodeWAV) → Mono → Resample → Normalize, and
// Windows cuts long recordings into overlapping segments. Every step matches
// the reference implementation bit for bit where it can and to within float
// rounding where it cannot:
//
//   - integer PCM becomes float exactly as torchaudio loads it (x/2^(bits-1),
//     8-bit (x-128)/128);
//   - Resample reproduces torchaudio.functional.resample with its defaults
//     (windowed-sinc with a Hann window, lowpass_filter_width 6, rolloff
//     0.99), kernel and accumulation in float64;
//   - Normalize is the Wav2Vec2FeatureExtractor zero-mean unit-variance step.
//
// Decode recognises the format by content: RIFF/WAVE is decoded here;
// native FLAC, MP3 and Ogg Vorbis through github.com/mewkiz/flac,
// github.com/hajimehoshi/go-mp3 and github.com/jfreymuth/oggvorbis (panics
// inside them are recovered and reported as ErrCorrupt); Opus, FLAC and
// Speex in Ogg, AIFF and RF64 are named and refused with ErrUnsupported.
// OpenWAV and OpenSequential read long recordings a range at a time in
// bounded memory; OpenResampled (Resampled over Open) also mixes them to
// mono and resamples them a range at a time, with the same samples as
// Resample(Mono(Decode(data))) bit for bit.
//
// The decoders never panic on hostile input and never allocate from a
// count read from a header: WAV allocations are bounded by the bytes that
// are actually present, compressed streams by MaxDecodedSamples. A
// recording's length is what its bytes hold (WAV) or what decodes from
// them (FLAC, MP3, Vorbis), never a header's claim. Sample rates must lie
// from MinRate to MaxRate. Errors wrap ErrCorrupt or ErrUnsupported.
//
// All functions are safe for concurrent use; returned slices are freshly
// allocated and owned by the caller.
package audio

import (
	"errors"
	"fmt"
)

// ErrCorrupt reports input that is truncated or structurally invalid, or
// whose header values (rate, channel count, sizes) are absurd.
var ErrCorrupt = errors.New("audio: corrupt data")

// ErrUnsupported reports a well-formed container or codec that this package
// does not decode; the wrapping error names the format.
var ErrUnsupported = errors.New("audio: unsupported format")

// Limits on header values. Every decoder checks the rate with CheckRate;
// a channel count outside 1..MaxChannels is ErrCorrupt.
const (
	// MinRate is the lowest sample rate accepted, in Hz: below it no
	// speech encoder has anything to hear, and a few bytes of a file that
	// claims 1 Hz would stand for minutes of audio (hours of work once
	// resampled to 16 kHz).
	MinRate = 4000
	// MaxRate is the highest sample rate accepted, in Hz (twice 192 kHz,
	// the highest rate in common use).
	MaxRate = 384000
	// MaxChannels is the largest channel count accepted.
	MaxChannels = 64
)

// CheckRate returns nil for a sample rate from MinRate to MaxRate Hz, and
// otherwise an error that names the rate and the range: it wraps
// ErrCorrupt for a rate of zero or less, which no recording has, and
// ErrUnsupported for a real rate outside the range.
func CheckRate(rate int) error { return checkRate("", rate) }

// checkRate is CheckRate with the format named in the error.
func checkRate(format string, rate int) error {
	if rate >= MinRate && rate <= MaxRate {
		return nil
	}
	kind := ErrUnsupported
	if rate <= 0 {
		kind = ErrCorrupt
	}
	if format != "" {
		format += ": "
	}
	return fmt.Errorf("%w: %ssample rate %d Hz outside the accepted %d–%d Hz", kind, format, rate, MinRate, MaxRate)
}
