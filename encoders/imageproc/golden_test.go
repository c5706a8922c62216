package imageproc

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"rosetta/encoders/safetensors"
	"rosetta/internal/fixtures"
)

var goldenImages = []string{"astronaut", "camera", "chelsea", "coffee", "rocket", "synthetic_wide"}

func openGolden(t *testing.T) (string, *safetensors.Checkpoint) {
	t.Helper()
	dir := fixtures.Dir(t, "preprocess-image")
	c, err := safetensors.OpenCheckpoint(filepath.Join(dir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return dir, c
}

func maxAbsDiff(t *testing.T, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("length %d, want %d", len(got), len(want))
	}
	m := 0.0
	for i := range got {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > m || math.IsNaN(d) {
			m = d
		}
	}
	return m
}

// The PIL reference is reproduced bit for bit; 0.02 (about one 8-bit
// level) is the project-wide tolerance, and anything above 1e-6 means the
// resampler no longer matches Resample.c.
const goldenTol = 1e-6

func checkGolden(t *testing.T, dir string, c *safetensors.Checkpoint, name, key string, cfg Config) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	img, f, err := DecodeBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	if f != FormatPNG {
		t.Fatalf("format %q", f)
	}
	want, shape, err := c.Float32(key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Preprocess(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ow, oh := cfg.OutputSize(img.Bounds().Dx(), img.Bounds().Dy())
	if len(shape) != 3 || shape[0] != 3 || shape[1] != oh || shape[2] != ow {
		t.Fatalf("%s: golden shape %v, we make 3x%dx%d", key, shape, oh, ow)
	}
	d := maxAbsDiff(t, got, want)
	t.Logf("%s: max abs error %.3g", key, d)
	if d > goldenTol {
		t.Errorf("%s: max abs error %g > %g", key, d, goldenTol)
	}
}

func TestGoldenCLIP224(t *testing.T) {
	dir, c := openGolden(t)
	for _, name := range goldenImages {
		t.Run(name, func(t *testing.T) {
			checkGolden(t, dir, c, name, "clip224."+name, DefaultCLIP(224))
		})
	}
}

func TestGoldenBLIP384(t *testing.T) {
	dir, c := openGolden(t)
	checkGolden(t, dir, c, "astronaut", "blip384.astronaut", DefaultBLIP(384))
}

// TestGoldenHFConfigs runs the goldens through the configs that the model
// fixtures ship: the clip-vit processor must reproduce clip224.*.
func TestGoldenHFConfigs(t *testing.T) {
	dir, c := openGolden(t)
	root := filepath.Dir(dir)
	data, err := os.ReadFile(filepath.Join(root, "clip-vit", "preprocessor_config.json"))
	if err != nil {
		t.Skip(err)
	}
	cfg, err := ConfigFromHF(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range goldenImages {
		checkGolden(t, dir, c, name, "clip224."+name, cfg)
	}
}

// TestGoldenModelPixelValues checks the pixel_values inputs stored with the
// model fixtures (clip-vit at 224 with crop, blip-itm at 96×96).
func TestGoldenModelPixelValues(t *testing.T) {
	dir, _ := openGolden(t)
	root := filepath.Dir(dir)
	cases := []struct {
		model  string
		images []string
	}{
		{"clip-vit", goldenImages},
		{"blip-itm", goldenImages[:5]},
		{"blip-caption", goldenImages},
		{"clip-resnet", goldenImages},
		{"clip-vit-openclip", goldenImages},
		{"coca", goldenImages},
	}
	for _, tc := range cases {
		t.Run(tc.model, func(t *testing.T) {
			// open_clip models ship no preprocessor config: their transform
			// is OpenAI CLIP's at 224.
			cfg := DefaultCLIP(224)
			if cfgData, err := os.ReadFile(filepath.Join(root, tc.model, "preprocessor_config.json")); err == nil {
				if cfg, err = ConfigFromHF(cfgData); err != nil {
					t.Fatal(err)
				}
			}
			c, err := safetensors.OpenCheckpoint(filepath.Join(root, tc.model, "golden.safetensors"))
			if err != nil {
				t.Skip(err)
			}
			defer c.Close()
			want, shape, err := c.Float32("pixel_values")
			if err != nil {
				t.Skip(err)
			}
			if len(shape) != 4 || shape[0] != len(tc.images) {
				t.Fatalf("pixel_values shape %v", shape)
			}
			per := shape[1] * shape[2] * shape[3]
			for i, name := range tc.images {
				data, err := os.ReadFile(filepath.Join(dir, name+".png"))
				if err != nil {
					t.Fatal(err)
				}
				img, _, err := DecodeBytes(data)
				if err != nil {
					t.Fatal(err)
				}
				got, err := Preprocess(img, cfg)
				if err != nil {
					t.Fatal(err)
				}
				d := maxAbsDiff(t, got, want[i*per:(i+1)*per])
				t.Logf("%s/%s: max abs error %.3g", tc.model, name, d)
				if d > goldenTol {
					t.Errorf("%s/%s: max abs error %g", tc.model, name, d)
				}
			}
		})
	}
}
