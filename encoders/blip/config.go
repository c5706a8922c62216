package blip

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrConfig is returned when config.json is missing, unreadable or
	// describes an impossible model.
	ErrConfig = errors.New("blip: bad config")
	// ErrInput is returned for inputs that do not fit the model: wrong
	// pixel count, NaN or Inf pixels, token ids out of the vocabulary,
	// sequences longer than the position table, mismatched masks.
	ErrInput = errors.New("blip: bad input")
)

// VisionConfig is transformers' BlipVisionConfig.
type VisionConfig struct {
	Hidden       int     `json:"hidden_size"`
	Intermediate int     `json:"intermediate_size"`
	Layers       int     `json:"num_hidden_layers"`
	Heads        int     `json:"num_attention_heads"`
	ImageSize    int     `json:"image_size"`
	PatchSize    int     `json:"patch_size"`
	Channels     int     `json:"num_channels"`
	Act          string  `json:"hidden_act"`
	Eps          float64 `json:"layer_norm_eps"`
}

// TextConfig is transformers' BlipTextConfig.
type TextConfig struct {
	Vocab         int     `json:"vocab_size"`
	Hidden        int     `json:"hidden_size"`
	EncoderHidden int     `json:"encoder_hidden_size"`
	Intermediate  int     `json:"intermediate_size"`
	Layers        int     `json:"num_hidden_layers"`
	Heads         int     `json:"num_attention_heads"`
	MaxPositions  int     `json:"max_position_embeddings"`
	Act           string  `json:"hidden_act"`
	Eps           float64 `json:"layer_norm_eps"`
	PadTokenID    int     `json:"pad_token_id"`
	BOSTokenID    int     `json:"bos_token_id"`
	SEPTokenID    int     `json:"sep_token_id"`
}

// Config is transformers' BlipConfig.
type Config struct {
	Vision VisionConfig `json:"vision_config"`
	Text   TextConfig   `json:"text_config"`
	// ImageTextHidden is the width of the contrastive (ITC) features.
	ImageTextHidden int `json:"image_text_hidden_size"`
}

// DefaultConfig returns transformers' defaults (BLIP base).
func DefaultConfig() Config {
	return Config{
		Vision: VisionConfig{Hidden: 768, Intermediate: 3072, Layers: 12, Heads: 12, ImageSize: 384,
			PatchSize: 16, Channels: 3, Act: "gelu", Eps: 1e-5},
		Text: TextConfig{Vocab: 30524, Hidden: 768, EncoderHidden: 768, Intermediate: 3072, Layers: 12,
			Heads: 8, MaxPositions: 512, Act: "gelu", Eps: 1e-12, PadTokenID: 0, BOSTokenID: 30522, SEPTokenID: 102},
		ImageTextHidden: 256,
	}
}

// ParseConfig reads a config.json, filling transformers' defaults for
// absent keys, and validates it.
func ParseConfig(b []byte) (Config, error) {
	c := DefaultConfig()
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return c, c.Validate()
}

// Validate reports every problem with the sizes at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	v, t := c.Vision, c.Text
	for _, f := range []struct {
		name string
		v    int
	}{
		{"vision_config.hidden_size", v.Hidden}, {"vision_config.intermediate_size", v.Intermediate},
		{"vision_config.num_hidden_layers", v.Layers}, {"vision_config.num_attention_heads", v.Heads},
		{"vision_config.image_size", v.ImageSize}, {"vision_config.patch_size", v.PatchSize},
		{"vision_config.num_channels", v.Channels},
		{"text_config.vocab_size", t.Vocab}, {"text_config.hidden_size", t.Hidden},
		{"text_config.encoder_hidden_size", t.EncoderHidden}, {"text_config.intermediate_size", t.Intermediate},
		{"text_config.num_hidden_layers", t.Layers}, {"text_config.num_attention_heads", t.Heads},
		{"text_config.max_position_embeddings", t.MaxPositions}, {"image_text_hidden_size", c.ImageTextHidden},
	} {
		if f.v <= 0 {
			bad("%s is %d, must be positive", f.name, f.v)
		}
	}
	if v.Heads > 0 && v.Hidden%v.Heads != 0 {
		bad("vision_config.hidden_size %d is not a multiple of num_attention_heads %d", v.Hidden, v.Heads)
	}
	if t.Heads > 0 && t.Hidden%t.Heads != 0 {
		bad("text_config.hidden_size %d is not a multiple of num_attention_heads %d", t.Hidden, t.Heads)
	}
	if v.PatchSize > 0 && v.ImageSize%v.PatchSize != 0 {
		bad("vision_config.image_size %d is not a multiple of patch_size %d", v.ImageSize, v.PatchSize)
	}
	if t.EncoderHidden != v.Hidden && t.EncoderHidden > 0 {
		bad("text_config.encoder_hidden_size %d differs from vision_config.hidden_size %d", t.EncoderHidden, v.Hidden)
	}
	for _, id := range []struct {
		name string
		v    int
	}{{"pad_token_id", t.PadTokenID}, {"bos_token_id", t.BOSTokenID}, {"sep_token_id", t.SEPTokenID}} {
		if id.v < 0 || id.v >= t.Vocab {
			bad("text_config.%s %d is outside the vocabulary of %d", id.name, id.v, t.Vocab)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
}

// ImageTokens is the number of image embeds per image: one per patch
// plus the class token.
func (v VisionConfig) ImageTokens() int {
	g := v.ImageSize / v.PatchSize
	return g*g + 1
}
