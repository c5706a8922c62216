package imageproc

import (
	"image"
	"image/color"
)

// oriented is a decoded image seen through an EXIF orientation (2–8). It
// implements image.Image by mapping coordinates; ToRGB converts the
// underlying image first and transposes the RGB result, which gives the
// same pixels since the conversion is per pixel.
type oriented struct {
	image.Image
	orientation int
}

func swapsAxes(o int) bool { return o >= 5 && o <= 8 }

func (m *oriented) Bounds() image.Rectangle {
	b := m.Image.Bounds()
	if swapsAxes(m.orientation) {
		return image.Rect(0, 0, b.Dy(), b.Dx())
	}
	return image.Rect(0, 0, b.Dx(), b.Dy())
}

func (m *oriented) At(x, y int) color.Color {
	b := m.Image.Bounds()
	if !(image.Point{x, y}.In(m.Bounds())) {
		return m.Image.ColorModel().Convert(color.RGBA{})
	}
	sx, sy := sourceCoord(m.orientation, b.Dx(), b.Dy(), x, y)
	return m.Image.At(b.Min.X+sx, b.Min.Y+sy)
}

// sourceCoord maps output (x, y) to the input pixel for an image of w×h
// input pixels, following PIL's Image.transpose for the method
// exif_transpose picks: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM,
// 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90.
func sourceCoord(o, w, h, x, y int) (int, int) {
	switch o {
	case 2:
		return w - 1 - x, y
	case 3:
		return w - 1 - x, h - 1 - y
	case 4:
		return x, h - 1 - y
	case 5:
		return y, x
	case 6:
		return y, h - 1 - x
	case 7:
		return w - 1 - y, h - 1 - x
	case 8:
		return w - 1 - y, x
	}
	return x, y
}

// transpose applies an EXIF orientation to an RGB image (Transpose).
func transpose(src *RGB, o int) *RGB {
	if o < 2 || o > 8 {
		return src
	}
	w, h := src.W, src.H
	ow, oh := w, h
	if swapsAxes(o) {
		ow, oh = h, w
	}
	out := NewRGB(ow, oh)
	i := 0
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			sx, sy := sourceCoord(o, w, h, x, y)
			j := 3 * (sy*w + sx)
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = src.Pix[j], src.Pix[j+1], src.Pix[j+2]
			i += 3
		}
	}
	return out
}

// Transpose returns src transformed for EXIF orientation o (1–8) the way
// PIL's ImageOps.exif_transpose does; other values return a copy.
func Transpose(src *RGB, o int) *RGB {
	if o < 2 || o > 8 {
		out := NewRGB(src.W, src.H)
		copy(out.Pix, src.Pix)
		return out
	}
	return transpose(src, o)
}
