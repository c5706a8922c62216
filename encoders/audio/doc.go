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
// bounded memory.
//
// The decoders never panic on hostile input and never allocate from a
// count read from a header: WAV allocations are bounded by the bytes that
// are actually present, compressed streams by MaxDecodedSamples. Errors wrap ErrCorrupt or ErrUnsupported.
//
// All functions are safe for concurrent use; returned slices are freshly
// allocated and owned by the caller.
package audio

import "errors"

// ErrCorrupt reports input that is truncated or structurally invalid, or
// whose header values (rate, channel count, sizes) are absurd.
var ErrCorrupt = errors.New("audio: corrupt data")

// ErrUnsupported reports a well-formed container or codec that this package
// does not decode; the wrapping error names the format.
var ErrUnsupported = errors.New("audio: unsupported format")

// Limits on header values; anything outside is ErrCorrupt.
const (
	// MaxRate is the highest sample rate accepted, in Hz.
	MaxRate = 768000
	// MaxChannels is the largest channel count accepted.
	MaxChannels = 64
)
