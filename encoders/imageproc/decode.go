package imageproc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// Sentinel errors. Errors returned by Decode wrap one of them (test with
// errors.Is) and, where there is one, the decoder's own error.
var (
	// ErrUnsupported: not an image format this package reads, or a
	// feature of the format that the decoder does not implement.
	ErrUnsupported = errors.New("imageproc: unsupported image")
	// ErrTooLarge: the declared size exceeds Options.MaxPixels or the
	// input exceeds Options.MaxBytes (decompression-bomb guard).
	ErrTooLarge = errors.New("imageproc: image too large")
	// ErrCorrupt: empty, truncated or malformed image data.
	ErrCorrupt = errors.New("imageproc: corrupt image")
)

// Format is an image container format, detected from the content.
type Format string

const (
	FormatUnknown Format = ""
	FormatJPEG    Format = "jpeg"
	FormatPNG     Format = "png"
	FormatGIF     Format = "gif"
	FormatBMP     Format = "bmp"
	FormatWebP    Format = "webp"
	FormatTIFF    Format = "tiff"
)

const (
	// DefaultMaxPixels is the default Options.MaxPixels: 64 Mpx.
	DefaultMaxPixels = 64 << 20
	// DefaultMaxBytes is the default Options.MaxBytes: 256 MiB.
	DefaultMaxBytes = 256 << 20
)

// Options control decoding. The zero value is the default.
type Options struct {
	// MaxPixels bounds width×height as declared in the header, checked
	// before any pixel buffer is allocated. 0 means DefaultMaxPixels; a
	// negative value disables the check.
	MaxPixels int64
	// MaxBytes bounds the size of the encoded input. 0 means
	// DefaultMaxBytes; a negative value disables the check.
	MaxBytes int64
	// IgnoreOrientation skips the EXIF/XMP orientation (which is applied
	// by default, as PIL's ImageOps.exif_transpose does).
	IgnoreOrientation bool
}

// Decode reads an image with the default Options.
func Decode(r io.Reader) (image.Image, Format, error) { return Options{}.Decode(r) }

// DecodeBytes decodes an in-memory image with the default Options.
func DecodeBytes(b []byte) (image.Image, Format, error) { return Options{}.DecodeBytes(b) }

// Decode reads all of r (up to MaxBytes) and decodes it; see DecodeBytes.
func (o Options) Decode(r io.Reader) (image.Image, Format, error) {
	limit := o.maxBytes()
	var data []byte
	var err error
	if limit > 0 {
		data, err = io.ReadAll(io.LimitReader(r, limit+1))
		if err == nil && int64(len(data)) > limit {
			return nil, FormatUnknown, fmt.Errorf("%w: input larger than %d bytes", ErrTooLarge, limit)
		}
	} else {
		data, err = io.ReadAll(r)
	}
	if err != nil {
		return nil, FormatUnknown, fmt.Errorf("imageproc: reading image: %w", err)
	}
	return o.DecodeBytes(data)
}

func (o Options) maxBytes() int64 {
	if o.MaxBytes == 0 {
		return DefaultMaxBytes
	}
	return o.MaxBytes
}

func (o Options) maxPixels() int64 {
	if o.MaxPixels == 0 {
		return DefaultMaxPixels
	}
	return o.MaxPixels
}

// Sniff detects the format from the first bytes of the data (never from a
// file name).
func Sniff(b []byte) Format {
	switch {
	case len(b) >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff:
		return FormatJPEG
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return FormatGIF
	case bytes.HasPrefix(b, []byte("BM")):
		return FormatBMP
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return FormatWebP
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return FormatTIFF
	}
	return FormatUnknown
}

// DecodeBytes detects the format by content and decodes JPEG, PNG, GIF
// (first frame), BMP, WebP (still) or TIFF (first page). The declared size
// is checked against MaxPixels before decoding. Unless IgnoreOrientation
// is set, the EXIF orientation (or XMP tiff:Orientation, as PIL reads it)
// is applied; the result is then a lazily transposed view that ToRGB
// handles efficiently.
//
// The returned image keeps the decoder's representation (image.YCbCr for
// JPEG, image.Paletted for GIF, ...) so that ToRGB can convert it the way
// PIL would. Two normalisations make that possible: lossy WebP is
// converted to image.NRGBA with libwebp's upsampling and BT.601
// limited-range conversion (x/image/webp returns VP8's YUV samples as if
// they were JPEG's full-range YCbCr), and a GIF's transparent palette entry
// keeps its colour (Go's decoder blanks it; PIL does not).
func (o Options) DecodeBytes(data []byte) (img image.Image, f Format, err error) {
	if _, f, err = o.ConfigBytes(data); err != nil {
		return nil, f, err
	}
	if f == FormatWebP && webpIsAnimated(data) {
		return nil, f, fmt.Errorf("%w: animated WebP", ErrUnsupported)
	}
	decode, _ := codecs(f)
	// Decoders are fuzzed upstream, but a panic on hostile input must not
	// take the process down.
	defer func() {
		if r := recover(); r != nil {
			img = nil
			err = fmt.Errorf("%w: %s decoder panicked: %v", ErrCorrupt, f, r)
		}
	}()
	img, err = decode(bytes.NewReader(data))
	if err != nil {
		return nil, f, classify(f, err)
	}
	if b := img.Bounds(); b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, f, fmt.Errorf("%w: %s decoded to an empty image", ErrCorrupt, f)
	}
	switch f {
	case FormatGIF:
		img = fixGIF(data, img)
	case FormatWebP:
		img = webpToNRGBA(img)
	case FormatPNG:
		img = fixPNG(data, img)
	}
	if !o.IgnoreOrientation {
		if orient := Orientation(data); orient >= 2 && orient <= 8 {
			img = &oriented{Image: img, orientation: orient}
		}
	}
	return img, f, nil
}

// codecs returns the decoder and the header reader of a format (nil for
// an unknown one).
func codecs(f Format) (decode func(io.Reader) (image.Image, error), config func(io.Reader) (image.Config, error)) {
	switch f {
	case FormatJPEG:
		return jpeg.Decode, jpeg.DecodeConfig
	case FormatPNG:
		return png.Decode, png.DecodeConfig
	case FormatGIF:
		return gif.Decode, gif.DecodeConfig
	case FormatBMP:
		return bmp.Decode, bmp.DecodeConfig
	case FormatWebP:
		return webp.Decode, webp.DecodeConfig
	case FormatTIFF:
		return tiff.Decode, tiff.DecodeConfig
	}
	return nil, nil
}

// ConfigBytes reads only an image's header: its format and declared size,
// with the same checks DecodeBytes makes before allocating pixels (the
// size against MaxPixels, the input against MaxBytes). A caller that
// budgets memory reserves Width×Height pixels with it before decoding.
func (o Options) ConfigBytes(data []byte) (cfg image.Config, f Format, err error) {
	if len(data) == 0 {
		return cfg, FormatUnknown, fmt.Errorf("%w: empty input", ErrCorrupt)
	}
	if l := o.maxBytes(); l > 0 && int64(len(data)) > l {
		return cfg, FormatUnknown, fmt.Errorf("%w: input larger than %d bytes", ErrTooLarge, l)
	}
	f = Sniff(data)
	_, config := codecs(f)
	if config == nil {
		if len(data) < 12 && couldBePrefix(data) {
			return cfg, FormatUnknown, fmt.Errorf("%w: truncated header", ErrCorrupt)
		}
		return cfg, FormatUnknown, fmt.Errorf("%w: unrecognised format", ErrUnsupported)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s decoder panicked: %v", ErrCorrupt, f, r)
		}
	}()
	if cfg, err = config(bytes.NewReader(data)); err != nil {
		return cfg, f, classify(f, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return cfg, f, fmt.Errorf("%w: %s declares a %dx%d image", ErrCorrupt, f, cfg.Width, cfg.Height)
	}
	if mp := o.maxPixels(); mp > 0 && int64(cfg.Width)*int64(cfg.Height) > mp {
		return cfg, f, fmt.Errorf("%w: %s declares %dx%d = %d pixels, over the limit of %d",
			ErrTooLarge, f, cfg.Width, cfg.Height, int64(cfg.Width)*int64(cfg.Height), mp)
	}
	return cfg, f, nil
}

// couldBePrefix reports whether short data is the start of a signature.
func couldBePrefix(b []byte) bool {
	for _, sig := range []string{"\xff\xd8\xff", "\x89PNG\r\n\x1a\n", "GIF87a", "GIF89a", "RIFF", "II*\x00", "MM\x00*"} {
		n := min(len(b), len(sig))
		if n > 0 && string(b[:n]) == sig[:n] {
			return true
		}
	}
	return false
}

// classify wraps a decoder error in the matching sentinel.
func classify(f Format, err error) error {
	var (
		pngUnsup  png.UnsupportedError
		jpegUnsup jpeg.UnsupportedError
		tiffUnsup tiff.UnsupportedError
	)
	switch {
	case errors.As(err, &pngUnsup), errors.As(err, &jpegUnsup), errors.As(err, &tiffUnsup),
		errors.Is(err, bmp.ErrUnsupported):
		return fmt.Errorf("%w: %s: %w", ErrUnsupported, f, err)
	case f == FormatWebP && isWebPUnsupported(err):
		return fmt.Errorf("%w: %s: %w", ErrUnsupported, f, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrCorrupt, f, err)
}

func isWebPUnsupported(err error) bool {
	// x/image/webp reports animation and other unimplemented features
	// with plain errors.
	s := err.Error()
	return strings.Contains(s, "not implemented") || strings.Contains(s, "unsupported")
}

// fixPNG makes a 16-bit grayscale PNG with a tRNS chunk (which Go decodes
// to NRGBA64) a Gray16 again, so ToRGB applies PIL's I;16 rule to it.
func fixPNG(data []byte, img image.Image) image.Image {
	m, ok := img.(*image.NRGBA64)
	if !ok || len(data) < 33 || string(data[12:16]) != "IHDR" {
		return img
	}
	depth, ctype := data[24], data[25]
	if depth != 16 || ctype != 0 {
		return img
	}
	g := image.NewGray16(m.Rect)
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		src := m.Pix[m.PixOffset(m.Rect.Min.X, y):][:8*m.Rect.Dx()]
		dst := g.Pix[g.PixOffset(m.Rect.Min.X, y):][:2*m.Rect.Dx()]
		for x := 0; x < m.Rect.Dx(); x++ {
			dst[2*x], dst[2*x+1] = src[8*x], src[8*x+1]
		}
	}
	return g
}
