package models

import (
	"errors"
	"fmt"
	"strings"
)

// dirSep replaces "/" of a model name in its directory name, as the
// Hugging Face cache does ("openai/clip-vit-base-patch32" →
// "openai--clip-vit-base-patch32"). checkName forbids it inside names, so
// the mapping is one-to-one.
const dirSep = "--"

const partSuffix = ".part"

// checkName accepts hub-style names: one or more segments separated by
// "/", each starting with a letter or digit and made of letters, digits,
// '.', '_' and '-', with no "--" and no "..".
func checkName(name string) error {
	if name == "" {
		return errors.New("empty model name")
	}
	if len(name) > 200 {
		return fmt.Errorf("model name %q is longer than 200 bytes", name)
	}
	if strings.Contains(name, dirSep) || strings.Contains(name, "..") {
		return fmt.Errorf("model name %q must not contain %q or %q", name, dirSep, "..")
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" {
			return fmt.Errorf("model name %q has an empty segment", name)
		}
		for i, c := range seg {
			alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
			if i == 0 && !alnum {
				return fmt.Errorf("model name %q: each segment must start with a letter or digit", name)
			}
			if !alnum && c != '.' && c != '_' && c != '-' {
				return fmt.Errorf("model name %q: character %q is not allowed (letters, digits, '.', '_', '-' and '/')", name, c)
			}
		}
	}
	return nil
}

// checkFileName accepts plain file names that may live in a model
// directory: no separators, not hidden, not one of ours.
func checkFileName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("bad file name %q", name)
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("file name %q contains a path separator", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("file name %q is hidden", name)
	case strings.HasSuffix(name, partSuffix):
		return fmt.Errorf("file name %q ends in %s", name, partSuffix)
	case name == ManifestName:
		return fmt.Errorf("file name %q is reserved for the manifest", name)
	}
	return nil
}

// dirName is the directory a model lives in, relative to the models
// directory. Valid names never start with '.', so it never collides with
// the hidden staging directories.
func dirName(name string) string { return strings.ReplaceAll(name, "/", dirSep) }

// nameFromDir inverts dirName.
func nameFromDir(dir string) string { return strings.ReplaceAll(dir, dirSep, "/") }

// stagingName is the hidden directory a pull of name downloads into. It
// has a fixed name so that an interrupted pull resumes from its .part
// files.
func stagingName(name string) string { return ".pull-" + dirName(name) }
