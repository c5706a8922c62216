package imageproc

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func TestFitIn(t *testing.T) {
	for _, tc := range []struct{ w, h, size, ww, wh int }{
		{600, 300, 256, 256, 128}, {300, 600, 256, 128, 256}, {100, 50, 256, 100, 50},
		{5000, 1, 256, 256, 1}, {1, 5000, 256, 1, 256}, {257, 257, 256, 256, 256},
	} {
		if w, h := fitIn(tc.w, tc.h, tc.size); w != tc.ww || h != tc.wh {
			t.Errorf("%d×%d in %d: %d×%d, want %d×%d", tc.w, tc.h, tc.size, w, h, tc.ww, tc.wh)
		}
	}
}

func TestReduceBox(t *testing.T) {
	src := NewRGB(5, 3) // 2×2 blocks; the last column and row are partial
	for i := range src.Pix {
		src.Pix[i] = uint8(i)
	}
	got := reduceBox(src, 2)
	if got.W != 3 || got.H != 2 {
		t.Fatalf("%d×%d", got.W, got.H)
	}
	at := func(x, y, c int) float64 { return float64(src.Pix[3*(y*5+x)+c]) }
	for oy := range 2 {
		for ox := range 3 {
			for c := range 3 {
				var sum, n float64
				for y := 2 * oy; y < min(2*oy+2, 3); y++ {
					for x := 2 * ox; x < min(2*ox+2, 5); x++ {
						sum += at(x, y, c)
						n++
					}
				}
				if want := uint8(math.Floor(sum/n + 0.5)); got.Pix[3*(oy*3+ox)+c] != want {
					t.Errorf("(%d,%d,%d) = %d, want %d", ox, oy, c, got.Pix[3*(oy*3+ox)+c], want)
				}
			}
		}
	}
}

// smoothYCbCr is a 4:2:0 JPEG-like image of smooth gradients.
func smoothYCbCr(w, h int) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			m.Y[m.YOffset(x, y)] = uint8(40 + 150*x/w + 20*y/h)
			ci := m.COffset(x, y)
			m.Cb[ci] = uint8(90 + 60*y/h)
			m.Cr[ci] = uint8(160 - 50*x/w)
		}
	}
	return m
}

func meanAbsDiff(t *testing.T, a, b *RGB) float64 {
	t.Helper()
	if a.W != b.W || a.H != b.H {
		t.Fatalf("%d×%d vs %d×%d", a.W, a.H, b.W, b.H)
	}
	var s float64
	for i := range a.Pix {
		s += math.Abs(float64(a.Pix[i]) - float64(b.Pix[i]))
	}
	return s / float64(len(a.Pix))
}

// TestThumbnailMatchesDirectResize: reducing first changes a smooth image
// by well under one level from resizing the full RGB conversion directly,
// for YCbCr (the fast path) and other images, with and without an EXIF
// rotation.
func TestThumbnailMatchesDirectResize(t *testing.T) {
	ycc := smoothYCbCr(1203, 797)
	nrgba := image.NewNRGBA(image.Rect(0, 0, 1203, 797))
	for y := range 797 {
		for x := range 1203 {
			nrgba.Set(x, y, color.NRGBA{uint8(x * 255 / 1203), uint8(y * 255 / 797), 90, 255})
		}
	}
	for _, tc := range []struct {
		name string
		img  image.Image
	}{{"ycbcr", ycc}, {"nrgba", nrgba}, {"ycbcr rotated", &oriented{ycc, 6}}, {"nrgba mirrored", &oriented{nrgba, 2}}} {
		got := Thumbnail(tc.img, 128)
		full := ToRGB(tc.img)
		w, h := fitIn(full.W, full.H, 128)
		want := Resize(full, w, h, Bicubic)
		if got.W != w || got.H != h {
			t.Fatalf("%s: %d×%d, want %d×%d", tc.name, got.W, got.H, w, h)
		}
		if d := meanAbsDiff(t, got, want); d > 1.0 {
			t.Errorf("%s: mean abs difference %.2f levels from a direct resize", tc.name, d)
		}
	}
	// Small images are not enlarged and need no reduction: exact.
	small := smoothYCbCr(100, 60)
	if d := meanAbsDiff(t, Thumbnail(small, 128), ToRGB(small)); d != 0 {
		t.Errorf("small image changed by %.2f", d)
	}
	// A rotated small image comes out rotated.
	if r := Thumbnail(&oriented{small, 8}, 128); r.W != 60 || r.H != 100 {
		t.Errorf("rotated small image %d×%d", r.W, r.H)
	}
}

func BenchmarkThumbnail12MP(b *testing.B) {
	m := smoothYCbCr(4032, 3024)
	for b.Loop() {
		Thumbnail(m, 256)
	}
}
