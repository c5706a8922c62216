package audio

import (
	"bytes"
	"fmt"
)

// Decode decodes an audio file, recognising its format by content rather
// than by name: RIFF/WAVE (see DecodeWAV), native FLAC (github.com/mewkiz/flac)
// MP3 (github.com/hajimehoshi/go-mp3, always two channels) and Ogg Vorbis
// (github.com/jfreymuth/oggvorbis). Other Ogg codecs (Opus, FLAC-in-Ogg),
// AIFF and RF64 give an error wrapping ErrUnsupported that names the format;
// unrecognised bytes give ErrUnsupported too.
// Compressed streams are cut off with ErrUnsupported past MaxDecodedSamples.
// The length is what the bytes hold, never a header's count: a WAV data
// chunk or a FLAC stream cut short decodes to the complete frames present
// (an Ogg stream cut short is ErrCorrupt). Sample rates outside
// MinRate..MaxRate are refused (CheckRate).
func Decode(data []byte) (*Clip, error) {
	switch f := Sniff(data); f {
	case "wav":
		return decodeWAV(data)
	case "flac", "mp3", "ogg":
		return decodeChunks(data)
	case "":
		return nil, fmt.Errorf("%w: unrecognised audio format", ErrUnsupported)
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, f)
	}
}

// Sniff names the audio format of data from its first bytes: "wav",
// "flac", "ogg", "mp3", "aiff", "rf64", or "" when it does not recognise it.
func Sniff(data []byte) string {
	switch {
	case len(data) >= 12 && string(data[0:4]) == "RIFF" && string(data[8:12]) == "WAVE":
		return "wav"
	case len(data) >= 4 && (string(data[0:4]) == "RF64" || string(data[0:4]) == "BW64"):
		return "rf64"
	case bytes.HasPrefix(data, []byte("fLaC")):
		return "flac"
	case bytes.HasPrefix(data, []byte("OggS")):
		return "ogg"
	case len(data) >= 12 && string(data[0:4]) == "FORM" && (string(data[8:12]) == "AIFF" || string(data[8:12]) == "AIFC"):
		return "aiff"
	case bytes.HasPrefix(data, []byte("ID3")):
		return "mp3"
	case len(data) >= 2 && data[0] == 0xFF && data[1]&0xE0 == 0xE0 && data[1]&0x06 != 0:
		// MPEG audio frame sync with a layer set.
		return "mp3"
	}
	return ""
}
