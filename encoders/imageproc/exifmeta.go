package imageproc

import (
	"strings"
	"time"
)

// EXIF holds the metadata fields ingest makes filterable.
type EXIF struct {
	Make, Model string
	Orientation int
	// Captured is DateTimeOriginal (or DateTime) as written by the camera,
	// in local time without a zone; zero when absent or malformed.
	Captured time.Time
	// GPS position in decimal degrees (south and west negative).
	HasGPS   bool
	Lat, Lon float64
}

// ReadEXIF extracts camera make and model, orientation, capture time and
// GPS position from a JPEG, PNG, WebP or TIFF file's EXIF block. ok is
// false when there is no readable EXIF. It never panics on malformed input.
func ReadEXIF(data []byte) (x EXIF, ok bool) {
	var exif []byte
	switch Sniff(data) {
	case FormatJPEG:
		exif, _ = jpegMetadata(data)
	case FormatPNG:
		exif, _ = pngMetadata(data)
	case FormatWebP:
		webpChunks(data, func(id string, payload []byte) bool {
			if id == "EXIF" && exif == nil {
				exif = payload
			}
			return true
		})
	case FormatTIFF:
		exif = data
	}
	t, ok := newTIFFReader(exif)
	if !ok {
		return EXIF{}, false
	}
	var exifIFD, gpsIFD uint64
	var dateTime string
	t.ifd0Entries(func(tag, typ uint16, count uint32, val []byte) {
		switch tag {
		case 0x010F:
			x.Make = asciiValue(typ, val)
		case 0x0110:
			x.Model = asciiValue(typ, val)
		case 0x0112:
			x.Orientation = validOrientation(t.firstValue(typ, val))
		case 0x0132:
			dateTime = asciiValue(typ, val)
		case 0x8769:
			exifIFD = uint64(t.firstValue(typ, val))
		case 0x8825:
			gpsIFD = uint64(t.firstValue(typ, val))
		}
	})
	if exifIFD > 0 {
		t.entriesAt(exifIFD, func(tag, typ uint16, count uint32, val []byte) {
			if tag == 0x9003 { // DateTimeOriginal wins over IFD0's DateTime
				if s := asciiValue(typ, val); s != "" {
					dateTime = s
				}
			}
		})
	}
	if dateTime != "" {
		if tm, err := time.Parse("2006:01:02 15:04:05", dateTime); err == nil {
			x.Captured = tm
		}
	}
	if gpsIFD > 0 {
		var latRef, lonRef string
		var lat, lon []float64
		t.entriesAt(gpsIFD, func(tag, typ uint16, count uint32, val []byte) {
			switch tag {
			case 1:
				latRef = asciiValue(typ, val)
			case 2:
				lat = t.rationals(typ, val)
			case 3:
				lonRef = asciiValue(typ, val)
			case 4:
				lon = t.rationals(typ, val)
			}
		})
		if len(lat) == 3 && len(lon) == 3 {
			x.Lat = lat[0] + lat[1]/60 + lat[2]/3600
			x.Lon = lon[0] + lon[1]/60 + lon[2]/3600
			if strings.EqualFold(latRef, "S") {
				x.Lat = -x.Lat
			}
			if strings.EqualFold(lonRef, "W") {
				x.Lon = -x.Lon
			}
			x.HasGPS = x.Lat >= -90 && x.Lat <= 90 && x.Lon >= -180 && x.Lon <= 180
		}
	}
	return x, true
}

func asciiValue(typ uint16, val []byte) string {
	if typ != 2 {
		return ""
	}
	s := string(val)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(strings.ToValidUTF8(s, ""))
}

// rationals decodes unsigned RATIONAL values (numerator/denominator pairs).
func (t tiffReader) rationals(typ uint16, val []byte) []float64 {
	if typ != 5 {
		return nil
	}
	var out []float64
	for i := 0; i+8 <= len(val); i += 8 {
		n, d := t.bo.Uint32(val[i:]), t.bo.Uint32(val[i+4:])
		if d == 0 {
			return nil
		}
		out = append(out, float64(n)/float64(d))
	}
	return out
}
