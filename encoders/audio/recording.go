package audio

import (
	"fmt"
	"io"
)

// Recording is an audio file read as mono samples a range at a time, in
// bounded memory, for cutting long recordings into windows.
type Recording interface {
	Rate() int     // samples per second
	Channels() int // channels in the file (Range down-mixes them)
	Frames() int   // samples per channel
	// Range returns the mono samples [start, end), clamped to the file, as
	// Mono(Decode(data))[start:end] would. Ranges should move forward.
	Range(start, end int) ([]float32, error)
}

// Open opens a recording: WAV is converted per range from its bytes
// (OpenWAV); FLAC, MP3 and Ogg Vorbis are streamed (OpenSequential).
func Open(data []byte) (Recording, error) {
	if Sniff(data) == "wav" {
		w, err := OpenWAV(data)
		if err != nil {
			return nil, err
		}
		return wavRecording{w}, nil
	}
	return OpenSequential(data)
}

type wavRecording struct{ *WAVStream }

func (w wavRecording) Range(start, end int) ([]float32, error) {
	start, end = max(0, min(start, w.Frames())), max(0, min(end, w.Frames()))
	if end <= start {
		return []float32{}, nil
	}
	return Mono(w.WAVStream.Range(start, end)), nil
}

// OpenReaderAt opens a recording from the size bytes of r without holding
// a WAV file's samples: its header is parsed from r and each Range reads
// only its own bytes, so an hour-long WAV takes the memory of one range.
// Other formats are read into memory whole and streamed as Open streams
// them (compressed audio is several times smaller than its samples). The
// bytes of r must not change while the recording is used; ReadAt errors
// are returned by Range.
func OpenReaderAt(r io.ReaderAt, size int64) (Recording, error) {
	head := make([]byte, min(size, 12))
	if _, err := r.ReadAt(head, 0); err != nil && len(head) > 0 {
		return nil, fmt.Errorf("audio: read: %w", err)
	}
	if Sniff(head) != "wav" {
		data, err := io.ReadAll(io.NewSectionReader(r, 0, size))
		if err != nil {
			return nil, fmt.Errorf("audio: read: %w", err)
		}
		return Open(data)
	}
	f, off, n, err := locateWAVAt(r, size)
	if err != nil {
		return nil, err
	}
	return &wavAt{f: f, r: r, off: off, frames: int(n / int64(f.blockAlign))}, nil
}

// wavAt is a WAV recording read from an io.ReaderAt a range at a time.
type wavAt struct {
	f      *waveFormat
	r      io.ReaderAt
	off    int64 // of the data chunk's first byte
	frames int
	raw    []byte // the last range's bytes, reused
}

func (w *wavAt) Rate() int     { return w.f.rate }
func (w *wavAt) Channels() int { return w.f.channels }
func (w *wavAt) Frames() int   { return w.frames }

func (w *wavAt) Range(start, end int) ([]float32, error) {
	start, end = max(0, min(start, w.frames)), max(0, min(end, w.frames))
	if end <= start {
		return []float32{}, nil
	}
	b := w.f.blockAlign
	n := (end - start) * b
	if cap(w.raw) < n {
		w.raw = make([]byte, n)
	}
	raw := w.raw[:n]
	if _, err := w.r.ReadAt(raw, w.off+int64(start)*int64(b)); err != nil {
		return nil, fmt.Errorf("audio: read wav frames [%d, %d): %w", start, end, err)
	}
	return Mono(convert(w.f, raw)), nil
}
