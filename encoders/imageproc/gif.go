package imageproc

import (
	"encoding/binary"
	"image"
	"image/color"
)

// gifFirstFrame describes what PIL uses of a GIF's first frame.
type gifFirstFrame struct {
	screenW, screenH int
	table            []byte // colour table of the first frame (RGB triples)
	transparent      int    // transparent index, or -1
}

// parseGIFFirstFrame walks the GIF blocks up to the first image descriptor.
func parseGIFFirstFrame(d []byte) (gifFirstFrame, bool) {
	g := gifFirstFrame{transparent: -1}
	if len(d) < 13 {
		return g, false
	}
	g.screenW = int(binary.LittleEndian.Uint16(d[6:8]))
	g.screenH = int(binary.LittleEndian.Uint16(d[8:10]))
	flags := d[10]
	p := 13
	var global []byte
	if flags&0x80 != 0 {
		n := 3 << (flags&7 + 1)
		if p+n > len(d) {
			return g, false
		}
		global = d[p : p+n]
		p += n
	}
	for p < len(d) {
		switch d[p] {
		case 0x21: // extension
			if p+2 > len(d) {
				return g, false
			}
			label := d[p+1]
			p += 2
			first := true
			for {
				if p >= len(d) {
					return g, false
				}
				n := int(d[p])
				p++
				if n == 0 {
					break
				}
				if p+n > len(d) {
					return g, false
				}
				if label == 0xf9 && first && n >= 4 {
					if d[p]&1 != 0 {
						g.transparent = int(d[p+3])
					} else {
						g.transparent = -1
					}
				}
				first = false
				p += n
			}
		case 0x2c: // image descriptor
			if p+10 > len(d) {
				return g, false
			}
			f := d[p+9]
			g.table = global
			if f&0x80 != 0 {
				n := 3 << (f&7 + 1)
				if p+10+n > len(d) {
					return g, false
				}
				g.table = d[p+10 : p+10+n]
			}
			return g, true
		default:
			return g, false
		}
	}
	return g, false
}

// fixGIF undoes two differences between Go's GIF decoder and PIL for the
// first frame: Go replaces the transparent palette entry with transparent
// black (PIL keeps its colour, which convert("RGB") shows), and Go returns
// only the frame's rectangle (PIL returns the logical screen, filled with
// the transparent index, or index 0, outside the frame).
func fixGIF(data []byte, img image.Image) image.Image {
	m, ok := img.(*image.Paletted)
	if !ok {
		return img
	}
	g, ok := parseGIFFirstFrame(data)
	if !ok {
		return img
	}
	if ti := g.transparent; ti >= 0 && ti < len(m.Palette) {
		pal := append(color.Palette(nil), m.Palette...)
		if 3*ti+2 < len(g.table) {
			pal[ti] = color.NRGBA{g.table[3*ti], g.table[3*ti+1], g.table[3*ti+2], 0}
		} else {
			pal[ti] = color.NRGBA{} // PIL pads palettes with black
		}
		m.Palette = pal
	}
	screen := image.Rect(0, 0, g.screenW, g.screenH)
	if m.Rect == screen || !m.Rect.In(screen) {
		return m
	}
	canvas := image.NewPaletted(screen, m.Palette)
	fill := uint8(0)
	if g.transparent >= 0 && g.transparent < 256 {
		fill = uint8(g.transparent)
	}
	if fill != 0 {
		for i := range canvas.Pix {
			canvas.Pix[i] = fill
		}
	}
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		copy(canvas.Pix[canvas.PixOffset(m.Rect.Min.X, y):][:m.Rect.Dx()], m.Pix[m.PixOffset(m.Rect.Min.X, y):][:m.Rect.Dx()])
	}
	return canvas
}
