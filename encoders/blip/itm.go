package blip

import (
	"fmt"
	"math"
	"rosetta/encoders/safetensors"

	"rosetta/encoders/nn"
)

// ITM is BlipForImageTextRetrieval: image-text matching (ITMLogits) and
// contrastive image/text features (ImageFeatures, TextFeatures). It is
// immutable and safe for concurrent use.
type ITM struct {
	Cfg        Config
	vision     *vision
	text       *textModel
	itmHead    *nn.Linear   // [2, text hidden]
	visionProj *nn.Linear   // [imageTextHidden, vision hidden]
	textProj   *nn.Linear   // [imageTextHidden, text hidden]
	cross      []crossHeads // per text layer, for MatchText
}

// LoadITM reads a BlipForImageTextRetrieval directory (config.json +
// model.safetensors, transformers' tensor names).
func LoadITM(dir string, opt *Options) (*ITM, error) {
	cfg, ck, path, err := openDir(dir, opt)
	if err != nil {
		return nil, err
	}
	// Weights are copied out and packed; the mapping is not kept.
	defer ck.Close()
	return newITM(cfg, ck, path)
}

// RandomITM builds an ITM model of cfg's shape with random weights (for
// benchmarks of full-size shapes; DefaultConfig is BLIP-base).
func RandomITM(cfg Config, seed uint64) (*ITM, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return newITM(cfg, safetensors.Random(seed), "random weights")
}

func newITM(cfg Config, ck *safetensors.Checkpoint, path string) (*ITM, error) {
	l := &loader{ck: ck}
	tc, e := cfg.Text, cfg.ImageTextHidden
	text := loadText(l, "text_encoder", tc, true)
	m := &ITM{Cfg: cfg,
		vision:     loadVision(l, "vision_model", cfg.Vision),
		text:       text,
		itmHead:    l.linear("itm_head", 2, tc.Hidden),
		visionProj: l.linear("vision_proj", e, cfg.Vision.Hidden),
		textProj:   l.linear("text_proj", e, tc.Hidden),
		cross:      loadCrossHeads(l, text),
	}
	if err := l.err(path); err != nil {
		return nil, err
	}
	return m, nil
}

// ImageTokens is the number of image embeds per image.
func (m *ITM) ImageTokens() int { return m.Cfg.Vision.ImageTokens() }

// ImageEmbeds runs the image tower over batch preprocessed images
// (pixels [batch*3*size*size], CHW, normalised as the processor does) and
// returns the last hidden states [batch*ImageTokens()*vision hidden].
func (m *ITM) ImageEmbeds(pixels []float32, batch int) ([]float32, error) {
	return m.vision.forward(pixels, batch)
}

func (m *ITM) checkEmbeds(imageEmbeds []float32, n int) error {
	per := m.ImageTokens() * m.Cfg.Vision.Hidden
	if len(imageEmbeds) != n*per {
		return fmt.Errorf("%w: %d image embed values for %d images of %d×%d", ErrInput, len(imageEmbeds), n, m.ImageTokens(), m.Cfg.Vision.Hidden)
	}
	return nil
}

// keyValid turns a 0/1 attention mask into a padding mask (nil for nil).
func keyValid(mask []int) []bool {
	if mask == nil {
		return nil
	}
	kv := make([]bool, len(mask))
	for i, v := range mask {
		kv[i] = v != 0
	}
	return kv
}

// ITMLogits scores pair i = (image i of imageEmbeds, text ids[i]) with the
// ITM head: [no match, match] logits (softmax them for a probability).
// masks[i] is text i's attention mask (1 keep, 0 padding); masks may be
// nil for unpadded texts. The token ids are used as given; transformers'
// BlipForImageTextRetrieval also feeds the processor's [CLS]-first ids.
func (m *ITM) ITMLogits(imageEmbeds []float32, ids [][]int, masks [][]int) ([][2]float32, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no texts", ErrInput)
	}
	if masks != nil && len(masks) != len(ids) {
		return nil, fmt.Errorf("%w: %d masks for %d texts", ErrInput, len(masks), len(ids))
	}
	if err := m.checkEmbeds(imageEmbeds, len(ids)); err != nil {
		return nil, err
	}
	per := m.ImageTokens() * m.Cfg.Vision.Hidden
	out := make([][2]float32, len(ids))
	for i, seq := range ids {
		var mask []int
		if masks != nil {
			mask = masks[i]
		}
		if err := m.text.checkIDs(seq, mask); err != nil {
			return nil, fmt.Errorf("text %d: %w", i, err)
		}
		st := m.text.newState(false, keyValid(mask), imageEmbeds[i*per:(i+1)*per], m.ImageTokens())
		h := m.text.step(st, seq)
		var logits [2]float32
		m.itmHead.Forward(h[:m.Cfg.Text.Hidden], 1, logits[:])
		out[i] = logits
	}
	return out, nil
}

// MatchProbability is the softmax probability of "match" for one pair's
// ITM logits.
func MatchProbability(logits [2]float32) float32 {
	return float32(1 / (1 + math.Exp(float64(logits[0])-float64(logits[1]))))
}

// ImageFeatures returns the L2-normalised contrastive features
// [n][imageTextHidden] of n images' embeds (the class token through
// vision_proj).
func (m *ITM) ImageFeatures(imageEmbeds []float32, n int) ([][]float32, error) {
	if n <= 0 {
		return nil, fmt.Errorf("%w: %d images", ErrInput, n)
	}
	if err := m.checkEmbeds(imageEmbeds, n); err != nil {
		return nil, err
	}
	per := m.ImageTokens() * m.Cfg.Vision.Hidden
	out := make([][]float32, n)
	for i := range out {
		f := make([]float32, m.Cfg.ImageTextHidden)
		m.visionProj.Forward(imageEmbeds[i*per:i*per+m.Cfg.Vision.Hidden], 1, f)
		out[i] = normalize(f)
	}
	return out, nil
}

// TextFeatures returns the L2-normalised contrastive features
// [len(ids)][imageTextHidden] of texts encoded without the image (the
// first token through text_proj). masks may be nil for unpadded texts.
func (m *ITM) TextFeatures(ids [][]int, masks [][]int) ([][]float32, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no texts", ErrInput)
	}
	if masks != nil && len(masks) != len(ids) {
		return nil, fmt.Errorf("%w: %d masks for %d texts", ErrInput, len(masks), len(ids))
	}
	out := make([][]float32, len(ids))
	for i, seq := range ids {
		var mask []int
		if masks != nil {
			mask = masks[i]
		}
		if err := m.text.checkIDs(seq, mask); err != nil {
			return nil, fmt.Errorf("text %d: %w", i, err)
		}
		st := m.text.newState(false, keyValid(mask), nil, 0)
		h := m.text.step(st, seq)
		f := make([]float32, m.Cfg.ImageTextHidden)
		m.textProj.Forward(h[:m.Cfg.Text.Hidden], 1, f)
		out[i] = normalize(f)
	}
	return out, nil
}

// Similarity returns the cosine similarities [image][text] of normalised
// features, as BlipForImageTextRetrieval(use_itm_head=False) does.
func Similarity(images, texts [][]float32) ([][]float32, error) {
	out := make([][]float32, len(images))
	for i, a := range images {
		out[i] = make([]float32, len(texts))
		for j, b := range texts {
			if len(a) != len(b) {
				return nil, fmt.Errorf("%w: image feature %d has %d values, text feature %d has %d", ErrInput, i, len(a), j, len(b))
			}
			var s float32
			for k := range a {
				s += a[k] * b[k]
			}
			out[i][j] = s
		}
	}
	return out, nil
}

// normalize scales v to unit length in place, as torch's F.normalize does
// (eps 1e-12 on the norm).
func normalize(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	n := math.Max(math.Sqrt(s), 1e-12)
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return v
}
