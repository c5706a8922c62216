package models

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeModelDir writes a minimal directory in the hf layout.
func fakeModelDir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte("weights"), 0o644)
}

func TestResolve(t *testing.T) {
	t.Setenv(EnvHubURL, "")
	t.Setenv(EnvModels, "")
	modelsDir := t.TempDir()
	l, err := Open(modelsDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// An added model.
	src := t.TempDir()
	fakeModelDir(t, src)
	if _, err := l.Add(context.Background(), "acme/tiny", src, nil); err != nil {
		t.Fatal(err)
	}
	// Files put by hand into a catalogue model's directory.
	byHand := filepath.Join(modelsDir, "openai--clip-vit-large-patch14")
	fakeModelDir(t, byHand)
	// A directory in place of a model that does not look like one.
	os.MkdirAll(filepath.Join(modelsDir, "Salesforce--blip-itm-base-coco"), 0o755)

	const clip = "openai/clip-vit-base-patch32"
	for _, c := range []struct {
		in       string
		want     string
		err      error
		contains []string
	}{
		{in: src, want: src},
		{in: "openai/CLIP-ViT-Large-Patch14", want: byHand},
		{in: "acme/tiny", want: filepath.Join(modelsDir, "acme--tiny")},
		{in: clip, err: ErrNotInstalled, contains: []string{
			"rosetta models pull --models " + modelsDir + " " + clip,
			filepath.Join(modelsDir, "openai--clip-vit-base-patch32"),
			"https://huggingface.co/openai/clip-vit-base-patch32/resolve/main/model.safetensors",
			"https://huggingface.co/openai/clip-vit-base-patch32/resolve/main/vocab.json",
			"tokenizer.json (optional)",
			"rosetta models add --models " + modelsDir + " " + clip + " --from DIR",
		}},
		{in: "laion/CoCa-ViT-B-32-laion2B-s13B-b90k", err: ErrNotInstalled, contains: []string{
			"/laion/CoCa-ViT-B-32-laion2B-s13B-b90k/resolve/main/open_clip_model.safetensors",
			"/openai/clip-vit-base-patch32/resolve/main/merges.txt",
		}},
		{in: "nobody/nothing", err: ErrUnknownModel, contains: []string{"rosetta models list", "rosetta models add"}},
		{in: filepath.Join(src, "missing"), err: ErrNoDirectory, contains: []string{"does not exist"}},
		{in: "./no/such/dir", err: ErrNoDirectory},
		{in: filepath.Join(src, "config.json"), err: ErrNoDirectory, contains: []string{"is a file"}},
		{in: "Salesforce/blip-itm-base-coco", err: ErrLayout, contains: []string{"config.json", ".safetensors"}},
		{in: "", err: ErrUnknownModel},
	} {
		got, err := l.Resolve(c.in)
		if c.err == nil {
			if err != nil || got != c.want {
				t.Errorf("Resolve(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
			continue
		}
		if !errors.Is(err, c.err) {
			t.Errorf("Resolve(%q) = %q, %v; want %v", c.in, got, err, c.err)
			continue
		}
		for _, s := range c.contains {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("Resolve(%q) error does not contain %q:\n%v", c.in, s, err)
			}
		}
	}

	// The package-level Resolve with $ROSETTA_MODELS as the default
	// directory: the suggested commands need no --models flag.
	t.Setenv(EnvModels, modelsDir)
	if dir, err := Resolve("", "acme/tiny"); err != nil || dir != filepath.Join(modelsDir, "acme--tiny") {
		t.Fatalf("Resolve = %q, %v", dir, err)
	}
	_, err = Resolve("", clip)
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "rosetta models pull "+clip+"\n") {
		t.Fatalf("Resolve(%q): %v", clip, err)
	}
	t.Setenv(EnvHubURL, "http://mirror.example/hub/")
	_, err = Resolve(modelsDir, clip)
	if !strings.Contains(err.Error(), "http://mirror.example/hub/openai/clip-vit-base-patch32/resolve/main/config.json") {
		t.Fatalf("Resolve with %s: %v", EnvHubURL, err)
	}
}

func TestListStates(t *testing.T) {
	modelsDir := t.TempDir()
	l, err := Open(modelsDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	fakeModelDir(t, src)
	if _, err := l.Add(context.Background(), "acme/tiny", src, &AddOptions{Link: true}); err != nil {
		t.Fatal(err)
	}
	fakeModelDir(t, filepath.Join(modelsDir, "openai--clip-vit-large-patch14"))
	os.MkdirAll(filepath.Join(modelsDir, stagingName("facebook/hubert-base-ls960")), 0o755)
	ms, err := l.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(Builtin())+1 {
		t.Fatalf("%d models listed", len(ms))
	}
	states := make(map[string]State)
	for _, m := range ms {
		states[m.Name] = m.State
	}
	for name, want := range map[string]State{
		"acme/tiny":                     StateInstalled,
		"openai/clip-vit-large-patch14": StateUnmanaged,
		"facebook/hubert-base-ls960":    StatePartial,
		"openai/clip-vit-base-patch32":  StateAbsent,
	} {
		if states[name] != want {
			t.Errorf("%s: state %q, want %q", name, states[name], want)
		}
	}
	if last := ms[len(ms)-1]; last.Name != "acme/tiny" || last.Entry != nil || !last.Manifest.Linked {
		t.Fatalf("last listed %+v", last)
	}
	if _, err := l.Get("nobody/nothing"); !errors.Is(err, ErrUnknownModel) {
		t.Fatalf("Get unknown: %v", err)
	}
}

func TestCatalog(t *testing.T) {
	cat := Builtin()
	if err := validateCatalog(cat); err != nil {
		t.Fatal(err)
	}
	want := map[string]Layout{
		"openai/clip-vit-base-patch32":          LayoutHF,
		"openai/clip-vit-large-patch14":         LayoutHF,
		"laion/CLIP-ViT-B-32-laion2B-s34B-b79K": LayoutOpenCLIP,
		"timm/resnet50_clip.openai":             LayoutOpenCLIP,
		"Salesforce/blip-itm-base-coco":         LayoutHF,
		"Salesforce/blip-image-captioning-base": LayoutHF,
		"laion/CoCa-ViT-B-32-laion2B-s13B-b90k": LayoutOpenCLIP,
		"facebook/hubert-base-ls960":            LayoutHF,
	}
	l, err := Open(t.TempDir(), &Options{BaseURL: DefaultHubURL})
	if err != nil {
		t.Fatal(err)
	}
	for name, layout := range want {
		e, ok := l.Lookup(name)
		if !ok || e.Layout != layout {
			t.Errorf("%s: found %v, layout %q, want %q", name, ok, e.Layout, layout)
			continue
		}
		weights := "model.safetensors"
		if layout == LayoutOpenCLIP {
			weights = "open_clip_model.safetensors"
			for _, tok := range []string{"vocab.json", "merges.txt"} {
				f, ok := e.File(tok)
				if repo, _ := e.FileRepo(f); !ok || repo != "openai/clip-vit-base-patch32" {
					t.Errorf("%s: %s from %q", name, tok, repo)
				}
			}
		}
		f, ok := e.File(weights)
		if !ok || f.Optional {
			t.Errorf("%s: no required %s", name, weights)
		}
		if u := l.URL(&e, f); u != DefaultHubURL+"/"+name+"/resolve/main/"+weights {
			t.Errorf("%s: URL %s", name, u)
		}
		if e.License == "" || len(e.Modalities) == 0 || e.Arch == "" {
			t.Errorf("%s: incomplete entry %+v", name, e)
		}
	}
	// Every file is pinned for a commit, or claims nothing at all.
	for _, e := range cat {
		for _, f := range e.Files {
			_, rev := e.FileRepo(f)
			switch {
			case f.Pinned():
				if len(rev) != 40 || !isHexDigest(rev+strings.Repeat("0", 24)) {
					t.Errorf("%s: %s is pinned for revision %q; pin digests to a 40-hex commit, never a branch", e.Name, f.Name, rev)
				}
				if f.PinState() != "pinned" {
					t.Errorf("%s: %s: PinState %q", e.Name, f.Name, f.PinState())
				}
			case f.Size != 0 || f.SHA256 != "":
				t.Errorf("%s: %s is half pinned (size %d, sha256 %q): state both or neither", e.Name, f.Name, f.Size, f.SHA256)
			case f.PinState() != "unpinned":
				t.Errorf("%s: %s: PinState %q", e.Name, f.Name, f.PinState())
			}
		}
	}
	// Builtin returns copies.
	cat[0].Files[0].Name = "changed"
	if Builtin()[0].Files[0].Name == "changed" {
		t.Fatal("Builtin shares its slices")
	}
}

func TestOptionsValidate(t *testing.T) {
	_, err := Open(t.TempDir(), &Options{
		BaseURL: "ftp://x",
		Retries: -1,
		Catalog: []Entry{
			{Name: "a", Repo: "a", Layout: "weird", Files: []File{{Name: "x/y", SHA256: "abc"}}},
			{Name: "A", Repo: "a", Layout: LayoutHF, Files: []File{{Name: "config.json"}}},
		},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"base URL", "Retries", "layout", "path separator", "sha256", "duplicate"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not report %q:\n%v", s, err)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"a", "openai/clip-vit-base-patch32", "timm/resnet50_clip.openai", "x/y/z"} {
		if err := checkName(ok); err != nil {
			t.Errorf("checkName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "/a", "a/", "a//b", "a--b", "../a", "a/..", ".hidden", "a b", "a\\b", "-a"} {
		if checkName(bad) == nil {
			t.Errorf("checkName(%q) accepted", bad)
		}
	}
}
