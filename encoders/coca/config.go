package coca

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Sentinel errors, checked with errors.Is.
var (
	// ErrNoModel is returned when a directory holds no CoCa checkpoint.
	ErrNoModel = errors.New("coca: no model")
	// ErrConfig is returned when open_clip_config.json describes a model
	// this package cannot run.
	ErrConfig = errors.New("coca: unsupported config")
	// ErrInput is returned for inputs that do not fit the model (shapes,
	// token ids, sequence lengths, non-finite values).
	ErrInput = errors.New("coca: invalid input")
)

// VisionConfig is the image tower's shape.
type VisionConfig struct {
	ImageSize, Patch     int
	Width, Layers, Heads int
	MLP                  int // hidden width of the MLP
	PoolerHeads          int // heads of the attentional pooler
	PoolerQueries        int // learned queries; the first is the latent
	Eps                  float32
}

// TextConfig is the text tower's shape.
type TextConfig struct {
	Context              int // longest text; positions = Context+1 with CLS
	Vocab                int
	Width, Layers, Heads int
	MLP                  int
	PadID                int
	Eps                  float32
}

// DecoderConfig is the multimodal decoder's shape.
type DecoderConfig struct {
	Context              int // longest text the causal mask covers
	Width, Layers, Heads int
	MLP                  int
	Eps                  float32
}

// Config is a CoCa model's shape, read from open_clip_config.json.
type Config struct {
	EmbedDim  int // width of the contrastive latents
	Vocab     int // decoder output size
	QuickGELU bool
	Vision    VisionConfig
	Text      TextConfig
	Decoder   DecoderConfig
}

// ImageTokens is the number of image tokens per image the decoder reads.
func (c Config) ImageTokens() int { return c.Vision.PoolerQueries - 1 }

// open_clip's dataclass fields, with pointers where a default applies.
type visionJSON struct {
	ImageSize         json.RawMessage `json:"image_size"`
	PatchSize         *int            `json:"patch_size"`
	Width             *int            `json:"width"`
	Layers            *int            `json:"layers"`
	HeadWidth         *int            `json:"head_width"`
	MLPRatio          *float64        `json:"mlp_ratio"`
	LSInitValue       *float64        `json:"ls_init_value"`
	AttentionalPool   json.RawMessage `json:"attentional_pool"`
	AttnPoolerHeads   *int            `json:"attn_pooler_heads"`
	AttnPoolerQueries *int            `json:"attn_pooler_queries"`
	NoLNPre           bool            `json:"no_ln_pre"`
	PosEmbedType      *string         `json:"pos_embed_type"`
	PoolType          *string         `json:"pool_type"`
	TimmModelName     *string         `json:"timm_model_name"`
}

type textJSON struct {
	ContextLength *int     `json:"context_length"`
	VocabSize     *int     `json:"vocab_size"`
	Width         *int     `json:"width"`
	Heads         *int     `json:"heads"`
	Layers        *int     `json:"layers"`
	MLPRatio      *float64 `json:"mlp_ratio"`
	LSInitValue   *float64 `json:"ls_init_value"`
	EmbedCls      bool     `json:"embed_cls"`
	PadID         *int     `json:"pad_id"`
	NoCausalMask  bool     `json:"no_causal_mask"`
	ProjBias      bool     `json:"proj_bias"`
	HFModelName   *string  `json:"hf_model_name"`
}

type modelJSON struct {
	EmbedDim      *int       `json:"embed_dim"`
	QuickGELU     bool       `json:"quick_gelu"`
	VisionCfg     visionJSON `json:"vision_cfg"`
	TextCfg       textJSON   `json:"text_cfg"`
	MultimodalCfg textJSON   `json:"multimodal_cfg"`
}

func or[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// ParseConfig reads open_clip_config.json: either {"model_cfg": {...}} as
// open_clip hub checkpoints ship it, or the bare model config as
// open_clip's model_configs/*.json hold it. Defaults are open_clip's
// (CLIPVisionCfg, CLIPTextCfg, MultimodalCfg); every problem is reported
// at once.
func ParseConfig(b []byte) (Config, error) {
	var outer struct {
		ModelCfg json.RawMessage `json:"model_cfg"`
	}
	if err := json.Unmarshal(b, &outer); err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	raw := b
	if len(outer.ModelCfg) > 0 {
		raw = outer.ModelCfg
	}
	var m modelJSON
	if err := json.Unmarshal(raw, &m); err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	var probe struct {
		MM json.RawMessage `json:"multimodal_cfg"`
	}
	_ = json.Unmarshal(raw, &probe)

	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(probe.MM) == 0 || string(probe.MM) == "null" {
		bad("no multimodal_cfg: not a CoCa config")
	}

	v := m.VisionCfg
	imageSize, err := parseImageSize(v.ImageSize)
	if err != nil {
		bad("vision_cfg.image_size: %v", err)
	}
	if v.TimmModelName != nil && *v.TimmModelName != "" {
		bad("vision_cfg.timm_model_name %q: timm towers are not supported", *v.TimmModelName)
	}
	if or(v.PosEmbedType, "learnable") != "learnable" {
		bad("vision_cfg.pos_embed_type %q: only learnable", *v.PosEmbedType)
	}
	if or(v.PoolType, "tok") != "tok" {
		bad("vision_cfg.pool_type %q: only tok", *v.PoolType)
	}
	if v.NoLNPre {
		bad("vision_cfg.no_ln_pre: not supported")
	}
	if v.LSInitValue != nil || m.TextCfg.LSInitValue != nil || m.MultimodalCfg.LSInitValue != nil {
		bad("ls_init_value: layer scale is not supported")
	}
	switch string(v.AttentionalPool) {
	case "true":
	default:
		bad("vision_cfg.attentional_pool is %s: CoCa needs true (parallel/cascade pooling is not supported)", orNull(v.AttentionalPool))
	}
	vw := or(v.Width, 768)
	hw := or(v.HeadWidth, 64)
	c := Config{EmbedDim: or(m.EmbedDim, 0), QuickGELU: m.QuickGELU}
	c.Vision = VisionConfig{
		ImageSize: imageSize, Patch: or(v.PatchSize, 16), Width: vw, Layers: or(v.Layers, 12),
		MLP: int(float64(vw) * or(v.MLPRatio, 4.0)), PoolerHeads: or(v.AttnPoolerHeads, 8),
		PoolerQueries: or(v.AttnPoolerQueries, 256), Eps: 1e-5,
	}
	if hw > 0 && vw%hw == 0 {
		c.Vision.Heads = vw / hw
	} else {
		bad("vision_cfg: width %d is not a positive multiple of head_width %d", vw, hw)
	}

	t := m.TextCfg
	if t.HFModelName != nil && *t.HFModelName != "" {
		bad("text_cfg.hf_model_name %q: HF text towers are not supported", *t.HFModelName)
	}
	if !t.EmbedCls {
		bad("text_cfg.embed_cls must be true for CoCa")
	}
	if t.NoCausalMask {
		bad("text_cfg.no_causal_mask: not supported")
	}
	if t.ProjBias {
		bad("text_cfg.proj_bias: not supported")
	}
	tw := or(t.Width, 512)
	c.Text = TextConfig{
		Context: or(t.ContextLength, 77), Vocab: or(t.VocabSize, 49408), Width: tw,
		Heads: or(t.Heads, 8), Layers: or(t.Layers, 12), MLP: int(float64(tw) * or(t.MLPRatio, 4.0)),
		PadID: or(t.PadID, 0), Eps: 1e-5,
	}
	c.Vocab = c.Text.Vocab // open_clip builds the decoder with the text vocabulary

	d := m.MultimodalCfg
	dw := or(d.Width, 512)
	c.Decoder = DecoderConfig{
		Context: or(d.ContextLength, 77), Width: dw, Heads: or(d.Heads, 8), Layers: or(d.Layers, 12),
		MLP: int(float64(dw) * or(d.MLPRatio, 4.0)), Eps: 1e-5,
	}
	errs = append(errs, c.validate()...)
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	return c, nil
}

func orNull(r json.RawMessage) string {
	if len(r) == 0 {
		return "missing"
	}
	return string(r)
}

func parseImageSize(r json.RawMessage) (int, error) {
	if len(r) == 0 {
		return 224, nil
	}
	var n int
	if err := json.Unmarshal(r, &n); err == nil {
		return n, nil
	}
	var hw []int
	if err := json.Unmarshal(r, &hw); err != nil || len(hw) != 2 {
		return 0, fmt.Errorf("want an int or [h, w], got %s", r)
	}
	if hw[0] != hw[1] {
		return 0, fmt.Errorf("non-square %v is not supported", hw)
	}
	return hw[0], nil
}

func (c Config) validate() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	pos := func(name string, v int) {
		if v <= 0 {
			bad("%s must be positive, got %d", name, v)
		}
	}
	pos("embed_dim", c.EmbedDim)
	pos("vision image_size", c.Vision.ImageSize)
	pos("vision patch_size", c.Vision.Patch)
	pos("vision width", c.Vision.Width)
	pos("vision layers", c.Vision.Layers)
	pos("vision heads", c.Vision.Heads)
	pos("vision mlp width", c.Vision.MLP)
	pos("attn_pooler_heads", c.Vision.PoolerHeads)
	pos("text context_length", c.Text.Context)
	pos("text vocab_size", c.Text.Vocab)
	pos("text width", c.Text.Width)
	pos("text layers", c.Text.Layers)
	pos("text heads", c.Text.Heads)
	pos("text mlp width", c.Text.MLP)
	pos("multimodal context_length", c.Decoder.Context)
	pos("multimodal width", c.Decoder.Width)
	pos("multimodal layers", c.Decoder.Layers)
	pos("multimodal heads", c.Decoder.Heads)
	pos("multimodal mlp width", c.Decoder.MLP)
	div := func(name string, w, h int) {
		if w > 0 && h > 0 && w%h != 0 {
			bad("%s: width %d is not a multiple of %d heads", name, w, h)
		}
	}
	div("vision", c.Vision.Width, c.Vision.Heads)
	div("attentional pooler", c.EmbedDim, c.Vision.PoolerHeads)
	div("text", c.Text.Width, c.Text.Heads)
	div("multimodal", c.Decoder.Width, c.Decoder.Heads)
	if c.Vision.Patch > 0 && c.Vision.ImageSize%c.Vision.Patch != 0 {
		bad("image_size %d is not a multiple of patch_size %d", c.Vision.ImageSize, c.Vision.Patch)
	}
	if c.Vision.PoolerQueries < 2 {
		bad("attn_pooler_queries must be at least 2 (one latent, one token), got %d", c.Vision.PoolerQueries)
	}
	// The decoder reads image tokens of width embed_dim and text tokens of
	// the text width; open_clip needs both equal to its own width.
	if c.Decoder.Width != c.EmbedDim {
		bad("multimodal width %d must equal embed_dim %d (the image tokens' width)", c.Decoder.Width, c.EmbedDim)
	}
	if c.Decoder.Width != c.Text.Width {
		bad("multimodal width %d must equal the text width %d", c.Decoder.Width, c.Text.Width)
	}
	return errs
}
