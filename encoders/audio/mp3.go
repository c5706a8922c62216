package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/hajimehoshi/go-mp3"
)

// decodeMP3 decodes MPEG-1/2 Layer III with github.com/hajimehoshi/go-mp3,
// which always yields 16-bit stereo (mono streams are duplicated into both
// channels, which Mono undoes exactly). Samples are x/32768. FFmpeg, behind
// torchaudio, decodes MP3 to float without the 16-bit step, so results
// differ from torchaudio's by up to one 16-bit level (3e-5) plus decoder
// differences.
func decodeMP3(data []byte) (c *Clip, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("%w: mp3: decoder panic: %v", ErrCorrupt, r)
		}
	}()
	d, err := mp3.NewDecoder(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: mp3: %v", ErrCorrupt, err)
	}
	rate := d.SampleRate()
	if rate < 1 || rate > MaxRate {
		return nil, fmt.Errorf("%w: mp3: sample rate %d", ErrCorrupt, rate)
	}
	c = &Clip{Rate: rate, Channels: 2, Samples: make([][]float32, 2)}
	buf := make([]byte, 4*4096)
	var carry []byte // a partial frame left from the previous read
	for {
		n, rerr := d.Read(buf)
		chunk := append(carry, buf[:n]...)
		whole := len(chunk) / 4 * 4
		if len(c.Samples[0])+whole/4 > MaxDecodedSamples/2 {
			return nil, fmt.Errorf("%w: mp3: more than %d samples", ErrUnsupported, MaxDecodedSamples)
		}
		for i := 0; i < whole; i += 4 {
			l := int16(binary.LittleEndian.Uint16(chunk[i:]))
			r := int16(binary.LittleEndian.Uint16(chunk[i+2:]))
			c.Samples[0] = append(c.Samples[0], float32(l)/32768)
			c.Samples[1] = append(c.Samples[1], float32(r)/32768)
		}
		carry = append(carry[:0:0], chunk[whole:]...)
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("%w: mp3: %v", ErrCorrupt, rerr)
		}
		if n == 0 {
			// A reader that makes no progress without an error: stop
			// rather than spin.
			return nil, fmt.Errorf("%w: mp3: decoder stalled", ErrCorrupt)
		}
	}
	if len(c.Samples[0]) == 0 {
		return nil, fmt.Errorf("%w: mp3: no audio frames", ErrCorrupt)
	}
	return c, nil
}
