package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"rosetta/internal/atomicfile"
)

// ManifestName is the manifest's file name inside a model directory.
const ManifestName = "rosetta-model.json"

// ManifestFormat is the manifest version this package writes; it refuses
// to read newer ones.
const ManifestFormat = 1

// Manifest records what a model directory holds: written by Pull and Add,
// checked by Verify.
type Manifest struct {
	Format int    `json:"format"`
	Name   string `json:"name"`
	// Source is the hub base URL a pull fetched from, or "local:DIR" for
	// an added directory.
	Source string `json:"source"`
	Layout Layout `json:"layout,omitempty"`
	// Linked is true when the files are symbolic links into Source.
	Linked bool `json:"linked,omitempty"`
	// Forced is true when Add registered the directory under a catalogue
	// name it does not match (AddOptions.Force); Verify still fails it.
	Forced bool           `json:"forced,omitempty"`
	Added  time.Time      `json:"added"`
	Files  []ManifestFile `json:"files"`
}

// ManifestFile is one file as it was downloaded or added.
type ManifestFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// URL is where a pulled file came from.
	URL string `json:"url,omitempty"`
	// Link is the target of a linked file.
	Link string `json:"link,omitempty"`
	// CatalogSHA256 is true when the digest was checked against the
	// catalogue's when the file was placed.
	CatalogSHA256 bool `json:"catalog_sha256,omitempty"`
}

// File returns the manifest's record of the file called name.
func (m *Manifest) File(name string) (ManifestFile, bool) {
	for _, f := range m.Files {
		if f.Name == name {
			return f, true
		}
	}
	return ManifestFile{}, false
}

// TotalSize is the sum of the files' sizes.
func (m *Manifest) TotalSize() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// ReadManifest reads dir's manifest; ErrNoManifest when there is none.
func ReadManifest(dir string) (*Manifest, error) {
	p := filepath.Join(dir, ManifestName)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNoManifest, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("models: %s: %w", p, err)
	}
	if m.Format < 1 || m.Format > ManifestFormat {
		return nil, fmt.Errorf("models: %s: manifest format %d is not supported (this build reads format %d; upgrade rosetta)", p, m.Format, ManifestFormat)
	}
	for _, f := range m.Files {
		if err := checkFileName(f.Name); err != nil {
			return nil, fmt.Errorf("models: %s: %w", p, err)
		}
	}
	return &m, nil
}

// writeManifest writes dir's manifest atomically (temp file, fsync,
// rename, fsync dir).
func writeManifest(dir string, m *Manifest) error {
	m.Format = ManifestFormat
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("models: manifest: %w", err)
	}
	b = append(b, '\n')
	return atomicfile.Write(filepath.Join(dir, ManifestName), 0o644, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
