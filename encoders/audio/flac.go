package audio

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/mewkiz/flac"
)

// MaxDecodedSamples bounds the samples (all channels) that Decode produces
// from a compressed stream, whose header counts cannot be trusted and whose
// frames may legitimately expand a few bytes into many samples: about 2¼
// hours of 16 kHz stereo, 1 GiB of float32.
const MaxDecodedSamples = 1 << 28

// decodeFLAC decodes a native FLAC stream with github.com/mewkiz/flac.
// Integers are scaled as torchaudio (via FFmpeg) does: x/2^(bits-1).
func decodeFLAC(data []byte) (c *Clip, err error) {
	// The decoder is third-party code fed untrusted bytes: keep any panic
	// inside this package.
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("%w: flac: decoder panic: %v", ErrCorrupt, r)
		}
	}()
	s, err := flac.New(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: flac: %v", ErrCorrupt, err)
	}
	info := s.Info
	if info == nil {
		return nil, fmt.Errorf("%w: flac: no stream info", ErrCorrupt)
	}
	rate, channels := int(info.SampleRate), int(info.NChannels)
	if rate < 1 || rate > MaxRate {
		return nil, fmt.Errorf("%w: flac: sample rate %d (want 1..%d)", ErrCorrupt, rate, MaxRate)
	}
	if channels < 1 || channels > MaxChannels {
		return nil, fmt.Errorf("%w: flac: %d channels", ErrCorrupt, channels)
	}
	c = &Clip{Rate: rate, Channels: channels, Samples: make([][]float32, channels)}
	total := 0
	for {
		f, err := s.ParseNext()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: flac: frame: %v", ErrCorrupt, err)
		}
		if len(f.Subframes) != channels {
			return nil, fmt.Errorf("%w: flac: frame has %d channels, stream %d", ErrCorrupt, len(f.Subframes), channels)
		}
		bits := int(f.BitsPerSample)
		if bits < 1 || bits > 32 {
			return nil, fmt.Errorf("%w: flac: %d bits per sample", ErrUnsupported, bits)
		}
		scale := 1 / float64(uint64(1)<<(bits-1))
		n := len(f.Subframes[0].Samples)
		for _, sf := range f.Subframes {
			if len(sf.Samples) != n {
				return nil, fmt.Errorf("%w: flac: ragged frame", ErrCorrupt)
			}
		}
		if total += n * channels; total > MaxDecodedSamples {
			return nil, fmt.Errorf("%w: flac: more than %d samples", ErrUnsupported, MaxDecodedSamples)
		}
		for ch, sf := range f.Subframes {
			for _, x := range sf.Samples {
				c.Samples[ch] = append(c.Samples[ch], float32(float64(x)*scale))
			}
		}
	}
	return c, nil
}
