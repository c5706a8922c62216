package imageproc

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"strings"
)

// CLIPMean and CLIPStd are OpenAI CLIP's normalisation constants (also
// used by BLIP, CoCa and open_clip's OpenAI-pretrained models).
var (
	CLIPMean = [3]float32{0.48145466, 0.4578275, 0.40821073}
	CLIPStd  = [3]float32{0.26862954, 0.26130258, 0.27577711}
)

// Config describes an image preprocessing pipeline: convert to RGB, resize,
// centre crop, rescale, normalise, output CHW float32.
type Config struct {
	// ShortestEdge > 0 resizes so the shorter side becomes ShortestEdge
	// and the longer side int(ShortestEdge * long / short) (truncated), as
	// torchvision Resize(int), open_clip and HF CLIPImageProcessor do.
	ShortestEdge int
	// ResizeW, ResizeH > 0 (used when ShortestEdge == 0) resize to exactly
	// ResizeW×ResizeH, ignoring aspect (BLIP). Both zero: no resize.
	ResizeW, ResizeH int
	// Resample is the resize filter; the zero value is Bicubic.
	Resample Filter
	// CropW, CropH > 0 take a centre crop like torchvision CenterCrop:
	// left = int(round((w - CropW) / 2.0)) with Python's round-half-even,
	// zero padding (split floor/ceil) where the crop is larger than the
	// image. 0 = no crop.
	CropW, CropH int
	// RescaleFactor multiplies the 8-bit samples; 0 means 1/255. When it is
	// 1/n for an integer n the samples are divided by n instead, which is
	// what ToTensor and the PIL reference (x / 255.0) do.
	RescaleFactor float32
	// Mean and Std normalise each channel: (x*RescaleFactor - Mean) / Std.
	// Use Mean 0, Std 1 for no normalisation. Std must be non-zero.
	Mean, Std [3]float32
}

// DefaultCLIP is OpenAI CLIP's preprocessing at the given input size:
// shortest side → imageSize (bicubic), centre crop imageSize², /255, CLIP
// mean/std.
func DefaultCLIP(imageSize int) Config {
	return Config{
		ShortestEdge:  imageSize,
		CropW:         imageSize,
		CropH:         imageSize,
		RescaleFactor: 1.0 / 255,
		Mean:          CLIPMean,
		Std:           CLIPStd,
	}
}

// DefaultBLIP is BLIP's preprocessing: resize to imageSize² (bicubic,
// aspect ignored), no crop, /255, CLIP mean/std.
func DefaultBLIP(imageSize int) Config {
	return Config{
		ResizeW:       imageSize,
		ResizeH:       imageSize,
		RescaleFactor: 1.0 / 255,
		Mean:          CLIPMean,
		Std:           CLIPStd,
	}
}

// OutputSize returns the width and height Preprocess produces for a w×h
// input.
func (c Config) OutputSize(w, h int) (int, int) {
	rw, rh := c.resizeSize(w, h)
	if c.CropW > 0 && c.CropH > 0 {
		return c.CropW, c.CropH
	}
	return rw, rh
}

// resizeSize is the size the image is resized to (w, h when no resize).
func (c Config) resizeSize(w, h int) (int, int) {
	switch {
	case c.ShortestEdge > 0:
		s := c.ShortestEdge
		if w <= h {
			return s, int(float64(s*h) / float64(w))
		}
		return int(float64(s*w) / float64(h)), s
	case c.ResizeW > 0 && c.ResizeH > 0:
		return c.ResizeW, c.ResizeH
	}
	return w, h
}

func (c Config) validate() error {
	if c.ShortestEdge < 0 || c.ResizeW < 0 || c.ResizeH < 0 || c.CropW < 0 || c.CropH < 0 {
		return errors.New("imageproc: negative size in Config")
	}
	if (c.ResizeW > 0) != (c.ResizeH > 0) {
		return errors.New("imageproc: Config needs both ResizeW and ResizeH")
	}
	if (c.CropW > 0) != (c.CropH > 0) {
		return errors.New("imageproc: Config needs both CropW and CropH")
	}
	if _, _, ok := c.Resample.kernel(); !ok {
		return fmt.Errorf("imageproc: unknown filter %v", c.Resample)
	}
	for i, s := range c.Std {
		if s == 0 || math.IsNaN(float64(s)) {
			return fmt.Errorf("imageproc: Config.Std[%d] is %v", i, s)
		}
	}
	if math.IsNaN(float64(c.RescaleFactor)) || math.IsInf(float64(c.RescaleFactor), 0) {
		return errors.New("imageproc: bad RescaleFactor")
	}
	return nil
}

// roundHalfEven is Python 3's round() for the half-integers that
// (a - b) / 2.0 produces.
func roundHalfEven(x float64) int {
	return int(math.RoundToEven(x))
}

// cropOrigin is the offset of the crop inside an axis of n pixels:
// torchvision's int(round((n - crop) / 2.0)), or, when the crop is larger,
// minus the left padding (crop - n) // 2 that CenterCrop adds.
func cropOrigin(n, crop int) int {
	if crop > n {
		return -((crop - n) / 2)
	}
	return roundHalfEven(float64(n-crop) / 2.0)
}

// lut returns the 256-entry table of (v*rescale - mean) / std for each
// channel, computed in float32 step by step like the NumPy/PyTorch
// reference ((x.astype(float32) / 255 - mean) / std).
func (c Config) lut() [3][256]float32 {
	rf := c.RescaleFactor
	if rf == 0 {
		rf = 1.0 / 255
	}
	var div float32
	if inv := 1 / float64(rf); inv >= 1 {
		if r := math.Round(inv); math.Abs(inv-r) <= 1e-6*r {
			div = float32(r)
		}
	}
	var t [3][256]float32
	for ch := 0; ch < 3; ch++ {
		for v := 0; v < 256; v++ {
			var x float32
			if div != 0 {
				x = float32(v) / div
			} else {
				x = float32(v) * rf
			}
			x = float32(x - c.Mean[ch])
			t[ch][v] = x / c.Std[ch]
		}
	}
	return t
}

// Preprocess converts img to RGB (see ToRGB), resizes, crops and normalises
// it as cfg says, returning a 3×H×W float32 tensor in CHW order.
func Preprocess(img image.Image, cfg Config) ([]float32, error) {
	if img == nil {
		return nil, errors.New("imageproc: nil image")
	}
	return PreprocessRGB(ToRGB(img), cfg)
}

// PreprocessRGB is Preprocess for an image that is already RGB.
func PreprocessRGB(src *RGB, cfg Config) ([]float32, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if src.W <= 0 || src.H <= 0 {
		return nil, fmt.Errorf("%w: empty image", ErrCorrupt)
	}
	rw, rh := cfg.resizeSize(src.W, src.H)
	if rw <= 0 || rh <= 0 {
		return nil, fmt.Errorf("imageproc: %dx%d image resizes to %dx%d", src.W, src.H, rw, rh)
	}
	ow, oh := rw, rh
	x0, y0 := 0, 0
	if cfg.CropW > 0 {
		ow, oh = cfg.CropW, cfg.CropH
		x0, y0 = cropOrigin(rw, ow), cropOrigin(rh, oh)
	}
	// The part of the crop that lies inside the resized image; the rest is
	// zero padding.
	ix0, iy0 := max(x0, 0), max(y0, 0)
	ix1, iy1 := min(x0+ow, rw), min(y0+oh, rh)
	var win *RGB
	if ix1 > ix0 && iy1 > iy0 {
		if rw == src.W && rh == src.H {
			win = NewRGB(ix1-ix0, iy1-iy0)
			for y := iy0; y < iy1; y++ {
				copy(win.Pix[3*win.W*(y-iy0):][:3*win.W], src.Pix[3*(src.W*y+ix0):][:3*win.W])
			}
		} else {
			win = resampleWindow(src, rw, rh, cfg.Resample, ix0, iy0, ix1-ix0, iy1-iy0)
		}
	}
	t := cfg.lut()
	plane := ow * oh
	out := make([]float32, 3*plane)
	for ch := 0; ch < 3; ch++ {
		o := out[ch*plane:][:plane]
		zero := t[ch][0]
		for i := range o {
			o[i] = zero
		}
		if win == nil {
			continue
		}
		for y := 0; y < win.H; y++ {
			row := win.Pix[3*win.W*y:][:3*win.W]
			dst := o[(iy0-y0+y)*ow+(ix0-x0):][:win.W]
			for x := range dst {
				dst[x] = t[ch][row[3*x+ch]]
			}
		}
	}
	return out, nil
}

// ConfigFromHF reads a Hugging Face preprocessor_config.json
// (CLIPImageProcessor, BlipImageProcessor and the like): size (an int, or
// {"shortest_edge": n}, or {"height": h, "width": w}), crop_size,
// do_resize, do_center_crop, do_rescale, rescale_factor, do_normalize,
// image_mean, image_std and resample. A bare int size means shortest edge
// for CLIP-style processors and a square otherwise, as HF's get_size_dict
// does for each. Missing keys take HF's defaults for CLIP.
func ConfigFromHF(data []byte) (Config, error) {
	var raw struct {
		Type          string          `json:"image_processor_type"`
		FEType        string          `json:"feature_extractor_type"`
		Size          json.RawMessage `json:"size"`
		CropSize      json.RawMessage `json:"crop_size"`
		DoResize      *bool           `json:"do_resize"`
		DoCenterCrop  *bool           `json:"do_center_crop"`
		DoRescale     *bool           `json:"do_rescale"`
		RescaleFactor *float64        `json:"rescale_factor"`
		DoNormalize   *bool           `json:"do_normalize"`
		Mean          json.RawMessage `json:"image_mean"`
		Std           json.RawMessage `json:"image_std"`
		Resample      *int            `json:"resample"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return Config{}, fmt.Errorf("imageproc: preprocessor config: %w", err)
	}
	kind := raw.Type
	if kind == "" {
		kind = raw.FEType
	}
	shortestForInt := strings.Contains(strings.ToLower(kind), "clip")
	isTrue := func(b *bool, def bool) bool {
		if b == nil {
			return def
		}
		return *b
	}
	cfg := Config{RescaleFactor: 1.0 / 255, Mean: CLIPMean, Std: CLIPStd}
	if raw.Resample != nil {
		f, err := FilterFromPIL(*raw.Resample)
		if err != nil {
			return Config{}, err
		}
		cfg.Resample = f
	}
	if isTrue(raw.DoResize, true) && len(raw.Size) > 0 && string(raw.Size) != "null" {
		sz, err := parseHFSize(raw.Size, shortestForInt)
		if err != nil {
			return Config{}, fmt.Errorf("imageproc: size: %w", err)
		}
		if sz.shortest > 0 {
			cfg.ShortestEdge = sz.shortest
		} else {
			cfg.ResizeW, cfg.ResizeH = sz.w, sz.h
		}
	}
	hasCrop := len(raw.CropSize) > 0 && string(raw.CropSize) != "null"
	if isTrue(raw.DoCenterCrop, hasCrop) {
		if !hasCrop {
			return Config{}, errors.New("imageproc: do_center_crop without crop_size")
		}
		sz, err := parseHFSize(raw.CropSize, false)
		if err != nil {
			return Config{}, fmt.Errorf("imageproc: crop_size: %w", err)
		}
		if sz.shortest > 0 {
			return Config{}, errors.New("imageproc: crop_size must be a square or height/width")
		}
		cfg.CropW, cfg.CropH = sz.w, sz.h
	}
	if !isTrue(raw.DoRescale, true) {
		cfg.RescaleFactor = 1
	} else if raw.RescaleFactor != nil {
		cfg.RescaleFactor = float32(*raw.RescaleFactor)
		if cfg.RescaleFactor == 0 {
			return Config{}, errors.New("imageproc: rescale_factor 0")
		}
	}
	if !isTrue(raw.DoNormalize, true) {
		cfg.Mean, cfg.Std = [3]float32{}, [3]float32{1, 1, 1}
	} else {
		var err error
		if cfg.Mean, err = parseTriple(raw.Mean, CLIPMean); err != nil {
			return Config{}, fmt.Errorf("imageproc: image_mean: %w", err)
		}
		if cfg.Std, err = parseTriple(raw.Std, CLIPStd); err != nil {
			return Config{}, fmt.Errorf("imageproc: image_std: %w", err)
		}
	}
	if err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

type hfSize struct{ shortest, w, h int }

func parseHFSize(b json.RawMessage, intIsShortest bool) (hfSize, error) {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		if n <= 0 {
			return hfSize{}, fmt.Errorf("non-positive size %d", n)
		}
		if intIsShortest {
			return hfSize{shortest: n}, nil
		}
		return hfSize{w: n, h: n}, nil
	}
	var m map[string]*int
	if err := json.Unmarshal(b, &m); err != nil {
		return hfSize{}, fmt.Errorf("want an int or an object: %s", b)
	}
	get := func(k string) int {
		if v := m[k]; v != nil {
			return *v
		}
		return 0
	}
	if v := m["longest_edge"]; v != nil {
		return hfSize{}, errors.New("longest_edge is not supported")
	}
	if s := get("shortest_edge"); s > 0 {
		return hfSize{shortest: s}, nil
	}
	if h, w := get("height"), get("width"); h > 0 && w > 0 {
		return hfSize{w: w, h: h}, nil
	}
	return hfSize{}, fmt.Errorf("unsupported size %s", b)
}

func parseTriple(b json.RawMessage, def [3]float32) ([3]float32, error) {
	if len(b) == 0 || string(b) == "null" {
		return def, nil
	}
	var one float64
	if err := json.Unmarshal(b, &one); err == nil {
		return [3]float32{float32(one), float32(one), float32(one)}, nil
	}
	var v []float64
	if err := json.Unmarshal(b, &v); err != nil {
		return def, err
	}
	if len(v) != 3 {
		return def, fmt.Errorf("want 3 values, got %d", len(v))
	}
	return [3]float32{float32(v[0]), float32(v[1]), float32(v[2])}, nil
}
