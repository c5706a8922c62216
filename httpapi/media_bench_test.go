package httpapi

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

// BenchmarkThumbnail measures making one 256-pixel thumbnail (decode,
// orient, resize, JPEG encode) from a photo of the given size: what a
// cache miss costs.
func BenchmarkThumbnail(b *testing.B) {
	for _, sz := range []struct {
		name string
		w, h int
	}{{"512x512", 512, 512}, {"4032x3024", 4032, 3024}} {
		b.Run(sz.name, func(b *testing.B) {
			img := image.NewYCbCr(image.Rect(0, 0, sz.w, sz.h), image.YCbCrSubsampleRatio420)
			for y := range sz.h {
				for x := range sz.w {
					img.Y[y*img.YStride+x] = uint8(x ^ y)
				}
			}
			for i := range img.Cb {
				img.Cb[i], img.Cr[i] = uint8(i), uint8(i>>3)
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(buf.Len()))
			b.ResetTimer()
			for b.Loop() {
				if _, err := makeThumbnail(bytes.NewReader(buf.Bytes()), DefaultThumbnailSize); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
