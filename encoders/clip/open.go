package clip

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"rosetta/encoders/nn"
	"rosetta/encoders/safetensors"
)

// Options tune Load.
type Options struct {
	// Weights names the checkpoint file inside the directory; empty picks
	// model.safetensors, model.safetensors.index.json, model.fp16.safetensors
	// (HF) or open_clip_model.safetensors (open_clip), in that order.
	Weights string
}

// Load reads a CLIP model directory in the HF transformers layout
// (config.json + model.safetensors) or open_clip's (open_clip_config.json +
// open_clip_model.safetensors).
func Load(dir string, opt *Options) (*Model, error) {
	var o Options
	if opt != nil {
		o = *opt
	}
	if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		cfg, err := parseHFConfig(b)
		if err != nil {
			return nil, err
		}
		path, err := weightsPath(dir, o.Weights, "model.safetensors", "model.safetensors.index.json", "model.fp16.safetensors")
		if err != nil {
			return nil, err
		}
		return loadWith(cfg, path, buildHF)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "open_clip_config.json")); err == nil {
		cfg, resnet, err := parseOpenCLIPConfig(b)
		if err != nil {
			return nil, err
		}
		path, err := weightsPath(dir, o.Weights, "open_clip_model.safetensors", "open_clip_pytorch_model.safetensors")
		if err != nil {
			return nil, err
		}
		return loadWith(cfg, path, func(l *loader, c Config) *Model { return buildOpenCLIP(l, c, resnet) })
	}
	return nil, fmt.Errorf("%w: %s has neither config.json (transformers layout) nor open_clip_config.json (open_clip layout)", ErrNoModel, dir)
}

func weightsPath(dir, explicit string, names ...string) (string, error) {
	if explicit != "" {
		names = []string{explicit}
	}
	return checkpointPath(dir, names...)
}

func loadWith(cfg Config, path string, build func(*loader, Config) *Model) (*Model, error) {
	ck, err := safetensors.OpenCheckpoint(path)
	if err != nil {
		return nil, err
	}
	// Weights are converted to float32 and packed; the mapping is not kept.
	defer ck.Close()
	l := &loader{ck: ck}
	m := build(l, cfg)
	if err := l.err(); err != nil {
		return nil, fmt.Errorf("clip: %s: %w", path, err)
	}
	return m, nil
}

func activation(l *loader, name string) nn.Activation {
	a, err := nn.ParseActivation(name)
	if err != nil {
		l.errs = append(l.errs, err)
		return nn.QuickGELU
	}
	return a
}

func logitScale(l *loader) float32 {
	v := l.tensor("logit_scale")
	if len(v) == 0 {
		return 1
	}
	return float32(math.Exp(float64(v[0])))
}

// buildHF maps transformers' CLIPModel names.
func buildHF(l *loader, c Config) *Model {
	vw, tw := c.Vision.Width, c.Text.Width
	g := c.ImageSize / c.Patch
	v := &ViT{cfg: c, grid: g, channels: 3}
	pw := l.tensor("vision_model.embeddings.patch_embedding.weight", vw, 3, c.Patch, c.Patch)
	v.patch, _ = nn.NewLinear(pw, nil, vw, 3*c.Patch*c.Patch)
	v.class = l.tensor("vision_model.embeddings.class_embedding", vw)
	v.pos = l.tensor("vision_model.embeddings.position_embedding.weight", g*g+1, vw)
	v.preLN = l.layerNorm("vision_model.pre_layrnorm", vw, c.Vision.Eps)
	v.blocks = hfBlocks(l, "vision_model.encoder.layers", c.Vision)
	v.postLN = l.layerNorm("vision_model.post_layernorm", vw, c.Vision.Eps)
	v.proj = l.linear("visual_projection", c.EmbedDim, vw, false)

	t := &Text{cfg: c}
	t.tokEmb = l.tensor("text_model.embeddings.token_embedding.weight", c.Vocab, tw)
	t.pos = l.tensor("text_model.embeddings.position_embedding.weight", c.Context, tw)
	t.blocks = hfBlocks(l, "text_model.encoder.layers", c.Text)
	t.finalLN = l.layerNorm("text_model.final_layer_norm", tw, c.Text.Eps)
	t.proj = l.linear("text_projection", c.EmbedDim, tw, false)
	return &Model{Cfg: c, Vision: v, Text: t, LogitScale: logitScale(l)}
}

func hfBlocks(l *loader, prefix string, tc TowerConfig) []nn.Block {
	act := activation(l, tc.Act)
	w := tc.Width
	blocks := make([]nn.Block, tc.Layers)
	for i := range blocks {
		p := fmt.Sprintf("%s.%d", prefix, i)
		b := &blocks[i]
		b.LN1 = l.layerNorm(p+".layer_norm1", w, tc.Eps)
		b.LN2 = l.layerNorm(p+".layer_norm2", w, tc.Eps)
		b.Attn = nn.Attention{Dim: w, Heads: tc.Heads,
			Q:   l.linear(p+".self_attn.q_proj", w, w, true),
			K:   l.linear(p+".self_attn.k_proj", w, w, true),
			V:   l.linear(p+".self_attn.v_proj", w, w, true),
			Out: l.linear(p+".self_attn.out_proj", w, w, true)}
		b.Attn.Init()
		b.FC1 = l.linear(p+".mlp.fc1", tc.MLP, w, true)
		b.FC2 = l.linear(p+".mlp.fc2", w, tc.MLP, true)
		b.Act = act
	}
	return blocks
}

// buildOpenCLIP maps open_clip's CLIP names (OpenAI/LAION checkpoints),
// with a ModifiedResNet image tower when resnet gives its stage depths.
func buildOpenCLIP(l *loader, c Config, resnet []int) *Model {
	tw := c.Text.Width
	t := &Text{cfg: c}
	t.tokEmb = l.tensor("token_embedding.weight", c.Vocab, tw)
	t.pos = l.tensor("positional_embedding", c.Context, tw)
	t.blocks = openCLIPBlocks(l, "transformer.resblocks", c.Text)
	t.finalLN = l.layerNorm("ln_final", tw, c.Text.Eps)
	t.proj = projection(l, "text_projection", tw, c.EmbedDim)
	m := &Model{Cfg: c, Text: t, LogitScale: logitScale(l)}
	if resnet != nil {
		m.ResNet = buildResNet(l, c, resnet)
		return m
	}
	m.Vision = buildOpenCLIPViT(l, c)
	return m
}

func buildOpenCLIPViT(l *loader, c Config) *ViT {
	vw := c.Vision.Width
	g := c.ImageSize / c.Patch
	v := &ViT{cfg: c, grid: g, channels: 3}
	pw := l.tensor("visual.conv1.weight", vw, 3, c.Patch, c.Patch)
	v.patch, _ = nn.NewLinear(pw, nil, vw, 3*c.Patch*c.Patch)
	v.class = l.tensor("visual.class_embedding", vw)
	v.pos = l.tensor("visual.positional_embedding", g*g+1, vw)
	v.preLN = l.layerNorm("visual.ln_pre", vw, c.Vision.Eps)
	v.blocks = openCLIPBlocks(l, "visual.transformer.resblocks", c.Vision)
	v.postLN = l.layerNorm("visual.ln_post", vw, c.Vision.Eps)
	v.proj = projection(l, "visual.proj", vw, c.EmbedDim)
	return v
}

// projection loads an open_clip projection stored [in, out] (x @ P).
func projection(l *loader, name string, in, out int) *nn.Linear {
	w := l.tensor(name, in, out)
	p, err := nn.NewLinearInOut(w, nil, in, out)
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("%s: %w", name, err))
		p, _ = nn.NewLinearInOut(make([]float32, in*out), nil, in, out)
	}
	return p
}

func openCLIPBlocks(l *loader, prefix string, tc TowerConfig) []nn.Block {
	act := activation(l, tc.Act)
	w := tc.Width
	blocks := make([]nn.Block, tc.Layers)
	for i := range blocks {
		p := fmt.Sprintf("%s.%d", prefix, i)
		b := &blocks[i]
		b.LN1 = l.layerNorm(p+".ln_1", w, tc.Eps)
		b.LN2 = l.layerNorm(p+".ln_2", w, tc.Eps)
		qkvW := l.tensor(p+".attn.in_proj_weight", 3*w, w)
		qkvB := l.tensor(p+".attn.in_proj_bias", 3*w)
		qkv, err := nn.NewLinear(qkvW, qkvB, 3*w, w)
		if err != nil {
			l.errs = append(l.errs, err)
		}
		b.Attn = nn.Attention{Dim: w, Heads: tc.Heads, QKV: qkv, Out: l.linear(p+".attn.out_proj", w, w, true)}
		b.Attn.Init()
		b.FC1 = l.linear(p+".mlp.c_fc", tc.MLP, w, true)
		b.FC2 = l.linear(p+".mlp.c_proj", w, tc.MLP, true)
		b.Act = act
	}
	return blocks
}

// NewRandom builds a model of the given shape with random weights, through
// the same construction code as Load. It is for benchmarks of full-size
// architectures where no checkpoint can be downloaded; resnet gives the
// stage depths of a ModifiedResNet image tower (nil for a ViT).
func NewRandom(cfg Config, resnet []int, seed uint64) (*Model, error) {
	if resnet == nil {
		if err := cfg.validate(); err != nil {
			return nil, err
		}
	} else if err := cfg.validateText(); err != nil {
		return nil, err
	}
	l := &loader{rnd: rand.New(rand.NewPCG(seed, 1))}
	var m *Model
	if cfg.Layout == "hf" {
		m = buildHF(l, cfg)
	} else {
		m = buildOpenCLIP(l, cfg, resnet)
	}
	return m, l.err()
}

// ViTB32 is the shape of openai/clip-vit-base-patch32 (HF layout).
func ViTB32() Config {
	return Config{Layout: "hf", EmbedDim: 512, ImageSize: 224, Patch: 32, Context: 77, Vocab: 49408, EOSArgmax: true,
		Vision: TowerConfig{Width: 768, Layers: 12, Heads: 12, MLP: 3072, Eps: 1e-5, Act: "quick_gelu"},
		Text:   TowerConfig{Width: 512, Layers: 12, Heads: 8, MLP: 2048, Eps: 1e-5, Act: "quick_gelu"}}
}

// RN50 is the shape of OpenAI's RN50 in open_clip's layout; its image
// tower's stage depths are RN50Layers.
func RN50() Config {
	return Config{Layout: "open_clip", EmbedDim: 1024, ImageSize: 224, Context: 77, Vocab: 49408, EOSArgmax: true,
		Vision: TowerConfig{Width: 64, Heads: 32},
		Text:   TowerConfig{Width: 512, Layers: 12, Heads: 8, MLP: 2048, Eps: 1e-5, Act: "quick_gelu"}}
}

// RN50Layers are RN50's bottleneck counts per stage.
var RN50Layers = []int{3, 4, 6, 3}
