package clip

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNoModel is returned when a directory holds no CLIP checkpoint.
var ErrNoModel = errors.New("clip: no model")

// hfConfig is the part of a transformers CLIP config.json that matters.
// Absent keys take transformers' CLIPTextConfig/CLIPVisionConfig defaults.
type hfConfig struct {
	ModelType      string `json:"model_type"`
	ProjectionDim  *int   `json:"projection_dim"`
	LogitScaleInit *float64
	TextConfig     struct {
		HiddenSize        *int     `json:"hidden_size"`
		IntermediateSize  *int     `json:"intermediate_size"`
		NumHiddenLayers   *int     `json:"num_hidden_layers"`
		NumAttentionHeads *int     `json:"num_attention_heads"`
		MaxPositions      *int     `json:"max_position_embeddings"`
		HiddenAct         *string  `json:"hidden_act"`
		LayerNormEps      *float64 `json:"layer_norm_eps"`
		VocabSize         *int     `json:"vocab_size"`
		EOSTokenID        *int     `json:"eos_token_id"`
	} `json:"text_config"`
	VisionConfig struct {
		HiddenSize        *int     `json:"hidden_size"`
		IntermediateSize  *int     `json:"intermediate_size"`
		NumHiddenLayers   *int     `json:"num_hidden_layers"`
		NumAttentionHeads *int     `json:"num_attention_heads"`
		ImageSize         *int     `json:"image_size"`
		PatchSize         *int     `json:"patch_size"`
		HiddenAct         *string  `json:"hidden_act"`
		LayerNormEps      *float64 `json:"layer_norm_eps"`
		NumChannels       *int     `json:"num_channels"`
	} `json:"vision_config"`
}

func or[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func parseHFConfig(b []byte) (Config, error) {
	var h hfConfig
	if err := json.Unmarshal(b, &h); err != nil {
		return Config{}, fmt.Errorf("clip: config.json: %w", err)
	}
	if h.ModelType != "clip" {
		return Config{}, fmt.Errorf("clip: config.json has model_type %q, want \"clip\"", h.ModelType)
	}
	t, v := h.TextConfig, h.VisionConfig
	c := Config{
		Layout:   "hf",
		EmbedDim: or(h.ProjectionDim, 512),
		Text: TowerConfig{Width: or(t.HiddenSize, 512), MLP: or(t.IntermediateSize, 2048), Layers: or(t.NumHiddenLayers, 12),
			Heads: or(t.NumAttentionHeads, 8), Eps: float32(or(t.LayerNormEps, 1e-5)), Act: or(t.HiddenAct, "quick_gelu")},
		Context: or(t.MaxPositions, 77),
		Vocab:   or(t.VocabSize, 49408),
		Vision: TowerConfig{Width: or(v.HiddenSize, 768), MLP: or(v.IntermediateSize, 3072), Layers: or(v.NumHiddenLayers, 12),
			Heads: or(v.NumAttentionHeads, 12), Eps: float32(or(v.LayerNormEps, 1e-5)), Act: or(v.HiddenAct, "quick_gelu")},
		ImageSize: or(v.ImageSize, 224),
		Patch:     or(v.PatchSize, 32),
	}
	// transformers' rule: the legacy eos_token_id == 2 pools at argmax(ids);
	// otherwise at the first eos_token_id.
	c.EOSToken = or(t.EOSTokenID, 2)
	c.EOSArgmax = c.EOSToken == 2
	if ch := or(v.NumChannels, 3); ch != 3 {
		return Config{}, fmt.Errorf("clip: %d image channels; only RGB models are supported", ch)
	}
	return c, c.validate()
}

// openCLIPConfig is open_clip_config.json's model_cfg.
type openCLIPConfig struct {
	ModelCfg struct {
		EmbedDim  int  `json:"embed_dim"`
		QuickGELU bool `json:"quick_gelu"`
		VisionCfg struct {
			ImageSize json.RawMessage `json:"image_size"`
			Layers    json.RawMessage `json:"layers"`
			Width     int             `json:"width"`
			HeadWidth *int            `json:"head_width"`
			PatchSize *int            `json:"patch_size"`
			MLPRatio  *float64        `json:"mlp_ratio"`
		} `json:"vision_cfg"`
		TextCfg struct {
			ContextLength *int     `json:"context_length"`
			VocabSize     *int     `json:"vocab_size"`
			Width         *int     `json:"width"`
			Heads         *int     `json:"heads"`
			Layers        *int     `json:"layers"`
			MLPRatio      *float64 `json:"mlp_ratio"`
		} `json:"text_cfg"`
	} `json:"model_cfg"`
}

// parseOpenCLIPConfig reads the ViT and text parts; resnet reports the
// layer counts of a ModifiedResNet tower (then the ViT fields are unset).
func parseOpenCLIPConfig(b []byte) (c Config, resnet []int, err error) {
	var o openCLIPConfig
	if err := json.Unmarshal(b, &o); err != nil {
		return Config{}, nil, fmt.Errorf("clip: open_clip_config.json: %w", err)
	}
	m := o.ModelCfg
	act := "gelu"
	if m.QuickGELU {
		act = "quick_gelu"
	}
	var size int
	if err := json.Unmarshal(m.VisionCfg.ImageSize, &size); err != nil {
		var pair []int
		if json.Unmarshal(m.VisionCfg.ImageSize, &pair) != nil || len(pair) != 2 || pair[0] != pair[1] {
			return Config{}, nil, fmt.Errorf("clip: open_clip image_size %s: only square images are supported", m.VisionCfg.ImageSize)
		}
		size = pair[0]
	}
	tw := or(m.TextCfg.Width, 512)
	c = Config{
		Layout:    "open_clip",
		EmbedDim:  m.EmbedDim,
		ImageSize: size,
		Patch:     or(m.VisionCfg.PatchSize, 16),
		Text: TowerConfig{Width: tw, Heads: or(m.TextCfg.Heads, 8), Layers: or(m.TextCfg.Layers, 12),
			MLP: int(float64(tw) * or(m.TextCfg.MLPRatio, 4)), Eps: 1e-5, Act: act},
		Context:   or(m.TextCfg.ContextLength, 77),
		Vocab:     or(m.TextCfg.VocabSize, 49408),
		EOSArgmax: true,
	}
	var layers int
	if err := json.Unmarshal(m.VisionCfg.Layers, &layers); err != nil {
		if err := json.Unmarshal(m.VisionCfg.Layers, &resnet); err != nil {
			return Config{}, nil, fmt.Errorf("clip: open_clip vision layers %s", m.VisionCfg.Layers)
		}
	}
	vw := m.VisionCfg.Width
	hw := or(m.VisionCfg.HeadWidth, 64)
	c.Vision = TowerConfig{Width: vw, Layers: layers, MLP: int(float64(vw) * or(m.VisionCfg.MLPRatio, 4)), Eps: 1e-5, Act: act}
	if hw > 0 {
		c.Vision.Heads = vw / hw
	}
	if resnet != nil {
		// ModifiedResNet: width is the stem width, heads = width*32/head_width.
		c.Vision.Heads = vw * 32 / hw
		return c, resnet, c.validateText()
	}
	return c, nil, c.validate()
}

func (c Config) validateText() error {
	var errs []error
	t := c.Text
	if t.Width <= 0 || t.Layers <= 0 || t.Heads <= 0 || t.Width%t.Heads != 0 || t.MLP <= 0 {
		errs = append(errs, fmt.Errorf("text tower width %d, heads %d, layers %d, mlp %d", t.Width, t.Heads, t.Layers, t.MLP))
	}
	if c.Context <= 0 || c.Vocab <= 0 || c.EmbedDim <= 0 {
		errs = append(errs, fmt.Errorf("context %d, vocab %d, embed dim %d", c.Context, c.Vocab, c.EmbedDim))
	}
	if len(errs) > 0 {
		return fmt.Errorf("clip: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

func (c Config) validate() error {
	var errs []error
	if err := c.validateText(); err != nil {
		errs = append(errs, err)
	}
	v := c.Vision
	if v.Width <= 0 || v.Layers <= 0 || v.Heads <= 0 || v.Width%v.Heads != 0 || v.MLP <= 0 {
		errs = append(errs, fmt.Errorf("vision tower width %d, heads %d, layers %d, mlp %d", v.Width, v.Heads, v.Layers, v.MLP))
	}
	if c.Patch <= 0 || c.ImageSize <= 0 || c.ImageSize%c.Patch != 0 {
		errs = append(errs, fmt.Errorf("image size %d is not a multiple of patch size %d", c.ImageSize, c.Patch))
	}
	if len(errs) > 0 {
		return fmt.Errorf("clip: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

// checkpointPath finds the weights file in dir: the first of names that
// exists, or a sharded index.
func checkpointPath(dir string, names ...string) (string, error) {
	for _, n := range names {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: none of %v in %s", ErrNoModel, names, dir)
}
