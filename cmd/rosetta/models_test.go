package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"rosetta/internal/fixtures"
)

// runModels runs `rosetta models ARGS...` in-process against modelsDir.
func runModels(t *testing.T, modelsDir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newModelsCmd()
	cmd.SetArgs(append(args, "--models", modelsDir))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// The flow: the tiny 16-d CLIP fixture added as the 512-d
// openai/clip-vit-base-patch32 is refused with the reason; --force
// registers it with a warning, list marks it, and verify fails it.
func TestModelsAddMismatchCLI(t *testing.T) {
	t.Setenv("ROSETTA_HUB_URL", "")
	src := fixtures.Dir(t, "clip-vit")
	dir := t.TempDir()
	const name = "openai/clip-vit-base-patch32"
	_, _, err := runModels(t, dir, "add", name, "--from", src)
	if err == nil || !strings.Contains(err.Error(), "embedding dimension: the catalogue says 512, the directory has 16") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("add: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("refused add left %v", ents)
	}
	out, _, err := runModels(t, dir, "add", "tiny/clip", "--from", src)
	if err != nil || !strings.Contains(out, "added tiny/clip") {
		t.Fatalf("add under a new name: %v\n%s", err, out)
	}
	_, stderr, err := runModels(t, dir, "add", name, "--from", src, "--force")
	if err != nil || !strings.Contains(stderr, "warning: --force") || !strings.Contains(stderr, "512") {
		t.Fatalf("add --force: %v\n%s", err, stderr)
	}
	out, _, err = runModels(t, dir, "list")
	if err != nil || !strings.Contains(out, "installed (forced: does not match the catalogue)") || !strings.Contains(out, "PINNED") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, _, err = runModels(t, dir, "verify", name)
	if err == nil || !strings.Contains(out, "MISMATCH") || !strings.Contains(out, "projection_dim") || !strings.Contains(err.Error(), "added with --force") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	if out, _, err := runModels(t, dir, "verify", "tiny/clip"); err != nil || strings.Contains(out, "MISMATCH") {
		t.Fatalf("verify tiny/clip: %v\n%s", err, out)
	}
}

// `models show` (info) says per file whether the catalogue pins it.
func TestModelsShowPinState(t *testing.T) {
	t.Setenv("ROSETTA_HUB_URL", "")
	out, _, err := runModels(t, t.TempDir(), "show", "timm/resnet50_clip.openai")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "0 of 4 pinned") {
		t.Fatalf("no pin summary:\n%s", out)
	}
	for _, f := range []string{"open_clip_config.json", "open_clip_model.safetensors", "vocab.json", "merges.txt"} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			if fs := strings.Fields(line); len(fs) > 1 && fs[0] == f && fs[1] == "unpinned" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s not shown as unpinned:\n%s", f, out)
		}
	}
}
