package imageproc

import (
	"fmt"
	"math"
)

// Filter selects the resampling filter of Resize. The values are not PIL's
// numbers (see FilterFromPIL); the zero value is Bicubic.
type Filter int

const (
	Bicubic  Filter = iota // PIL Image.BICUBIC (a = -0.5, support 2)
	Bilinear               // PIL Image.BILINEAR (triangle, support 1)
	Lanczos                // PIL Image.LANCZOS (a = 3)
	Box                    // PIL Image.BOX (support 0.5)
	Hamming                // PIL Image.HAMMING (support 1)
)

func (f Filter) String() string {
	switch f {
	case Bicubic:
		return "bicubic"
	case Bilinear:
		return "bilinear"
	case Lanczos:
		return "lanczos"
	case Box:
		return "box"
	case Hamming:
		return "hamming"
	}
	return fmt.Sprintf("Filter(%d)", int(f))
}

// FilterFromPIL maps PIL's resample numbers (as stored in HF
// preprocessor_config.json "resample") to a Filter: 1 LANCZOS, 2 BILINEAR,
// 3 BICUBIC, 4 BOX, 5 HAMMING. 0 (NEAREST) is not supported.
func FilterFromPIL(n int) (Filter, error) {
	switch n {
	case 1:
		return Lanczos, nil
	case 2:
		return Bilinear, nil
	case 3:
		return Bicubic, nil
	case 4:
		return Box, nil
	case 5:
		return Hamming, nil
	}
	return 0, fmt.Errorf("imageproc: unsupported PIL resample filter %d", n)
}

// The filter kernels of Resample.c, evaluated in float64. Each product that
// C evaluates without fusing is rounded explicitly (float64(...)) so that
// the Go compiler cannot contract it into an FMA on any architecture.
func (f Filter) kernel() (func(float64) float64, float64, bool) {
	switch f {
	case Bicubic:
		return bicubicFilter, 2, true
	case Bilinear:
		return bilinearFilter, 1, true
	case Lanczos:
		return lanczosFilter, 3, true
	case Box:
		return boxFilter, 0.5, true
	case Hamming:
		return hammingFilter, 1, true
	}
	return nil, 0, false
}

func boxFilter(x float64) float64 {
	if x > -0.5 && x <= 0.5 {
		return 1
	}
	return 0
}

func bilinearFilter(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}

func hammingFilter(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x == 0 {
		return 1
	}
	if x >= 1 {
		return 0
	}
	x = float64(x * math.Pi)
	// C: sin(x) / x * (0.54f + 0.46f * cos(x)), the float constants
	// promoted to double.
	return float64(math.Sin(x)/x) * float64(float64(float32(0.54))+float64(float64(float32(0.46))*math.Cos(x)))
}

func bicubicFilter(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return float64(float64(float64(float64((a+2.0)*x)-(a+3.0))*x)*x) + 1
	}
	if x < 2 {
		return float64(float64(float64(float64(float64(x-5)*x)+8)*x)-4) * a
	}
	return 0
}

func sincFilter(x float64) float64 {
	if x == 0 {
		return 1
	}
	x = float64(x * math.Pi)
	return math.Sin(x) / x
}

func lanczosFilter(x float64) float64 {
	if -3 <= x && x < 3 {
		return float64(sincFilter(x) * sincFilter(x/3))
	}
	return 0
}

// precisionBits is Resample.c's PRECISION_BITS: 32 - 8 - 2.
const precisionBits = 22

// coeffs are the fixed-point coefficients of one resampling direction:
// output i reads inputs bounds[2i] .. bounds[2i]+bounds[2i+1]-1 with
// weights k[i*ksize:][:bounds[2i+1]].
type coeffs struct {
	ksize  int
	bounds []int
	k      []int32
}

// precomputeCoeffs ports precompute_coeffs and normalize_coeffs_8bpc for
// the box [in0, in1) of an axis of inSize pixels resampled to outSize.
func precomputeCoeffs(inSize int, in0, in1 float32, outSize int, f Filter) coeffs {
	filter, fsupport, _ := f.kernel()
	scale := float64(in1-in0) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := float64(fsupport * filterscale)
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, bounds: make([]int, 2*outSize), k: make([]int32, outSize*ksize)}
	w := make([]float64, ksize)
	ss := 1.0 / filterscale
	for xx := 0; xx < outSize; xx++ {
		center := float64(in0) + float64((float64(xx)+0.5)*scale)
		xmin := int(center - support + 0.5) // C truncation toward zero
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		if xmax < 0 { // cannot happen for sane boxes; keep the loops safe
			xmax = 0
		}
		if xmax > ksize {
			xmax = ksize
		}
		ww := 0.0
		for x := 0; x < xmax; x++ {
			v := filter(float64(float64(x+xmin)-center+0.5) * ss)
			w[x] = v
			ww += v
		}
		k := c.k[xx*ksize:][:ksize]
		for x := 0; x < xmax; x++ {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + float64(v*(1<<precisionBits)))
			} else {
				k[x] = int32(0.5 + float64(v*(1<<precisionBits)))
			}
		}
		c.bounds[2*xx] = xmin
		c.bounds[2*xx+1] = xmax
	}
	return c
}

// clip8fixed is Resample.c's clip8: drop the fraction bits and clamp.
func clip8fixed(v int32) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// ResizeBicubic resizes src to w×h exactly as PIL's
// Image.resize((w, h), Image.BICUBIC) does for an RGB image (antialiased
// two-pass convolution in 8-bit fixed point; no reducing_gap).
func ResizeBicubic(src *RGB, w, h int) *RGB {
	return Resize(src, w, h, Bicubic)
}

// Resize resizes src to w×h with one of PIL's convolution filters, exactly
// as Image.resize((w, h), filter) does for an RGB image.
func Resize(src *RGB, w, h int, f Filter) *RGB {
	return resampleWindow(src, w, h, f, 0, 0, w, h)
}

// resampleWindow returns the pixels [x0, x0+cw) × [y0, y0+ch) of src
// resized to w×h (PIL's ImagingResample with the full-image box), computing
// only what that window needs. The result is identical to resizing and then
// cropping. The window must lie inside the w×h image.
func resampleWindow(src *RGB, w, h int, f Filter, x0, y0, cw, ch int) *RGB {
	if w <= 0 || h <= 0 {
		panic("imageproc: resize to an empty image")
	}
	if _, _, ok := f.kernel(); !ok {
		panic("imageproc: unknown filter " + f.String())
	}
	if x0 < 0 || y0 < 0 || cw < 0 || ch < 0 || x0+cw > w || y0+ch > h {
		panic("imageproc: resample window outside the output")
	}
	out := NewRGB(cw, ch)
	if cw == 0 || ch == 0 {
		return out
	}
	if src.W == 0 || src.H == 0 {
		return out // PIL refuses empty sources; black is the safe answer
	}
	needH := w != src.W
	needV := h != src.H

	// Rows of the source that the vertical pass reads (or, without a
	// vertical pass, the window rows themselves).
	var vc coeffs
	rowLo, rowHi := y0, y0+ch
	if needV {
		vc = precomputeCoeffs(src.H, 0, float32(src.H), h, f)
		rowLo, rowHi = src.H, 0
		for yy := y0; yy < y0+ch; yy++ {
			lo, n := vc.bounds[2*yy], vc.bounds[2*yy+1]
			if n == 0 {
				continue
			}
			rowLo = min(rowLo, lo)
			rowHi = max(rowHi, lo+n)
		}
		if rowHi < rowLo {
			rowLo, rowHi = 0, 0
		}
	}

	// Horizontal pass into tmp: rows rowLo..rowHi-1 of the horizontally
	// resized image, columns x0..x0+cw-1.
	tmp := &RGB{W: cw, H: rowHi - rowLo}
	if needH {
		hc := precomputeCoeffs(src.W, 0, float32(src.W), w, f)
		tmp.Pix = make([]uint8, 3*tmp.W*tmp.H)
		const half = int32(1) << (precisionBits - 1)
		for y := rowLo; y < rowHi; y++ {
			srow := src.Pix[3*src.W*y:][:3*src.W]
			drow := tmp.Pix[3*cw*(y-rowLo):][:3*cw]
			for xx := 0; xx < cw; xx++ {
				ox := x0 + xx
				xmin, n := hc.bounds[2*ox], hc.bounds[2*ox+1]
				k := hc.k[ox*hc.ksize:][:n]
				s := srow[3*xmin:][:3*n]
				r, g, b := half, half, half
				for i, kv := range k {
					r += int32(s[3*i]) * kv
					g += int32(s[3*i+1]) * kv
					b += int32(s[3*i+2]) * kv
				}
				drow[3*xx], drow[3*xx+1], drow[3*xx+2] = clip8fixed(r), clip8fixed(g), clip8fixed(b)
			}
		}
	} else {
		tmp.Pix = make([]uint8, 3*tmp.W*tmp.H)
		for y := rowLo; y < rowHi; y++ {
			copy(tmp.Pix[3*cw*(y-rowLo):][:3*cw], src.Pix[3*(src.W*y+x0):][:3*cw])
		}
	}
	if !needV {
		// Without a vertical pass tmp already holds exactly the window rows.
		copy(out.Pix, tmp.Pix)
		return out
	}

	// Vertical pass.
	const half = int32(1) << (precisionBits - 1)
	acc := make([]int32, 3*cw)
	for yy := 0; yy < ch; yy++ {
		oy := y0 + yy
		ymin, n := vc.bounds[2*oy], vc.bounds[2*oy+1]
		k := vc.k[oy*vc.ksize:][:n]
		for i := range acc {
			acc[i] = half
		}
		for j, kv := range k {
			row := tmp.Pix[3*cw*(ymin+j-rowLo):][:3*cw]
			for i, v := range row {
				acc[i] += int32(v) * kv
			}
		}
		drow := out.Pix[3*cw*yy:][:3*cw]
		for i, v := range acc {
			drow[i] = clip8fixed(v)
		}
	}
	return out
}
