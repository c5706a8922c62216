package whisper

import "fmt"

// Model is a loaded Whisper checkpoint: the log-mel front end, the audio
// encoder and the text decoder. It is immutable and safe for concurrent
// use; a DecoderState is not.
type Model struct {
	cfg   Config
	pre   Preprocessor
	front *Frontend
	enc   encoder
	dec   decoder

	langToID map[string]int // generation_config.json lang_to_id, or nil
}

// Config returns the model's config.json fields.
func (m *Model) Config() Config { return m.cfg }

// Preprocessor returns the feature extractor settings.
func (m *Model) Preprocessor() Preprocessor { return m.pre }

// Frontend returns the log-mel front end.
func (m *Model) Frontend() *Frontend { return m.front }

// Dim is the model width (d_model).
func (m *Model) Dim() int { return m.cfg.DModel }

// AudioFrames is the number of mel frames the encoder takes (twice
// max_source_positions: 3000 for every released checkpoint, 30 s).
func (m *Model) AudioFrames() int { return 2 * m.cfg.MaxSourcePositions }

// LogMel is the reference's log_mel_spectrogram(samples, n_mels,
// padding=n_samples): the spectrogram of samples followed by one chunk
// (30 s) of zeros, [Mels, frames] row-major.
func (m *Model) LogMel(samples []float32) ([]float32, int, error) {
	return m.front.LogMel(samples, m.pre.NSamples)
}

// Window returns mel[:, start:start+AudioFrames()] of a [Mels, frames]
// spectrogram, padded with zeros past its end, as the reference's
// pad_or_trim does.
func (m *Model) Window(mel []float32, frames, start int) ([]float32, error) {
	mels := m.cfg.NumMelBins
	if frames < 0 || len(mel) != mels*frames || start < 0 {
		return nil, fmt.Errorf("%w: spectrogram of %d values is not [%d, %d], or start %d", ErrInput, len(mel), mels, frames, start)
	}
	n := m.AudioFrames()
	out := make([]float32, mels*n)
	if start < frames {
		w := min(n, frames-start)
		for c := 0; c < mels; c++ {
			copy(out[c*n:c*n+w], mel[c*frames+start:c*frames+start+w])
		}
	}
	return out, nil
}
