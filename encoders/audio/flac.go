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
// hours of 16 kHz stereo, 1 GiB of float32. OpenSequential streams longer
// files in bounded memory.
const MaxDecodedSamples = 1 << 28

// flacChunks decodes native FLAC with github.com/mewkiz/flac, one frame a
// chunk. Integers are scaled as torchaudio (via FFmpeg) does: x/2^(bits-1).
type flacChunks struct {
	s        *flac.Stream
	r, chans int
}

func openFLAC(data []byte) (*flacChunks, error) {
	s, err := flac.New(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: flac: %v", ErrCorrupt, err)
	}
	if s.Info == nil {
		return nil, fmt.Errorf("%w: flac: no stream info", ErrCorrupt)
	}
	return &flacChunks{s: s, r: int(s.Info.SampleRate), chans: int(s.Info.NChannels)}, nil
}

func (f *flacChunks) rate() int      { return f.r }
func (f *flacChunks) channels() int  { return f.chans }
func (f *flacChunks) format() string { return "flac" }

func (f *flacChunks) next() ([][]float32, error) {
	fr, err := f.s.ParseNext()
	if err != nil {
		// A file cut short in its last frame (an interrupted download or
		// recording) ends with the frames it holds, as a WAV does; the
		// STREAMINFO sample count is never consulted.
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("%w: flac: frame: %v", ErrCorrupt, err)
	}
	if len(fr.Subframes) != f.chans {
		return nil, fmt.Errorf("%w: flac: frame has %d channels, stream %d", ErrCorrupt, len(fr.Subframes), f.chans)
	}
	bits := int(fr.BitsPerSample)
	if bits < 1 || bits > 32 {
		return nil, fmt.Errorf("%w: flac: %d bits per sample", ErrUnsupported, bits)
	}
	scale := 1 / float64(uint64(1)<<(bits-1))
	n := len(fr.Subframes[0].Samples)
	out := make([][]float32, f.chans)
	for ch, sf := range fr.Subframes {
		if len(sf.Samples) != n {
			return nil, fmt.Errorf("%w: flac: ragged frame", ErrCorrupt)
		}
		out[ch] = make([]float32, n)
		for i, x := range sf.Samples {
			out[ch][i] = float32(float64(x) * scale)
		}
	}
	return out, nil
}
