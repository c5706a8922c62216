package imageproc

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/tiff"
)

func decodeRGB(t *testing.T, data []byte) (*RGB, Format) {
	t.Helper()
	img, f, err := DecodeBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	return ToRGB(img), f
}

func wantPixel(t *testing.T, m *RGB, x, y int, want [3]uint8) {
	t.Helper()
	r, g, b := m.RGBAt(x, y)
	if [3]uint8{r, g, b} != want {
		t.Errorf("pixel (%d,%d) = %v, want %v", x, y, [3]uint8{r, g, b}, want)
	}
}

func TestGrayPNG(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(g.Pix, []uint8{0, 7, 128, 200, 254, 255})
	var b bytes.Buffer
	png.Encode(&b, g)
	m, f := decodeRGB(t, b.Bytes())
	if f != FormatPNG {
		t.Fatal(f)
	}
	for i, v := range g.Pix {
		wantPixel(t, m, i%3, i/3, [3]uint8{v, v, v})
	}
}

func TestLowBitDepthGrayPNG(t *testing.T) {
	// 2-bit gray scales like PIL's L;2 unpacker: v * 0x55.
	data := buildPNG(4, 1, 2, 0, [][]byte{{0b00011011}}, nil, nil)
	m, _ := decodeRGB(t, data)
	for x, v := range []uint8{0, 0x55, 0xaa, 0xff} {
		wantPixel(t, m, x, 0, [3]uint8{v, v, v})
	}
}

func TestGrayWithTransparencyPNG(t *testing.T) {
	// 8-bit gray + tRNS: Go decodes to NRGBA; the colour must survive.
	data := buildPNG(2, 1, 8, 0, [][]byte{{50, 60}}, []pngChunk{{"tRNS", []byte{0, 50}}}, nil)
	m, _ := decodeRGB(t, data)
	wantPixel(t, m, 0, 0, [3]uint8{50, 50, 50})
	wantPixel(t, m, 1, 0, [3]uint8{60, 60, 60})
}

func TestPalettedPNGWithTransparency(t *testing.T) {
	pal := color.Palette{
		color.NRGBA{10, 20, 30, 0}, // fully transparent: PIL still shows 10,20,30
		color.NRGBA{200, 100, 50, 128},
		color.NRGBA{1, 2, 3, 255},
	}
	p := image.NewPaletted(image.Rect(0, 0, 3, 1), pal)
	copy(p.Pix, []uint8{0, 1, 2})
	var b bytes.Buffer
	if err := png.Encode(&b, p); err != nil {
		t.Fatal(err)
	}
	img, _, err := DecodeBytes(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := img.(*image.Paletted); !ok {
		t.Fatalf("decoded %T, want *image.Paletted", img)
	}
	m := ToRGB(img)
	wantPixel(t, m, 0, 0, [3]uint8{10, 20, 30})
	wantPixel(t, m, 1, 0, [3]uint8{200, 100, 50})
	wantPixel(t, m, 2, 0, [3]uint8{1, 2, 3})
}

func TestRGBAPNGDropsAlphaWithoutCompositing(t *testing.T) {
	n := image.NewNRGBA(image.Rect(0, 0, 3, 1))
	n.SetNRGBA(0, 0, color.NRGBA{255, 128, 7, 0})
	n.SetNRGBA(1, 0, color.NRGBA{9, 99, 199, 1})
	n.SetNRGBA(2, 0, color.NRGBA{40, 50, 60, 255})
	var b bytes.Buffer
	png.Encode(&b, n)
	m, _ := decodeRGB(t, b.Bytes())
	wantPixel(t, m, 0, 0, [3]uint8{255, 128, 7})
	wantPixel(t, m, 1, 0, [3]uint8{9, 99, 199})
	wantPixel(t, m, 2, 0, [3]uint8{40, 50, 60})
}

func TestSixteenBitPNG(t *testing.T) {
	// RGB 16-bit: PIL loads the high byte (RGB;16B).
	c := image.NewNRGBA64(image.Rect(0, 0, 2, 1))
	c.SetNRGBA64(0, 0, color.NRGBA64{0x12ff, 0xab01, 0x0080, 0xffff})
	c.SetNRGBA64(1, 0, color.NRGBA64{0xffff, 0x00ff, 0x8000, 0x1234})
	var b bytes.Buffer
	png.Encode(&b, c)
	m, _ := decodeRGB(t, b.Bytes())
	wantPixel(t, m, 0, 0, [3]uint8{0x12, 0xab, 0x00})
	wantPixel(t, m, 1, 0, [3]uint8{0xff, 0x00, 0x80})

	// Gray 16-bit: PIL's I;16 → RGB clips to 255 rather than scaling.
	g := image.NewGray16(image.Rect(0, 0, 5, 1))
	for i, v := range []uint16{0, 1, 255, 256, 65535} {
		g.SetGray16(i, 0, color.Gray16{v})
	}
	b.Reset()
	png.Encode(&b, g)
	m, _ = decodeRGB(t, b.Bytes())
	for i, v := range []uint8{0, 1, 255, 255, 255} {
		wantPixel(t, m, i, 0, [3]uint8{v, v, v})
	}

	// Gray 16-bit with tRNS decodes to NRGBA64 in Go; same PIL rule.
	data := buildPNG(3, 1, 16, 0, [][]byte{{0, 7, 0, 200, 1, 0}}, []pngChunk{{"tRNS", []byte{0, 7}}}, nil)
	m, _ = decodeRGB(t, data)
	for i, v := range []uint8{7, 200, 255} {
		wantPixel(t, m, i, 0, [3]uint8{v, v, v})
	}
}

func TestGIFTransparentIndexKeepsColour(t *testing.T) {
	pal := color.Palette{
		color.RGBA{10, 20, 30, 255},
		color.RGBA{200, 100, 50, 255},
		color.RGBA{1, 2, 3, 255},
		color.RGBA{90, 80, 70, 255},
	}
	// Full-screen frame.
	fr := image.NewPaletted(image.Rect(0, 0, 4, 1), pal)
	copy(fr.Pix, []uint8{0, 1, 2, 3})
	m, f := decodeRGB(t, gifWithGCE(t, fr, 4, 1, 2))
	if f != FormatGIF {
		t.Fatal(f)
	}
	for x, c := range pal {
		r, g, b, _ := c.RGBA()
		wantPixel(t, m, x, 0, [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)})
	}

	// A frame smaller than the logical screen: PIL fills the rest of the
	// screen with the transparent index.
	fr = image.NewPaletted(image.Rect(2, 1, 4, 2), pal)
	copy(fr.Pix, []uint8{1, 3})
	m, _ = decodeRGB(t, gifWithGCE(t, fr, 5, 3, 2))
	if m.W != 5 || m.H != 3 {
		t.Fatalf("size %dx%d, want the 5x3 screen", m.W, m.H)
	}
	wantPixel(t, m, 0, 0, [3]uint8{1, 2, 3})
	wantPixel(t, m, 2, 1, [3]uint8{200, 100, 50})
	wantPixel(t, m, 3, 1, [3]uint8{90, 80, 70})
	wantPixel(t, m, 4, 2, [3]uint8{1, 2, 3})
}

func TestCMYKFormula(t *testing.T) {
	// Values from PIL 9.4 (Image.new("CMYK").convert("RGB")).
	c := image.NewCMYK(image.Rect(0, 0, 4, 1))
	copy(c.Pix, []uint8{0, 0, 0, 0, 255, 0, 0, 0, 100, 50, 200, 30, 10, 20, 30, 255})
	m := ToRGB(c)
	wantPixel(t, m, 0, 0, [3]uint8{255, 255, 255})
	wantPixel(t, m, 1, 0, [3]uint8{0, 255, 255})
	wantPixel(t, m, 2, 0, [3]uint8{137, 181, 49})
	wantPixel(t, m, 3, 0, [3]uint8{0, 0, 0})
}

func TestPremultipliedTIFF(t *testing.T) {
	// x/image/tiff writes image.RGBA as associated alpha; PIL unpacks
	// it with "RGBa": c*255/a truncated, 0 where a = 0.
	p := image.NewRGBA(image.Rect(0, 0, 4, 1))
	copy(p.Pix, []uint8{
		10, 20, 30, 255,
		50, 60, 70, 128,
		1, 2, 3, 0,
		100, 3, 0, 101,
	})
	var b bytes.Buffer
	if err := tiff.Encode(&b, p, nil); err != nil {
		t.Fatal(err)
	}
	m, f := decodeRGB(t, b.Bytes())
	if f != FormatTIFF {
		t.Fatal(f)
	}
	wantPixel(t, m, 0, 0, [3]uint8{10, 20, 30})
	wantPixel(t, m, 1, 0, [3]uint8{50 * 255 / 128, 60 * 255 / 128, 70 * 255 / 128})
	wantPixel(t, m, 2, 0, [3]uint8{0, 0, 0})
	wantPixel(t, m, 3, 0, [3]uint8{252, 7, 0})
}

func TestBMP(t *testing.T) {
	m, f := decodeRGB(t, tinyBMP())
	if f != FormatBMP {
		t.Fatal(f)
	}
	wantPixel(t, m, 0, 0, [3]uint8{10, 20, 30})
	wantPixel(t, m, 1, 0, [3]uint8{40, 50, 60})
	wantPixel(t, m, 0, 1, [3]uint8{1, 2, 3})
	wantPixel(t, m, 1, 1, [3]uint8{4, 5, 6})
}

// TestAgainstPIL compares decoding + ToRGB with what PIL 9.4 produced for
// the files in testdata (see gen_pil_refs.py). WebP and CMYK are exact;
// JPEG differs only through Go's IDCT (±1 per component, a few levels after
// colour conversion).
func TestAgainstPIL(t *testing.T) {
	cases := []struct {
		file   string
		format Format
		tol    int
	}{
		{"lossy.webp", FormatWebP, 0},
		{"lossy_alpha.webp", FormatWebP, 0},
		{"lossless.webp", FormatWebP, 0},
		{"s420.jpg", FormatJPEG, 4},
		{"s422.jpg", FormatJPEG, 4},
		{"s444.jpg", FormatJPEG, 4},
		{"cmyk.jpg", FormatJPEG, 2},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			m, f := decodeRGB(t, data)
			if f != tc.format {
				t.Fatalf("format %q", f)
			}
			d, n := rgbDiff(t, m, readRef(t, tc.file))
			t.Logf("max diff %d, %d of %d samples differ", d, n, len(m.Pix))
			if d > tc.tol {
				t.Errorf("max diff %d > %d", d, tc.tol)
			}
		})
	}
}

// TestJPEGChromaUpsampling checks the libjpeg fancy upsampling against
// Go's nearest-neighbour conversion on a sharp-edged 4:2:0 image: ours
// must be far closer to PIL.
func TestJPEGChromaUpsampling(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "s420.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := DecodeBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	ref := readRef(t, "s420.jpg")
	ours, _ := rgbDiff(t, ToRGB(img), ref)
	goConv, _ := rgbDiff(t, fromGeneric(img), ref)
	t.Logf("max diff vs PIL: libjpeg-style %d, Go's conversion %d", ours, goConv)
	if ours >= goConv {
		t.Errorf("fancy upsampling (%d) is no closer to PIL than Go's conversion (%d)", ours, goConv)
	}
}

func TestToRGBSubImages(t *testing.T) {
	// Sub-images must convert their own rectangle.
	n := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for i := range n.Pix {
		n.Pix[i] = uint8(i)
	}
	sub := n.SubImage(image.Rect(1, 2, 3, 4)).(*image.NRGBA)
	m := ToRGB(sub)
	if m.W != 2 || m.H != 2 {
		t.Fatalf("size %dx%d", m.W, m.H)
	}
	c := n.NRGBAAt(2, 3)
	wantPixel(t, m, 1, 1, [3]uint8{c.R, c.G, c.B})

	// 4:4:4 YCbCr needs no neighbours, so a sub-image converts to the
	// same pixels as the matching part of the whole image.
	y := image.NewYCbCr(image.Rect(0, 0, 8, 8), image.YCbCrSubsampleRatio444)
	for i := range y.Y {
		y.Y[i], y.Cb[i], y.Cr[i] = uint8(i*3), uint8(100+i*5), uint8(140-i*3)
	}
	full := ToRGB(y)
	part := ToRGB(y.SubImage(image.Rect(3, 2, 7, 5)))
	for yy := 0; yy < 3; yy++ {
		for xx := 0; xx < 4; xx++ {
			r, g, b := full.RGBAt(3+xx, 2+yy)
			wantPixel(t, part, xx, yy, [3]uint8{r, g, b})
		}
	}
}
