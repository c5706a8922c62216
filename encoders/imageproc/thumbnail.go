package imageproc

import "image"

// Thumbnail returns img, its EXIF orientation applied, scaled to fit in
// size×size with its aspect ratio kept (each side at least 1 pixel), never
// enlarged. Large images are first reduced by an integer factor with a box
// filter, as PIL's Image.thumbnail does with reducing_gap (JPEG YCbCr
// planes are averaged directly, skipping the full-size RGB conversion),
// to no less than twice the target, then resized with the antialiased
// bicubic filter. It is for display: unlike Preprocess, it does not
// reproduce PIL's pixels exactly.
func Thumbnail(img image.Image, size int) *RGB {
	o := 1
	if oi, ok := img.(*oriented); ok {
		img, o = oi.Image, oi.orientation
	}
	sw, sh := size2(img.Bounds())
	ow, oh := sw, sh // the oriented size
	if swapsAxes(o) {
		ow, oh = sh, sw
	}
	tw, th := fitIn(ow, oh, size)
	// Reduce while both sides stay at least twice the target.
	k := max(1, min(ow/(2*tw), oh/(2*th)))
	var rgb *RGB
	if y, ok := img.(*image.YCbCr); ok && k > 1 {
		rgb = reduceYCbCr(y, k)
	} else {
		rgb = ToRGB(img)
		if k > 1 {
			rgb = reduceBox(rgb, k)
		}
	}
	rgb = transpose(rgb, o)
	if rgb.W == tw && rgb.H == th {
		return rgb
	}
	return Resize(rgb, tw, th, Bicubic)
}

func size2(r image.Rectangle) (int, int) { return r.Dx(), r.Dy() }

// fitIn fits w×h into size×size, keeping the aspect ratio and never
// enlarging; each side is at least one pixel.
func fitIn(w, h, size int) (int, int) {
	if w <= size && h <= size {
		return w, h
	}
	if w >= h {
		return size, max(1, (h*size+w/2)/w)
	}
	return max(1, (w*size+h/2)/h), size
}

// reduceBox averages k×k blocks; the right and bottom edges average the
// pixels they have.
func reduceBox(src *RGB, k int) *RGB {
	w, h := (src.W+k-1)/k, (src.H+k-1)/k
	out := NewRGB(w, h)
	sums := make([]uint32, 3*w)
	counts := make([]uint32, w)
	for oy := range h {
		clear(sums)
		clear(counts)
		for y := oy * k; y < min((oy+1)*k, src.H); y++ {
			row := src.Pix[3*y*src.W : 3*(y+1)*src.W]
			for x := range src.W {
				ox := x / k
				sums[3*ox] += uint32(row[3*x])
				sums[3*ox+1] += uint32(row[3*x+1])
				sums[3*ox+2] += uint32(row[3*x+2])
				counts[ox]++
			}
		}
		for ox := range w {
			n := counts[ox]
			for c := range 3 {
				out.Pix[3*(oy*w+ox)+c] = uint8((sums[3*ox+c] + n/2) / n)
			}
		}
	}
	return out
}

// reduceYCbCr averages k×k blocks of a JPEG YCbCr image's planes (chroma
// at its own resolution for each luma sample) and converts the means to
// RGB with libjpeg's tables.
func reduceYCbCr(m *image.YCbCr, k int) *RGB {
	sw, sh := size2(m.Rect)
	w, h := (sw+k-1)/k, (sh+k-1)/k
	out := NewRGB(w, h)
	ys := make([]uint32, w)
	cbs := make([]uint32, w)
	crs := make([]uint32, w)
	counts := make([]uint32, w)
	x0, y0 := m.Rect.Min.X, m.Rect.Min.Y
	// COffset is a row part plus a column part: tabulate the column part.
	col := make([]int, sw)
	for x := range col {
		col[x] = m.COffset(x0+x, y0) - m.COffset(x0, y0)
	}
	for oy := range h {
		clear(ys)
		clear(cbs)
		clear(crs)
		clear(counts)
		for y := oy * k; y < min((oy+1)*k, sh); y++ {
			yrow := m.Y[m.YOffset(x0, y0+y):][:sw]
			crow := m.COffset(x0, y0+y)
			cb, cr := m.Cb[crow:], m.Cr[crow:]
			for x, yv := range yrow {
				ox := x / k
				ys[ox] += uint32(yv)
				cbs[ox] += uint32(cb[col[x]])
				crs[ox] += uint32(cr[col[x]])
				counts[ox]++
			}
		}
		for ox := range w {
			n := counts[ox]
			r, g, b := yccToRGB(uint8((ys[ox]+n/2)/n), uint8((cbs[ox]+n/2)/n), uint8((crs[ox]+n/2)/n))
			i := 3 * (oy*w + ox)
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = r, g, b
		}
	}
	return out
}
