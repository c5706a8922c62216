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

// copyDir copies the regular files of src into a fresh, writable
// directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func checkFailed(t *testing.T, rep *Report, err error, want map[string]CheckStatus) {
	t.Helper()
	if !errors.Is(err, ErrVerify) {
		t.Fatalf("verify err = %v, want ErrVerify", err)
	}
	got := make(map[string]CheckStatus)
	for _, f := range rep.Files {
		if f.Status != CheckOK {
			got[f.Name] = f.Status
		}
	}
	if len(got) != len(want) {
		t.Fatalf("failed files %v, want %v", got, want)
	}
	for n, s := range want {
		if got[n] != s {
			t.Fatalf("failed files %v, want %v", got, want)
		}
	}
}

func TestAddCopyAndVerify(t *testing.T) {
	src := fixtures.Dir(t, "clip-vit")
	l, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := l.Add(ctx, "my/clip", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Dir != filepath.Join(l.Dir(), "my--clip") || res.Manifest.Layout != LayoutHF || res.Manifest.Linked {
		t.Fatalf("result %+v", res)
	}
	ents, _ := os.ReadDir(src)
	if len(res.Manifest.Files) != len(ents) {
		t.Fatalf("manifest has %d files, source %d", len(res.Manifest.Files), len(ents))
	}
	for _, e := range ents {
		want, _ := os.ReadFile(filepath.Join(src, e.Name()))
		fi, err := os.Lstat(filepath.Join(res.Dir, e.Name()))
		if err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("%s: %v %v (want a regular copy)", e.Name(), fi, err)
		}
		rec, _ := res.Manifest.File(e.Name())
		if rec.Size != int64(len(want)) || rec.SHA256 != sha256Hex(want) {
			t.Fatalf("manifest record %+v", rec)
		}
	}
	if dir, err := l.Resolve("my/clip"); err != nil || dir != res.Dir {
		t.Fatalf("Resolve = %q, %v", dir, err)
	}
	if rep, err := l.Verify(ctx, "my/clip"); err != nil || rep.Failed() != 0 {
		t.Fatalf("verify: %v", err)
	}
	// Adding again is refused.
	if _, err := l.Add(ctx, "my/clip", src, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("second add: %v", err)
	}

	// Flip one byte, truncate another file, delete a third.
	p := filepath.Join(res.Dir, "model.safetensors")
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 1
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(res.Dir, "config.json"), 10); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(res.Dir, "golden.json")); err != nil {
		t.Fatal(err)
	}
	rep, err := l.Verify(ctx, "my/clip")
	checkFailed(t, rep, err, map[string]CheckStatus{
		"model.safetensors": CheckMismatch,
		"config.json":       CheckSize,
		"golden.json":       CheckMissing,
	})
}

func TestAddLinkAndVerify(t *testing.T) {
	src := copyDir(t, fixtures.Dir(t, "clip-vit"))
	l, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := l.Add(ctx, "linked", src, &AddOptions{Link: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Manifest.Linked || res.Manifest.Source != "local:"+src {
		t.Fatalf("manifest %+v", res.Manifest)
	}
	target, err := os.Readlink(filepath.Join(res.Dir, "model.safetensors"))
	if err != nil || target != filepath.Join(src, "model.safetensors") {
		t.Fatalf("model.safetensors link: %q, %v", target, err)
	}
	if _, err := l.Verify(ctx, "linked"); err != nil {
		t.Fatal(err)
	}
	// Verify follows the links: a change in the source is caught.
	p := filepath.Join(src, "model.fp16.safetensors")
	b, _ := os.ReadFile(p)
	b[100] ^= 0x80
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(src, "preprocessor_config.json"))
	rep, err := l.Verify(ctx, "linked")
	checkFailed(t, rep, err, map[string]CheckStatus{
		"model.fp16.safetensors":   CheckMismatch,
		"preprocessor_config.json": CheckMissing,
	})
	for _, f := range rep.Files {
		if f.Name == "model.fp16.safetensors" && (f.SHA256 != sha256Hex(b) || !strings.Contains(f.Detail, f.Want.SHA256)) {
			t.Fatalf("check %+v", f)
		}
	}
}

// Adding under a catalogue name checks the directory against the entry
// (here the tokenizer files it lists) and the catalogue's digests.
func TestAddCatalogModel(t *testing.T) {
	fm := newFixtureModel(t)
	src := copyDir(t, fixtures.Dir(t, "clip-vit"))
	l := fm.library(t, "", nil)
	ctx := context.Background()
	// The fixture ships no tokenizer: refused, since the entry lists one.
	_, err := l.Add(ctx, testModel, src, nil)
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "tokenizer files") || !strings.Contains(err.Error(), "merges.txt") {
		t.Fatalf("add without tokenizer: %v", err)
	}
	tok := fixtures.Dir(t, "tokenizer-clip")
	for _, f := range []string{"vocab.json", "merges.txt"} {
		b, err := os.ReadFile(filepath.Join(tok, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(src, f), b, 0o644)
	}
	res, err := l.Add(ctx, testModel, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Missing) != 0 || len(res.Mismatches) != 0 || res.Manifest.Forced {
		t.Fatalf("missing %v, mismatches %v", res.Missing, res.Mismatches)
	}
	if rec, _ := res.Manifest.File("model.safetensors"); !rec.CatalogSHA256 {
		t.Fatal("model.safetensors not checked against the catalogue")
	}
	rep, err := l.Verify(ctx, testModel)
	if err != nil || len(rep.NotInstalled) != 0 {
		t.Fatalf("verify: %v, not installed %v", err, rep.NotInstalled)
	}
	// Pull sees it installed.
	if r, err := l.Pull(ctx, testModel); err != nil || !r.AlreadyInstalled {
		t.Fatalf("pull: %+v %v", r, err)
	}

	// A file that does not match the catalogue is refused, and nothing is
	// left behind.
	l2 := fm.library(t, "", nil)
	b, _ := os.ReadFile(filepath.Join(src, "config.json"))
	b = append(b, ' ')
	os.WriteFile(filepath.Join(src, "config.json"), b, 0o644)
	_, err = l2.Add(ctx, testModel, src, nil)
	if !errors.Is(err, ErrSize) || !strings.Contains(err.Error(), "config.json") {
		t.Fatalf("err = %v, want ErrSize for config.json", err)
	}
	if ents, _ := os.ReadDir(l2.Dir()); len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
}

func TestAddRejects(t *testing.T) {
	l, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "config.json"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(empty, "pytorch_model.bin"), []byte("x"), 0o644)
	for _, c := range []struct {
		name, from string
		want       error
	}{
		{"a", empty, ErrLayout},
		{"a", filepath.Join(empty, "nope"), ErrNoDirectory},
		{"a", filepath.Join(empty, "config.json"), ErrNoDirectory},
		{"bad--name", empty, nil},
		{"../up", empty, nil},
	} {
		_, err := l.Add(ctx, c.name, c.from, nil)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("Add(%q, %q) = %v, want %v", c.name, c.from, err, c.want)
		}
	}
	if _, err := l.Add(ctx, "a", empty, nil); !strings.Contains(err.Error(), ".safetensors") {
		t.Errorf("layout error %q does not say what is missing", err)
	}
	if ents, _ := os.ReadDir(l.Dir()); len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
}

// Files put by hand into the model's own directory are registered in
// place.
func TestAddInPlace(t *testing.T) {
	l, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := l.Path("openai/clip-vit-base-patch32")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "clip", "projection_dim": 512}`), 0o644)
	os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte("weights"), 0o644)
	os.WriteFile(filepath.Join(dir, "vocab.json"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("#version: 0.2\n"), 0o644)
	if m, _ := l.Get("openai/clip-vit-base-patch32"); m.State != StateUnmanaged {
		t.Fatalf("state %q", m.State)
	}
	if _, err := l.Verify(context.Background(), "openai/clip-vit-base-patch32"); !errors.Is(err, ErrNoManifest) {
		t.Fatalf("verify without manifest: %v", err)
	}
	res, err := l.Add(context.Background(), "openai/clip-vit-base-patch32", dir, nil)
	if err != nil || !res.InPlace || len(res.Manifest.Files) != 4 {
		t.Fatalf("add in place: %+v, %v", res, err)
	}
	if _, err := l.Verify(context.Background(), "openai/clip-vit-base-patch32"); err != nil {
		t.Fatal(err)
	}
}
