package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"rosetta/encoders/clip"
	"rosetta/internal/embedcmp"
	"rosetta/internal/fixtures"
)

// TestSpacePrecision: two spaces of one model, one at int8, get two
// copies of the model (one load each, cached beside each other); the int8
// space's vectors are within cosine 0.999 of the float32 ones but not
// equal; a server default of int8 applies to a space that does not say.
func TestSpacePrecision(t *testing.T) {
	modelDir := tinyCLIP(t)
	var loads atomic.Int32
	open := func(def string) *Engine {
		e, err := Open(Options{Dir: t.TempDir(), SnapshotEvery: -1, DefaultPrecision: def, LoadModel: func(name string) (Encoder, error) {
			loads.Add(1)
			return clip.Open(modelDir, nil)
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		e.WaitReady(bg)
		return e
	}
	img, err := os.ReadFile(filepath.Join(fixtures.Dir(t, "preprocess-image"), "coffee.png"))
	if err != nil {
		t.Fatal(err)
	}
	vectors := func(e *Engine, spaces []Space) map[string][]float32 {
		t.Helper()
		if _, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: spaces}); err != nil {
			t.Fatal(err)
		}
		ids, err := e.Upsert(bg, "c", []Object{{Key: "coffee", Content: &Content{Image: img}}, {Key: "cup", Content: &Content{Text: "a cup of coffee"}}})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]float32{}
		for i, id := range ids {
			o, err := e.GetObject(bg, "c", id)
			if err != nil {
				t.Fatal(err)
			}
			for name, v := range o.Vectors {
				out[name+[]string{"/image", "/text"}[i]] = v
			}
		}
		return out
	}
	e := open("")
	v := vectors(e, []Space{{Name: "f", Model: "tiny"}, {Name: "q", Model: "tiny", Precision: "int8"}, {Name: "f2", Model: "tiny", Precision: "float32"}})
	if n := loads.Load(); n != 2 {
		t.Errorf("%d model loads for float32 and int8 spaces of one model, want 2", n)
	}
	for _, m := range []string{"/image", "/text"} {
		if c := embedcmp.Cosine(v["f"+m], v["f2"+m]); c != 1 {
			t.Errorf("%s: two float32 spaces differ (cosine %v)", m, c)
		}
		if c := embedcmp.Cosine(v["f"+m], v["q"+m]); c < 0.999 || c == 1 {
			t.Errorf("%s: int8 vector's cosine to float32 %.6f, want in [0.999, 1)", m, c)
		}
	}
	got, err := e.GetCollection(bg, "c")
	if err != nil || got.Spaces[1].Precision != "int8" || got.Spaces[0].Precision != "" {
		t.Fatalf("stored precisions: %+v %v", got.Spaces, err)
	}

	d := vectors(open("int8"), []Space{{Name: "f", Model: "tiny"}, {Name: "f2", Model: "tiny", Precision: "float32"}})
	for _, m := range []string{"/image", "/text"} {
		if embedcmp.Cosine(d["f"+m], v["q"+m]) != 1 || embedcmp.Cosine(d["f2"+m], v["f"+m]) != 1 {
			t.Errorf("%s: with default int8, a space that does not say is not the int8 one, or float32 is not float32", m)
		}
	}

	if _, err := Open(Options{Dir: t.TempDir(), DefaultPrecision: "fp8"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("default precision fp8: %v", err)
	}
}

func TestValidatePrecision(t *testing.T) {
	for _, c := range []struct {
		space Space
		want  string
	}{
		{Space{Name: "v", Dim: 4, Model: "m", Precision: "int4"}, `precision "int4" is not float32 or int8`},
		{Space{Name: "v", Dim: 4, Precision: "int8"}, "precision applies to a model"},
	} {
		err := ValidateCollection(&Collection{Name: "c", Spaces: []Space{c.space}})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.space, err, c.want)
		}
	}
	for _, p := range []string{"", "float32", "int8"} {
		if err := ValidateCollection(&Collection{Name: "c", Spaces: []Space{{Name: "v", Dim: 4, Model: "m", Precision: p}}}); err != nil {
			t.Errorf("precision %q: %v", p, err)
		}
	}
}
