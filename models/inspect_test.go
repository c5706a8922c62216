package models

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rosetta/internal/fixtures"
)

// Every fixture model is placed in the family, layout and dimension that
// its loader gives it.
func TestInspectFixtures(t *testing.T) {
	for _, c := range []struct {
		fixture string
		layout  Layout
		arch    string
		dim     int
	}{
		{"clip-vit", LayoutHF, "clip-vit", 16},
		{"clip-vit-openclip", LayoutOpenCLIP, "clip-vit", 16},
		{"clip-resnet", LayoutOpenCLIP, "clip-resnet", 16},
		{"coca", LayoutOpenCLIP, "coca", 32},
		{"blip-itm", LayoutHF, "blip-itm", 16},
		{"blip-caption", LayoutHF, "blip-caption", 0},
		{"hubert", LayoutHF, "hubert", 32},
		{"wav2vec2", LayoutHF, "wav2vec2", 32},
		{"whisper", LayoutHF, "whisper", 0},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			in, err := Inspect(fixtures.Dir(t, c.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if in.Layout != c.layout || in.Arch != c.arch || in.EmbedDim != c.dim {
				t.Fatalf("got %s %s dim %d (%s; %s), want %s %s dim %d", in.Layout, in.Arch, in.EmbedDim, in.ArchFrom, in.DimFrom, c.layout, c.arch, c.dim)
			}
		})
	}
}

func TestInspectDefaultsAndErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("model.safetensors", "w")
	// transformers' defaults apply to absent keys, as in the loaders.
	for _, c := range []struct {
		config string
		arch   string
		dim    int
	}{
		{`{"model_type": "clip"}`, "clip-vit", 512},
		{`{"model_type": "blip", "architectures": ["BlipForImageTextRetrieval"]}`, "blip-itm", 256},
		{`{"model_type": "hubert"}`, "hubert", 0},
		{`{"model_type": "bert"}`, "", 0},
	} {
		write("config.json", c.config)
		in, err := Inspect(dir)
		if err != nil || in.Arch != c.arch || in.EmbedDim != c.dim {
			t.Errorf("%s: %+v, %v; want %s dim %d", c.config, in, err, c.arch, c.dim)
		}
	}
	write("config.json", `{"model_type": `)
	if _, err := Inspect(dir); !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("truncated config: %v", err)
	}
	// The bare open_clip model config (model_configs/*.json) is read too.
	os.Remove(filepath.Join(dir, "config.json"))
	write("open_clip_config.json", `{"embed_dim": 1024, "vision_cfg": {"layers": [3, 4, 6, 3]}}`)
	if in, err := Inspect(dir); err != nil || in.Arch != "clip-resnet" || in.EmbedDim != 1024 {
		t.Errorf("bare open_clip config: %+v, %v", in, err)
	}
}

// The case: the tiny 16-d CLIP fixture registered as
// openai/clip-vit-base-patch32 (512-d) is refused with what differs, and
// so are other families; under a name of its own it is accepted.
func TestAddRefusesMismatchedCatalogModel(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		fixture, name string
		tokenizer     bool // give the directory the CLIP tokenizer files
		want          []string
	}{
		{"clip-vit", "openai/clip-vit-base-patch32", true,
			[]string{"embedding dimension: the catalogue says 512, the directory has 16 (config.json projection_dim)"}},
		{"clip-vit", "openai/clip-vit-base-patch32", false,
			[]string{"embedding dimension", "tokenizer files: the catalogue says vocab.json, merges.txt, the directory has no vocab.json, merges.txt"}},
		{"hubert", "openai/clip-vit-base-patch32", true,
			[]string{"architecture: the catalogue says CLIP (ViT image tower), the directory has HuBERT (config.json model_type \"hubert\"", "hidden_size"}},
		{"coca", "openai/clip-vit-base-patch32", true,
			[]string{"layout: the catalogue says transformers (config.json), the directory has open_clip (open_clip_config.json)", "architecture", "CoCa"}},
		{"clip-vit-openclip", "timm/resnet50_clip.openai", true,
			[]string{"architecture: the catalogue says CLIP (ResNet image tower), the directory has CLIP (ViT image tower)", "1024", "embed_dim"}},
		{"blip-caption", "Salesforce/blip-itm-base-coco", false,
			[]string{"BLIP image-text retrieval", "BLIP captioning", "BlipForConditionalGeneration", "vocab.txt"}},
		{"wav2vec2", "facebook/hubert-base-ls960", false,
			[]string{"the catalogue says HuBERT, the directory has wav2vec2", "768", "32"}},
	} {
		t.Run(c.fixture+" as "+c.name, func(t *testing.T) {
			src := copyDir(t, fixtures.Dir(t, c.fixture))
			if c.tokenizer {
				addTokenizer(t, src)
			}
			l, err := Open(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = l.Add(ctx, c.name, src, nil)
			if !errors.Is(err, ErrMismatch) {
				t.Fatalf("err = %v, want ErrMismatch", err)
			}
			for _, s := range append(c.want, "--force", src) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not say %q:\n%v", s, err)
				}
			}
			if ents, _ := os.ReadDir(l.Dir()); len(ents) != 0 {
				t.Fatalf("left behind: %v", ents)
			}
			if m, _ := l.Get(c.name); m.State != StateAbsent {
				t.Fatalf("state %q after a refused add", m.State)
			}
			// Under a name of its own only the layout is checked.
			if _, err := l.Add(ctx, "mine/"+c.fixture, src, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Verify(ctx, "mine/"+c.fixture); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func addTokenizer(t *testing.T, dir string) {
	t.Helper()
	tok := fixtures.Dir(t, "tokenizer-clip")
	for _, f := range []string{"vocab.json", "merges.txt"} {
		b, err := os.ReadFile(filepath.Join(tok, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// --force registers a mismatched directory, says what differs, records it
// in the manifest, and verify keeps failing it with the reason.
func TestAddForceAndVerifyMismatch(t *testing.T) {
	ctx := context.Background()
	src := copyDir(t, fixtures.Dir(t, "clip-vit"))
	addTokenizer(t, src)
	l, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	const name = "openai/clip-vit-base-patch32"
	res, err := l.Add(ctx, name, src, &AddOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Mismatches) != 1 || res.Mismatches[0].What != "embedding dimension" || !res.Manifest.Forced {
		t.Fatalf("mismatches %v, forced %v", res.Mismatches, res.Manifest.Forced)
	}
	rep, err := l.Verify(ctx, name)
	if !errors.Is(err, ErrVerify) || !errors.Is(err, ErrMismatch) || rep == nil {
		t.Fatalf("verify: %v", err)
	}
	if rep.Failed() != 0 || len(rep.Mismatches) != 1 || !rep.Forced {
		t.Fatalf("report: %d failed files, mismatches %v, forced %v", rep.Failed(), rep.Mismatches, rep.Forced)
	}
	for _, s := range []string{name, "512", "16", "projection_dim", "--force"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("verify error does not say %q: %v", s, err)
		}
	}
}

// A directory registered before add checked it (here: under a catalogue
// whose entry described it) fails verify against the real entry.
func TestVerifyReportsMismatchedDirectory(t *testing.T) {
	ctx := context.Background()
	src := copyDir(t, fixtures.Dir(t, "clip-vit"))
	addTokenizer(t, src)
	dir := t.TempDir()
	const name = "openai/clip-vit-base-patch32"
	old := Builtin()
	for i := range old {
		if old[i].Name == name {
			old[i].EmbedDim = 16
		}
	}
	l, err := Open(dir, &Options{Catalog: old})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Add(ctx, name, src, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Verify(ctx, name); err != nil {
		t.Fatal(err)
	}
	l, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := l.Verify(ctx, name)
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "embedding dimension: the catalogue says 512, the directory has 16") {
		t.Fatalf("verify: %v", err)
	}
	if rep.Failed() != 0 || rep.Forced {
		t.Fatalf("report %+v", rep)
	}

	// A model of its own whose config went missing no longer has a known
	// layout: the missing file and the layout are both reported.
	if _, err := l.Add(ctx, "mine/clip", src, nil); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(l.Path("mine/clip"), "config.json"))
	rep, err = l.Verify(ctx, "mine/clip")
	checkFailed(t, rep, err, map[string]CheckStatus{"config.json": CheckMissing})
	if !errors.Is(rep.LayoutErr, ErrLayout) || !strings.Contains(err.Error(), "does not look like a model") {
		t.Fatalf("layout: %v; err %v", rep.LayoutErr, err)
	}
}
