package blip

import (
	"fmt"
	"rosetta/encoders/safetensors"
	"rosetta/kernels"

	"rosetta/encoders/nn"
)

// Captioner is BlipForConditionalGeneration: the image tower and a causal
// BERT decoder with an LM head. It is immutable and safe for concurrent
// use.
type Captioner struct {
	Cfg    Config
	vision *vision
	text   *textModel
	// LM head (BlipTextLMPredictionHead): dense, activation, layer norm,
	// then the decoder tied to the word embeddings (unless the checkpoint
	// stores its own) with its own bias.
	headDense *nn.Linear
	headLN    nn.LayerNorm
	decoder   *nn.Linear // [vocab, hidden]
}

// LoadCaptioner reads a BlipForConditionalGeneration directory
// (config.json + model.safetensors, transformers' tensor names).
func LoadCaptioner(dir string, opt *Options) (*Captioner, error) {
	cfg, ck, path, err := openDir(dir, opt)
	if err != nil {
		return nil, err
	}
	// Weights are copied out and packed; the mapping is not kept.
	defer ck.Close()
	return newCaptioner(cfg, ck, path)
}

// RandomCaptioner builds a captioner of cfg's shape with random weights
// (for benchmarks; DefaultConfig is BLIP-base).
func RandomCaptioner(cfg Config, seed uint64) (*Captioner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return newCaptioner(cfg, safetensors.Random(seed), "random weights")
}

func newCaptioner(cfg Config, ck *safetensors.Checkpoint, path string) (*Captioner, error) {
	l := &loader{ck: ck}
	tc := cfg.Text
	c := &Captioner{Cfg: cfg,
		vision: loadVision(l, "vision_model", cfg.Vision),
		text:   loadText(l, "text_decoder.bert", tc, false),
	}
	const head = "text_decoder.cls.predictions"
	c.headDense = l.linear(head+".transform.dense", tc.Hidden, tc.Hidden)
	c.headLN = l.layerNorm(head+".transform.LayerNorm", tc.Hidden, tc.Eps)
	words := c.text.words
	if ck.Has(head + ".decoder.weight") {
		words = l.tensor(head+".decoder.weight", tc.Vocab, tc.Hidden)
	}
	bias := l.tensor(head+".bias", tc.Vocab)
	c.decoder = l.newLinear(head+".decoder", words, bias, tc.Vocab, tc.Hidden)
	if err := l.err(path); err != nil {
		return nil, err
	}
	return c, nil
}

// ImageTokens is the number of image embeds per image.
func (c *Captioner) ImageTokens() int { return c.Cfg.Vision.ImageTokens() }

// ImageEmbeds runs the image tower over batch preprocessed images
// (pixels [batch*3*size*size], CHW) and returns the last hidden states
// [batch*ImageTokens()*vision hidden].
func (c *Captioner) ImageEmbeds(pixels []float32, batch int) ([]float32, error) {
	return c.vision.forward(pixels, batch)
}

// lmHead maps hidden states [rows*hidden] to logits [rows*vocab].
func (c *Captioner) lmHead(h []float32, rows int) []float32 {
	d := c.Cfg.Text.Hidden
	t := make([]float32, rows*d)
	c.headDense.Forward(h, rows, t)
	c.text.act(t)
	c.headLN.Forward(t, rows, t)
	logits := make([]float32, rows*c.Cfg.Text.Vocab)
	c.decoder.Forward(t, rows, logits)
	return logits
}

// Logits runs the decoder over ids for one preprocessed image (pixels
// [3*size*size]) and returns the next-token logits at every position,
// [len(ids)*vocab], as BlipForConditionalGeneration(pixel_values,
// input_ids).logits does. A caption prefix starts with bos_token_id
// ([DEC]).
func (c *Captioner) Logits(pixels []float32, ids []int) ([]float32, error) {
	img, err := c.vision.forward(pixels, 1)
	if err != nil {
		return nil, err
	}
	return c.LogitsFromEmbeds(img, ids)
}

// LogitsFromEmbeds is Logits for one image's embeds from ImageEmbeds
// ([ImageTokens()*vision hidden]), so that one image can be decoded many
// times without rerunning the image tower.
func (c *Captioner) LogitsFromEmbeds(imageEmbeds []float32, ids []int) ([]float32, error) {
	if err := c.checkEmbeds(imageEmbeds); err != nil {
		return nil, err
	}
	if err := c.text.checkIDs(ids, nil); err != nil {
		return nil, err
	}
	st := c.text.newState(true, nil, imageEmbeds, c.ImageTokens())
	h := c.text.step(st, ids)
	return c.lmHead(h, len(ids)), nil
}

func (c *Captioner) checkEmbeds(imageEmbeds []float32) error {
	if want := c.ImageTokens() * c.Cfg.Vision.Hidden; len(imageEmbeds) != want {
		return fmt.Errorf("%w: %d image embed values, want %d×%d for one image", ErrInput, len(imageEmbeds), c.ImageTokens(), c.Cfg.Vision.Hidden)
	}
	return nil
}

// Greedy captions one preprocessed image (pixels [3*size*size]) by greedy
// decoding, as transformers' generate(num_beams=1, do_sample=False) does:
// starting from prompt (nil: [bos_token_id]), it appends the most likely
// token up to maxNew times, stopping after sep_token_id or at the end of
// the position table. It returns the prompt followed by the new tokens.
// A prompt from the processor's tokenizer should, as
// BlipForConditionalGeneration.generate does, have its first id replaced
// by bos_token_id and its trailing [SEP] dropped.
//
// Each step runs only the new token through the decoder: the keys and
// values of earlier tokens and of the image are cached.
func (c *Captioner) Greedy(pixels []float32, prompt []int, maxNew int) ([]int, error) {
	img, err := c.vision.forward(pixels, 1)
	if err != nil {
		return nil, err
	}
	return c.GreedyFromEmbeds(img, prompt, maxNew)
}

// GreedyFromEmbeds is Greedy for one image's embeds from ImageEmbeds.
func (c *Captioner) GreedyFromEmbeds(imageEmbeds []float32, prompt []int, maxNew int) ([]int, error) {
	if prompt == nil {
		prompt = []int{c.Cfg.Text.BOSTokenID}
	}
	if err := c.checkEmbeds(imageEmbeds); err != nil {
		return nil, err
	}
	if err := c.text.checkIDs(prompt, nil); err != nil {
		return nil, err
	}
	if maxNew < 0 {
		return nil, fmt.Errorf("%w: maxNew %d", ErrInput, maxNew)
	}
	out := append([]int(nil), prompt...)
	st := c.text.newState(true, nil, imageEmbeds, c.ImageTokens())
	d := c.Cfg.Text.Hidden
	next := prompt
	for range maxNew {
		if st.n+len(next) > c.Cfg.Text.MaxPositions {
			break
		}
		h := c.text.step(st, next)
		best := kernels.Argmax(c.lmHead(h[(len(next)-1)*d:], 1))
		out = append(out, best)
		if best == c.Cfg.Text.SEPTokenID {
			break
		}
		next = []int{best}
	}
	return out, nil
}
