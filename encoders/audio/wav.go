package audio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// WAVE format tags (wFormatTag).
const (
	wavePCM        = 0x0001
	waveFloat      = 0x0003
	waveExtensible = 0xFFFE
)

// The 14 bytes that follow the format code in a WAVE_FORMAT_EXTENSIBLE
// SubFormat GUID (KSDATAFORMAT_SUBTYPE_*).
var subFormatTail = []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// DecodeWAV reads a RIFF/WAVE file: PCM integer samples of 8 (unsigned),
// 16, 24 or 32 bits and IEEE float samples of 32 or 64 bits, with format
// tag 1, 3 or WAVE_FORMAT_EXTENSIBLE, any channel count up to MaxChannels
// and any rate from MinRate to MaxRate. Integers are scaled to float as
// torchaudio does: x/2^(bits-1), and (x-128)/128 for 8-bit.
//
// A data chunk whose declared size runs past the end of the input (as
// streaming writers leave it) is read up to what is present; a trailing
// partial frame is dropped: the length is always what the bytes hold. It
// reads r to the end.
func DecodeWAV(r io.Reader) (*Clip, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("audio: read wav: %w", err)
	}
	return decodeWAV(data)
}

type waveFormat struct {
	tag        uint16 // wavePCM or waveFloat after resolving EXTENSIBLE
	channels   int
	rate       int
	blockAlign int
	bits       int // container bits per sample
}

func decodeWAV(data []byte) (*Clip, error) {
	f, samples, err := locateWAV(data)
	if err != nil {
		return nil, err
	}
	return convert(f, samples), nil
}

// WAVStream is a WAV file held in memory whose samples are converted a
// range of frames at a time, so a long recording is never decoded whole.
type WAVStream struct {
	f   *waveFormat
	raw []byte
}

// OpenWAV parses a WAV file's header without converting its samples.
func OpenWAV(data []byte) (*WAVStream, error) {
	f, raw, err := locateWAV(data)
	if err != nil {
		return nil, err
	}
	return &WAVStream{f: f, raw: raw}, nil
}

// Rate is the sample rate.
func (w *WAVStream) Rate() int { return w.f.rate }

// Channels is the channel count.
func (w *WAVStream) Channels() int { return w.f.channels }

// Frames is the number of samples per channel.
func (w *WAVStream) Frames() int { return len(w.raw) / w.f.blockAlign }

// Range converts frames [start, end), clamped to the file.
func (w *WAVStream) Range(start, end int) *Clip {
	n := w.Frames()
	start, end = max(0, min(start, n)), max(0, min(end, n))
	if end < start {
		end = start
	}
	b := w.f.blockAlign
	return convert(w.f, w.raw[start*b:end*b])
}

// locateWAV parses the RIFF chunks and returns the format and the sample
// bytes of the data chunk.
func locateWAV(data []byte) (*waveFormat, []byte, error) {
	f, off, n, err := locateWAVAt(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, nil, err
	}
	return f, data[off : off+n], nil
}

// locateWAVAt parses the RIFF chunks of the size bytes of r and returns
// the format and where the data chunk's sample bytes lie. Only the chunk
// headers and the fmt chunk are read.
func locateWAVAt(r io.ReaderAt, size int64) (format *waveFormat, off, n int64, err error) {
	read := func(at, n int64) ([]byte, error) {
		b := make([]byte, n)
		if n == 0 {
			return b, nil
		}
		if _, err := r.ReadAt(b, at); err != nil {
			return nil, fmt.Errorf("audio: read wav: %w", err)
		}
		return b, nil
	}
	if size < 12 {
		return nil, 0, 0, fmt.Errorf("%w: wav: %d bytes, shorter than a RIFF header", ErrCorrupt, size)
	}
	head, err := read(0, 12)
	if err != nil {
		return nil, 0, 0, err
	}
	if string(head[0:4]) != "RIFF" || string(head[8:12]) != "WAVE" {
		if string(head[0:4]) == "RF64" || string(head[0:4]) == "RIFX" {
			return nil, 0, 0, fmt.Errorf("%w: wav: %s container", ErrUnsupported, head[0:4])
		}
		return nil, 0, 0, fmt.Errorf("%w: wav: missing RIFF/WAVE signature", ErrCorrupt)
	}
	// The RIFF size is often wrong in streamed files; trust the bytes.
	pos := int64(12)
	for size-pos >= 8 {
		h, err := read(pos, 8)
		if err != nil {
			return nil, 0, 0, err
		}
		id := string(h[0:4])
		declared := int64(binary.LittleEndian.Uint32(h[4:8]))
		pos += 8
		n := declared
		if left := size - pos; n > left {
			if id != "data" {
				return nil, 0, 0, fmt.Errorf("%w: wav: %q chunk of %d bytes, %d present", ErrCorrupt, id, declared, left)
			}
			n = left
		}
		switch id {
		case "fmt ":
			chunk, err := read(pos, n)
			if err != nil {
				return nil, 0, 0, err
			}
			if format, err = parseFormat(chunk); err != nil {
				return nil, 0, 0, err
			}
		case "data":
			if format == nil {
				return nil, 0, 0, fmt.Errorf("%w: wav: data chunk before fmt chunk", ErrCorrupt)
			}
			return format, pos, n, nil
		}
		// Chunks are padded to an even size.
		pos = min(pos+n+n&1, size)
	}
	if format == nil {
		return nil, 0, 0, fmt.Errorf("%w: wav: no fmt chunk", ErrCorrupt)
	}
	return nil, 0, 0, fmt.Errorf("%w: wav: no data chunk", ErrCorrupt)
}

func parseFormat(b []byte) (*waveFormat, error) {
	if len(b) < 16 {
		return nil, fmt.Errorf("%w: wav: fmt chunk of %d bytes, want at least 16", ErrCorrupt, len(b))
	}
	f := &waveFormat{
		tag:        binary.LittleEndian.Uint16(b[0:2]),
		channels:   int(binary.LittleEndian.Uint16(b[2:4])),
		rate:       int(binary.LittleEndian.Uint32(b[4:8])),
		blockAlign: int(binary.LittleEndian.Uint16(b[12:14])),
		bits:       int(binary.LittleEndian.Uint16(b[14:16])),
	}
	if f.tag == waveExtensible {
		if len(b) < 40 {
			return nil, fmt.Errorf("%w: wav: extensible fmt chunk of %d bytes, want 40", ErrCorrupt, len(b))
		}
		guid := b[24:40]
		if !bytes.Equal(guid[2:], subFormatTail) {
			return nil, fmt.Errorf("%w: wav: extensible sub-format GUID % x", ErrUnsupported, guid)
		}
		f.tag = binary.LittleEndian.Uint16(guid[0:2])
	}
	if f.channels < 1 || f.channels > MaxChannels {
		return nil, fmt.Errorf("%w: wav: %d channels (want 1..%d)", ErrCorrupt, f.channels, MaxChannels)
	}
	if err := checkRate("wav", f.rate); err != nil {
		return nil, err
	}
	switch f.tag {
	case wavePCM:
		switch f.bits {
		case 8, 16, 24, 32:
		default:
			return nil, fmt.Errorf("%w: wav: %d-bit integer PCM", ErrUnsupported, f.bits)
		}
	case waveFloat:
		switch f.bits {
		case 32, 64:
		default:
			return nil, fmt.Errorf("%w: wav: %d-bit float", ErrUnsupported, f.bits)
		}
	default:
		return nil, fmt.Errorf("%w: wav: format tag 0x%04x (only PCM and IEEE float)", ErrUnsupported, f.tag)
	}
	if want := f.channels * f.bits / 8; f.blockAlign != want {
		// Writers disagree about padding; a frame is channels×container.
		if f.blockAlign != 0 && f.blockAlign < want {
			return nil, fmt.Errorf("%w: wav: block align %d, %d channels of %d bits need %d", ErrCorrupt, f.blockAlign, f.channels, f.bits, want)
		}
		if f.blockAlign == 0 {
			f.blockAlign = want
		}
	}
	return f, nil
}

// convert turns raw little-endian frames into per-channel float32. The
// allocation is bounded by len(raw).
func convert(f *waveFormat, raw []byte) *Clip {
	frames := len(raw) / f.blockAlign
	width := f.bits / 8
	c := &Clip{Rate: f.rate, Channels: f.channels, Samples: make([][]float32, f.channels)}
	for ch := range c.Samples {
		c.Samples[ch] = make([]float32, frames)
	}
	for i := 0; i < frames; i++ {
		frame := raw[i*f.blockAlign:]
		for ch := 0; ch < f.channels; ch++ {
			s := frame[ch*width : ch*width+width]
			var v float32
			switch {
			case f.tag == waveFloat && width == 4:
				v = math.Float32frombits(binary.LittleEndian.Uint32(s))
			case f.tag == waveFloat:
				v = float32(math.Float64frombits(binary.LittleEndian.Uint64(s)))
			case width == 1:
				v = float32(int(s[0])-128) / 128
			case width == 2:
				v = float32(int16(binary.LittleEndian.Uint16(s))) / 32768
			case width == 3:
				x := int32(uint32(s[0])<<8|uint32(s[1])<<16|uint32(s[2])<<24) >> 8
				v = float32(x) / 8388608
			default:
				x := int32(binary.LittleEndian.Uint32(s))
				v = float32(float64(x) / 2147483648)
			}
			c.Samples[ch][i] = v
		}
	}
	return c
}
