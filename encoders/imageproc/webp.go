package imageproc

import (
	"encoding/binary"
	"image"
)

// VP8 (lossy WebP) stores BT.601 limited-range YUV 4:2:0. libwebp, which
// PIL uses, converts it with "fancy" upsampling (src/dsp/upsampling.c) and
// 14-bit fixed-point coefficients (src/dsp/yuv.h); these functions do the
// same computations so the result matches PIL exactly.

func webpMultHi(v, coeff int32) int32 { return (v * coeff) >> 8 }

func webpClip8(v int32) uint8 {
	const mask = (256 << 6) - 1
	if v&^mask == 0 {
		return uint8(v >> 6)
	}
	if v < 0 {
		return 0
	}
	return 255
}

func webpYUVToRGB(y, u, v int32) (uint8, uint8, uint8) {
	yy := webpMultHi(y, 19077)
	r := webpClip8(yy + webpMultHi(v, 26149) - 14234)
	g := webpClip8(yy - webpMultHi(u, 6419) - webpMultHi(v, 13320) + 8708)
	b := webpClip8(yy + webpMultHi(u, 33050) - 17685)
	return r, g, b
}

// webpChromaRow computes the chroma value of every pixel of one output row
// from the "near" chroma row n (weight 3/4 vertically) and the "far" row f,
// as libwebp's UpsampleRgbaLinePair does for one of its two rows. The
// packed U|V arithmetic of libwebp cannot carry between the two halves, so
// doing one plane at a time gives the same numbers.
func webpChromaRow(n, f []uint8, dst []int32) {
	w := len(dst)
	// First pixel: (3*near + far + 2) / 4.
	dst[0] = (3*int32(n[0]) + int32(f[0]) + 2) >> 2
	last := (w - 1) >> 1
	for x := 1; x <= last; x++ {
		nl, nr := int32(n[x-1]), int32(n[x])
		fl, fr := int32(f[x-1]), int32(f[x])
		avg := nl + nr + fl + fr + 8
		// diag12 pairs the near-right and far-left samples, diag03 the
		// near-left and far-right ones.
		diag12 := (avg + 2*(nr+fl)) >> 3
		diag03 := (avg + 2*(nl+fr)) >> 3
		dst[2*x-1] = (diag12 + nl) >> 1
		dst[2*x] = (diag03 + nr) >> 1
	}
	if w&1 == 0 {
		dst[w-1] = (3*int32(n[last]) + int32(f[last]) + 2) >> 2
	}
}

// webpToNRGBA converts the YCbCr image x/image/webp returns for lossy
// WebP into the RGB(A) that libwebp produces. Other images are returned
// unchanged.
func webpToNRGBA(img image.Image) image.Image {
	var m *image.YCbCr
	var alpha []uint8
	var astride int
	switch t := img.(type) {
	case *image.YCbCr:
		m = t
	case *image.NYCbCrA:
		m, alpha, astride = &t.YCbCr, t.A, t.AStride
	default:
		return img
	}
	if m.SubsampleRatio != image.YCbCrSubsampleRatio420 || m.Rect.Min != (image.Point{}) {
		return img // not what the VP8 decoder produces
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	ch := (h + 1) / 2
	cw := (w + 1) / 2
	crow := func(plane []uint8, r int) []uint8 { return plane[r*m.CStride:][:cw] }
	us := make([]int32, w)
	vs := make([]int32, w)
	for y := 0; y < h; y++ {
		// Output row 0 uses chroma row 0 alone; rows 2k-1 (top of a pair)
		// and 2k (bottom) mix chroma rows k-1 and k, the nearer weighted 3;
		// past the last chroma row the last one is repeated.
		var near, far int
		if y > 0 {
			k := (y + 1) / 2
			top, cur := k-1, min(k, ch-1)
			if y&1 == 1 {
				near, far = top, cur
			} else {
				near, far = cur, top
			}
		}
		webpChromaRow(crow(m.Cb, near), crow(m.Cb, far), us)
		webpChromaRow(crow(m.Cr, near), crow(m.Cr, far), vs)
		yrow := m.Y[y*m.YStride:][:w]
		dst := out.Pix[y*out.Stride:][:4*w]
		for x := 0; x < w; x++ {
			r, g, b := webpYUVToRGB(int32(yrow[x]), us[x], vs[x])
			a := uint8(255)
			if alpha != nil {
				a = alpha[y*astride+x]
			}
			dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = r, g, b, a
		}
	}
	return out
}

// webpChunks walks the chunks of a RIFF WEBP file, calling fn with each
// chunk's FourCC and payload (clipped to the data), until fn returns false.
func webpChunks(data []byte, fn func(id string, payload []byte) bool) {
	if len(data) < 12 {
		return
	}
	p := data[12:]
	for len(p) >= 8 {
		id := string(p[:4])
		n := binary.LittleEndian.Uint32(p[4:8])
		p = p[8:]
		payload := p
		if uint64(n) < uint64(len(p)) {
			payload = p[:n]
		}
		if !fn(id, payload) {
			return
		}
		skip := uint64(n) + uint64(n&1)
		if skip >= uint64(len(p)) {
			return
		}
		p = p[skip:]
	}
}

// webpIsAnimated reports whether a WebP file has the VP8X animation flag.
func webpIsAnimated(data []byte) bool {
	anim := false
	webpChunks(data, func(id string, payload []byte) bool {
		if id == "VP8X" && len(payload) >= 1 {
			anim = payload[0]&0x02 != 0
		}
		if id == "ANIM" || id == "ANMF" {
			anim = true
		}
		return id != "VP8 " && id != "VP8L"
	})
	return anim
}
