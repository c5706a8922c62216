package imageproc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"image/png"
	"math"
	"testing"
)

func TestExifOrientationParser(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	long := func(bo byteOrder, v uint32) [4]byte { var f [4]byte; bo.PutUint32(f[:], v); return f }
	// Offset of the data that follows a directory of n entries.
	extraAt := func(n int) uint32 { return uint32(8 + 2 + 12*n + 4) }
	rational := func(bo byteOrder, num, den uint32) []byte {
		b := make([]byte, 8)
		bo.PutUint32(b, num)
		bo.PutUint32(b[4:], den)
		return b
	}
	f64 := make([]byte, 8)
	le.PutUint64(f64, math.Float64bits(6))

	cases := []struct {
		name  string
		data  []byte
		want  int64
		found bool
	}{
		{"short le", exifTIFF(le, []ifdEntry{{0x0112, 3, 1, shortValue(le, 6)}}, nil), 6, true},
		{"short be", exifTIFF(be, []ifdEntry{{0x0112, 3, 1, shortValue(be, 3)}}, nil), 3, true},
		{"with Exif prefix", orientationEXIF(le, 5), 5, true},
		{"double Exif prefix", append([]byte("Exif\x00\x00"), orientationEXIF(be, 7)...), 7, true},
		{"long", exifTIFF(be, []ifdEntry{{0x0112, 4, 1, long(be, 8)}}, nil), 8, true},
		{"among other tags", exifTIFF(le, []ifdEntry{
			{0x010f, 2, 4, [4]byte{'A', 'B', 'C', 0}},
			{0x0112, 3, 1, shortValue(le, 2)},
			{0x8769, 4, 1, long(le, 0)},
		}, nil), 2, true},
		{"duplicate: last wins", exifTIFF(le, []ifdEntry{
			{0x0112, 3, 1, shortValue(le, 6)},
			{0x0112, 3, 1, shortValue(le, 8)},
		}, nil), 8, true},
		{"count 2 takes the first", exifTIFF(le, []ifdEntry{{0x0112, 3, 2, [4]byte{6, 0, 3, 0}}}, nil), 6, true},
		{"rational 6/1", exifTIFF(le, []ifdEntry{{0x0112, 5, 1, long(le, extraAt(1))}}, rational(le, 6, 1)), 6, true},
		{"rational 12/2", exifTIFF(be, []ifdEntry{{0x0112, 5, 1, long(be, extraAt(1))}}, rational(be, 12, 2)), 6, true},
		{"rational 13/2", exifTIFF(be, []ifdEntry{{0x0112, 5, 1, long(be, extraAt(1))}}, rational(be, 13, 2)), 0, true},
		{"rational x/0", exifTIFF(le, []ifdEntry{{0x0112, 5, 1, long(le, extraAt(1))}}, rational(le, 6, 0)), 0, true},
		{"double 6.0", exifTIFF(le, []ifdEntry{{0x0112, 12, 1, long(le, extraAt(1))}}, f64), 6, true},
		{"byte is bytes in PIL", exifTIFF(le, []ifdEntry{{0x0112, 1, 1, [4]byte{6}}}, nil), 0, true},
		{"ascii", exifTIFF(le, []ifdEntry{{0x0112, 2, 2, [4]byte{'6', 0}}}, nil), 0, true},
		{"value offset out of range", exifTIFF(le, []ifdEntry{{0x0112, 5, 1, long(le, 1000)}}, nil), 0, false},
		{"unknown type skipped", exifTIFF(le, []ifdEntry{{0x0112, 99, 1, shortValue(le, 6)}}, nil), 0, false},
		{"count 0 skipped", exifTIFF(le, []ifdEntry{{0x0112, 3, 0, shortValue(le, 6)}}, nil), 0, false},
		{"absent", exifTIFF(le, []ifdEntry{{0x010f, 2, 1, [4]byte{}}}, nil), 0, false},
		{"truncated directory keeps earlier entries",
			exifTIFF(le, []ifdEntry{{0x0112, 3, 1, shortValue(le, 4)}, {0x0110, 3, 1, shortValue(le, 1)}}, nil)[:8+2+12+5], 4, true},
		{"ifd offset past end", []byte("II*\x00\xff\x00\x00\x00"), 0, false},
		{"not tiff", []byte("XX*\x00\x08\x00\x00\x00\x01\x00"), 0, false},
		{"empty", nil, 0, false},
	}
	for _, tc := range cases {
		v, found := exifOrientation(tc.data)
		if v != tc.want || found != tc.found {
			t.Errorf("%s: got (%d, %v), want (%d, %v)", tc.name, v, found, tc.want, tc.found)
		}
	}
}

func TestXMPOrientation(t *testing.T) {
	cases := map[string]int64{
		`<rdf:Description tiff:Orientation="6"/>`:            6,
		`<tiff:Orientation>8</tiff:Orientation>`:             8,
		`tiff:Orientation = "6" tiff:Orientation="3"`:        3,
		`tiff:Orientation="x" then <tiff:Orientation>2<`:     2,
		`no orientation here`:                                0,
		`tiff:Orientation="`:                                 0,
		`exif:Orientation="6"`:                               0,
		`<tiff:Orientation>12</tiff:Orientation>`:            1,
		"tiff:Orientation\x00=\"6\" tiff:Orientation>\x007 ": 0,
	}
	for in, want := range cases {
		if got := xmpOrientation([]byte(in)); got != want {
			t.Errorf("xmpOrientation(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestJPEGMetadataScan(t *testing.T) {
	jpg := encodeJPEG(t, quadrants(16, 16), 90)
	xmp := []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta tiff:Orientation=\"7\"/>")
	// XMP only.
	if o := Orientation(spliceAPP1(jpg, xmp)); o != 7 {
		t.Errorf("XMP only: %d", o)
	}
	// The first Exif segment counts; a later one is ignored.
	two := spliceAPP1(spliceAPP1(jpg, orientationEXIF(binary.LittleEndian, 2)), orientationEXIF(binary.LittleEndian, 6))
	if o := Orientation(two); o != 6 {
		t.Errorf("two Exif segments: %d, want the first (6)", o)
	}
	// Out-of-range values are ignored rather than guessed.
	if o := Orientation(spliceAPP1(jpg, orientationEXIF(binary.BigEndian, 9))); o != 0 {
		t.Errorf("orientation 9: %d", o)
	}
	// Fill bytes before a marker are allowed.
	filled := append([]byte{0xff, 0xd8, 0xff, 0xff}, spliceAPP1(jpg, orientationEXIF(binary.BigEndian, 3))[3:]...)
	if o := Orientation(filled); o != 3 {
		t.Errorf("fill bytes: %d", o)
	}
	// A segment length running past the end stops the scan.
	broken := append([]byte{}, jpg[:2]...)
	broken = append(broken, 0xff, 0xe1, 0xff, 0xff, 'E', 'x')
	if o := Orientation(broken); o != 0 {
		t.Errorf("broken: %d", o)
	}
}

func TestPNGCompressedXMP(t *testing.T) {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte(`<x:xmpmeta><rdf:Description tiff:Orientation="4"/></x:xmpmeta>`))
	zw.Close()
	itxt := append([]byte("XML:com.adobe.xmp\x00\x01\x00en\x00\x00"), z.Bytes()...)
	data := buildPNG(1, 1, 8, 0, [][]byte{{0}}, []pngChunk{{"iTXt", itxt}}, nil)
	if o := Orientation(data); o != 4 {
		t.Errorf("compressed iTXt: %d", o)
	}
	ztxt := append([]byte("XML:com.adobe.xmp\x00\x00"), z.Bytes()...)
	data = buildPNG(1, 1, 8, 0, [][]byte{{0}}, nil, []pngChunk{{"zTXt", ztxt}})
	if o := Orientation(data); o != 4 {
		t.Errorf("zTXt: %d", o)
	}
	data = buildPNG(1, 1, 8, 0, [][]byte{{0}}, []pngChunk{{"tEXt", []byte("Comment\x00tiff:Orientation=\"6\"")}}, nil)
	if o := Orientation(data); o != 0 {
		t.Errorf("unrelated text chunk: %d", o)
	}
}

func TestTIFFOrientation(t *testing.T) {
	le := binary.LittleEndian
	long := func(v uint32) [4]byte { var f [4]byte; le.PutUint32(f[:], v); return f }
	// 2×1 8-bit gray TIFF with Orientation 6 (tags sorted, as x/image/tiff
	// requires).
	entries := []ifdEntry{
		{256, 4, 1, long(2)}, {257, 4, 1, long(1)}, {258, 3, 1, shortValue(le, 8)},
		{259, 3, 1, shortValue(le, 1)}, {262, 3, 1, shortValue(le, 1)}, {273, 4, 1, long(0)},
		{274, 3, 1, shortValue(le, 6)}, {277, 3, 1, shortValue(le, 1)}, {278, 4, 1, long(1)},
		{279, 4, 1, long(2)},
	}
	pixAt := uint32(8 + 2 + 12*len(entries) + 4)
	entries[5].value = long(pixAt)
	data := exifTIFF(le, entries, []byte{10, 200})
	img, f, err := DecodeBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	if f != FormatTIFF {
		t.Fatal(f)
	}
	m := ToRGB(img)
	if m.W != 1 || m.H != 2 {
		t.Fatalf("size %dx%d, want 1x2", m.W, m.H)
	}
	wantPixel(t, m, 0, 0, [3]uint8{10, 10, 10})
	wantPixel(t, m, 0, 1, [3]uint8{200, 200, 200})
}

// FuzzOrientation feeds arbitrary bytes to the metadata parsers, framed
// as each container so the fuzzer reaches the IFD code quickly.
func FuzzOrientation(f *testing.F) {
	f.Add(orientationEXIF(binary.LittleEndian, 6))
	f.Add(orientationEXIF(binary.BigEndian, 3))
	f.Add(exifTIFF(binary.LittleEndian, []ifdEntry{{0x0112, 5, 1, [4]byte{26}}}, []byte{6, 0, 0, 0, 1, 0, 0, 0}))
	f.Add([]byte("II*\x00\x08\x00\x00\x00\xff\xff"))
	f.Add([]byte(`tiff:Orientation="6"`))
	var b bytes.Buffer
	png.Encode(&b, quadrants(2, 2))
	pngData := b.Bytes()
	jpg := encodeJPEG(f, quadrants(8, 8), 80)
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(what string, in []byte) {
			if o := Orientation(in); o < 0 || o > 8 {
				t.Fatalf("%s: orientation %d", what, o)
			}
		}
		if v, _ := exifOrientation(data); v != 0 {
			_ = validOrientation(v)
		}
		_ = xmpOrientation(data)
		check("raw", data)
		if len(data) < 0xfff0 {
			check("jpeg", spliceAPP1(jpg, data))
			check("jpeg exif", spliceAPP1(jpg, append([]byte("Exif\x00\x00"), data...)))
		}
		check("png", appendChunk(append([]byte{}, pngData[:len(pngData)-12]...), "eXIf", data))
		check("png itxt", appendChunk(append([]byte{}, pngData[:33]...), "iTXt", data))
		check("webp", addWebPChunk([]byte("RIFF\x04\x00\x00\x00WEBP"), "EXIF", data))
		check("tiff", append([]byte("II*\x00"), data...))
	})
}
