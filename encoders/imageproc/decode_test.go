package imageproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// near reports whether a decoded JPEG colour is within tol of want.
func near(r, g, b uint8, want [3]uint8, tol int) bool {
	d := func(a, b uint8) int {
		if a > b {
			return int(a - b)
		}
		return int(b - a)
	}
	return d(r, want[0]) <= tol && d(g, want[1]) <= tol && d(b, want[2]) <= tol
}

func TestJPEGExifOrientations(t *testing.T) {
	const w, h = 64, 32
	jpg := encodeJPEG(t, quadrants(w, h), 95)
	// Expected quadrant colours after PIL's exif_transpose, as
	// [top-left, top-right, bottom-left, bottom-right].
	want := map[int][4][3]uint8{
		1: {qRed, qGreen, qBlue, qWhite},
		2: {qGreen, qRed, qWhite, qBlue}, // FLIP_LEFT_RIGHT
		3: {qWhite, qBlue, qGreen, qRed}, // ROTATE_180
		4: {qBlue, qWhite, qRed, qGreen}, // FLIP_TOP_BOTTOM
		5: {qRed, qBlue, qGreen, qWhite}, // TRANSPOSE
		6: {qBlue, qRed, qWhite, qGreen}, // ROTATE_270 (90° clockwise)
		7: {qWhite, qGreen, qBlue, qRed}, // TRANSVERSE
		8: {qGreen, qWhite, qRed, qBlue}, // ROTATE_90 (90° counter-clockwise)
	}
	for o := 1; o <= 8; o++ {
		for _, bo := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
			data := spliceAPP1(jpg, orientationEXIF(bo, uint16(o)))
			if got := Orientation(data); got != o {
				t.Errorf("Orientation = %d, want %d", got, o)
			}
			img, f, err := DecodeBytes(data)
			if err != nil {
				t.Fatal(err)
			}
			if f != FormatJPEG {
				t.Fatal(f)
			}
			ow, oh := w, h
			if o >= 5 {
				ow, oh = h, w
			}
			if b := img.Bounds(); b.Dx() != ow || b.Dy() != oh {
				t.Fatalf("orientation %d: bounds %v, want %dx%d", o, b, ow, oh)
			}
			m := ToRGB(img)
			pts := [4][2]int{{ow / 4, oh / 4}, {3 * ow / 4, oh / 4}, {ow / 4, 3 * oh / 4}, {3 * ow / 4, 3 * oh / 4}}
			for i, p := range pts {
				r, g, b := m.RGBAt(p[0], p[1])
				if !near(r, g, b, want[o][i], 8) {
					t.Errorf("orientation %d quadrant %d: got %v, want %v", o, i, [3]uint8{r, g, b}, want[o][i])
				}
				// The image.Image view must agree with ToRGB.
				c := color.NRGBAModel.Convert(img.At(p[0], p[1])).(color.NRGBA)
				if !near(c.R, c.G, c.B, want[o][i], 12) {
					t.Errorf("orientation %d quadrant %d: At gives %v", o, i, c)
				}
			}
			// IgnoreOrientation keeps the stored layout.
			raw, _, err := Options{IgnoreOrientation: true}.DecodeBytes(data)
			if err != nil {
				t.Fatal(err)
			}
			if b := raw.Bounds(); b.Dx() != w || b.Dy() != h {
				t.Errorf("IgnoreOrientation: bounds %v", b)
			}
		}
	}
}

func TestTransposeMatchesView(t *testing.T) {
	src := NewRGB(5, 3)
	for i := range src.Pix {
		src.Pix[i] = uint8(i)
	}
	for o := 1; o <= 8; o++ {
		got := Transpose(src, o)
		view := &oriented{Image: src, orientation: o}
		if o == 1 {
			view = &oriented{Image: src, orientation: 0}
		}
		b := view.Bounds()
		if got.W != b.Dx() || got.H != b.Dy() {
			t.Fatalf("orientation %d: %dx%d vs %v", o, got.W, got.H, b)
		}
		for y := 0; y < got.H; y++ {
			for x := 0; x < got.W; x++ {
				c := view.At(x, y).(color.RGBA)
				r, g, bb := got.RGBAt(x, y)
				if c.R != r || c.G != g || c.B != bb {
					t.Fatalf("orientation %d (%d,%d): view %v, Transpose %v", o, x, y, c, [3]uint8{r, g, bb})
				}
			}
		}
		// Applying an orientation and its inverse restores the image.
		inv := map[int]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}[o]
		back := Transpose(got, inv)
		if back.W != src.W || !bytes.Equal(back.Pix, src.Pix) {
			t.Errorf("orientation %d then %d does not round-trip", o, inv)
		}
	}
}

func TestPNGAndWebPOrientation(t *testing.T) {
	bo := binary.BigEndian
	rows := [][]byte{{1, 2, 3, 4, 5, 6}} // 2x1 RGB
	// eXIf chunk (no "Exif\0\0" prefix, as PNG stores it).
	data := buildPNG(2, 1, 8, 2, rows, nil, []pngChunk{{"eXIf", exifTIFF(bo, []ifdEntry{{0x0112, 3, 1, shortValue(bo, 6)}}, nil)}})
	if o := Orientation(data); o != 6 {
		t.Errorf("PNG eXIf orientation %d, want 6", o)
	}
	img, _, err := DecodeBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	m := ToRGB(img)
	if m.W != 1 || m.H != 2 {
		t.Fatalf("rotated size %dx%d", m.W, m.H)
	}
	wantPixel(t, m, 0, 0, [3]uint8{1, 2, 3})
	wantPixel(t, m, 0, 1, [3]uint8{4, 5, 6})

	// XMP in an iTXt chunk, used when there is no EXIF orientation.
	itxt := []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta><rdf:Description tiff:Orientation=\"3\"/></x:xmpmeta>")
	data = buildPNG(2, 1, 8, 2, rows, []pngChunk{{"iTXt", itxt}}, nil)
	if o := Orientation(data); o != 3 {
		t.Errorf("PNG XMP orientation %d, want 3", o)
	}
	// EXIF wins over XMP, even when it says 1.
	data = buildPNG(2, 1, 8, 2, rows, []pngChunk{{"iTXt", itxt}, {"eXIf", exifTIFF(bo, []ifdEntry{{0x0112, 3, 1, shortValue(bo, 1)}}, nil)}}, nil)
	if o := Orientation(data); o != 1 {
		t.Errorf("EXIF 1 + XMP 3: orientation %d, want 1", o)
	}

	// WebP: an EXIF chunk in a RIFF container.
	webp, err := os.ReadFile(filepath.Join("testdata", "lossless.webp"))
	if err != nil {
		t.Fatal(err)
	}
	withExif := addWebPChunk(webp, "EXIF", orientationEXIF(binary.LittleEndian, 8))
	if o := Orientation(withExif); o != 8 {
		t.Errorf("WebP EXIF orientation %d, want 8", o)
	}
	img, _, err = DecodeBytes(withExif)
	if err != nil {
		t.Fatal(err)
	}
	plain, _, _ := DecodeBytes(webp)
	if got, want := img.Bounds().Size(), (image.Point{plain.Bounds().Dy(), plain.Bounds().Dx()}); got != want {
		t.Errorf("rotated WebP size %v, want %v", got, want)
	}
}

// addWebPChunk appends a chunk to a simple (VP8L) WebP file; decoders and
// PIL's demuxer accept trailing metadata chunks.
func addWebPChunk(webp []byte, id string, payload []byte) []byte {
	out := append([]byte{}, webp...)
	out = append(out, id...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(payload)))
	out = append(out, payload...)
	if len(payload)%2 == 1 {
		out = append(out, 0)
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}

func TestSniff(t *testing.T) {
	cases := map[string]Format{
		"\xff\xd8\xff\xe0":           FormatJPEG,
		"\x89PNG\r\n\x1a\nxxxx":      FormatPNG,
		"GIF89a....":                 FormatGIF,
		"GIF87a....":                 FormatGIF,
		"BM......":                   FormatBMP,
		"RIFF\x00\x00\x00\x00WEBPVP": FormatWebP,
		"RIFF\x00\x00\x00\x00WAVE":   FormatUnknown,
		"II*\x00\x08\x00\x00\x00":    FormatTIFF,
		"MM\x00*\x00\x00\x00\x08":    FormatTIFF,
		"<svg>":                      FormatUnknown,
		"":                           FormatUnknown,
	}
	for in, want := range cases {
		if got := Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	var good bytes.Buffer
	png.Encode(&good, quadrants(16, 16))
	jpg := encodeJPEG(t, quadrants(16, 16), 90)
	badCRC := append([]byte{}, good.Bytes()...)
	badCRC[len(badCRC)-20] ^= 0xff // inside IDAT

	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrCorrupt},
		{"short signature", []byte("\x89PN"), ErrCorrupt},
		{"text", []byte("hello, this is not an image at all"), ErrUnsupported},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), ErrUnsupported},
		{"png header only", good.Bytes()[:8], ErrCorrupt},
		{"png truncated", good.Bytes()[:len(good.Bytes())/2], ErrCorrupt},
		{"png bad crc", badCRC, ErrCorrupt},
		{"jpeg truncated header", jpg[:20], ErrCorrupt},
		{"jpeg truncated data", jpg[:len(jpg)-len(jpg)/3], ErrCorrupt},
		{"gif truncated", []byte("GIF89a\x10\x00\x10\x00\x80\x00\x00"), ErrCorrupt},
		{"bmp unsupported header", []byte("BM garbage garbage garbage"), ErrUnsupported},
		{"bmp truncated", tinyBMP()[:60], ErrCorrupt},
		{"tiff garbage", []byte("II*\x00\xff\xff\xff\x7f"), ErrCorrupt},
		{"webp garbage", []byte("RIFF\x10\x00\x00\x00WEBPVP8 \x04\x00\x00\x00abcd"), ErrCorrupt},
		{"png zero size", buildPNG(0, 0, 8, 2, nil, nil, nil), ErrCorrupt},
		{"png bad colour type", buildPNG(1, 1, 8, 5, [][]byte{{0}}, nil, nil), ErrUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img, _, err := DecodeBytes(tc.data)
			if err == nil {
				t.Fatalf("decoded %v, want an error", img.Bounds())
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if img != nil {
				t.Error("image returned with an error")
			}
		})
	}
}

func TestAnimatedWebPUnsupported(t *testing.T) {
	vp8x := make([]byte, 10)
	vp8x[0] = 0x02 // animation
	data := []byte("RIFF\x00\x00\x00\x00WEBP")
	data = append(data, "VP8X"...)
	data = binary.LittleEndian.AppendUint32(data, 10)
	data = append(data, vp8x...)
	data = append(data, "ANIM"...)
	data = binary.LittleEndian.AppendUint32(data, 6)
	data = append(data, make([]byte, 6)...)
	binary.LittleEndian.PutUint32(data[4:], uint32(len(data)-8))
	_, f, err := DecodeBytes(data)
	if f != FormatWebP || !errors.Is(err, ErrUnsupported) {
		t.Errorf("format %q, error %v; want webp, ErrUnsupported", f, err)
	}
}

// allocatedDuring reports the bytes allocated while fn runs.
func allocatedDuring(fn func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func TestDecompressionBombs(t *testing.T) {
	// A PNG header declaring 100000×100000 (10 Gpx, 30 GB as RGB) followed
	// by a tiny IDAT.
	pngBomb := buildPNG(100000, 100000, 8, 2, [][]byte{{0, 0, 0}}, nil, nil)

	// JPEG: a real SOF with its size patched to 60000×60000.
	jpg := encodeJPEG(t, quadrants(16, 16), 90)
	jpegBomb := append([]byte{}, jpg...)
	sof := bytes.Index(jpegBomb, []byte{0xff, 0xc0})
	if sof < 0 {
		t.Fatal("no SOF0")
	}
	binary.BigEndian.PutUint16(jpegBomb[sof+5:], 60000)
	binary.BigEndian.PutUint16(jpegBomb[sof+7:], 60000)

	// GIF: logical screen and frame 65535×65535.
	var gb bytes.Buffer
	fr := image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.White})
	gif.Encode(&gb, fr, nil)
	gifBomb := gb.Bytes()
	binary.LittleEndian.PutUint16(gifBomb[6:], 65535)
	binary.LittleEndian.PutUint16(gifBomb[8:], 65535)
	desc := bytes.IndexByte(gifBomb[13+6:], 0x2c) + 13 + 6
	binary.LittleEndian.PutUint16(gifBomb[desc+5:], 65535)
	binary.LittleEndian.PutUint16(gifBomb[desc+7:], 65535)

	// BMP: 24-bit, 50000×50000.
	bmpBomb := []byte{
		'B', 'M', 0, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0,
		40, 0, 0, 0, 0x50, 0xc3, 0, 0, 0x50, 0xc3, 0, 0, 1, 0, 24, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	}

	// WebP: VP8X canvas 16384×16384 (268 Mpx).
	webpBomb := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00")
	webpBomb = append(webpBomb, 0, 0, 0, 0, 0xff, 0x3f, 0, 0xff, 0x3f, 0)
	webpBomb = append(webpBomb, "VP8L\x05\x00\x00\x00\x2f\xff\xff\xff\x0f\x00"...)
	binary.LittleEndian.PutUint32(webpBomb[4:], uint32(len(webpBomb)-8))

	// TIFF: 70000×70000 uncompressed gray.
	le := binary.LittleEndian
	long := func(v uint32) [4]byte { var f [4]byte; le.PutUint32(f[:], v); return f }
	tiffBomb := exifTIFF(le, []ifdEntry{
		{256, 4, 1, long(70000)}, {257, 4, 1, long(70000)}, {258, 3, 1, shortValue(le, 8)},
		{259, 3, 1, shortValue(le, 1)}, {262, 3, 1, shortValue(le, 1)}, {273, 4, 1, long(8)},
		{277, 3, 1, shortValue(le, 1)}, {278, 4, 1, long(70000)}, {279, 4, 1, long(70000 * 70000 / 2)},
	}, nil)

	cases := map[string][]byte{
		"png": pngBomb, "jpeg": jpegBomb, "gif": gifBomb, "bmp": bmpBomb, "webp": webpBomb, "tiff": tiffBomb,
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			var err error
			start := time.Now()
			alloc := allocatedDuring(func() { _, _, err = DecodeBytes(data) })
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v, want ErrTooLarge", err)
			}
			if !strings.Contains(err.Error(), "limit") {
				t.Errorf("error %q does not explain the limit", err)
			}
			if alloc > 4<<20 {
				t.Errorf("allocated %d bytes before refusing", alloc)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v to refuse", d)
			}
		})
	}

	// The limit is configurable, and a negative value disables it.
	rows := make([][]byte, 20)
	for i := range rows {
		rows[i] = make([]byte, 20)
	}
	small := buildPNG(20, 20, 8, 0, rows, nil, nil)
	if _, _, err := (Options{MaxPixels: 399}).DecodeBytes(small); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxPixels 399: %v", err)
	}
	if _, _, err := (Options{MaxPixels: 400}).DecodeBytes(small); err != nil {
		t.Errorf("MaxPixels 400: %v", err)
	}
	if _, _, err := (Options{MaxPixels: -1}).DecodeBytes(small); err != nil {
		t.Errorf("MaxPixels -1: %v", err)
	}
	if _, _, err := (Options{MaxBytes: 10}).DecodeBytes(small); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxBytes 10: %v", err)
	}
	if _, _, err := (Options{MaxBytes: 10}).Decode(bytes.NewReader(small)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxBytes 10 (reader): %v", err)
	}
	if img, f, err := Decode(bytes.NewReader(small)); err != nil || f != FormatPNG || img.Bounds().Dx() != 20 {
		t.Errorf("Decode: %v %q %v", img, f, err)
	}
}
