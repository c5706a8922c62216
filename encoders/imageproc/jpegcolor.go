package imageproc

import "image"

// libjpeg's YCbCr→RGB conversion (jdcolor.c): 16-bit fixed point tables,
// built once.
var yccTab struct {
	crR, cbB [256]int32 // already shifted
	crG, cbG [256]int32 // scaled by 2^16, ONE_HALF folded into cbG
}

func init() {
	const (
		scaleBits = 16
		oneHalf   = 1 << (scaleBits - 1)
	)
	fix := func(x float64) int32 { return int32(x*(1<<scaleBits) + 0.5) }
	for i := 0; i < 256; i++ {
		x := int32(i - 128)
		yccTab.crR[i] = (fix(1.40200)*x + oneHalf) >> scaleBits
		yccTab.cbB[i] = (fix(1.77200)*x + oneHalf) >> scaleBits
		yccTab.crG[i] = -fix(0.71414) * x
		yccTab.cbG[i] = -fix(0.34414)*x + oneHalf
	}
}

func yccToRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	yy := int32(y)
	r := yy + yccTab.crR[cr]
	g := yy + (yccTab.cbG[cb]+yccTab.crG[cr])>>16
	b := yy + yccTab.cbB[cb]
	return clip8(int(r)), clip8(int(g)), clip8(int(b))
}

// fromJPEGYCbCr converts a (JPEG, full-range) YCbCr image to RGB the way
// libjpeg(-turbo) does with its defaults, which PIL uses: "fancy"
// (triangle-filter) chroma upsampling for 2×1, 1×2 and 2×2 subsampling,
// plain replication otherwise, then the jdcolor.c tables. Go's own
// conversion replicates chroma and rounds slightly differently.
func fromJPEGYCbCr(m *image.YCbCr) *RGB {
	w, h := size(m.Rect)
	out := NewRGB(w, h)
	if w == 0 || h == 0 {
		return out
	}
	cb := make([]uint8, w)
	cr := make([]uint8, w)
	up := newChromaUpsampler(m)
	for y := 0; y < h; y++ {
		up.row(m.Cb, y, cb)
		up.row(m.Cr, y, cr)
		yrow := m.Y[m.YOffset(m.Rect.Min.X, m.Rect.Min.Y+y):][:w]
		dst := out.Pix[3*w*y:][:3*w]
		for x := 0; x < w; x++ {
			dst[3*x], dst[3*x+1], dst[3*x+2] = yccToRGB(yrow[x], cb[x], cr[x])
		}
	}
	return out
}

// chromaUpsampler produces full-resolution chroma rows from one subsampled
// plane of an image.YCbCr, following libjpeg-turbo's jdsample.c.
type chromaUpsampler struct {
	m      *image.YCbCr
	hs, vs int // horizontal and vertical subsampling factors (1, 2 or 4)
	// Chroma sample grid covering the image, in chroma coordinates.
	cx0, cy0 int // first chroma column/row (absolute)
	cw, ch   int // number of chroma columns/rows (libjpeg's downsampled size)
	fancy    bool
	sums     []int32
}

func newChromaUpsampler(m *image.YCbCr) *chromaUpsampler {
	u := &chromaUpsampler{m: m, hs: 1, vs: 1}
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		u.hs = 2
	case image.YCbCrSubsampleRatio420:
		u.hs, u.vs = 2, 2
	case image.YCbCrSubsampleRatio440:
		u.vs = 2
	case image.YCbCrSubsampleRatio411:
		u.hs = 4
	case image.YCbCrSubsampleRatio410:
		u.hs, u.vs = 4, 2
	}
	r := m.Rect
	u.cx0, u.cy0 = floorDiv(r.Min.X, u.hs), floorDiv(r.Min.Y, u.vs)
	u.cw = floorDiv(r.Max.X-1, u.hs) - u.cx0 + 1
	u.ch = floorDiv(r.Max.Y-1, u.vs) - u.cy0 + 1
	switch {
	case u.hs == 2 && u.vs == 1, u.hs == 2 && u.vs == 2:
		// jinit_upsampler: fancy only when downsampled_width > 2.
		u.fancy = u.cw > 2
	case u.hs == 1 && u.vs == 2:
		u.fancy = true
	}
	u.sums = make([]int32, u.cw)
	return u
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// chromaRow returns chroma row cy (relative to the grid origin), clamped
// to the grid as libjpeg's context rows are (edge rows repeated). The
// planes of an image.YCbCr start at the chroma sample holding Rect.Min,
// which is grid position (0, 0) here.
func (u *chromaUpsampler) chromaRow(plane []uint8, cy int) []uint8 {
	cy = max(0, min(cy, u.ch-1))
	return plane[cy*u.m.CStride:][:u.cw]
}

// row fills dst (image width) with the upsampled chroma for image row y
// (relative to Rect.Min).
func (u *chromaUpsampler) row(plane []uint8, y int, dst []uint8) {
	m := u.m
	ay := m.Rect.Min.Y + y
	cy := floorDiv(ay, u.vs) - u.cy0
	near := u.chromaRow(plane, cy)
	x0 := m.Rect.Min.X
	// Horizontal chroma index of output x, and its neighbour towards the
	// nearer side of the 2-pixel group, both clamped to the grid.
	last := u.cw - 1
	if !u.fancy {
		for x := range dst {
			dst[x] = near[min(floorDiv(x0+x, u.hs)-u.cx0, last)]
		}
		return
	}
	switch {
	case u.hs == 2 && u.vs == 1: // h2v1_fancy_upsample
		for x := range dst {
			ax := x0 + x
			cx := floorDiv(ax, 2) - u.cx0
			c := 3 * int32(near[cx])
			if ax&1 == 0 {
				dst[x] = uint8((c + int32(near[max(cx-1, 0)]) + 1) >> 2)
			} else {
				dst[x] = uint8((c + int32(near[min(cx+1, last)]) + 2) >> 2)
			}
		}
	case u.hs == 1 && u.vs == 2: // h1v2_fancy_upsample
		far, bias := u.chromaRow(plane, cy-1), int32(1)
		if ay&1 != 0 {
			far, bias = u.chromaRow(plane, cy+1), 2
		}
		for x := range dst {
			cx := x0 + x - u.cx0
			dst[x] = uint8((3*int32(near[cx]) + int32(far[cx]) + bias) >> 2)
		}
	default: // h2v2_fancy_upsample
		far := u.chromaRow(plane, cy-1)
		if ay&1 != 0 {
			far = u.chromaRow(plane, cy+1)
		}
		sums := u.sums
		for i := range sums {
			sums[i] = 3*int32(near[i]) + int32(far[i])
		}
		for x := range dst {
			ax := x0 + x
			cx := floorDiv(ax, 2) - u.cx0
			c := 3 * sums[cx]
			if ax&1 == 0 {
				dst[x] = uint8((c + sums[max(cx-1, 0)] + 8) >> 4)
			} else {
				dst[x] = uint8((c + sums[min(cx+1, last)] + 7) >> 4)
			}
		}
	}
}
