package models

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCheckServerName: an API caller may name catalogue or added models,
// or directories inside the models directory (links placed there
// included), and nothing else.
func TestCheckServerName(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	os.Mkdir(filepath.Join(dir, "mine"), 0o755)
	os.Symlink(outside, filepath.Join(dir, "linked"))
	for name, ok := range map[string]bool{
		"openai/clip-vit-base-patch32":         true,
		"some-added-name":                      true,
		filepath.Join(dir, "mine"):             true,
		filepath.Join(dir, "linked"):           true,
		filepath.Join(dir, "mine", "..", ".."): false,
		outside:                                false,
		"/etc":                                 false,
		"../etc":                               false,
		"./mine":                               false,
		dir:                                    false,
	} {
		if err := CheckServerName(dir, name); (err == nil) != ok {
			t.Errorf("%q: %v, want allowed=%v", name, err, ok)
		}
	}
}

// TestResolveStrict: a valid name is never taken as a path relative to
// the working directory.
func TestResolveStrict(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	cwd := t.TempDir()
	os.Chdir(cwd)
	os.MkdirAll(filepath.Join(cwd, "evil", "model"), 0o755)
	l, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := l.ResolveStrict("evil/model"); err == nil {
		t.Fatalf("resolved a name to %s in the working directory", p)
	}
	if p, err := l.Resolve("evil/model"); err != nil || p != "evil/model" {
		t.Fatalf("local Resolve: %q %v", p, err)
	}
}
