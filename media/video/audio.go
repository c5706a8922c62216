package video

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// AudioRate is the sample rate of the audio track as read: 16 kHz, what
// the speech models take.
const AudioRate = 16000

// AudioWindow is a stretch of the audio track: mono samples in [-1, 1)
// and their range in samples, [Start, End).
type AudioWindow struct {
	Start, End int
	Samples    []float32
}

// AudioReader streams a video's audio track as overlapping windows (see
// Audio). Next is not safe for concurrent use; Close must be called.
type AudioReader struct {
	p        *proc
	win, hop int
	buf      []float32 // samples [start, start+len(buf))
	start    int
	eof      bool
	prevEnd  int  // end of the last window returned
	started  bool // a window was returned
	last     bool // the window returned reached the end of the track
	closed   bool
	err      error
	raw      []byte
}

// Audio starts decoding path's first audio stream to 16 kHz mono and
// returns a reader of windows length long that overlap by overlap: the
// windows audio.Windows gives for the whole track (consecutive starts
// length−overlap apart, the last ending at the track's end, one shorter
// window for a track shorter than length), cut as the samples stream in,
// holding one window at a time. The file must have an audio stream
// (Info.HasAudio).
func (f *FFmpeg) Audio(ctx context.Context, path string, info Info, length, overlap time.Duration) (*AudioReader, error) {
	win := int(math.Round(length.Seconds() * AudioRate))
	ovl := int(math.Round(overlap.Seconds() * AudioRate))
	if win < 1 || ovl < 0 || ovl >= win {
		return nil, fmt.Errorf("video: audio window %v with overlap %v: want a positive window longer than the overlap", length, overlap)
	}
	if !info.HasAudio() {
		return nil, errors.New("video: the file has no audio stream")
	}
	in, err := inputArgs(path)
	if err != nil {
		return nil, err
	}
	args := append([]string{"-loglevel", "level+warning"}, in...)
	args = append(args, "-map", "0:a:0", "-vn", "-sn", "-dn", "-ac", "1", "-ar", fmt.Sprint(AudioRate), "-f", "s16le", "pipe:1")
	dur := f.Limits.duration(info.Duration)
	maxOut := int64((dur*1.25 + 60) * AudioRate * 2)
	p, err := start(ctx, "ffmpeg (audio)", f.FFmpeg, args, f.Limits.timeout(info.Duration), maxOut, nil)
	if err != nil {
		return nil, err
	}
	return &AudioReader{p: p, win: win, hop: win - ovl, raw: make([]byte, 32<<10)}, nil
}

// fill reads until the buffer holds a whole window or the track ends.
func (a *AudioReader) fill() error {
	for len(a.buf) < a.win && !a.eof {
		n, err := io.ReadAtLeast(a.p.out, a.raw, 2)
		n -= n % 2 // s16le: a sample is 2 bytes; ffmpeg writes whole samples
		for i := 0; i+1 < n; i += 2 {
			a.buf = append(a.buf, float32(int16(binary.LittleEndian.Uint16(a.raw[i:])))/32768)
		}
		if err != nil {
			a.eof = true
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil
			}
			return err
		}
	}
	return nil
}

// Next returns the next window, or io.EOF after the last. A decoding
// failure is returned instead of io.EOF. Samples is the caller's.
func (a *AudioReader) Next() (AudioWindow, error) {
	if a.closed {
		if a.err != nil {
			return AudioWindow{}, a.err
		}
		return AudioWindow{}, io.EOF
	}
	if a.last {
		return AudioWindow{}, a.finish(nil)
	}
	if a.started {
		// The previous window was whole: slide one hop past its start.
		a.buf = a.buf[a.hop:]
		a.start += a.hop
	}
	if err := a.fill(); err != nil {
		return AudioWindow{}, a.finish(err)
	}
	end := a.start + len(a.buf)
	if len(a.buf) == 0 || (a.started && end <= a.prevEnd) {
		// No samples past the previous window: it was the last.
		return AudioWindow{}, a.finish(nil)
	}
	n := min(len(a.buf), a.win)
	w := AudioWindow{Start: a.start, End: a.start + n, Samples: append([]float32(nil), a.buf[:n]...)}
	a.prevEnd, a.started = w.End, true
	if n < a.win || (a.eof && n == len(a.buf)) {
		a.last = true // it reaches the end of the track
	}
	return w, nil
}

// finish ends the process and records the outcome.
func (a *AudioReader) finish(err error) error {
	if a.closed {
		return a.err
	}
	a.closed = true
	if werr := a.p.wait(err != nil); werr != nil && err == nil {
		err = werr
	}
	if err == nil {
		return io.EOF
	}
	a.err = err
	return err
}

// Close stops the process if it still runs.
func (a *AudioReader) Close() error {
	if a.closed {
		return nil
	}
	a.closed = true
	return a.p.wait(true)
}
