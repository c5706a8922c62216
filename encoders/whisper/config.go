package whisper

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrConfig is returned when config.json or preprocessor_config.json
// describes a model this package cannot run.
var ErrConfig = errors.New("whisper: unsupported config")

// ErrInput is returned for input the model cannot take: audio that is
// empty or not finite, a spectrogram of the wrong size, token ids out of
// range, or a token sequence longer than the text context.
var ErrInput = errors.New("whisper: bad input")

// Config holds the config.json fields the model needs (transformers'
// WhisperConfig).
type Config struct {
	ModelType             string `json:"model_type"`
	DModel                int    `json:"d_model"`
	EncoderLayers         int    `json:"encoder_layers"`
	EncoderAttentionHeads int    `json:"encoder_attention_heads"`
	EncoderFFNDim         int    `json:"encoder_ffn_dim"`
	DecoderLayers         int    `json:"decoder_layers"`
	DecoderAttentionHeads int    `json:"decoder_attention_heads"`
	DecoderFFNDim         int    `json:"decoder_ffn_dim"`
	NumMelBins            int    `json:"num_mel_bins"`
	VocabSize             int    `json:"vocab_size"`
	MaxSourcePositions    int    `json:"max_source_positions"`
	MaxTargetPositions    int    `json:"max_target_positions"`
	ActivationFunction    string `json:"activation_function"`
	ScaleEmbedding        bool   `json:"scale_embedding"`

	EOSTokenID          int   `json:"eos_token_id"`
	DecoderStartTokenID int   `json:"decoder_start_token_id"`
	SuppressTokens      []int `json:"suppress_tokens"`
	BeginSuppressTokens []int `json:"begin_suppress_tokens"`
	NoTimestampsTokenID int   `json:"no_timestamps_token_id"`
	MaxInitialTimestamp int   `json:"max_initial_timestamp_index"`
}

// Preprocessor holds the preprocessor_config.json fields
// (WhisperFeatureExtractor).
type Preprocessor struct {
	FeatureSize  int `json:"feature_size"`
	SamplingRate int `json:"sampling_rate"`
	HopLength    int `json:"hop_length"`
	NFFT         int `json:"n_fft"`
	ChunkLength  int `json:"chunk_length"`
	NSamples     int `json:"n_samples"`
	NbMaxFrames  int `json:"nb_max_frames"`
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("whisper: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("whisper: %s: %w", path, err)
	}
	return nil
}

func loadConfig(dir string) (Config, error) {
	c := Config{ActivationFunction: "gelu"}
	if err := readJSON(filepath.Join(dir, "config.json"), &c); err != nil {
		return c, err
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...))
	}
	if c.ModelType != "" && c.ModelType != "whisper" {
		bad("model_type %q", c.ModelType)
	}
	if c.DModel <= 0 {
		bad("d_model %d", c.DModel)
	}
	if c.EncoderAttentionHeads <= 0 || c.DModel%c.EncoderAttentionHeads != 0 {
		bad("d_model %d with %d encoder heads", c.DModel, c.EncoderAttentionHeads)
	}
	if c.DecoderAttentionHeads <= 0 || c.DModel%c.DecoderAttentionHeads != 0 {
		bad("d_model %d with %d decoder heads", c.DModel, c.DecoderAttentionHeads)
	}
	if c.EncoderLayers < 0 || c.DecoderLayers < 0 || c.EncoderFFNDim <= 0 || c.DecoderFFNDim <= 0 {
		bad("layers %d/%d, ffn %d/%d", c.EncoderLayers, c.DecoderLayers, c.EncoderFFNDim, c.DecoderFFNDim)
	}
	if c.NumMelBins <= 0 || c.VocabSize <= 0 || c.MaxSourcePositions <= 0 || c.MaxTargetPositions <= 0 {
		bad("num_mel_bins %d, vocab_size %d, max_source_positions %d, max_target_positions %d",
			c.NumMelBins, c.VocabSize, c.MaxSourcePositions, c.MaxTargetPositions)
	}
	if c.ScaleEmbedding {
		bad("scale_embedding is not supported (no Whisper checkpoint sets it)")
	}
	return errors.Join(errs...)
}

// loadPreprocessor reads preprocessor_config.json, filling the
// WhisperFeatureExtractor defaults for missing fields and checking it
// against the model's mel bins.
func loadPreprocessor(dir string, cfg Config) (Preprocessor, error) {
	p := Preprocessor{FeatureSize: cfg.NumMelBins, SamplingRate: 16000, HopLength: 160, NFFT: 400, ChunkLength: 30}
	if path := filepath.Join(dir, "preprocessor_config.json"); fileExists(path) {
		if err := readJSON(path, &p); err != nil {
			return p, err
		}
	}
	if p.NSamples == 0 {
		p.NSamples = p.ChunkLength * p.SamplingRate
	}
	if p.NbMaxFrames == 0 && p.HopLength > 0 {
		p.NbMaxFrames = p.NSamples / p.HopLength
	}
	var errs []error
	if p.FeatureSize != cfg.NumMelBins {
		errs = append(errs, fmt.Errorf("%w: feature_size %d but num_mel_bins %d", ErrConfig, p.FeatureSize, cfg.NumMelBins))
	}
	if p.SamplingRate <= 0 || p.HopLength <= 0 || p.NFFT < 2 || p.NSamples <= 0 {
		errs = append(errs, fmt.Errorf("%w: sampling_rate %d, hop_length %d, n_fft %d, n_samples %d", ErrConfig, p.SamplingRate, p.HopLength, p.NFFT, p.NSamples))
	}
	return p, errors.Join(errs...)
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
