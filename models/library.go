package models

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Library is a models directory together with the catalogue of known
// checkpoints and the options used to download them. It is immutable after
// Open and safe for concurrent use; pulls of one model are serialised
// across processes by a lock file.
type Library struct {
	dir string
	opt Options
}

// Open returns the library rooted at dir ("" means DefaultDir()). It copies
// opt (nil means DefaultOptions()), fills defaults and validates them. It
// does not create dir: reading an empty library needs no directory.
func Open(dir string, opt *Options) (*Library, error) {
	var o Options
	if opt != nil {
		o = *opt
	}
	o.EnsureDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	abs, err := filepath.Abs(expandHome(dir))
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	return &Library{dir: abs, opt: o}, nil
}

// Dir returns the models directory (absolute).
func (l *Library) Dir() string { return l.dir }

// Catalog returns a copy of the library's catalogue.
func (l *Library) Catalog() []Entry {
	out := make([]Entry, len(l.opt.Catalog))
	for i, e := range l.opt.Catalog {
		out[i] = clone(e)
	}
	return out
}

// Lookup finds a catalogue entry by name, exactly or else ignoring case
// (hub ids are case-insensitive).
func (l *Library) Lookup(name string) (Entry, bool) {
	for _, e := range l.opt.Catalog {
		if e.Name == name {
			return clone(e), true
		}
	}
	for _, e := range l.opt.Catalog {
		if strings.EqualFold(e.Name, name) {
			return clone(e), true
		}
	}
	return Entry{}, false
}

// Path returns the directory where the model called name is (or would be)
// installed. It does not check that name is valid or known.
func (l *Library) Path(name string) string {
	if e, ok := l.Lookup(name); ok {
		name = e.Name
	}
	return filepath.Join(l.dir, dirName(name))
}

// URL returns the address file f of entry e is downloaded from.
func (l *Library) URL(e *Entry, f File) string {
	repo, rev := e.FileRepo(f)
	u, err := url.JoinPath(l.opt.BaseURL, repo, "resolve", rev, f.Name)
	if err != nil { // BaseURL was validated in Open
		return l.opt.BaseURL + "/" + repo + "/resolve/" + rev + "/" + f.Name
	}
	return u
}

// State is where a model stands in the models directory.
type State string

const (
	// StateInstalled: the directory exists with a manifest (pulled or
	// added).
	StateInstalled State = "installed"
	// StateUnmanaged: the directory exists without a manifest (files put
	// there by hand). Resolve accepts it when it looks like a model;
	// `rosetta models add NAME --from DIR` on it writes the manifest.
	StateUnmanaged State = "unmanaged"
	// StatePartial: a pull was interrupted; pulling again resumes it.
	StatePartial State = "partial"
	// StateAbsent: nothing on disk.
	StateAbsent State = "not installed"
)

// Model describes one model: its catalogue entry, if any, and what is on
// disk.
type Model struct {
	Name string
	// Entry is nil for models that are only installed (added under a name
	// the catalogue does not know).
	Entry *Entry
	// Dir is where the model is or would be installed.
	Dir   string
	State State
	// Manifest is set when State is StateInstalled.
	Manifest *Manifest
	// ManifestErr is set when the manifest exists but cannot be read.
	ManifestErr error
}

// Get describes the model called name; ErrUnknownModel when it is neither
// in the catalogue nor on disk.
func (l *Library) Get(name string) (Model, error) {
	if err := checkName(name); err != nil {
		return Model{}, fmt.Errorf("%w: %v", ErrUnknownModel, err)
	}
	m := Model{Name: name}
	if e, ok := l.Lookup(name); ok {
		m.Name = e.Name
		m.Entry = &e
	}
	m.Dir = filepath.Join(l.dir, dirName(m.Name))
	l.fillState(&m)
	if m.Entry == nil && m.State == StateAbsent {
		return m, fmt.Errorf("%w: %q is not in the catalogue and not installed in %s (`rosetta models list` shows what is)", ErrUnknownModel, name, l.dir)
	}
	return m, nil
}

func (l *Library) fillState(m *Model) {
	m.State = StateAbsent
	if isDir(m.Dir) {
		mf, err := ReadManifest(m.Dir)
		switch {
		case err == nil:
			m.State, m.Manifest = StateInstalled, mf
		case errors.Is(err, ErrNoManifest):
			m.State = StateUnmanaged
		default:
			m.State, m.ManifestErr = StateInstalled, err
		}
		return
	}
	if isDir(filepath.Join(l.dir, stagingName(m.Name))) {
		m.State = StatePartial
	}
}

// List returns every catalogue model followed by the models installed
// under names the catalogue does not know, sorted by name.
func (l *Library) List() ([]Model, error) {
	var out []Model
	known := make(map[string]bool)
	for _, e := range l.opt.Catalog {
		e := clone(e)
		m := Model{Name: e.Name, Entry: &e, Dir: filepath.Join(l.dir, dirName(e.Name))}
		l.fillState(&m)
		out = append(out, m)
		known[dirName(e.Name)] = true
	}
	ents, err := os.ReadDir(l.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return out, fmt.Errorf("models: %w", err)
	}
	var extra []Model
	for _, de := range ents {
		n := de.Name()
		if strings.HasPrefix(n, ".") || known[n] || !isDir(filepath.Join(l.dir, n)) {
			continue
		}
		name := nameFromDir(n)
		if checkName(name) != nil {
			continue
		}
		m := Model{Name: name, Dir: filepath.Join(l.dir, n)}
		l.fillState(&m)
		if mf := m.Manifest; mf != nil && mf.Name != "" {
			m.Name = mf.Name
		}
		extra = append(extra, m)
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].Name < extra[j].Name })
	return append(out, extra...), nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
