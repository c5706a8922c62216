package imageproc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"io"
	"math"
)

// Orientation returns the orientation (1–8) that PIL's
// ImageOps.exif_transpose would act on for an encoded image, or 0 when it
// has none. Like PIL's Image.getexif it reads tag 0x0112 of IFD0 of the
// EXIF block (JPEG APP1 "Exif", PNG eXIf, WebP EXIF, or the TIFF file's own
// first IFD) and, when that has no orientation, the first
// tiff:Orientation="N" (or >N) of the XMP packet (JPEG APP1 XMP, PNG
// XML:com.adobe.xmp text, WebP "XMP ", TIFF tag 700). Values outside 1–8
// and unreadable metadata give 0. It never panics on malformed input.
func Orientation(data []byte) int {
	var exif, xmp []byte
	switch Sniff(data) {
	case FormatJPEG:
		exif, xmp = jpegMetadata(data)
	case FormatPNG:
		exif, xmp = pngMetadata(data)
	case FormatWebP:
		webpChunks(data, func(id string, payload []byte) bool {
			switch id {
			case "EXIF":
				if exif == nil {
					exif = payload
				}
			case "XMP ":
				if xmp == nil {
					xmp = payload
				}
			}
			return true
		})
	case FormatTIFF:
		v, ok := exifOrientation(data)
		if ok {
			return validOrientation(v)
		}
		if x, ok := tiffTagBytes(data, 700); ok {
			return validOrientation(xmpOrientation(x))
		}
		return 0
	default:
		return 0
	}
	if exif != nil {
		if v, ok := exifOrientation(exif); ok {
			return validOrientation(v)
		}
	}
	if xmp != nil {
		return validOrientation(xmpOrientation(xmp))
	}
	return 0
}

func validOrientation(v int64) int {
	if v >= 1 && v <= 8 {
		return int(v)
	}
	return 0
}

// jpegMetadata returns the payloads of the first APP1 Exif segment
// (including its "Exif\0\0" prefix) and the first APP1 XMP packet, scanning
// the markers up to the start of scan.
func jpegMetadata(data []byte) (exif, xmp []byte) {
	const xmpPrefix = "http://ns.adobe.com/xap/1.0/\x00"
	i := 2
	for i < len(data) {
		if data[i] != 0xff {
			return // not at a marker: give up like a strict parser
		}
		for i < len(data) && data[i] == 0xff {
			i++
		}
		if i >= len(data) {
			return
		}
		marker := data[i]
		i++
		switch {
		case marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7):
			continue // no length field
		case marker == 0xd9 || marker == 0xda:
			return
		}
		if i+2 > len(data) {
			return
		}
		n := int(binary.BigEndian.Uint16(data[i:]))
		if n < 2 || i+n > len(data) {
			return
		}
		payload := data[i+2 : i+n]
		i += n
		if marker != 0xe1 {
			continue
		}
		switch {
		case exif == nil && bytes.HasPrefix(payload, []byte("Exif\x00\x00")):
			exif = payload
		case xmp == nil && bytes.HasPrefix(payload, []byte(xmpPrefix)):
			xmp = payload[len(xmpPrefix):]
		}
	}
	return
}

// maxTextChunk bounds decompressed PNG text, like PIL's MAX_TEXT_CHUNK.
const maxTextChunk = 1 << 20

// pngMetadata returns the first eXIf chunk and the XML:com.adobe.xmp text
// (iTXt, tEXt or zTXt) of a PNG.
func pngMetadata(data []byte) (exif, xmp []byte) {
	p := data[8:]
	for len(p) >= 8 {
		n := binary.BigEndian.Uint32(p[:4])
		typ := string(p[4:8])
		if uint64(n)+12 > uint64(len(p)) {
			return
		}
		body := p[8 : 8+n]
		p = p[12+n:]
		switch typ {
		case "IEND":
			return
		case "eXIf":
			if exif == nil {
				exif = body
			}
		case "iTXt", "tEXt", "zTXt":
			if xmp == nil {
				xmp = pngXMPText(typ, body)
			}
		}
	}
	return
}

func pngXMPText(typ string, body []byte) []byte {
	const key = "XML:com.adobe.xmp"
	k, rest, ok := bytes.Cut(body, []byte{0})
	if !ok || string(k) != key {
		return nil
	}
	switch typ {
	case "tEXt":
		return rest
	case "zTXt":
		if len(rest) < 1 || rest[0] != 0 {
			return nil
		}
		return inflateLimited(rest[1:])
	}
	// iTXt: compression flag, method, language\0, translated keyword\0, text.
	if len(rest) < 2 {
		return nil
	}
	flag, method := rest[0], rest[1]
	rest = rest[2:]
	if _, rest, ok = bytes.Cut(rest, []byte{0}); !ok {
		return nil
	}
	if _, rest, ok = bytes.Cut(rest, []byte{0}); !ok {
		return nil
	}
	if flag == 0 {
		return rest
	}
	if method != 0 {
		return nil
	}
	return inflateLimited(rest)
}

func inflateLimited(b []byte) []byte {
	r, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, maxTextChunk+1))
	if err != nil || len(out) > maxTextChunk {
		return nil
	}
	return out
}

// xmpOrientation finds the first tiff:Orientation(="|>)([0-9]) in an XMP
// packet, or returns 0.
func xmpOrientation(x []byte) int64 {
	key := []byte("tiff:Orientation")
	for {
		i := bytes.Index(x, key)
		if i < 0 {
			return 0
		}
		rest := x[i+len(key):]
		switch {
		case len(rest) >= 3 && rest[0] == '=' && rest[1] == '"' && isDigit(rest[2]):
			return int64(rest[2] - '0')
		case len(rest) >= 2 && rest[0] == '>' && isDigit(rest[1]):
			return int64(rest[1] - '0')
		}
		x = x[i+1:]
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// tiffReader reads a classic TIFF structure (EXIF blocks are TIFF files).
type tiffReader struct {
	b  []byte
	bo binary.ByteOrder
}

func newTIFFReader(b []byte) (tiffReader, bool) {
	for bytes.HasPrefix(b, []byte("Exif\x00\x00")) {
		b = b[6:]
	}
	switch {
	case bytes.HasPrefix(b, []byte("II*\x00")):
		return tiffReader{b, binary.LittleEndian}, true
	case bytes.HasPrefix(b, []byte("MM\x00*")):
		return tiffReader{b, binary.BigEndian}, true
	}
	return tiffReader{}, false
}

// typeSize is the byte size of one value of each TIFF field type.
func typeSize(typ uint16) int {
	switch typ {
	case 1, 2, 6, 7: // BYTE, ASCII, SBYTE, UNDEFINED
		return 1
	case 3, 8: // SHORT, SSHORT
		return 2
	case 4, 9, 11, 13: // LONG, SLONG, FLOAT, IFD
		return 4
	case 5, 10, 12, 16, 17, 18: // RATIONAL, SRATIONAL, DOUBLE, LONG8, SLONG8, IFD8
		return 8
	}
	return 0
}

// ifd0Entry calls fn for each readable entry of IFD0 with its tag, type,
// count and value bytes (count × type size, bounds-checked), as PIL's
// ImageFileDirectory_v2.load does: unknown types and entries whose data
// lies outside the block are skipped, a truncated directory keeps the
// entries read so far.
func (t tiffReader) ifd0Entries(fn func(tag, typ uint16, count uint32, val []byte)) {
	if len(t.b) < 8 {
		return
	}
	t.entriesAt(uint64(t.bo.Uint32(t.b[4:8])), fn)
}

// entriesAt is ifd0Entries for the directory at byte offset off (EXIF and
// GPS sub-directories too).
func (t tiffReader) entriesAt(off uint64, fn func(tag, typ uint16, count uint32, val []byte)) {
	b := t.b
	if off+2 > uint64(len(b)) {
		return
	}
	n := int(t.bo.Uint16(b[off:]))
	p := off + 2
	for i := 0; i < n; i++ {
		if p+12 > uint64(len(b)) {
			return
		}
		e := b[p : p+12]
		p += 12
		tag, typ, count := t.bo.Uint16(e[0:2]), t.bo.Uint16(e[2:4]), t.bo.Uint32(e[4:8])
		sz := typeSize(typ)
		if sz == 0 || count == 0 {
			continue
		}
		total := uint64(count) * uint64(sz)
		var val []byte
		if total <= 4 {
			val = e[8 : 8+total]
		} else {
			vo := uint64(t.bo.Uint32(e[8:12]))
			if vo+total > uint64(len(b)) {
				continue
			}
			val = b[vo : vo+total]
		}
		fn(tag, typ, count, val)
	}
}

// exifOrientation reads tag 0x0112 of IFD0 from an EXIF/TIFF block. found
// is false when the tag is absent or unreadable. The value is what PIL's
// dict lookup in exif_transpose would match: the first value of an integer
// type, or a rational/float that equals an integer; byte strings never
// match (v = 0).
func exifOrientation(b []byte) (v int64, found bool) {
	t, ok := newTIFFReader(b)
	if !ok {
		return 0, false
	}
	t.ifd0Entries(func(tag, typ uint16, count uint32, val []byte) {
		if tag != 0x0112 {
			return
		}
		found = true // a later duplicate overrides, as in PIL
		v = t.firstValue(typ, val)
	})
	return v, found
}

func (t tiffReader) firstValue(typ uint16, val []byte) int64 {
	integral := func(f float64) int64 {
		if f != math.Trunc(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
			return 0
		}
		return int64(f)
	}
	switch typ {
	case 3:
		return int64(t.bo.Uint16(val))
	case 8:
		return int64(int16(t.bo.Uint16(val)))
	case 4, 13:
		return int64(t.bo.Uint32(val))
	case 9:
		return int64(int32(t.bo.Uint32(val)))
	case 6:
		return int64(int8(val[0]))
	case 16:
		u := t.bo.Uint64(val)
		if u > math.MaxInt64 {
			return 0
		}
		return int64(u)
	case 17:
		return int64(t.bo.Uint64(val))
	case 5, 10:
		num, den := int64(t.bo.Uint32(val[0:4])), int64(t.bo.Uint32(val[4:8]))
		if typ == 10 {
			num, den = int64(int32(uint32(num))), int64(int32(uint32(den)))
		}
		if den == 0 || num%den != 0 {
			return 0
		}
		return num / den
	case 11:
		return integral(float64(math.Float32frombits(t.bo.Uint32(val))))
	case 12:
		return integral(math.Float64frombits(t.bo.Uint64(val)))
	}
	return 0 // BYTE, ASCII, UNDEFINED: bytes/str in PIL, never equal to an int
}

// tiffTagBytes returns the raw bytes of a BYTE/UNDEFINED/ASCII tag of IFD0.
func tiffTagBytes(b []byte, want uint16) (out []byte, ok bool) {
	t, valid := newTIFFReader(b)
	if !valid {
		return nil, false
	}
	t.ifd0Entries(func(tag, typ uint16, count uint32, val []byte) {
		if tag == want && (typ == 1 || typ == 2 || typ == 7) {
			out, ok = val, true
		}
	})
	return out, ok
}
