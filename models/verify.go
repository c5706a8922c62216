package models

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CheckStatus is the outcome of verifying one file.
type CheckStatus string

const (
	CheckOK       CheckStatus = "ok"              // matches the manifest and the catalogue
	CheckMismatch CheckStatus = "sha256 mismatch" // same size, different digest
	CheckSize     CheckStatus = "size mismatch"   // different size
	CheckMissing  CheckStatus = "missing"         // gone, or a dangling link
	CheckError    CheckStatus = "error"           // could not be read
)

// FileCheck is the verification of one file.
type FileCheck struct {
	Name   string
	Status CheckStatus
	// Size and SHA256 are what is on disk now.
	Size   int64
	SHA256 string
	// Want is the manifest's record.
	Want ManifestFile
	// CatalogSHA256 is the catalogue's digest, "" when unknown. A file
	// that matches its manifest but not a known catalogue digest fails.
	CatalogSHA256 string
	// Detail explains a failure.
	Detail string
}

// Report is the result of Verify.
type Report struct {
	Name, Dir string
	Files     []FileCheck
	// NotInstalled lists catalogue files (not optional) that the manifest
	// does not have: informational, they do not fail verification.
	NotInstalled []string
	// Unlisted lists files in the directory that the manifest does not
	// name: informational.
	Unlisted []string
	// Mismatches lists how the directory's config files differ from the
	// model's catalogue entry (see Entry.Compare); any fails verification.
	Mismatches []Mismatch
	// LayoutErr is set when the directory no longer looks like a
	// checkpoint in a known layout, or its config file cannot be read;
	// it fails verification.
	LayoutErr error
	// Forced is true when the model was added with AddOptions.Force.
	Forced bool
}

// Failed returns the number of files that did not verify.
func (r *Report) Failed() int {
	n := 0
	for _, f := range r.Files {
		if f.Status != CheckOK {
			n++
		}
	}
	return n
}

// Verify recomputes the sha256 of every file of an installed model and
// compares it with the manifest and, where the catalogue pins it, the
// catalogue; it also reads the directory's config files and, for a
// catalogue model, compares them with the entry (Report.Mismatches), or,
// for a model added under a name of its own, checks the layout only. It
// returns the report, and an error wrapping ErrVerify when any file failed
// or the directory does not match (wrapping ErrMismatch too then); the
// report is still returned.
func (l *Library) Verify(ctx context.Context, name string) (*Report, error) {
	m, err := l.Get(name)
	if err != nil {
		return nil, err
	}
	switch m.State {
	case StateInstalled:
		if m.ManifestErr != nil {
			return nil, m.ManifestErr
		}
	case StateUnmanaged:
		return nil, fmt.Errorf("%w: %s has no manifest to verify against; `rosetta models add %s --from %s` computes one", ErrNoManifest, m.Dir, m.Name, m.Dir)
	default:
		return nil, fmt.Errorf("%w: %s is not installed in %s", ErrNotInstalled, m.Name, l.dir)
	}
	r := &Report{Name: m.Name, Dir: m.Dir, Forced: m.Manifest.Forced}
	listed := map[string]bool{ManifestName: true}
	for _, want := range m.Manifest.Files {
		listed[want.Name] = true
		c := FileCheck{Name: want.Name, Want: want}
		var cat File
		if m.Entry != nil {
			cat, _ = m.Entry.File(want.Name)
			c.CatalogSHA256 = cat.SHA256
		}
		p := filepath.Join(m.Dir, want.Name)
		n, sum, err := hashFile(ctx, p)
		switch {
		case ctx.Err() != nil:
			return r, ctx.Err()
		case errors.Is(err, fs.ErrNotExist):
			c.Status, c.Detail = CheckMissing, p+" does not exist"
			if want.Link != "" {
				c.Detail = fmt.Sprintf("%s links to %s, which does not exist", p, want.Link)
			}
		case err != nil:
			c.Status, c.Detail = CheckError, err.Error()
		default:
			c.Size, c.SHA256 = n, sum
			switch {
			case n != want.Size:
				c.Status, c.Detail = CheckSize, fmt.Sprintf("%d bytes, the manifest records %d", n, want.Size)
			case !strings.EqualFold(sum, want.SHA256):
				c.Status, c.Detail = CheckMismatch, fmt.Sprintf("expected %s (manifest), got %s", want.SHA256, sum)
			case cat.Size > 0 && n != cat.Size:
				c.Status, c.Detail = CheckSize, fmt.Sprintf("%d bytes, the catalogue expects %d", n, cat.Size)
			case cat.SHA256 != "" && !strings.EqualFold(sum, cat.SHA256):
				c.Status, c.Detail = CheckMismatch, fmt.Sprintf("expected %s (catalogue), got %s", cat.SHA256, sum)
			default:
				c.Status = CheckOK
			}
		}
		r.Files = append(r.Files, c)
	}
	if m.Entry != nil {
		for _, f := range m.Entry.Files {
			if _, ok := m.Manifest.File(f.Name); !ok && !f.Optional {
				r.NotInstalled = append(r.NotInstalled, f.Name)
			}
		}
	}
	if ents, err := os.ReadDir(m.Dir); err == nil {
		for _, de := range ents {
			if !listed[de.Name()] {
				r.Unlisted = append(r.Unlisted, de.Name())
			}
		}
	}
	if m.Entry != nil {
		in, err := Inspect(m.Dir)
		if err == nil {
			r.Mismatches = m.Entry.Compare(in)
		} else {
			r.LayoutErr = err
		}
	} else {
		files, _, err := scanSource(m.Dir)
		if err == nil {
			_, err = detectLayout(m.Dir, files)
		}
		r.LayoutErr = err
	}
	var why []string
	if n := r.Failed(); n > 0 {
		why = append(why, fmt.Sprintf("%d of %d files failed", n, len(r.Files)))
	}
	if r.LayoutErr != nil {
		why = append(why, r.LayoutErr.Error())
	}
	if len(r.Mismatches) > 0 {
		parts := make([]string, len(r.Mismatches))
		for i, mm := range r.Mismatches {
			parts[i] = mm.String()
		}
		how := ""
		if r.Forced {
			how = " (it was added with --force)"
		}
		why = append(why, fmt.Sprintf("the directory does not match its catalogue entry%s: %s", how, strings.Join(parts, "; ")))
		return r, tags([]error{ErrVerify, ErrMismatch}, "models: verify %s: %s", m.Name, strings.Join(why, "; "))
	}
	if len(why) > 0 {
		return r, fmt.Errorf("%w: %s: %s", ErrVerify, m.Name, strings.Join(why, "; "))
	}
	return r, nil
}
