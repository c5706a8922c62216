package imageproc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// pngChunk is one raw PNG chunk for buildPNG.
type pngChunk struct {
	typ  string
	data []byte
}

func appendChunk(b []byte, typ string, data []byte) []byte {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	b = append(b, n[:]...)
	start := len(b)
	b = append(b, typ...)
	b = append(b, data...)
	binary.BigEndian.PutUint32(n[:], crc32.ChecksumIEEE(b[start:]))
	return append(b, n[:]...)
}

// buildPNG writes a PNG by hand so tests can make what image/png cannot
// (tRNS for gray, eXIf, iTXt, absurd headers). rows are the unfiltered
// scanlines; each gets filter byte 0. Chunks in before go before IDAT,
// those in after between IDAT and IEND.
func buildPNG(w, h int, depth, ctype byte, rows [][]byte, before, after []pngChunk) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = depth, ctype
	b = appendChunk(b, "IHDR", ihdr)
	for _, c := range before {
		b = appendChunk(b, c.typ, c.data)
	}
	if rows != nil {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		for _, r := range rows {
			zw.Write([]byte{0})
			zw.Write(r)
		}
		zw.Close()
		b = appendChunk(b, "IDAT", z.Bytes())
	}
	for _, c := range after {
		b = appendChunk(b, c.typ, c.data)
	}
	return appendChunk(b, "IEND", nil)
}

// exifTIFF builds a TIFF/EXIF block whose IFD0 holds the given entries
// (tag, type, count, 4-byte value field) and extra data appended after the
// directory (for out-of-line values, at offset 8+2+12n+4).
type ifdEntry struct {
	tag, typ uint16
	count    uint32
	value    [4]byte
}

func exifTIFF(bo byteOrder, entries []ifdEntry, extra []byte) []byte {
	var b []byte
	if bo == byteOrder(binary.LittleEndian) {
		b = []byte("II*\x00")
	} else {
		b = []byte("MM\x00*")
	}
	b = bo.AppendUint32(b, 8)
	b = bo.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		b = bo.AppendUint16(b, e.tag)
		b = bo.AppendUint16(b, e.typ)
		b = bo.AppendUint32(b, e.count)
		b = append(b, e.value[:]...)
	}
	b = bo.AppendUint32(b, 0) // next IFD
	return append(b, extra...)
}

// shortValue packs one SHORT into an IFD value field.
func shortValue(bo byteOrder, v uint16) [4]byte {
	var f [4]byte
	bo.PutUint16(f[:], v)
	return f
}

func orientationEXIF(bo byteOrder, o uint16) []byte {
	return append([]byte("Exif\x00\x00"), exifTIFF(bo, []ifdEntry{{0x0112, 3, 1, shortValue(bo, o)}}, nil)...)
}

// spliceAPP1 inserts an APP1 segment right after the SOI of a JPEG.
func spliceAPP1(jpg, payload []byte) []byte {
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// quadrants is a w×h image with four flat colours, large enough that JPEG
// compression keeps each quadrant's centre within a few levels.
var (
	qRed   = [3]uint8{230, 20, 20}
	qGreen = [3]uint8{20, 220, 20}
	qBlue  = [3]uint8{20, 20, 230}
	qWhite = [3]uint8{240, 240, 240}
)

func quadrants(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := qRed
			switch {
			case x >= w/2 && y < h/2:
				c = qGreen
			case x < w/2 && y >= h/2:
				c = qBlue
			case x >= w/2 && y >= h/2:
				c = qWhite
			}
			m.SetNRGBA(x, y, color.NRGBA{c[0], c[1], c[2], 255})
		}
	}
	return m
}

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// gifWithGCE encodes a single-frame GIF and inserts a graphic control
// extension marking transparent index ti before the image descriptor.
func gifWithGCE(t testing.TB, frame *image.Paletted, screenW, screenH int, ti int) []byte {
	t.Helper()
	var b bytes.Buffer
	err := gif.EncodeAll(&b, &gif.GIF{
		Image:  []*image.Paletted{frame},
		Delay:  []int{0},
		Config: image.Config{ColorModel: frame.Palette, Width: screenW, Height: screenH},
	})
	if err != nil {
		t.Fatal(err)
	}
	g := b.Bytes()
	// Find the image descriptor after the header and global colour table.
	p := 13
	if g[10]&0x80 != 0 {
		p += 3 << (g[10]&7 + 1)
	}
	for g[p] != 0x2c {
		if g[p] != 0x21 {
			t.Fatalf("unexpected GIF block %#x", g[p])
		}
		p += 2
		for g[p] != 0 {
			p += int(g[p]) + 1
		}
		p++
	}
	gce := []byte{0x21, 0xf9, 4, 1, 0, 0, byte(ti), 0}
	out := append([]byte{}, g[:p]...)
	out = append(out, gce...)
	return append(out, g[p:]...)
}

// readRef reads a testdata/*.ref file made by gen_pil_refs.py.
func readRef(t testing.TB, name string) *RGB {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".ref"))
	if err != nil {
		t.Fatal(err)
	}
	w, h := int(binary.LittleEndian.Uint32(b)), int(binary.LittleEndian.Uint32(b[4:]))
	if len(b) != 8+3*w*h {
		t.Fatalf("%s: bad ref size", name)
	}
	return &RGB{W: w, H: h, Pix: b[8:]}
}

// rgbDiff returns the largest per-sample difference and how many samples
// differ.
func rgbDiff(t testing.TB, got, want *RGB) (maxd, n int) {
	t.Helper()
	if got.W != want.W || got.H != want.H {
		t.Fatalf("size %dx%d, want %dx%d", got.W, got.H, want.W, want.H)
	}
	for i := range want.Pix {
		d := int(got.Pix[i]) - int(want.Pix[i])
		if d < 0 {
			d = -d
		}
		if d > 0 {
			n++
		}
		maxd = max(maxd, d)
	}
	return maxd, n
}

// byteOrder is binary.LittleEndian or binary.BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// tinyBMP is a 2×2 24-bit bottom-up BMP: top row (10,20,30) (40,50,60),
// bottom row (1,2,3) (4,5,6).
func tinyBMP() []byte {
	hdr := []byte{
		'B', 'M', 70, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0,
		40, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 24, 0,
		0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	}
	rows := []byte{
		3, 2, 1, 6, 5, 4, 0, 0, // bottom row, BGR, padded to 4 bytes
		30, 20, 10, 60, 50, 40, 0, 0, // top row
	}
	return append(hdr, rows...)
}
