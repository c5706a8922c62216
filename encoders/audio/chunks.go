package audio

import (
	"errors"
	"fmt"
	"io"
)

// chunkReader decodes a compressed stream front to back, a chunk at a
// time. next returns per-channel samples (all channels the same length,
// owned by the caller) and io.EOF after the last chunk. Implementations
// wrap third-party decoders fed untrusted bytes: call next through
// safeNext, which turns their panics into ErrCorrupt.
type chunkReader interface {
	rate() int
	channels() int
	next() ([][]float32, error)
	format() string
}

// openChunks opens a FLAC, MP3 or Ogg Vorbis stream, recognised by
// content. Other formats give ErrUnsupported; WAV has its own readers.
func openChunks(data []byte) (r chunkReader, err error) {
	f := Sniff(data)
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("%w: %s: decoder panic: %v", ErrCorrupt, f, p)
		}
	}()
	switch f {
	case "flac":
		r, err = openFLAC(data)
	case "mp3":
		r, err = openMP3(data)
	case "ogg":
		r, err = openOgg(data)
	case "":
		return nil, fmt.Errorf("%w: unrecognised audio format", ErrUnsupported)
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, f)
	}
	if err != nil {
		return nil, err
	}
	if err := checkRate(f, r.rate()); err != nil {
		return nil, err
	}
	if ch := r.channels(); ch < 1 || ch > MaxChannels {
		return nil, fmt.Errorf("%w: %s: %d channels", ErrCorrupt, f, ch)
	}
	return r, nil
}

// safeNext calls r.next, recovering a decoder panic as ErrCorrupt and
// checking the chunk's shape.
func safeNext(r chunkReader) (chunk [][]float32, err error) {
	defer func() {
		if p := recover(); p != nil {
			chunk, err = nil, fmt.Errorf("%w: %s: decoder panic: %v", ErrCorrupt, r.format(), p)
		}
	}()
	chunk, err = r.next()
	if err != nil {
		return nil, err
	}
	if len(chunk) != r.channels() {
		return nil, fmt.Errorf("%w: %s: chunk has %d channels, stream %d", ErrCorrupt, r.format(), len(chunk), r.channels())
	}
	for _, ch := range chunk[1:] {
		if len(ch) != len(chunk[0]) {
			return nil, fmt.Errorf("%w: %s: ragged chunk", ErrCorrupt, r.format())
		}
	}
	return chunk, nil
}

// eachChunk calls fn with every chunk of r up to the end of the stream,
// stopping at the first error from the decoder or from fn.
func eachChunk(r chunkReader, fn func([][]float32) error) error {
	for {
		chunk, err := safeNext(r)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(chunk); err != nil {
			return err
		}
	}
}

// decodeChunks decodes a whole compressed stream into a Clip, refusing
// more than MaxDecodedSamples samples (all channels).
func decodeChunks(data []byte) (*Clip, error) {
	r, err := openChunks(data)
	if err != nil {
		return nil, err
	}
	c := &Clip{Rate: r.rate(), Channels: r.channels(), Samples: make([][]float32, r.channels())}
	total := 0
	err = eachChunk(r, func(chunk [][]float32) error {
		if total += len(chunk[0]) * c.Channels; total > MaxDecodedSamples {
			return fmt.Errorf("%w: %s: more than %d samples", ErrUnsupported, r.format(), MaxDecodedSamples)
		}
		for ch, x := range chunk {
			c.Samples[ch] = append(c.Samples[ch], x...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if c.Frames() == 0 {
		return nil, fmt.Errorf("%w: %s: no audio", ErrCorrupt, r.format())
	}
	return c, nil
}
