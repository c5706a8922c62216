package audio

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
