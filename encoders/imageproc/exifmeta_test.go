package imageproc

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"math"
	"testing"
	"time"
)

// buildEXIFJPEG encodes a small JPEG and inserts an APP1 Exif segment
// with IFD0 (Make, Model, Orientation, ExifIFD and GPS pointers), an Exif
// IFD (DateTimeOriginal) and a GPS IFD, big-endian.
func buildEXIFJPEG(t *testing.T) []byte {
	var img bytes.Buffer
	if err := jpeg.Encode(&img, image.NewRGBA(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	bo := binary.BigEndian
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00*")
	binary.Write(&tiff, bo, uint32(8))
	type entry struct {
		tag, typ uint16
		count    uint32
		val      []byte // inline if <= 4 bytes, else placed in the data area
	}
	layout := func(base uint32, es []entry) []byte {
		var b bytes.Buffer
		binary.Write(&b, bo, uint16(len(es)))
		dataOff := base + 2 + uint32(len(es))*12 + 4
		var extra bytes.Buffer
		for _, e := range es {
			binary.Write(&b, bo, e.tag)
			binary.Write(&b, bo, e.typ)
			binary.Write(&b, bo, e.count)
			if len(e.val) <= 4 {
				v := make([]byte, 4)
				copy(v, e.val)
				b.Write(v)
			} else {
				binary.Write(&b, bo, dataOff+uint32(extra.Len()))
				extra.Write(e.val)
			}
		}
		binary.Write(&b, bo, uint32(0))
		b.Write(extra.Bytes())
		return b.Bytes()
	}
	u16 := func(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	rat := func(vals ...[2]uint32) []byte {
		var b []byte
		for _, v := range vals {
			b = append(b, u32(v[0])...)
			b = append(b, u32(v[1])...)
		}
		return b
	}
	// Fixed offsets: IFD0 at 8, Exif IFD at 200, GPS IFD at 300.
	ifd0 := layout(8, []entry{{0x010F, 2, 6, []byte("Canon\x00")}, {0x0110, 2, 8, []byte("EOS 5D\x00\x00")},
		{0x0112, 3, 1, u16(6)}, {0x8769, 4, 1, u32(200)}, {0x8825, 4, 1, u32(300)}})
	exifIFD := layout(200, []entry{{0x9003, 2, 20, []byte("2021:06:15 14:30:05\x00")}})
	gps := layout(300, []entry{{1, 2, 2, []byte("S\x00")}, {2, 5, 3, rat([2]uint32{33, 1}, [2]uint32{52, 1}, [2]uint32{3000, 100})},
		{3, 2, 2, []byte("E\x00")}, {4, 5, 3, rat([2]uint32{151, 1}, [2]uint32{12, 1}, [2]uint32{36, 1})}})
	buf := make([]byte, 512)
	copy(buf, tiff.Bytes())
	copy(buf[8:], ifd0)
	copy(buf[200:], exifIFD)
	copy(buf[300:], gps)
	seg := append([]byte("Exif\x00\x00"), buf...)
	var out bytes.Buffer
	out.Write(img.Bytes()[:2]) // SOI
	out.Write([]byte{0xFF, 0xE1})
	binary.Write(&out, bo, uint16(len(seg)+2))
	out.Write(seg)
	out.Write(img.Bytes()[2:])
	return out.Bytes()
}

func TestReadEXIF(t *testing.T) {
	x, ok := ReadEXIF(buildEXIFJPEG(t))
	if !ok {
		t.Fatal("no EXIF found")
	}
	if x.Make != "Canon" || x.Model != "EOS 5D" || x.Orientation != 6 {
		t.Fatalf("%+v", x)
	}
	if !x.Captured.Equal(time.Date(2021, 6, 15, 14, 30, 5, 0, time.UTC)) {
		t.Fatalf("captured %v", x.Captured)
	}
	if !x.HasGPS || math.Abs(x.Lat-(-(33+52.0/60+30.0/3600))) > 1e-9 || math.Abs(x.Lon-(151+12.0/60+36.0/3600)) > 1e-9 {
		t.Fatalf("gps %v %v %v", x.HasGPS, x.Lat, x.Lon)
	}
	if _, ok := ReadEXIF([]byte("not an image")); ok {
		t.Fatal("EXIF in garbage")
	}
}

func FuzzReadEXIF(f *testing.F) {
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*\x00\x00\x00\x08"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ReadEXIF(data)
		ReadEXIF(append([]byte("MM\x00*"), data...))
	})
}
