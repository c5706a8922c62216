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

// decodeOgg decodes Ogg Vorbis with github.com/jfreymuth/oggvorbis (pure
// Go, floating-point output, fuzzed upstream). Other codecs in an Ogg
// container (Opus, FLAC, Speex) give ErrUnsupported naming the codec. The
// decoder clamps samples to [-1, 1]; FFmpeg's float output, behind
// torchaudio, does not, which only matters for clipped recordings.
func decodeOgg(data []byte) (c *Clip, err error) {
	switch codec := oggCodec(data); codec {
	case "vorbis":
	case "":
		return nil, fmt.Errorf("%w: ogg: no Vorbis identification header in the first page", ErrCorrupt)
	default:
		return nil, fmt.Errorf("%w: ogg/%s (only Ogg Vorbis is decoded; convert to WAV, FLAC or Vorbis)", ErrUnsupported, codec)
	}
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("%w: ogg: decoder panic: %v", ErrCorrupt, r)
		}
	}()
	// A plain io.Reader, not the seekable bytes.Reader: with a seeker the
	// library scans the whole file backwards for its length first, which
	// Decode does not need.
	d, err := oggvorbis.NewReader(struct{ io.Reader }{bytes.NewReader(data)})
	if err != nil {
		return nil, fmt.Errorf("%w: ogg: %v", ErrCorrupt, err)
	}
	rate, channels := d.SampleRate(), d.Channels()
	if rate < 1 || rate > MaxRate {
		return nil, fmt.Errorf("%w: ogg: sample rate %d (want 1..%d)", ErrCorrupt, rate, MaxRate)
	}
	if channels < 1 || channels > MaxChannels {
		return nil, fmt.Errorf("%w: ogg: %d channels", ErrCorrupt, channels)
	}
	c = &Clip{Rate: rate, Channels: channels, Samples: make([][]float32, channels)}
	buf := make([]float32, channels*4096)
	total := 0
	for {
		n, rerr := d.Read(buf)
		if total+n > MaxDecodedSamples {
			return nil, fmt.Errorf("%w: ogg: more than %d samples", ErrUnsupported, MaxDecodedSamples)
		}
		total += n
		for i := 0; i+channels <= n; i += channels {
			for ch := range channels {
				c.Samples[ch] = append(c.Samples[ch], buf[i+ch])
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("%w: ogg: %v", ErrCorrupt, rerr)
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: ogg: decoder stalled", ErrCorrupt)
		}
	}
	if len(c.Samples[0]) == 0 {
		return nil, fmt.Errorf("%w: ogg: no audio", ErrCorrupt)
	}
	return c, nil
}
