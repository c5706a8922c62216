package audio

import (
	"errors"
	"fmt"
	"io"
)

// MaxStreamSeconds bounds the length of a recording that OpenSequential
// accepts: a day.
const MaxStreamSeconds = 24 * 3600

// Sequential reads a compressed recording (FLAC, MP3, Ogg Vorbis) as mono
// samples in ranges that move forward, holding only the samples from the
// current range's start on: hour-long files are cut into windows in
// bounded memory. OpenSequential decodes the stream once to count its
// frames exactly (header counts cannot be trusted); Range then decodes it
// again as the ranges advance. A Sequential is not safe for concurrent
// use.
type Sequential struct {
	data     []byte
	rate     int
	channels int
	frames   int

	r   chunkReader // the second pass's decoder; nil before the first Range
	pos int         // frame index of buf[0]
	buf []float32   // mono samples decoded and not yet dropped
}

// OpenSequential checks and counts a compressed recording. Formats other
// than FLAC, MP3 and Ogg Vorbis (WAV included: see OpenWAV) give
// ErrUnsupported; corrupt or empty streams ErrCorrupt; streams longer than
// MaxStreamSeconds ErrUnsupported.
func OpenSequential(data []byte) (*Sequential, error) {
	r, err := openChunks(data)
	if err != nil {
		return nil, err
	}
	s := &Sequential{data: data, rate: r.rate(), channels: r.channels()}
	limit := MaxStreamSeconds * s.rate
	err = eachChunk(r, func(chunk [][]float32) error {
		if s.frames += len(chunk[0]); s.frames > limit {
			return fmt.Errorf("%w: %s: longer than %d s", ErrUnsupported, r.format(), MaxStreamSeconds)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.frames == 0 {
		return nil, fmt.Errorf("%w: %s: no audio", ErrCorrupt, r.format())
	}
	return s, nil
}

// Rate is the sample rate in Hz.
func (s *Sequential) Rate() int { return s.rate }

// Channels is the channel count of the stream (Range down-mixes them).
func (s *Sequential) Channels() int { return s.channels }

// Frames is the exact number of samples per channel.
func (s *Sequential) Frames() int { return s.frames }

// Range returns the mono samples [start, end), clamped to the stream, as
// Mono(Decode(data))[start:end] would. Ranges should start in
// non-decreasing order: a start before the previous one restarts the
// decoder from the beginning. Samples before start are dropped.
func (s *Sequential) Range(start, end int) ([]float32, error) {
	start, end = max(0, min(start, s.frames)), max(0, min(end, s.frames))
	if end <= start {
		return []float32{}, nil
	}
	if s.r == nil || start < s.pos {
		r, err := openChunks(s.data)
		if err != nil {
			return nil, err
		}
		s.r, s.pos, s.buf = r, 0, s.buf[:0]
	}
	if drop := min(start-s.pos, len(s.buf)); drop > 0 {
		s.buf = append(s.buf[:0], s.buf[drop:]...)
		s.pos += drop
	}
	for s.pos+len(s.buf) < end {
		chunk, err := safeNext(s.r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		m := Mono(&Clip{Rate: s.rate, Channels: len(chunk), Samples: chunk})
		if len(s.buf) == 0 && s.pos < start {
			skip := min(start-s.pos, len(m))
			m = m[skip:]
			s.pos += skip
		}
		s.buf = append(s.buf, m...)
	}
	lo, hi := start-s.pos, min(end-s.pos, len(s.buf))
	if hi <= lo {
		return nil, fmt.Errorf("%w: %s: the stream ended early on the second pass", ErrCorrupt, s.r.format())
	}
	return append([]float32(nil), s.buf[lo:hi]...), nil
}
