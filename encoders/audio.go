package encoders

import (
	"context"
	"errors"
	"fmt"
	"image"

	"rosetta/encoders/audio"
	"rosetta/encoders/hubert"
)

// ErrNotForModality is returned when a model is asked to embed a modality
// it has no tower for.
var ErrNotForModality = errors.New("encoders: the model does not embed this modality")

// MaxAudioSeconds bounds one clip so that one request cannot take the
// server's memory; longer recordings are cut into windows by the caller.
const MaxAudioSeconds = 600

// HuBERT embeds audio files with HuBERT or wav2vec 2.0: decode, down-mix to
// mono, resample to the model's rate (torchaudio's sinc resampler),
// normalise when the feature extractor asks for it, and mean-pool the last
// hidden states; L2-normalised. Safe for concurrent use.
type HuBERT struct {
	M *hubert.Model
}

// OpenHuBERT loads a HuBERT or wav2vec 2.0 directory.
func OpenHuBERT(dir string) (*HuBERT, error) {
	m, err := hubert.Load(dir, nil)
	if err != nil {
		return nil, err
	}
	return &HuBERT{M: m}, nil
}

// Dim is the hidden size.
func (h *HuBERT) Dim() int { return h.M.Dim() }

// EmbedTexts is not supported: HuBERT has no text tower.
func (h *HuBERT) EmbedTexts(context.Context, []string) ([][]float32, error) {
	return nil, fmt.Errorf("%w: HuBERT embeds audio, not text", ErrNotForModality)
}

// EmbedImages is not supported: HuBERT has no image tower.
func (h *HuBERT) EmbedImages(context.Context, []image.Image) ([][]float32, error) {
	return nil, fmt.Errorf("%w: HuBERT embeds audio, not images", ErrNotForModality)
}

// Waveform decodes an audio file to the model's mono input.
func (h *HuBERT) Waveform(data []byte) ([]float32, error) {
	clip, err := audio.Decode(data)
	if err != nil {
		return nil, err
	}
	if clip.Frames() > MaxAudioSeconds*clip.Rate {
		return nil, fmt.Errorf("encoders: %.0f s of audio is longer than the %d s limit for one clip", float64(clip.Frames())/float64(clip.Rate), MaxAudioSeconds)
	}
	return h.modelInput(audio.Mono(clip), clip.Rate), nil
}

// modelInput resamples mono samples to the model's rate and normalises
// them when the model asks for it.
func (h *HuBERT) modelInput(x []float32, rate int) []float32 {
	if rate != h.M.SampleRate() {
		x = audio.Resample(x, rate, h.M.SampleRate())
	}
	if h.M.NeedsNormalize() {
		x = audio.Normalize(x)
	}
	return x
}

// EmbedSamples embeds mono samples at rate Hz (one window of a recording)
// exactly as EmbedAudio embeds the same samples written as a WAV file. A
// rate outside audio.MinRate..audio.MaxRate is refused (audio.CheckRate).
func (h *HuBERT) EmbedSamples(ctx context.Context, x []float32, rate int) ([]float32, error) {
	if err := audio.CheckRate(rate); err != nil {
		return nil, fmt.Errorf("encoders: %w", err)
	}
	if len(x) > MaxAudioSeconds*rate {
		return nil, fmt.Errorf("encoders: %.0f s of audio is longer than the %d s limit for one clip", float64(len(x))/float64(rate), MaxAudioSeconds)
	}
	v, err := h.EmbedWaveforms(ctx, [][]float32{h.modelInput(x, rate)})
	if err != nil {
		return nil, err
	}
	return v[0], nil
}

// EmbedAudio embeds whole audio files (WAV, and what audio.Decode reads).
func (h *HuBERT) EmbedAudio(ctx context.Context, clips [][]byte) ([][]float32, error) {
	waves := make([][]float32, len(clips))
	for i, c := range clips {
		w, err := h.Waveform(c)
		if err != nil {
			return nil, fmt.Errorf("audio %d: %w", i, err)
		}
		waves[i] = w
	}
	return h.EmbedWaveforms(ctx, waves)
}

// EmbedWaveforms embeds model-rate mono waveforms (already normalised when
// the model asks for it).
func (h *HuBERT) EmbedWaveforms(ctx context.Context, waves [][]float32) ([][]float32, error) {
	out := make([][]float32, len(waves))
	for i, w := range waves {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		o, err := h.M.Forward([][]float32{w})
		if err != nil {
			return nil, err
		}
		out[i] = rows(o.MeanPooled[0], h.Dim())[0]
	}
	return out, nil
}
