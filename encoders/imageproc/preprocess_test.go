package imageproc

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"rosetta/internal/fixtures"
)

// TestResizeFiltersAgainstPIL compares every filter with PIL 9.4's
// Image.resize output (testdata/gen_pil_refs.py), upscaling one axis while
// downscaling the other, and downscaling both.
func TestResizeFiltersAgainstPIL(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "src13x11.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := DecodeBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	src := ToRGB(img)
	// The 37×23 source of the _down_ references, rebuilt with the
	// generator's formula.
	big := NewRGB(37, 23)
	for y := 0; y < 23; y++ {
		for x := 0; x < 37; x++ {
			i := 3 * (y*37 + x)
			big.Pix[i] = uint8((x*7 + y*3) % 256)
			big.Pix[i+1] = uint8((y * 11) % 256)
			big.Pix[i+2] = uint8(((x/4+y/4)%2)*200 + 20)
		}
	}
	for i := range src.Pix { // src13x11 is the top-left corner of it
		x, y := (i/3)%13, (i/3)/13
		if src.Pix[i] != big.Pix[3*(y*37+x)+i%3] {
			t.Fatal("src13x11.png is not the corner of the generator's image")
		}
	}
	for _, f := range []Filter{Bicubic, Bilinear, Lanczos, Box, Hamming} {
		got := Resize(src, 29, 7, f)
		if d, n := rgbDiff(t, got, readRef(t, "resize_"+f.String())); d != 0 {
			t.Errorf("%v 13x11→29x7: max diff %d (%d samples)", f, d, n)
		}
		got = Resize(big, 5, 17, f)
		if d, n := rgbDiff(t, got, readRef(t, "resize_down_"+f.String())); d != 0 {
			t.Errorf("%v 37x23→5x17: max diff %d (%d samples)", f, d, n)
		}
	}
}

func TestResizeWindowMatchesResizeThenCrop(t *testing.T) {
	src := NewRGB(53, 31)
	for i := range src.Pix {
		src.Pix[i] = uint8(i*131 + i/7)
	}
	for _, sz := range [][2]int{{20, 11}, {53, 12}, {17, 31}, {80, 45}} {
		full := ResizeBicubic(src, sz[0], sz[1])
		x0, y0, cw, ch := sz[0]/4, sz[1]/3, sz[0]/2, sz[1]/2
		win := resampleWindow(src, sz[0], sz[1], Bicubic, x0, y0, cw, ch)
		for y := 0; y < ch; y++ {
			a := full.Pix[3*((y0+y)*full.W+x0):][:3*cw]
			b := win.Pix[3*y*cw:][:3*cw]
			if !bytes.Equal(a, b) {
				t.Fatalf("%v: window row %d differs from the full resize", sz, y)
			}
		}
	}
	// Same size: identity.
	if got := ResizeBicubic(src, src.W, src.H); !bytes.Equal(got.Pix, src.Pix) {
		t.Error("same-size resize changed pixels")
	}
}

func TestCropOrigin(t *testing.T) {
	cases := []struct{ n, crop, want int }{
		{224, 224, 0},
		{225, 224, 0}, // round(0.5) = 0 (half to even)
		{227, 224, 2}, // round(1.5) = 2
		{229, 224, 2}, // round(2.5) = 2
		{695, 224, 236},
		{298, 224, 37},
		{200, 224, -12},
		{201, 224, -11}, // padding (224-201)//2 = 11 on the left
	}
	for _, c := range cases {
		if got := cropOrigin(c.n, c.crop); got != c.want {
			t.Errorf("cropOrigin(%d, %d) = %d, want %d", c.n, c.crop, got, c.want)
		}
	}
}

func TestResizeSize(t *testing.T) {
	cfg := DefaultCLIP(224)
	cases := []struct{ w, h, rw, rh int }{
		{512, 512, 224, 224},
		{451, 300, 336, 224},
		{640, 427, 335, 224},
		{301, 97, 695, 224},
		{300, 451, 224, 336},
		{1024, 768, 298, 224},
	}
	for _, c := range cases {
		rw, rh := cfg.resizeSize(c.w, c.h)
		if rw != c.rw || rh != c.rh {
			t.Errorf("%dx%d → %dx%d, want %dx%d", c.w, c.h, rw, rh, c.rw, c.rh)
		}
	}
}

func TestPreprocessPaddingAndPassThrough(t *testing.T) {
	src := NewRGB(3, 2)
	for i := range src.Pix {
		src.Pix[i] = uint8(40 * i)
	}
	// No resize, crop 5×4 larger than the 3×2 image: torchvision pads
	// (5-3)//2 = 1 column left, (4-2)//2 = 1 row on top with zeros.
	cfg := Config{CropW: 5, CropH: 4, Mean: [3]float32{0, 0, 0}, Std: [3]float32{1, 1, 1}}
	out, err := PreprocessRGB(src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3*5*4 {
		t.Fatalf("len %d", len(out))
	}
	at := func(c, x, y int) float32 { return out[c*20+y*5+x] }
	for c := 0; c < 3; c++ {
		for y := 0; y < 4; y++ {
			for x := 0; x < 5; x++ {
				want := float32(0)
				if x >= 1 && x < 4 && y >= 1 && y < 3 {
					want = float32(src.Pix[3*((y-1)*3+(x-1))+c]) / 255
				}
				if at(c, x, y) != want {
					t.Fatalf("c%d (%d,%d) = %v, want %v", c, x, y, at(c, x, y), want)
				}
			}
		}
	}
	// No resize, no crop, mean/std: a plain CHW transform.
	cfg = Config{RescaleFactor: 1, Mean: [3]float32{10, 20, 30}, Std: [3]float32{2, 4, 5}}
	out, err = PreprocessRGB(src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 3; c++ {
		for i := 0; i < 6; i++ {
			want := (float32(src.Pix[3*i+c]) - cfg.Mean[c]) / cfg.Std[c]
			if out[c*6+i] != want {
				t.Fatalf("c%d i%d = %v, want %v", c, i, out[c*6+i], want)
			}
		}
	}
	// A crop window that straddles the image after a resize.
	cfg = DefaultCLIP(4)
	cfg.CropW, cfg.CropH = 6, 2
	out, err = PreprocessRGB(src, cfg) // 3x2 → 6x4, crop 6x2 at (0, 1)
	if err != nil {
		t.Fatal(err)
	}
	full, _ := PreprocessRGB(ResizeBicubic(src, 6, 4), Config{Mean: CLIPMean, Std: CLIPStd})
	for c := 0; c < 3; c++ {
		for i := 0; i < 12; i++ {
			if out[c*12+i] != full[c*24+6+i] {
				t.Fatalf("crop of resize differs at c%d i%d", c, i)
			}
		}
	}
}

func TestPreprocessErrors(t *testing.T) {
	src := NewRGB(4, 4)
	bad := []Config{
		{},                                   // Std zero
		{ShortestEdge: -1, Std: CLIPStd},     // negative
		{ResizeW: 10, Std: CLIPStd},          // half a size
		{CropW: 10, Std: CLIPStd},            // half a crop
		{Resample: Filter(42), Std: CLIPStd}, // unknown filter
		{Std: [3]float32{1, float32(math.NaN()), 1}},
	}
	for i, cfg := range bad {
		if _, err := PreprocessRGB(src, cfg); err == nil {
			t.Errorf("config %d accepted: %+v", i, cfg)
		}
	}
	if _, err := Preprocess(nil, DefaultCLIP(224)); err == nil {
		t.Error("nil image accepted")
	}
	if _, err := PreprocessRGB(NewRGB(0, 0), DefaultCLIP(224)); err == nil {
		t.Error("empty image accepted")
	}
}

func TestConfigFromHF(t *testing.T) {
	root := fixtures.Dir(t, "clip-vit")
	data, err := os.ReadFile(filepath.Join(root, "preprocessor_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ConfigFromHF(data)
	if err != nil {
		t.Fatal(err)
	}
	if want := DefaultCLIP(224); cfg != want {
		t.Errorf("clip-vit: %+v, want %+v", cfg, want)
	}

	data, err = os.ReadFile(filepath.Join(filepath.Dir(root), "blip-itm", "preprocessor_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = ConfigFromHF(data)
	if err != nil {
		t.Fatal(err)
	}
	if want := DefaultBLIP(96); cfg != want {
		t.Errorf("blip-itm: %+v, want %+v", cfg, want)
	}
}

func TestConfigFromHFVariants(t *testing.T) {
	cases := []struct {
		json string
		want Config
	}{
		// Old CLIP configs: bare ints, feature_extractor_type.
		{`{"feature_extractor_type": "CLIPFeatureExtractor", "size": 224, "crop_size": 224, "do_center_crop": true}`,
			DefaultCLIP(224)},
		// Old BLIP configs: a bare int size is a square.
		{`{"image_processor_type": "BlipImageProcessor", "size": 384}`, DefaultBLIP(384)},
		{`{"size": {"height": 32, "width": 48}, "do_normalize": false, "resample": 2}`,
			Config{ResizeW: 48, ResizeH: 32, Resample: Bilinear, RescaleFactor: 1.0 / 255, Std: [3]float32{1, 1, 1}}},
		{`{"size": {"shortest_edge": 256}, "crop_size": {"height": 224, "width": 224}, "do_rescale": false,
		   "image_mean": [0.5, 0.5, 0.5], "image_std": 0.25}`,
			Config{ShortestEdge: 256, CropW: 224, CropH: 224, RescaleFactor: 1,
				Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.25, 0.25}}},
		{`{"size": {"shortest_edge": 224}, "do_resize": false, "crop_size": 224, "do_center_crop": false}`,
			Config{RescaleFactor: 1.0 / 255, Mean: CLIPMean, Std: CLIPStd}},
	}
	for _, tc := range cases {
		got, err := ConfigFromHF([]byte(tc.json))
		if err != nil {
			t.Errorf("%s: %v", tc.json, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.json, got, tc.want)
		}
	}
	for _, bad := range []string{
		`not json`,
		`{"size": {"longest_edge": 1333}}`,
		`{"size": "big"}`,
		`{"size": -3}`,
		`{"do_center_crop": true}`,
		`{"image_mean": [0.5, 0.5]}`,
		`{"image_std": [0, 1, 1]}`,
		`{"resample": 0}`,
		`{"rescale_factor": 0}`,
	} {
		if cfg, err := ConfigFromHF([]byte(bad)); err == nil {
			t.Errorf("%s accepted: %+v", bad, cfg)
		}
	}
}

func TestLUTMatchesReferenceArithmetic(t *testing.T) {
	cfg := DefaultCLIP(224)
	lut := cfg.lut()
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			x := float32(v) / 255
			want := (x - cfg.Mean[c]) / cfg.Std[c]
			if lut[c][v] != want {
				t.Fatalf("lut[%d][%d] = %v, want %v", c, v, lut[c][v], want)
			}
		}
	}
	// A rescale factor that is not 1/n multiplies.
	cfg.RescaleFactor = 0.5
	if got := cfg.lut()[0][3]; got != (float32(1.5)-cfg.Mean[0])/cfg.Std[0] {
		t.Errorf("rescale 0.5: %v", got)
	}
}

// FuzzDecode checks that no input makes Decode or ToRGB panic, that
// errors carry a sentinel, and that decoded sizes are consistent.
func FuzzDecode(f *testing.F) {
	var b bytes.Buffer
	png.Encode(&b, quadrants(4, 3))
	f.Add(b.Bytes())
	f.Add(encodeJPEG(f, quadrants(9, 7), 80))
	f.Add(spliceAPP1(encodeJPEG(f, quadrants(4, 4), 50), []byte("Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00")))
	f.Add(tinyBMP())
	for _, name := range []string{"lossy.webp", "lossy_alpha.webp", "lossless.webp", "src13x11.png", "cmyk.jpg"} {
		if data, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("GIF89a\x02\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x02\x00\x01\x00\x00\x02\x02D\x01\x00;"))
	f.Add([]byte("II*\x00\x08\x00\x00\x00"))
	opts := Options{MaxPixels: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, format, err := opts.DecodeBytes(data)
		if err != nil {
			if img != nil {
				t.Fatal("image and error")
			}
			if !errorsIsAny(err, ErrCorrupt, ErrUnsupported, ErrTooLarge) {
				t.Fatalf("error without sentinel: %v", err)
			}
			return
		}
		if format == FormatUnknown {
			t.Fatal("decoded an unknown format")
		}
		bnd := img.Bounds()
		if bnd.Empty() || int64(bnd.Dx())*int64(bnd.Dy()) > 1<<20 {
			t.Fatalf("bounds %v", bnd)
		}
		m := ToRGB(img)
		if m.W != bnd.Dx() || m.H != bnd.Dy() || len(m.Pix) != 3*m.W*m.H {
			t.Fatalf("ToRGB %dx%d for bounds %v", m.W, m.H, bnd)
		}
		if _, err := PreprocessRGB(m, DefaultCLIP(8)); err != nil {
			t.Fatal(err)
		}
	})
}

func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

func BenchmarkPreprocess1024x768(b *testing.B) {
	src := NewRGB(1024, 768)
	for i := range src.Pix {
		src.Pix[i] = uint8(i*7 + i/3072)
	}
	img := image.Image(src)
	cfg := DefaultCLIP(224)
	b.SetBytes(int64(len(src.Pix)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Preprocess(img, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPreprocessJPEG1024x768 includes ToRGB of a decoded 4:2:0 JPEG
// (the libjpeg-style upsampling) but not the decoding itself.
func BenchmarkPreprocessJPEG1024x768(b *testing.B) {
	src := NewRGB(1024, 768)
	for i := range src.Pix {
		src.Pix[i] = uint8(i*7 + i/3072)
	}
	img, _, err := DecodeBytes(encodeJPEG(b, src, 90))
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultCLIP(224)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Preprocess(img, cfg); err != nil {
			b.Fatal(err)
		}
	}
}
