package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/hajimehoshi/go-mp3"
)

// mp3Chunks decodes MPEG-1/2 Layer III with github.com/hajimehoshi/go-mp3,
// which always yields 16-bit stereo (mono streams are duplicated into both
// channels, which Mono undoes exactly). Samples are x/32768. FFmpeg, behind
// torchaudio, decodes MP3 to float without the 16-bit step, so results
// differ from torchaudio's by up to one 16-bit level (3e-5) plus decoder
// differences.
type mp3Chunks struct {
	d     *mp3.Decoder
	buf   []byte
	carry []byte // a partial stereo frame left from the previous read
	done  bool
}

func openMP3(data []byte) (*mp3Chunks, error) {
	// A plain io.Reader: with a seeker go-mp3 scans the whole file for its
	// length first, which nothing here needs.
	d, err := mp3.NewDecoder(struct{ io.Reader }{bytes.NewReader(data)})
	if err != nil {
		return nil, fmt.Errorf("%w: mp3: %v", ErrCorrupt, err)
	}
	return &mp3Chunks{d: d, buf: make([]byte, 4*4096)}, nil
}

func (m *mp3Chunks) rate() int      { return m.d.SampleRate() }
func (m *mp3Chunks) channels() int  { return 2 }
func (m *mp3Chunks) format() string { return "mp3" }

func (m *mp3Chunks) next() ([][]float32, error) {
	for !m.done {
		n, rerr := m.d.Read(m.buf)
		chunk := append(m.carry, m.buf[:n]...)
		whole := len(chunk) / 4 * 4
		m.carry = append(m.carry[:0:0], chunk[whole:]...)
		switch {
		case errors.Is(rerr, io.EOF):
			m.done = true
		case rerr != nil:
			return nil, fmt.Errorf("%w: mp3: %v", ErrCorrupt, rerr)
		case n == 0:
			// A reader that makes no progress without an error: stop
			// rather than spin.
			return nil, fmt.Errorf("%w: mp3: decoder stalled", ErrCorrupt)
		}
		if whole == 0 {
			continue
		}
		l, r := make([]float32, whole/4), make([]float32, whole/4)
		for i := 0; i < whole; i += 4 {
			l[i/4] = float32(int16(binary.LittleEndian.Uint16(chunk[i:]))) / 32768
			r[i/4] = float32(int16(binary.LittleEndian.Uint16(chunk[i+2:]))) / 32768
		}
		return [][]float32{l, r}, nil
	}
	return nil, io.EOF
}
