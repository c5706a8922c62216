package models

import (
	"errors"
	"fmt"
	"strings"
)

// Layout is how a checkpoint's files are organised.
type Layout string

const (
	// LayoutHF is the Hugging Face transformers layout: config.json and
	// model.safetensors (CLIP, BLIP, HuBERT).
	LayoutHF Layout = "hf"
	// LayoutOpenCLIP is open_clip's hub layout: open_clip_config.json and
	// open_clip_model.safetensors (ResNet-CLIP, CoCa, OpenAI/LAION ViTs).
	LayoutOpenCLIP Layout = "open_clip"
)

// DefaultRevision is the hub revision files are fetched from when an entry
// or file names none.
const DefaultRevision = "main"

// tokenizerRepo holds the standard CLIP byte-level BPE files (vocab.json,
// merges.txt, 49408 ids) that OpenAI's and LAION's open_clip checkpoints
// use but do not ship in transformers form.
const tokenizerRepo = "openai/clip-vit-base-patch32"

// File is one file of a catalogue entry.
type File struct {
	// Name is the file name inside the model directory (and in the hub
	// repository).
	Name string
	// Repo is the hub repository the file comes from when it is not the
	// entry's own (the CLIP tokenizer of open_clip checkpoints).
	Repo string
	// Revision is the revision of Repo; empty means DefaultRevision.
	Revision string
	// Size in bytes; 0 when unknown.
	Size int64
	// SHA256 is the lower-case hex digest; "" when unknown. Only digests
	// taken from the hub for a fixed commit belong here, never guesses
	// (doc.go, "Pinning", says how to fill them).
	SHA256 string
	// Optional files are skipped when the hub does not have them (404).
	Optional bool
}

// Entry is one known checkpoint.
type Entry struct {
	// Name is how the model is called on the command line; for hub models
	// it is the hub repository id ("openai/clip-vit-base-patch32").
	Name string
	// Repo is the hub repository id; Revision its revision (empty means
	// DefaultRevision).
	Repo, Revision string
	Layout         Layout
	// Arch says which encoder runs it: clip-vit, clip-resnet, coca,
	// blip-itm, blip-caption, hubert, whisper.
	Arch string
	// Modalities are the inputs it embeds ("image", "text", "audio").
	Modalities []string
	// EmbedDim is the dimension of the vectors it produces; 0 for models
	// that generate text rather than embed.
	EmbedDim    int
	License     string
	Description string
	// Notes are caveats shown by `rosetta models info`.
	Notes string
	Files []File
}

// Pinned reports whether the catalogue states both the size and the
// sha256 of f, so a pull or an add proves the bytes are the ones named.
// An unpinned file is only checked against the digest recorded in the
// manifest when it was downloaded or added.
func (f File) Pinned() bool { return f.Size > 0 && f.SHA256 != "" }

// PinState is "pinned" or "unpinned", as `rosetta models` prints it.
func (f File) PinState() string {
	if f.Pinned() {
		return "pinned"
	}
	return "unpinned"
}

// Pinned returns how many of e's files are pinned, and how many it has.
func (e *Entry) Pinned() (pinned, total int) {
	for _, f := range e.Files {
		if f.Pinned() {
			pinned++
		}
	}
	return pinned, len(e.Files)
}

// FileRepo returns the hub repository and revision file f is fetched from.
func (e *Entry) FileRepo(f File) (repo, revision string) {
	repo, revision = e.Repo, e.Revision
	if f.Repo != "" {
		repo, revision = f.Repo, f.Revision
	}
	if revision == "" {
		revision = DefaultRevision
	}
	return repo, revision
}

// File returns the entry's file called name.
func (e *Entry) File(name string) (File, bool) {
	for _, f := range e.Files {
		if f.Name == name {
			return f, true
		}
	}
	return File{}, false
}

func clone(e Entry) Entry {
	e.Modalities = append([]string(nil), e.Modalities...)
	e.Files = append([]File(nil), e.Files...)
	return e
}

// Builtin returns a copy of the built-in catalogue. Every file is either
// pinned (size and sha256 taken from the hub for a commit the entry or file
// names as its Revision) or unpinned (0 and "": nothing is claimed, pulls
// record what was downloaded in the manifest). At present every built-in
// file is unpinned: the digests could not be read from the hub when the
// catalogue was written, and none are guessed; doc.go says how to pin.
func Builtin() []Entry {
	out := make([]Entry, len(builtin))
	for i, e := range builtin {
		out[i] = clone(e)
	}
	return out
}

func hfCLIP(name string, dim int, desc string) Entry {
	return Entry{
		Name: name, Repo: name, Layout: LayoutHF, Arch: "clip-vit",
		Modalities: []string{"image", "text"}, EmbedDim: dim,
		License:     "MIT (OpenAI CLIP release, github.com/openai/CLIP)",
		Description: desc,
		Files: []File{
			{Name: "config.json"},
			{Name: "model.safetensors"},
			{Name: "vocab.json"},
			{Name: "merges.txt"},
			{Name: "preprocessor_config.json"},
			{Name: "tokenizer.json", Optional: true},
		},
	}
}

// openCLIPFiles are the files of an open_clip hub checkpoint whose text
// tower uses the standard CLIP BPE.
func openCLIPFiles() []File {
	return []File{
		{Name: "open_clip_config.json"},
		{Name: "open_clip_model.safetensors"},
		{Name: "vocab.json", Repo: tokenizerRepo},
		{Name: "merges.txt", Repo: tokenizerRepo},
	}
}

// whisper is a catalogue entry for one of OpenAI's Whisper checkpoints in
// the transformers layout, for `rosetta transcribe` and `ingest
// --transcribe` (it generates text; it embeds nothing). Every size is read
// from config.json, so tiny to large-v3 (128 mel bins, 51,866 ids) load by
// the same code; large-v3's weights are float16 on the hub and are widened
// to float32 on load.
func whisper(size, desc string, english bool) Entry {
	name := "openai/whisper-" + size
	lang := "multilingual (99 languages; transcribe and translate to English)"
	if english {
		name += ".en"
		lang = "English only"
	}
	return Entry{
		Name: name, Repo: name, Layout: LayoutHF, Arch: "whisper",
		Modalities: []string{"audio"}, EmbedDim: 0,
		License:     "MIT (OpenAI Whisper release, github.com/openai/whisper)",
		Description: "OpenAI Whisper " + desc + ", " + lang + ": timestamped speech transcripts",
		Notes:       "Weights are read from model.safetensors only; if the hub revision lacks it, convert pytorch_model.bin and use `rosetta models add`.",
		Files: []File{
			{Name: "config.json"},
			{Name: "model.safetensors"},
			{Name: "generation_config.json"},
			{Name: "preprocessor_config.json"},
			{Name: "vocab.json"},
			{Name: "merges.txt"},
			{Name: "added_tokens.json"},
			{Name: "tokenizer.json", Optional: true},
			{Name: "normalizer.json", Optional: true},
		},
	}
}

// builtin is the catalogue. All files unpinned (Size 0, SHA256 ""), on
// revision main; pin an entry by setting Revision to a commit and filling
// Size and SHA256 of every file from the hub (doc.go, "Pinning").
var builtin = []Entry{
	hfCLIP("openai/clip-vit-base-patch32", 512,
		"OpenAI CLIP ViT-B/32, 224 px, transformers layout: text and images in one 512-d space"),
	hfCLIP("openai/clip-vit-large-patch14", 768,
		"OpenAI CLIP ViT-L/14, 224 px, transformers layout: text and images in one 768-d space"),
	{
		Name: "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", Repo: "laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
		Layout: LayoutOpenCLIP, Arch: "clip-vit",
		Modalities: []string{"image", "text"}, EmbedDim: 512,
		License:     "MIT",
		Description: "OpenCLIP ViT-B/32 trained on LAION-2B (34B samples seen), open_clip layout",
		Files:       openCLIPFiles(),
	},
	{
		Name: "timm/resnet50_clip.openai", Repo: "timm/resnet50_clip.openai",
		Layout: LayoutOpenCLIP, Arch: "clip-resnet",
		Modalities: []string{"image", "text"}, EmbedDim: 1024,
		License:     "MIT (OpenAI CLIP weights, repackaged by timm)",
		Description: "OpenAI CLIP RN50 (ModifiedResNet image tower), open_clip layout",
		Files:       openCLIPFiles(),
	},
	{
		Name: "Salesforce/blip-itm-base-coco", Repo: "Salesforce/blip-itm-base-coco",
		Layout: LayoutHF, Arch: "blip-itm",
		Modalities: []string{"image", "text"}, EmbedDim: 256,
		License:     "BSD-3-Clause",
		Description: "BLIP base image-text matching (COCO): 256-d contrastive embeddings and an ITM head for re-ranking",
		Notes:       "Weights are read from model.safetensors only; if the hub revision lacks it, convert pytorch_model.bin and use `rosetta models add`.",
		Files: []File{
			{Name: "config.json"},
			{Name: "model.safetensors"},
			{Name: "vocab.txt"},
			{Name: "tokenizer_config.json"},
			{Name: "special_tokens_map.json", Optional: true},
			{Name: "tokenizer.json", Optional: true},
			{Name: "preprocessor_config.json"},
		},
	},
	{
		Name: "Salesforce/blip-image-captioning-base", Repo: "Salesforce/blip-image-captioning-base",
		Layout: LayoutHF, Arch: "blip-caption",
		Modalities: []string{"image"}, EmbedDim: 0,
		License:     "BSD-3-Clause",
		Description: "BLIP base image captioning: generates a caption per image (derived text), no embedding space",
		Files: []File{
			{Name: "config.json"},
			{Name: "model.safetensors"},
			{Name: "vocab.txt"},
			{Name: "tokenizer_config.json"},
			{Name: "special_tokens_map.json", Optional: true},
			{Name: "tokenizer.json", Optional: true},
			{Name: "preprocessor_config.json"},
			{Name: "generation_config.json", Optional: true},
		},
	},
	{
		Name: "laion/CoCa-ViT-B-32-laion2B-s13B-b90k", Repo: "laion/CoCa-ViT-B-32-laion2B-s13B-b90k",
		Layout: LayoutOpenCLIP, Arch: "coca",
		Modalities: []string{"image", "text"}, EmbedDim: 512,
		License:     "MIT",
		Description: "OpenCLIP CoCa ViT-B/32 on LAION-2B: contrastive 512-d embeddings and caption generation",
		Notes:       "Weights are read from open_clip_model.safetensors only; if the hub revision lacks it, convert open_clip_pytorch_model.bin and use `rosetta models add`.",
		Files:       openCLIPFiles(),
	},
	{
		Name: "facebook/hubert-base-ls960", Repo: "facebook/hubert-base-ls960",
		Layout: LayoutHF, Arch: "hubert",
		Modalities: []string{"audio"}, EmbedDim: 768,
		License:     "Apache-2.0",
		Description: "HuBERT base pretrained on LibriSpeech 960 h: 16 kHz speech, mean-pooled 768-d audio embeddings",
		Notes:       "Weights are read from model.safetensors only; if the hub revision lacks it, convert pytorch_model.bin and use `rosetta models add`.",
		Files: []File{
			{Name: "config.json"},
			{Name: "model.safetensors"},
			{Name: "preprocessor_config.json"},
		},
	},
	whisper("tiny", "tiny (39 M parameters)", false),
	whisper("tiny", "tiny (39 M parameters)", true),
	whisper("base", "base (74 M parameters)", false),
	whisper("base", "base (74 M parameters)", true),
	whisper("small", "small (244 M parameters)", false),
	whisper("small", "small (244 M parameters)", true),
	whisper("medium", "medium (769 M parameters)", false),
	whisper("medium", "medium (769 M parameters)", true),
	whisper("large-v3", "large-v3 (1.55 B parameters, 128 mel bins)", false),
}

// validateCatalog reports every problem in a catalogue at once.
func validateCatalog(entries []Entry) error {
	var errs []error
	seen := make(map[string]bool)
	for i, e := range entries {
		where := fmt.Sprintf("catalogue entry %d (%q)", i, e.Name)
		if err := checkName(e.Name); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		key := strings.ToLower(e.Name)
		if seen[key] {
			errs = append(errs, fmt.Errorf("%s: duplicate name", where))
		}
		seen[key] = true
		if e.Repo == "" {
			errs = append(errs, fmt.Errorf("%s: no hub repo", where))
		}
		if e.Layout != LayoutHF && e.Layout != LayoutOpenCLIP {
			errs = append(errs, fmt.Errorf("%s: layout %q is neither %q nor %q", where, e.Layout, LayoutHF, LayoutOpenCLIP))
		}
		if len(e.Files) == 0 {
			errs = append(errs, fmt.Errorf("%s: no files", where))
		}
		files := make(map[string]bool)
		for _, f := range e.Files {
			if err := checkFileName(f.Name); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
			}
			if files[f.Name] {
				errs = append(errs, fmt.Errorf("%s: file %q listed twice", where, f.Name))
			}
			files[f.Name] = true
			if f.SHA256 != "" && !isHexDigest(f.SHA256) {
				errs = append(errs, fmt.Errorf("%s: file %q: sha256 %q is not 64 lower-case hex digits", where, f.Name, f.SHA256))
			}
			if f.Size < 0 {
				errs = append(errs, fmt.Errorf("%s: file %q: negative size", where, f.Name))
			}
		}
		if e.Layout == LayoutHF && !files["config.json"] {
			errs = append(errs, fmt.Errorf("%s: hf layout without config.json", where))
		}
		if e.Layout == LayoutOpenCLIP && !files["open_clip_config.json"] {
			errs = append(errs, fmt.Errorf("%s: open_clip layout without open_clip_config.json", where))
		}
	}
	return errors.Join(errs...)
}

func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
