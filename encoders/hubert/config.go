package hubert

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrConfig is returned when config.json describes a model this package
// cannot run.
var ErrConfig = errors.New("hubert: unsupported config")

// ErrInput is returned for audio the model cannot encode (empty, too
// short for the convolution stack, or not finite).
var ErrInput = errors.New("hubert: bad input")

// Config holds the config.json fields the encoder needs.
type Config struct {
	ModelType             string  `json:"model_type"`
	HiddenSize            int     `json:"hidden_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	IntermediateSize      int     `json:"intermediate_size"`
	HiddenAct             string  `json:"hidden_act"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
	FeatExtractNorm       string  `json:"feat_extract_norm"`
	FeatExtractActivation string  `json:"feat_extract_activation"`
	ConvDim               []int   `json:"conv_dim"`
	ConvKernel            []int   `json:"conv_kernel"`
	ConvStride            []int   `json:"conv_stride"`
	ConvBias              bool    `json:"conv_bias"`
	NumConvPosEmbeddings  int     `json:"num_conv_pos_embeddings"`
	NumConvPosGroups      int     `json:"num_conv_pos_embedding_groups"`
	DoStableLayerNorm     bool    `json:"do_stable_layer_norm"`
	FeatProjLayerNorm     *bool   `json:"feat_proj_layer_norm"`
	ConvPosBatchNorm      bool    `json:"conv_pos_batch_norm"`
}

// Preprocessor holds the preprocessor_config.json fields.
type Preprocessor struct {
	DoNormalize  bool `json:"do_normalize"`
	SamplingRate int  `json:"sampling_rate"`
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("hubert: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("hubert: %s: %w", path, err)
	}
	return nil
}

func loadConfig(dir string) (Config, error) {
	c := Config{
		HiddenAct: "gelu", LayerNormEps: 1e-5, FeatExtractNorm: "group", FeatExtractActivation: "gelu",
		NumConvPosEmbeddings: 128, NumConvPosGroups: 16,
	}
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
	if c.ModelType != "" && c.ModelType != "hubert" && c.ModelType != "wav2vec2" {
		bad("model_type %q", c.ModelType)
	}
	if c.HiddenSize <= 0 || c.NumAttentionHeads <= 0 || c.HiddenSize%c.NumAttentionHeads != 0 {
		bad("hidden_size %d with %d heads", c.HiddenSize, c.NumAttentionHeads)
	}
	if c.NumHiddenLayers < 0 || c.IntermediateSize <= 0 {
		bad("num_hidden_layers %d, intermediate_size %d", c.NumHiddenLayers, c.IntermediateSize)
	}
	if len(c.ConvDim) == 0 || len(c.ConvDim) != len(c.ConvKernel) || len(c.ConvDim) != len(c.ConvStride) {
		bad("conv_dim/conv_kernel/conv_stride lengths %d/%d/%d", len(c.ConvDim), len(c.ConvKernel), len(c.ConvStride))
	} else {
		for i := range c.ConvDim {
			if c.ConvDim[i] <= 0 || c.ConvKernel[i] <= 0 || c.ConvStride[i] <= 0 {
				bad("conv layer %d: dim %d kernel %d stride %d", i, c.ConvDim[i], c.ConvKernel[i], c.ConvStride[i])
			}
		}
	}
	if c.FeatExtractNorm != "group" && c.FeatExtractNorm != "layer" {
		bad("feat_extract_norm %q", c.FeatExtractNorm)
	}
	if c.NumConvPosEmbeddings <= 0 || c.NumConvPosGroups <= 0 || c.HiddenSize%c.NumConvPosGroups != 0 {
		bad("conv positional embedding kernel %d groups %d", c.NumConvPosEmbeddings, c.NumConvPosGroups)
	}
	if c.ConvPosBatchNorm {
		bad("conv_pos_batch_norm is not supported")
	}
	if c.LayerNormEps <= 0 {
		bad("layer_norm_eps %g", c.LayerNormEps)
	}
	return errors.Join(errs...)
}

// featProjLayerNorm reports whether the feature projection starts with a
// layer norm (always for wav2vec2; HuBERT's feat_proj_layer_norm, default
// true).
func (c *Config) featProjLayerNorm() bool {
	if c.ModelType == "hubert" && c.FeatProjLayerNorm != nil {
		return *c.FeatProjLayerNorm
	}
	return true
}
