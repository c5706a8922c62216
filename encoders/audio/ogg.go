package audio

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/jfreymuth/oggvorbis"
)

// oggCodec names the codec of an Ogg stream from the first packet of its
// first page: "vorbis", "opus", "flac", "speex", or "" when the page is
// malformed or the codec unknown.
func oggCodec(data []byte) string {
	if len(data) < 27 || string(data[:4]) != "OggS" {
		return ""
	}
	nseg := int(data[26])
	body := 27 + nseg
	if len(data) < body {
		return ""
	}
	p := data[body:]
	switch {
	case len(p) >= 7 && p[0] == 1 && string(p[1:7]) == "vorbis":
		return "vorbis"
	case bytes.HasPrefix(p, []byte("OpusHead")):
		return "opus"
	case bytes.HasPrefix(p, []byte("\x7fFLAC")):
		return "flac"
	case bytes.HasPrefix(p, []byte("Speex   ")):
		return "speex"
	}
	return ""
}

// oggChunks decodes Ogg Vorbis with github.com/jfreymuth/oggvorbis (pure
// Go, floating-point output, fuzzed upstream). Other codecs in an Ogg
// container (Opus, FLAC, Speex) give ErrUnsupported naming the codec. The
// decoder clamps samples to [-1, 1]; FFmpeg's float output, behind
// torchaudio, does not, which only matters for clipped recordings.
type oggChunks struct {
	d   *oggvorbis.Reader
	buf []float32
}

func openOgg(data []byte) (*oggChunks, error) {
	switch codec := oggCodec(data); codec {
	case "vorbis":
	case "":
		return nil, fmt.Errorf("%w: ogg: no Vorbis identification header in the first page", ErrCorrupt)
	default:
		return nil, fmt.Errorf("%w: ogg/%s (only Ogg Vorbis is decoded; convert to WAV, FLAC or Vorbis)", ErrUnsupported, codec)
	}
	// A plain io.Reader, not the seekable bytes.Reader: with a seeker the
	// library scans the whole file backwards for its length first.
	d, err := oggvorbis.NewReader(struct{ io.Reader }{bytes.NewReader(data)})
	if err != nil {
		return nil, fmt.Errorf("%w: ogg: %v", ErrCorrupt, err)
	}
	o := &oggChunks{d: d}
	if ch := d.Channels(); ch >= 1 && ch <= MaxChannels {
		o.buf = make([]float32, ch*4096)
	}
	return o, nil
}

func (o *oggChunks) rate() int      { return o.d.SampleRate() }
func (o *oggChunks) channels() int  { return o.d.Channels() }
func (o *oggChunks) format() string { return "ogg" }

func (o *oggChunks) next() ([][]float32, error) {
	chans := o.d.Channels()
	for {
		n, rerr := o.d.Read(o.buf)
		n -= n % chans
		if n > 0 {
			out := make([][]float32, chans)
			for ch := range out {
				out[ch] = make([]float32, n/chans)
			}
			for i := 0; i < n; i += chans {
				for ch := range chans {
					out[ch][i/chans] = o.buf[i+ch]
				}
			}
			// An error with data: return the data now; the next call
			// meets the error again (EOF) or reports it.
			return out, nil
		}
		switch {
		case errors.Is(rerr, io.EOF):
			return nil, io.EOF
		case rerr != nil:
			return nil, fmt.Errorf("%w: ogg: %v", ErrCorrupt, rerr)
		case n == 0:
			return nil, fmt.Errorf("%w: ogg: decoder stalled", ErrCorrupt)
		}
	}
}
