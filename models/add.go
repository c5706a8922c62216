package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"rosetta/internal/atomicfile"
)

// AddOptions configure Add.
type AddOptions struct {
	// Link makes the model's files symbolic links to the source files
	// instead of copies. The source directory must then stay where it is;
	// Verify follows the links.
	Link bool
	// Force registers a directory under a catalogue name even when its
	// config files do not match the entry (family, layout, embedding
	// dimension, tokenizer files). The mismatches are returned in
	// AddResult.Mismatches for the caller to warn about, the manifest
	// records Forced, and
	// Verify keeps failing the model.
	Force bool
}

// AddResult says what Add did.
type AddResult struct {
	Name, Dir string
	Manifest  *Manifest
	// InPlace is true when the source was the model's own directory
	// (files put there by hand): only the manifest was written.
	InPlace bool
	// Missing lists files the catalogue lists (not optional) that the
	// source lacks.
	Missing []string
	// Ignored lists entries of the source that were not taken:
	// subdirectories, hidden files, partial downloads.
	Ignored []string
	// Mismatches lists how the directory differs from its catalogue
	// entry; only set when AddOptions.Force let it through.
	Mismatches []Mismatch
}

// Add registers a model directory that was obtained by hand under name:
// it checks that from looks like a checkpoint in a known layout (config.json
// or open_clip_config.json, plus a .safetensors file); where name is a
// catalogue model, that its config files describe that model (Inspect,
// Entry.Compare: the family, the layout, the embedding dimension and the
// tokenizer files the entry lists), refusing a mismatch with ErrMismatch
// unless opt.Force is set; then it copies (or, with Link, symlinks) its
// top-level files into the model's directory, checks them against the
// catalogue's sizes and checksums where they are pinned, and writes a
// manifest with the computed sha256s. Names the catalogue does not know are
// checked for a known layout only. The copy goes to a temporary directory inside the
// models directory that is synced and renamed into place. If from is the
// model's own directory, only the manifest is written.
func (l *Library) Add(ctx context.Context, name, from string, opt *AddOptions) (*AddResult, error) {
	var o AddOptions
	if opt != nil {
		o = *opt
	}
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("models: add: %w", err)
	}
	var entry *Entry
	if e, ok := l.Lookup(name); ok {
		name, entry = e.Name, &e
	}
	src, err := filepath.Abs(expandHome(from))
	if err != nil {
		return nil, fmt.Errorf("models: add %s: %w", name, err)
	}
	if !isDir(src) {
		return nil, fmt.Errorf("%w: add %s: %s is not a directory", ErrNoDirectory, name, src)
	}
	final := filepath.Join(l.dir, dirName(name))
	res := &AddResult{Name: name, Dir: final}
	inPlace := sameDir(src, final)
	if isDir(final) {
		_, err := ReadManifest(final)
		switch {
		case errors.Is(err, ErrNoManifest) && !inPlace:
			return nil, fmt.Errorf("%w: %s already holds files without a manifest: register them with `rosetta models add %s --from %s`, or remove that directory first",
				ErrExists, final, name, final)
		case !errors.Is(err, ErrNoManifest):
			return nil, fmt.Errorf("%w: %s is already installed in %s (remove that directory first)", ErrExists, name, final)
		}
	}

	files, ignored, err := scanSource(src)
	if err != nil {
		return nil, fmt.Errorf("models: add %s: %w", name, err)
	}
	res.Ignored = ignored
	layout, err := detectLayout(src, files)
	if err != nil {
		return nil, fmt.Errorf("models: add %s: %w", name, err)
	}
	if entry != nil {
		in, err := Inspect(src)
		if err != nil {
			return nil, fmt.Errorf("models: add %s: %w", name, err)
		}
		if ms := entry.Compare(in); len(ms) > 0 {
			if !o.Force {
				return nil, fmt.Errorf("models: add %s: %w", name, mismatchError(name, src, ms))
			}
			res.Mismatches = ms // the caller warns
		}
		have := make(map[string]bool, len(files))
		for _, f := range files {
			have[f] = true
		}
		for _, f := range entry.Files {
			if !f.Optional && !have[f.Name] {
				res.Missing = append(res.Missing, f.Name)
			}
		}
	}

	mf := &Manifest{Name: name, Source: "local:" + src, Layout: layout, Linked: o.Link && !inPlace,
		Forced: len(res.Mismatches) > 0}
	if inPlace {
		mf.Source = "local"
		for _, fn := range files {
			rec, err := l.addFile(ctx, entry, filepath.Join(src, fn), "", false)
			if err != nil {
				return nil, fmt.Errorf("models: add %s: %w", name, err)
			}
			mf.Files = append(mf.Files, rec)
		}
		mf.Added = time.Now().UTC()
		if err := writeManifest(final, mf); err != nil {
			return nil, err
		}
		res.Manifest, res.InPlace = mf, true
		return res, nil
	}

	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	tmp, err := os.MkdirTemp(l.dir, ".add-"+dirName(name)+"-")
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	placed := false
	defer func() {
		if !placed {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	for _, fn := range files {
		rec, err := l.addFile(ctx, entry, filepath.Join(src, fn), filepath.Join(tmp, fn), o.Link)
		if err != nil {
			return nil, fmt.Errorf("models: add %s: %w", name, err)
		}
		mf.Files = append(mf.Files, rec)
	}
	mf.Added = time.Now().UTC()
	if err := writeManifest(tmp, mf); err != nil {
		return nil, err
	}
	if err := atomicfile.SyncDir(tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, final); err != nil {
		if isDir(final) {
			return nil, fmt.Errorf("%w: %s appeared in %s while adding it", ErrExists, name, final)
		}
		return nil, fmt.Errorf("models: add %s: %w", name, err)
	}
	placed = true
	if err := atomicfile.SyncDir(l.dir); err != nil {
		return nil, err
	}
	res.Manifest = mf
	return res, nil
}

// addFile hashes src and, when dst is set, copies or links it there. It
// checks src against the catalogue entry when the entry knows the file's
// size or digest.
func (l *Library) addFile(ctx context.Context, entry *Entry, src, dst string, link bool) (ManifestFile, error) {
	name := filepath.Base(src)
	var (
		n   int64
		sum string
		err error
	)
	switch {
	case dst == "" || link:
		n, sum, err = hashFile(ctx, src)
	default:
		n, sum, err = copyFile(ctx, src, dst)
	}
	if err != nil {
		return ManifestFile{}, err
	}
	rec := ManifestFile{Name: name, Size: n, SHA256: sum}
	if entry != nil {
		if f, ok := entry.File(name); ok {
			if f.Size > 0 && f.Size != n {
				return rec, tag(ErrSize, "%s: size mismatch: %d bytes, the catalogue expects %d", src, n, f.Size)
			}
			if f.SHA256 != "" {
				if !strings.EqualFold(f.SHA256, sum) {
					return rec, tag(ErrChecksum, "%s: sha256 mismatch: expected %s, got %s", src, f.SHA256, sum)
				}
				rec.CatalogSHA256 = true
			}
		}
	}
	if link && dst != "" {
		if err := os.Symlink(src, dst); err != nil {
			return rec, err
		}
		rec.Link = src
	}
	return rec, nil
}

// copyFile copies src to dst (synced) and returns its size and sha256.
func copyFile(ctx context.Context, src, dst string) (int64, string, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, "", err
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(out, h), &ctxReader{ctx: ctx, r: in}, make([]byte, 1<<20))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, "", fmt.Errorf("copy %s: %w", src, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// scanSource lists the regular files (following links) at the top of dir
// that can belong to a model, sorted, and what it leaves out.
func scanSource(dir string) (files, ignored []string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, de := range ents {
		n := de.Name()
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil || !fi.Mode().IsRegular() || n == ManifestName || checkFileName(n) != nil {
			if n != ManifestName {
				ignored = append(ignored, n)
			}
			continue
		}
		files = append(files, n)
	}
	sort.Strings(files)
	return files, ignored, nil
}

// detectLayout checks that files look like a checkpoint in a known layout.
func detectLayout(dir string, files []string) (Layout, error) {
	has := make(map[string]bool, len(files))
	weights := false
	for _, f := range files {
		has[f] = true
		if strings.HasSuffix(f, ".safetensors") {
			weights = true
		}
	}
	var layout Layout
	switch {
	case has["open_clip_config.json"]:
		layout = LayoutOpenCLIP
	case has["config.json"]:
		layout = LayoutHF
	}
	var missing []string
	if layout == "" {
		missing = append(missing, "config.json (transformers layout) or open_clip_config.json (open_clip layout)")
	}
	if !weights {
		missing = append(missing, "a .safetensors weights file (model.safetensors or open_clip_model.safetensors; .bin/.pt checkpoints must be converted)")
	}
	if len(missing) > 0 {
		return "", tag(ErrLayout, "%s does not look like a model: it has no %s", dir, strings.Join(missing, " and no "))
	}
	return layout, nil
}

// sameDir reports whether a and b name the same existing directory.
func sameDir(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
