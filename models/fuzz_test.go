package models

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-99/100", "bytes */100", "bytes 5-9/*", "bytes -1-2/3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, size, ok := parseContentRange(s)
		if ok && start >= 0 && size >= 0 && start >= size {
			t.Fatalf("%q: start %d not below size %d", s, start, size)
		}
		if start < -1 || size < -1 {
			t.Fatalf("%q: start %d size %d", s, start, size)
		}
	})
}

func FuzzReadManifest(f *testing.F) {
	f.Add([]byte(`{"format":1,"name":"a","files":[{"name":"config.json","size":2,"sha256":"x"}]}`))
	f.Add([]byte(`{"format":2}`))
	f.Add([]byte(`{"format":1,"files":[{"name":"../x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ManifestName), b, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := ReadManifest(dir)
		if err != nil {
			return
		}
		if m.Format != ManifestFormat {
			t.Fatalf("accepted format %d", m.Format)
		}
		for _, f := range m.Files {
			if checkFileName(f.Name) != nil {
				t.Fatalf("accepted file name %q", f.Name)
			}
		}
	})
}
