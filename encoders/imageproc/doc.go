// Package imageproc decodes images and turns them into the normalised
// CHW float32 tensors that CLIP, BLIP, CoCa and similar image encoders take,
// reproducing the PIL-based reference pipelines (OpenAI CLIP, open_clip,
// torchvision transforms on PIL images, Hugging Face image processors with
// PIL) value for value.
//
// The pipeline is Decode → ToRGB → resize → centre crop → rescale →
// normalise:
//
//	img, _, err := imageproc.DecodeBytes(data) // sniffed by content, EXIF-oriented
//	x, err := imageproc.Preprocess(img, imageproc.DefaultCLIP(224))
//
// Resizing is a port of PIL's Resample.c (ImagingResample): separable
// convolution with the filter support scaled by the downscale factor
// (antialiasing), coefficients normalised in float64 and converted to
// 22-bit fixed point, 8-bit intermediate image between the horizontal and
// vertical passes, the same rounding and clipping. For 8-bit input it gives
// bit-identical pixels, so the float output matches the PIL reference to
// the last float32 bit (the golden tests check this).
//
// Known differences from PIL (all in decoding, none in the preprocessing
// arithmetic):
//
//   - JPEG: Go's image/jpeg uses a different integer IDCT from libjpeg's
//     islow, so decoded samples can differ by ±1 (occasionally a little
//     more) from PIL's. ToRGB reproduces libjpeg's fancy chroma upsampling
//     and YCbCr→RGB tables for 4:2:0, 4:2:2 and 4:4:0, which removes the
//     much larger differences Go's nearest-neighbour chroma would cause.
//     YCCK and subsampled CMYK JPEGs are converted by Go's decoder itself
//     (Go colour maths, replicated chroma).
//   - GIF: only the first frame is read, as PIL's Image.open does; GIFs
//     that Go's decoder rejects (no colour table, pixel indices beyond the
//     palette, frames outside the logical screen) fail with ErrCorrupt
//     where PIL would pad.
//   - WebP: still images only (animated WebP is ErrUnsupported); lossy
//     WebP is converted like libwebp (fancy upsampling, BT.601 limited
//     range), lossless is exact.
//   - 16-bit images: PIL keeps the high byte for 16-bit colour (RGB;16B)
//     but clips 16-bit grayscale (mode I;16) to 255 instead of scaling it;
//     ToRGB does the same, so a typical 16-bit gray PNG becomes mostly
//     white, exactly as in PIL.
//   - Orientation: EXIF tag 0x0112 and the XMP tiff:Orientation fallback
//     are honoured as current Pillow's exif_transpose does (for TIFF,
//     current Pillow applies the file's own orientation tag once, while
//     loading; Pillow 9.4 applied it twice when exif_transpose ran before
//     load). PNG "Raw profile type
//     exif" text chunks are not read. Unreadable metadata means no
//     orientation, where PIL may raise.
//   - Colour profiles (ICC, gAMA) are ignored, as PIL ignores them.
package imageproc
