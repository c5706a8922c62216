package models

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Inspection is what a model directory's config files say about the
// checkpoint, read the way the encoders' loaders read them (the same keys,
// the same defaults for absent keys) without opening the weights.
type Inspection struct {
	Dir    string
	Layout Layout
	// Arch is the encoder family in the catalogue's terms: clip-vit,
	// clip-resnet, coca, blip-itm, blip-caption, hubert, wav2vec2 or whisper; ""
	// when the config names no family this package knows.
	Arch string
	// ArchFrom says what Arch was read from, e.g.
	// `config.json model_type "clip", architectures [CLIPModel]`.
	ArchFrom string
	// EmbedDim is the width of the vectors the loader would produce: CLIP
	// projection_dim (default 512), BLIP image_text_hidden_size (default
	// 256), HuBERT/wav2vec2 hidden_size, open_clip embed_dim. 0 for a
	// captioning-only family, or when the config does not say.
	EmbedDim int
	// DimFrom names the key EmbedDim was read from, with "(absent: the
	// default)" when the loader's default applies.
	DimFrom string
	// Files are the regular files at the top of Dir, sorted.
	Files []string
}

// archNames are the families as messages name them.
var archNames = map[string]string{
	"clip-vit":     "CLIP (ViT image tower)",
	"clip-resnet":  "CLIP (ResNet image tower)",
	"coca":         "CoCa",
	"blip-itm":     "BLIP image-text retrieval",
	"blip-caption": "BLIP captioning",
	"hubert":       "HuBERT",
	"wav2vec2":     "wav2vec2",
	"whisper":      "Whisper (speech to text)",
}

// ArchName returns a readable name for a catalogue Arch value.
func ArchName(arch string) string {
	if n, ok := archNames[arch]; ok {
		return n
	}
	if arch == "" {
		return "no known family"
	}
	return arch
}

func layoutName(l Layout) string {
	switch l {
	case LayoutHF:
		return "transformers (config.json)"
	case LayoutOpenCLIP:
		return "open_clip (open_clip_config.json)"
	}
	return string(l)
}

// tokenizerFiles are the file names that hold a tokenizer; a catalogue
// entry's required ones must be present for its encoder to read text.
var tokenizerFiles = []string{"vocab.json", "merges.txt", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}

// Inspect reads dir's config files. It fails with ErrLayout when dir does
// not look like a checkpoint in a known layout, and with an error naming
// the file when a config file is not valid JSON.
func Inspect(dir string) (*Inspection, error) {
	files, _, err := scanSource(dir)
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	layout, err := detectLayout(dir, files)
	if err != nil {
		return nil, err
	}
	in := &Inspection{Dir: dir, Layout: layout, Files: files}
	switch layout {
	case LayoutHF:
		err = in.readHF(filepath.Join(dir, "config.json"))
	case LayoutOpenCLIP:
		err = in.readOpenCLIP(filepath.Join(dir, "open_clip_config.json"))
	}
	if err != nil {
		return nil, err
	}
	return in, nil
}

func readConfig(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("models: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return tag(ErrLayout, "%s is not a valid config: %v", path, err)
	}
	return nil
}

// readHF follows encoders.Open: model_type picks the family (clip, blip,
// hubert, wav2vec2); a BLIP checkpoint whose architectures name
// BlipForConditionalGeneration is the captioning model.
func (in *Inspection) readHF(path string) error {
	var h struct {
		ModelType       string   `json:"model_type"`
		Architectures   []string `json:"architectures"`
		ProjectionDim   *int     `json:"projection_dim"`
		ImageTextHidden *int     `json:"image_text_hidden_size"`
		HiddenSize      *int     `json:"hidden_size"`
	}
	if err := readConfig(path, &h); err != nil {
		return err
	}
	in.ArchFrom = fmt.Sprintf("config.json model_type %q", h.ModelType)
	if len(h.Architectures) > 0 {
		in.ArchFrom += fmt.Sprintf(", architectures [%s]", strings.Join(h.Architectures, " "))
	}
	dim := func(key string, p *int, def int) {
		in.DimFrom = "config.json " + key
		switch {
		case p != nil:
			in.EmbedDim = *p
		case def > 0:
			in.EmbedDim, in.DimFrom = def, in.DimFrom+" (absent: the default)"
		default:
			in.DimFrom += " (absent)"
		}
	}
	switch h.ModelType {
	case "clip":
		in.Arch = "clip-vit"
		dim("projection_dim", h.ProjectionDim, 512)
	case "blip":
		if slices.Contains(h.Architectures, "BlipForConditionalGeneration") {
			in.Arch = "blip-caption"
			break
		}
		in.Arch = "blip-itm"
		dim("image_text_hidden_size", h.ImageTextHidden, 256)
	case "hubert", "wav2vec2":
		// The HuBERT loader has no default for hidden_size: it refuses a
		// config without one.
		in.Arch = h.ModelType
		dim("hidden_size", h.HiddenSize, 0)
	case "whisper":
		// Whisper generates text: it has no embedding dimension.
		in.Arch = "whisper"
	}
	return nil
}

// readOpenCLIP follows encoders.Open and the clip and coca loaders: a
// multimodal_cfg makes a CoCa, a list of vision_cfg.layers a ModifiedResNet
// CLIP, anything else a ViT CLIP; the width is model_cfg.embed_dim (the
// bare model config, as open_clip's model_configs hold it, is accepted
// too).
func (in *Inspection) readOpenCLIP(path string) error {
	var outer struct {
		ModelCfg json.RawMessage `json:"model_cfg"`
	}
	if err := readConfig(path, &outer); err != nil {
		return err
	}
	where := "open_clip_config.json model_cfg"
	var m struct {
		EmbedDim  *int            `json:"embed_dim"`
		MM        json.RawMessage `json:"multimodal_cfg"`
		VisionCfg struct {
			Layers        json.RawMessage `json:"layers"`
			TimmModelName *string         `json:"timm_model_name"`
		} `json:"vision_cfg"`
	}
	raw := []byte(outer.ModelCfg)
	if len(raw) == 0 || string(raw) == "null" {
		where = "open_clip_config.json"
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("models: %w", err)
		}
		raw = b
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return tag(ErrLayout, "%s: %s is not a valid config: %v", path, where, err)
	}
	var resnet []int
	switch {
	case len(m.MM) > 0 && string(m.MM) != "null":
		in.Arch, in.ArchFrom = "coca", where+" has a multimodal_cfg"
	case json.Unmarshal(m.VisionCfg.Layers, &resnet) == nil && len(resnet) > 0:
		in.Arch, in.ArchFrom = "clip-resnet", fmt.Sprintf("%s vision_cfg.layers %v (a ModifiedResNet)", where, resnet)
	case m.VisionCfg.TimmModelName != nil && *m.VisionCfg.TimmModelName != "":
		in.ArchFrom = fmt.Sprintf("%s vision_cfg.timm_model_name %q (timm towers are not supported)", where, *m.VisionCfg.TimmModelName)
	default:
		in.Arch, in.ArchFrom = "clip-vit", where+" (a ViT image tower, no multimodal_cfg)"
	}
	in.DimFrom = where + " embed_dim"
	if m.EmbedDim != nil {
		in.EmbedDim = *m.EmbedDim
	} else {
		in.DimFrom += " (absent)"
	}
	return nil
}

// Mismatch is one way a model directory differs from its catalogue entry.
type Mismatch struct {
	// What differs: "layout", "architecture", "embedding dimension" or
	// "tokenizer files".
	What string
	// Want is what the catalogue says, Got what the directory has.
	Want, Got string
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%s: the catalogue says %s, the directory has %s", m.What, m.Want, m.Got)
}

// Compare lists every way in differs from e: the layout, the family (with
// what it was read from), the embedding dimension (when e has one) and
// the tokenizer files e requires. It returns nil when in matches.
func (e *Entry) Compare(in *Inspection) []Mismatch {
	var out []Mismatch
	if in.Layout != e.Layout {
		out = append(out, Mismatch{What: "layout", Want: layoutName(e.Layout), Got: layoutName(in.Layout)})
	}
	if in.Arch != e.Arch {
		out = append(out, Mismatch{What: "architecture", Want: ArchName(e.Arch),
			Got: fmt.Sprintf("%s (%s)", ArchName(in.Arch), in.ArchFrom)})
	}
	if e.EmbedDim > 0 && in.EmbedDim != e.EmbedDim {
		got := "no dimension"
		if in.EmbedDim > 0 {
			got = fmt.Sprint(in.EmbedDim)
		}
		if in.DimFrom != "" {
			got += " (" + in.DimFrom + ")"
		}
		out = append(out, Mismatch{What: "embedding dimension", Want: fmt.Sprint(e.EmbedDim), Got: got})
	}
	var want, lack []string
	for _, f := range e.Files {
		if f.Optional || !slices.Contains(tokenizerFiles, f.Name) {
			continue
		}
		want = append(want, f.Name)
		if !slices.Contains(in.Files, f.Name) {
			lack = append(lack, f.Name)
		}
	}
	if len(lack) > 0 {
		out = append(out, Mismatch{What: "tokenizer files", Want: strings.Join(want, ", "),
			Got: "no " + strings.Join(lack, ", ")})
	}
	return out
}

// mismatchError is the error Add returns for a directory that does not
// match its catalogue entry.
func mismatchError(name, dir string, ms []Mismatch) error {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return tag(ErrMismatch, "%s does not match the catalogue entry %s: %s. Register it under a name of its own (`rosetta models add NEW-NAME --from %s`), fetch the right checkpoint, or pass --force to register it as %s anyway",
		dir, name, strings.Join(parts, "; "), dir, name)
}
