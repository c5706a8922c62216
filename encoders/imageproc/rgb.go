package imageproc

import (
	"image"
	"image/color"
)

// RGB is an 8-bit, 3-channel image with interleaved samples: the pixel at
// (x, y) is Pix[3*(y*W+x)+0..2] = R, G, B. It is the equivalent of a PIL
// image in mode "RGB". It implements image.Image (origin at 0,0).
type RGB struct {
	W, H int
	Pix  []uint8
}

// NewRGB returns a zeroed (black) w×h image.
func NewRGB(w, h int) *RGB {
	if w < 0 || h < 0 {
		panic("imageproc: negative image size")
	}
	return &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)}
}

// ColorModel implements image.Image.
func (m *RGB) ColorModel() color.Model { return color.RGBAModel }

// Bounds implements image.Image.
func (m *RGB) Bounds() image.Rectangle { return image.Rect(0, 0, m.W, m.H) }

// At implements image.Image.
func (m *RGB) At(x, y int) color.Color {
	if x < 0 || y < 0 || x >= m.W || y >= m.H {
		return color.RGBA{}
	}
	i := 3 * (y*m.W + x)
	return color.RGBA{m.Pix[i], m.Pix[i+1], m.Pix[i+2], 0xff}
}

// RGBAt returns the three samples at (x, y), which must be in bounds.
func (m *RGB) RGBAt(x, y int) (r, g, b uint8) {
	i := 3 * (y*m.W + x)
	return m.Pix[i], m.Pix[i+1], m.Pix[i+2]
}

// ToRGB converts any image to 8-bit RGB the way PIL's Image.convert("RGB")
// converts the image PIL would have loaded from the same file:
//
//   - gray (image.Gray, 1/2/4/8-bit PNG, JPEG) is replicated to R=G=B;
//   - 16-bit gray (image.Gray16: PIL mode I;16 / I) is clipped, not scaled:
//     min(v, 255), which is what PIL's I;16→RGB conversion does;
//   - 16-bit colour (NRGBA64, RGBA64 without alpha) keeps the high byte,
//     which is what PIL's RGB;16B / RGBA;16B unpackers load;
//   - paletted images take the palette colour, transparent entries included;
//   - alpha is dropped WITHOUT compositing: the un-premultiplied colour is
//     kept (image.NRGBA as stored; premultiplied image.RGBA is divided back
//     as PIL's "RGBa" unpacker does, c*255/a truncated, 0 where a = 0);
//   - CMYK uses PIL's cmyk2rgb: R = (255-K) - round((255-K)*C/255);
//   - image.YCbCr is treated as a JPEG (JFIF, full range) and converted
//     with libjpeg's fancy (triangle) chroma upsampling and libjpeg's
//     fixed-point YCbCr→RGB tables, which is what PIL gets from libjpeg.
//
// Images returned by Decode carry their EXIF orientation; ToRGB applies it.
// Other image types go through color.NRGBAModel.
func ToRGB(img image.Image) *RGB {
	switch m := img.(type) {
	case *RGB:
		out := NewRGB(m.W, m.H)
		copy(out.Pix, m.Pix)
		return out
	case *oriented:
		return transpose(ToRGB(m.Image), m.orientation)
	case *image.Gray:
		return fromGray(m)
	case *image.Gray16:
		return fromGray16(m)
	case *image.NRGBA:
		return fromNRGBA(m)
	case *image.RGBA:
		return fromRGBA(m)
	case *image.NRGBA64:
		return fromNRGBA64(m)
	case *image.RGBA64:
		return fromRGBA64(m)
	case *image.Paletted:
		return fromPaletted(m)
	case *image.CMYK:
		return fromCMYK(m)
	case *image.YCbCr:
		return fromJPEGYCbCr(m)
	case *image.NYCbCrA:
		return fromJPEGYCbCr(&m.YCbCr)
	}
	return fromGeneric(img)
}

func size(r image.Rectangle) (int, int) { return r.Dx(), r.Dy() }

func fromGray(m *image.Gray) *RGB {
	w, h := size(m.Rect)
	out := NewRGB(w, h)
	for y := 0; y < h; y++ {
		src := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):][:w]
		dst := out.Pix[3*w*y:][:3*w]
		for x, v := range src {
			dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
		}
	}
	return out
}

func fromGray16(m *image.Gray16) *RGB {
	w, h := size(m.Rect)
	out := NewRGB(w, h)
	for y := 0; y < h; y++ {
		src := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):][:2*w]
		dst := out.Pix[3*w*y:][:3*w]
		for x := 0; x < w; x++ {
			// PIL's I16_RGB: high byte non-zero → 255, else the low byte.
			v := src[2*x+1]
			if src[2*x] != 0 {
				v = 255
			}
			dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
		}
	}
	return out
}

func fromNRGBA(m *image.NRGBA) *RGB {
	w, h := size(m.Rect)
	out := NewRGB(w, h)
	for y := 0; y < h; y++ {
		src := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):][:4*w]
		dst := out.Pix[3*w*y:][:3*w]
		for x := 0; x < w; x++ {
			dst[3*x], dst[3*x+1], dst[3*x+2] = src[4*x], src[4*x+1], src[4*x+2]
		}
	}
	return out
}

// unpremul8 is PIL's "RGBa" unpacker for one sample: c*255/a, clipped.
func unpremul8(c, a uint8) uint8 {
	switch a {
	case 255:
		return c
	case 0:
		return 0
	}
	v := int(c) * 255 / int(a)
	if v > 255 {
		v = 255
	}
	return uint8(v)
}

func fromRGBA(m *image.RGBA) *RGB {
	w, h := size(m.Rect)
	out := NewRGB(w, h)
	for y := 0; y < h; y++ {
		src := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):][:4*w]
		dst := out.Pix[3*w*y:][:3*w]
		for x := 0; x < w; x++ {
			a := src[4*x+3]
			dst[3*x] = unpremul8(src[4*x], a)
			dst[3*x+1] = unpremul8(src[4*x+1], a)
			dst[3*x+2] = unpremul8(src[4*x+2], a)
		}
	}
	return out
}

func fromNRGBA64(m *image.NRGBA64) *RGB {
	w, h := size(m.Rect)
	out := NewRGB(w, h)
	for y := 0; y < h; y++ {
		src := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):][:8*w]
		dst := out.Pix[3*w*y:][:3*w]
		for x := 0; x < w; x++ {
			// Big-endian samples: the first byte is the high byte.
			dst[3*x], dst[3*x+1], dst[3*x+2] = src[8*x], src[8*x+2], src[8*x+4]
		}
	}
	return out
}

func fromRGBA64(m *image.RGBA64) *RGB {
	w, h := size(m.Rect)
	out := NewRGB(w, h)
	for y := 0; y < h; y++ {
		src := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):][:8*w]
		dst := out.Pix[3*w*y:][:3*w]
		for x := 0; x < w; x++ {
			p := src[8*x:][:8]
			a := uint32(p[6])<<8 | uint32(p[7])
			for c := 0; c < 3; c++ {
				v := uint32(p[2*c])<<8 | uint32(p[2*c+1])
				switch a {
				case 0xffff:
				case 0:
					v = 0
				default:
					v = v * 0xffff / a
					if v > 0xffff {
						v = 0xffff
					}
				}
				dst[3*x+c] = uint8(v >> 8)
			}
		}
	}
	return out
}

// paletteRGB resolves a palette to un-premultiplied 8-bit colours.
func paletteRGB(p color.Palette) [][3]uint8 {
	out := make([][3]uint8, len(p))
	for i, c := range p {
		switch c := c.(type) {
		case color.NRGBA:
			out[i] = [3]uint8{c.R, c.G, c.B}
		case color.RGBA:
			out[i] = [3]uint8{unpremul8(c.R, c.A), unpremul8(c.G, c.A), unpremul8(c.B, c.A)}
		case color.Gray:
			out[i] = [3]uint8{c.Y, c.Y, c.Y}
		default:
			if c == nil {
				continue
			}
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			out[i] = [3]uint8{n.R, n.G, n.B}
		}
	}
	return out
}

func fromPaletted(m *image.Paletted) *RGB {
	w, h := size(m.Rect)
	out := NewRGB(w, h)
	pal := paletteRGB(m.Palette)
	for y := 0; y < h; y++ {
		src := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):][:w]
		dst := out.Pix[3*w*y:][:3*w]
		for x, idx := range src {
			if int(idx) < len(pal) { // PIL pads palettes with black
				c := pal[idx]
				dst[3*x], dst[3*x+1], dst[3*x+2] = c[0], c[1], c[2]
			}
		}
	}
	return out
}

// muldiv255 is PIL's MULDIV255: round(a*b/255) for 8-bit a, b.
func muldiv255(a, b int) int {
	t := a*b + 128
	return ((t >> 8) + t) >> 8
}

func fromCMYK(m *image.CMYK) *RGB {
	w, h := size(m.Rect)
	out := NewRGB(w, h)
	for y := 0; y < h; y++ {
		src := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):][:4*w]
		dst := out.Pix[3*w*y:][:3*w]
		for x := 0; x < w; x++ {
			nk := 255 - int(src[4*x+3])
			for c := 0; c < 3; c++ {
				dst[3*x+c] = clip8(nk - muldiv255(int(src[4*x+c]), nk))
			}
		}
	}
	return out
}

func fromGeneric(img image.Image) *RGB {
	b := img.Bounds()
	w, h := size(b)
	out := NewRGB(w, h)
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = c.R, c.G, c.B
			i += 3
		}
	}
	return out
}

func clip8(v int) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}
