package models

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"rosetta/internal/atomicfile"
)

// PullResult says what Pull did.
type PullResult struct {
	Name string
	// Dir is the model's directory.
	Dir string
	// AlreadyInstalled is true when the model was installed before the
	// call, which then downloaded nothing.
	AlreadyInstalled bool
	Manifest         *Manifest
	// Downloaded is the number of bytes received by this call.
	Downloaded int64
	// Resumed lists files whose download continued from an earlier,
	// interrupted pull.
	Resumed []string
	// Skipped lists optional files the hub does not have.
	Skipped []string
}

// Pull downloads the catalogue model called name into its directory.
//
// Files are fetched one at a time into a hidden staging directory inside
// the models directory (<models>/.pull-<dir>), each as NAME.part, resumed
// with an HTTP Range request when a part file exists, checked against the
// catalogue's size and sha256 where they are known, synced and renamed to
// NAME. When every file is there, the manifest is written and the staging
// directory is renamed to the model directory, so the model directory
// either does not exist or is complete. Transient failures (timeouts,
// resets, temporary DNS failures, 408, 429, 5xx) are retried with
// exponential backoff (Options.Retries, Backoff); permanent ones (a host
// that does not resolve, a certificate that does not verify: ErrNetwork;
// 404, 401, 403 and other 4xx: ErrHTTP) fail at once. On cancellation the part files stay and a later Pull resumes.
// Pulling an installed model is a no-op (AlreadyInstalled).
func (l *Library) Pull(ctx context.Context, name string) (*PullResult, error) {
	e, ok := l.Lookup(name)
	if !ok {
		if m, err := l.Get(name); err == nil && m.State != StateAbsent {
			return nil, fmt.Errorf("%w: %q is installed in %s but is not in the catalogue, so there is nothing to pull", ErrUnknownModel, name, m.Dir)
		}
		return nil, fmt.Errorf("%w: %q is not in the catalogue (`rosetta models list` shows it); register a local copy with `rosetta models add %s --from DIR`", ErrUnknownModel, name, name)
	}
	final := filepath.Join(l.dir, dirName(e.Name))
	res := &PullResult{Name: e.Name, Dir: final}
	if done, err := installed(final, e.Name); done || err != nil {
		if err == nil {
			res.AlreadyInstalled = true
			res.Manifest, err = ReadManifest(final)
		}
		return res, err
	}

	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	staging := filepath.Join(l.dir, stagingName(e.Name))
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	unlock, err := lockFile(filepath.Join(staging, ".lock"))
	if err != nil {
		return nil, fmt.Errorf("models: pull %s: %w", e.Name, err)
	}
	defer func() {
		if unlock != nil {
			unlock()
		}
	}()
	// Another process may have finished while we waited for the lock.
	if done, err := installed(final, e.Name); done || err != nil {
		if err == nil {
			res.AlreadyInstalled = true
			res.Manifest, err = ReadManifest(final)
		}
		return res, err
	}

	mf := &Manifest{Name: e.Name, Source: l.opt.BaseURL, Layout: e.Layout}
	keep := map[string]bool{".lock": true, ManifestName: true}
	for _, f := range e.Files {
		u := l.URL(&e, f)
		rec, err := l.placed(ctx, staging, f)
		if err == nil && rec == nil {
			var t *transfer
			rec = new(ManifestFile)
			*rec, t, err = l.fetch(ctx, e.Name, u, f, staging)
			res.Downloaded += t.got
			if t.resume {
				res.Resumed = append(res.Resumed, f.Name)
			}
		}
		if err != nil {
			var ae *attemptError
			if f.Optional && errors.As(err, &ae) && ae.notFound {
				res.Skipped = append(res.Skipped, f.Name)
				continue
			}
			return res, fmt.Errorf("models: pull %s: %s: %w", e.Name, f.Name, err)
		}
		rec.URL = u
		mf.Files = append(mf.Files, *rec)
		keep[f.Name] = true
	}

	// Drop leftovers (files an older catalogue listed) so the model
	// directory holds exactly what the manifest says.
	if ents, err := os.ReadDir(staging); err == nil {
		for _, de := range ents {
			if !keep[de.Name()] {
				os.RemoveAll(filepath.Join(staging, de.Name()))
			}
		}
	}
	mf.Added = time.Now().UTC()
	if err := writeManifest(staging, mf); err != nil {
		return res, fmt.Errorf("models: pull %s: %w", e.Name, err)
	}
	unlock()
	unlock = nil
	os.Remove(filepath.Join(staging, ".lock"))
	if err := atomicfile.SyncDir(staging); err != nil {
		return res, err
	}
	if err := os.Rename(staging, final); err != nil {
		return res, fmt.Errorf("models: pull %s: place %s: %w", e.Name, final, err)
	}
	if err := atomicfile.SyncDir(l.dir); err != nil {
		return res, err
	}
	res.Manifest = mf
	return res, nil
}

// installed reports whether the model directory exists with a manifest;
// a directory without one (files put there by hand) is an error that says
// how to register it.
func installed(dir, name string) (bool, error) {
	if !isDir(dir) {
		return false, nil
	}
	_, err := ReadManifest(dir)
	if errors.Is(err, ErrNoManifest) {
		return false, fmt.Errorf("%w: %s exists but has no manifest (files put there by hand?): register it with `rosetta models add %s --from %s`, or remove it and pull again",
			ErrExists, dir, name, dir)
	}
	return err == nil, err
}

// placed returns the record of a file that an earlier, interrupted pull
// already completed in the staging directory, or nil when it has to be
// downloaded (it is removed if it no longer matches the catalogue).
func (l *Library) placed(ctx context.Context, staging string, f File) (*ManifestFile, error) {
	p := filepath.Join(staging, f.Name)
	if !fileExists(p) {
		return nil, nil
	}
	n, sum, err := hashFile(ctx, p)
	if err != nil {
		return nil, err
	}
	rec := &ManifestFile{Name: f.Name, Size: n, SHA256: sum}
	if (f.Size > 0 && n != f.Size) || (f.SHA256 != "" && !strings.EqualFold(f.SHA256, sum)) {
		l.opt.Logger.Warn("discarding a downloaded file that does not match the catalogue", "file", p)
		return nil, os.Remove(p)
	}
	rec.CatalogSHA256 = f.SHA256 != ""
	return rec, nil
}
