// Package caption generates image captions with BLIP (transformers layout)
// or CoCa (open_clip layout): it picks the model from the directory,
// preprocesses images as the checkpoint specifies, decodes greedily or
// with beam search, and turns token ids back into text.
package caption

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"rosetta/kernels"
	"sort"
	"strings"

	"rosetta/encoders/blip"
	"rosetta/encoders/coca"
	"rosetta/encoders/imageproc"
	"rosetta/encoders/tokenizer"
	"rosetta/encoders/wordpiece"
)

// ErrNoCaptioner is returned for a directory that holds no captioning model.
var ErrNoCaptioner = errors.New("caption: not a captioning model")

// Result is one caption.
type Result struct {
	Text string `json:"caption"`
	IDs  []int  `json:"ids"` // generated ids, prompt included
}

// Captioner captions images; safe for concurrent use.
type Captioner struct {
	Kind  string // "blip" or "coca"
	pre   imageproc.Config
	size  int
	start []int
	eos   int
	// embed prepares one image's conditioning; step returns the logits of
	// the next token after prefix.
	embed  func(px []float32) (any, error)
	step   func(cond any, prefix []int) ([]float32, error)
	decode func(ids []int) string
	// fastGreedy, when set, decodes greedily with the model's KV cache.
	fastGreedy func(cond any, maxNew int) ([]int, error)
}

// Open loads the captioning model in dir: BLIP (config.json with
// model_type "blip", vocab.txt) or CoCa (open_clip_config.json with a
// multimodal_cfg, vocab.json + merges.txt).
func Open(dir string) (*Captioner, error) {
	if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		var head struct {
			ModelType string `json:"model_type"`
		}
		json.Unmarshal(b, &head)
		if head.ModelType != "blip" {
			return nil, fmt.Errorf("%w: %s has model_type %q (want blip, or an open_clip CoCa)", ErrNoCaptioner, dir, head.ModelType)
		}
		return openBLIP(dir)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "open_clip_config.json")); err == nil {
		if !strings.Contains(string(b), "multimodal_cfg") {
			return nil, fmt.Errorf("%w: %s is an open_clip model without a text decoder (not CoCa)", ErrNoCaptioner, dir)
		}
		return openCoCa(dir, b)
	}
	return nil, fmt.Errorf("%w: %s has neither config.json nor open_clip_config.json. Download e.g. Salesforce/blip-image-captioning-base "+
		"(config.json, model.safetensors, vocab.txt, preprocessor_config.json) or laion/CoCa-ViT-B-32-laion2B-s13B-b90k into it", ErrNoCaptioner, dir)
}

func openBLIP(dir string) (*Captioner, error) {
	m, err := blip.LoadCaptioner(dir, nil)
	if err != nil {
		return nil, err
	}
	tok, err := wordpiece.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("caption: %s: %w (BLIP needs its vocab.txt beside the weights)", dir, err)
	}
	size := m.Cfg.Vision.ImageSize
	pre := imageproc.DefaultBLIP(size)
	if b, err := os.ReadFile(filepath.Join(dir, "preprocessor_config.json")); err == nil {
		if pre, err = imageproc.ConfigFromHF(b); err != nil {
			return nil, fmt.Errorf("caption: %s: preprocessor_config.json: %w", dir, err)
		}
	}
	return &Captioner{Kind: "blip", pre: pre, size: size, start: []int{m.Cfg.Text.BOSTokenID}, eos: m.Cfg.Text.SEPTokenID,
		embed: func(px []float32) (any, error) { return m.ImageEmbeds(px, 1) },
		step: func(cond any, prefix []int) ([]float32, error) {
			l, err := m.LogitsFromEmbeds(cond.([]float32), prefix)
			if err != nil {
				return nil, err
			}
			v := len(l) / len(prefix)
			return l[(len(prefix)-1)*v:], nil
		},
		decode:     tok.Decode,
		fastGreedy: func(cond any, maxNew int) ([]int, error) { return m.GreedyFromEmbeds(cond.([]float32), nil, maxNew) },
	}, nil
}

func openCoCa(dir string, cfgJSON []byte) (*Captioner, error) {
	m, err := coca.Load(dir, nil)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("caption: %s: %w (CoCa needs the CLIP tokenizer files beside the weights)", dir, err)
	}
	size := m.Cfg.Vision.ImageSize
	pre := imageproc.DefaultCLIP(size)
	var oc struct {
		Pre struct {
			Mean []float32 `json:"mean"`
			Std  []float32 `json:"std"`
		} `json:"preprocess_cfg"`
	}
	if json.Unmarshal(cfgJSON, &oc) == nil && len(oc.Pre.Mean) == 3 && len(oc.Pre.Std) == 3 {
		copy(pre.Mean[:], oc.Pre.Mean)
		copy(pre.Std[:], oc.Pre.Std)
	}
	ti, e := m.Cfg.ImageTokens(), m.Cfg.EmbedDim
	return &Captioner{Kind: "coca", pre: pre, size: size, start: []int{coca.SOT}, eos: coca.EOT,
		embed: func(px []float32) (any, error) {
			_, tokens, err := m.EncodeImage(px, 1)
			return tokens[:ti*e], err
		},
		step: func(cond any, prefix []int) ([]float32, error) {
			_, txt, err := m.EncodeText([][]int{prefix})
			if err != nil {
				return nil, err
			}
			l, err := m.DecoderLogits(cond.([]float32), txt, 1, len(prefix))
			if err != nil {
				return nil, err
			}
			v := len(l) / len(prefix)
			return l[(len(prefix)-1)*v:], nil
		},
		decode: tok.Decode}, nil
}

// Caption captions one image: greedy when beams <= 1, else beam search
// with beams beams (length-normalised log-probabilities). maxNew bounds the
// generated tokens.
func (c *Captioner) Caption(ctx context.Context, img image.Image, beams, maxNew int) (Result, error) {
	px, err := imageproc.Preprocess(img, c.pre)
	if err != nil {
		return Result{}, err
	}
	if len(px) != 3*c.size*c.size {
		return Result{}, fmt.Errorf("caption: preprocessing gave %d values, the model takes 3×%d×%d", len(px), c.size, c.size)
	}
	cond, err := c.embed(px)
	if err != nil {
		return Result{}, err
	}
	var ids []int
	if beams <= 1 {
		ids, err = c.greedy(ctx, cond, maxNew)
	} else {
		ids, err = c.beam(ctx, cond, beams, maxNew)
	}
	if err != nil {
		return Result{}, err
	}
	return Result{Text: strings.TrimSpace(c.decode(ids)), IDs: ids}, nil
}

func (c *Captioner) greedy(ctx context.Context, cond any, maxNew int) ([]int, error) {
	if c.fastGreedy != nil {
		return c.fastGreedy(cond, maxNew)
	}
	seq := append([]int(nil), c.start...)
	for range maxNew {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l, err := c.step(cond, seq)
		if err != nil {
			return seq, nil // the position table is full: stop here
		}
		next := kernels.Argmax(l)
		seq = append(seq, next)
		if next == c.eos {
			break
		}
	}
	return seq, nil
}

type hyp struct {
	seq   []int
	score float64 // sum of log-probabilities of the generated tokens
	done  bool
}

// beam is standard beam search: every step extends each live hypothesis
// by its best tokens, keeps the best `beams` live ones, and moves those that
// end in EOS to the finished set; the answer is the finished hypothesis
// with the best mean log-probability per generated token.
func (c *Captioner) beam(ctx context.Context, cond any, beams, maxNew int) ([]int, error) {
	live := []hyp{{seq: append([]int(nil), c.start...)}}
	var done []hyp
	for step := 0; step < maxNew && len(live) > 0; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var cands []hyp
		for _, h := range live {
			l, err := c.step(cond, h.seq)
			if err != nil {
				done = append(done, hyp{seq: h.seq, score: h.score, done: true})
				continue
			}
			lp := logSoftmax(l)
			for _, t := range topK(lp, beams) {
				seq := append(append([]int(nil), h.seq...), t)
				cands = append(cands, hyp{seq: seq, score: h.score + lp[t], done: t == c.eos})
			}
		}
		sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
		live = live[:0]
		for _, h := range cands {
			if h.done {
				done = append(done, h)
			} else if len(live) < beams {
				live = append(live, h)
			}
			if len(live) == beams && len(done) >= beams {
				break
			}
		}
		if len(done) >= beams {
			break
		}
	}
	done = append(done, live...)
	best, bestScore := done[0], math.Inf(-1)
	for _, h := range done {
		n := max(1, len(h.seq)-len(c.start))
		if s := h.score / float64(n); s > bestScore {
			best, bestScore = h, s
		}
	}
	return best.seq, nil
}

func logSoftmax(l []float32) []float64 {
	m := math.Inf(-1)
	for _, x := range l {
		m = math.Max(m, float64(x))
	}
	var s float64
	for _, x := range l {
		s += math.Exp(float64(x) - m)
	}
	lse := m + math.Log(s)
	out := make([]float64, len(l))
	for i, x := range l {
		out[i] = float64(x) - lse
	}
	return out
}

// topK returns the indices of the k largest values, largest first.
func topK(v []float64, k int) []int {
	idx := make([]int, 0, k+1)
	for i := range v {
		if len(idx) < k || v[i] > v[idx[len(idx)-1]] {
			j := sort.Search(len(idx), func(j int) bool { return v[idx[j]] < v[i] })
			idx = append(idx, 0)
			copy(idx[j+1:], idx[j:])
			idx[j] = i
			if len(idx) > k {
				idx = idx[:k]
			}
		}
	}
	return idx
}
