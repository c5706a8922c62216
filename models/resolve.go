package models

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Resolve turns a --model value into a model directory, using the models
// directory modelsDir ("" means DefaultDir()) and the built-in catalogue.
// See (*Library).Resolve.
func Resolve(modelsDir, nameOrPath string) (string, error) {
	l, err := Open(modelsDir, nil)
	if err != nil {
		return "", err
	}
	return l.Resolve(nameOrPath)
}

// Resolve turns a --model value into a model directory:
//
//   - a path to an existing directory is returned as given (after "~/"
//     expansion), without looking inside;
//   - a catalogue name or an added name maps to its directory in the
//     models directory, when it is installed (or holds files put there by
//     hand in a known layout);
//   - otherwise the error says exactly what to run (`rosetta models pull
//     NAME`) or which files to download by hand and where to put them:
//     ErrNotInstalled for a catalogue model, ErrUnknownModel for an unknown
//     name, ErrNoDirectory for a path that does not exist, ErrLayout for a
//     model directory that does not look like a checkpoint.
func (l *Library) Resolve(nameOrPath string) (string, error) {
	return l.resolve(nameOrPath, false)
}

// ResolveStrict is Resolve for a server: a string that is a valid model
// name is only ever looked up as a name in the models directory, never as
// a path relative to the working directory; absolute paths (which
// CheckServerName has vetted, or which a local tool stored) resolve as
// directories.
func (l *Library) ResolveStrict(nameOrPath string) (string, error) {
	return l.resolve(nameOrPath, true)
}

func (l *Library) resolve(nameOrPath string, strict bool) (string, error) {
	if nameOrPath == "" {
		return "", fmt.Errorf("%w: no model given (a directory or a name from `rosetta models list`)", ErrUnknownModel)
	}
	p := expandHome(nameOrPath)
	if strict && checkName(nameOrPath) == nil {
		p = "" // a name: never a path
	}
	if fi, err := os.Stat(p); p != "" && err == nil {
		if fi.IsDir() {
			return p, nil
		}
		return "", fmt.Errorf("%w: %s is a file; give the directory that holds the model's files", ErrNoDirectory, p)
	}
	if checkName(nameOrPath) != nil {
		return "", fmt.Errorf("%w: %s does not exist (and is not a model name; `rosetta models list` shows those)", ErrNoDirectory, p)
	}
	m, err := l.Get(nameOrPath)
	if err != nil {
		return "", fmt.Errorf("%w: %q is neither an existing directory nor a model in the catalogue or in %s. "+
			"`rosetta models list` shows the known models; `rosetta models add NAME --from DIR` registers a directory you downloaded",
			ErrUnknownModel, nameOrPath, l.dir)
	}
	switch m.State {
	case StateInstalled:
		if m.ManifestErr != nil {
			return "", m.ManifestErr
		}
		return m.Dir, nil
	case StateUnmanaged:
		files, _, err := scanSource(m.Dir)
		if err != nil {
			return "", fmt.Errorf("models: %w", err)
		}
		if _, err := detectLayout(m.Dir, files); err != nil {
			return "", fmt.Errorf("models: %s: %w", nameOrPath, err)
		}
		return m.Dir, nil
	}
	// Known to the catalogue, not installed.
	e := m.Entry
	var b strings.Builder
	fmt.Fprintf(&b, "%s is not installed in %s.\n", e.Name, l.dir)
	if m.State == StatePartial {
		fmt.Fprintf(&b, "A pull was interrupted; this resumes it:\n")
	} else {
		fmt.Fprintf(&b, "Download it with:\n")
	}
	fmt.Fprintf(&b, "    rosetta models pull%s %s\n", l.modelsFlag(), e.Name)
	fmt.Fprintf(&b, "or download these files by hand into %s%c:\n", m.Dir, filepath.Separator)
	for _, f := range e.Files {
		opt := ""
		if f.Optional {
			opt = " (optional)"
		}
		fmt.Fprintf(&b, "    %s%s\n", l.URL(e, f), opt)
	}
	fmt.Fprintf(&b, "(or anywhere, then register that directory with `rosetta models add%s %s --from DIR`)", l.modelsFlag(), e.Name)
	return "", fmt.Errorf("%w: %s", ErrNotInstalled, b.String())
}

// modelsFlag is the --models flag a suggested command needs, "" when the
// library uses the default directory.
func (l *Library) modelsFlag() string {
	if d, err := DefaultDir(); err == nil {
		if abs, err := filepath.Abs(d); err == nil && abs == l.dir {
			return ""
		}
	}
	return " --models " + l.dir
}

// CheckServerName vets a model name that a server received from an API
// caller, before anything is resolved or loaded: it must be a model name
// (a catalogue or added name, resolved inside the models directory), or a
// path to a directory inside the models directory. Any other path is
// refused without touching the filesystem outside it, so a client cannot
// make the server load, or probe for, files elsewhere.
func CheckServerName(modelsDir, name string) error {
	if checkName(name) == nil && !strings.HasPrefix(name, ".") {
		return nil
	}
	l, err := Open(modelsDir, nil)
	if err != nil {
		return err
	}
	p := filepath.Clean(expandHome(name))
	if !filepath.IsAbs(p) {
		return fmt.Errorf("%w: %q is not a model name; the server accepts catalogue names (`rosetta models list`) or directories under its models directory", ErrUnknownModel, name)
	}
	// Lexically inside the models directory (as given or resolved): a
	// symbolic link placed there by someone with access to the machine is
	// theirs to place; what an API caller cannot do is name a path outside.
	roots := []string{filepath.Clean(l.dir)}
	if rr, err := filepath.EvalSymlinks(l.dir); err == nil {
		roots = append(roots, rr)
	}
	for _, root := range roots {
		rel, err := filepath.Rel(root, p)
		if err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil
		}
	}
	return fmt.Errorf("%w: %q is outside the server's models directory; the server accepts catalogue names or directories under it", ErrUnknownModel, name)
}
