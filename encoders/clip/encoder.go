package clip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"rosetta/encoders/imageproc"
	"rosetta/encoders/tokenizer"
)

// Modality names what an input is.
type Modality string

// The modalities a CLIP encoder embeds into its one shared space.
const (
	ModalityImage Modality = "image"
	ModalityText  Modality = "text"
)

// Encoder embeds texts and images into a CLIP model's shared space:
// tokenisation or PIL-exact preprocessing, the towers, projection and L2
// normalisation. It is safe for concurrent use; batches are split across
// up to GOMAXPROCS goroutines when that is faster than one GEMM-threaded
// forward pass.
type Encoder struct {
	Model *Model
	Tok   *tokenizer.Tokenizer
	Pre   imageproc.Config
	Dir   string
	// ImageBatch and TextBatch bound how many inputs one forward pass
	// takes (memory stays bounded; GEMMs get enough rows).
	ImageBatch, TextBatch int
}

// ErrMissingModel explains how to get a model when a directory is absent.
var ErrMissingModel = errors.New("clip: model directory not found")

// Open loads a model directory: the weights and config (transformers or
// open_clip layout), the tokenizer files beside them, and the
// preprocessing configuration (preprocessor_config.json, open_clip's
// preprocess_cfg, or CLIP's defaults at the model's image size).
func Open(dir string, opt *Options) (*Encoder, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s. Download a CLIP checkpoint, e.g. openai/clip-vit-base-patch32 from the Hugging Face hub "+
			"(config.json, model.safetensors, vocab.json, merges.txt, preprocessor_config.json), into that directory, "+
			"or an open_clip checkpoint (open_clip_config.json, open_clip_model.safetensors and the tokenizer files)", ErrMissingModel, dir)
	}
	m, err := Load(dir, opt)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("clip: %s: tokenizer: %w (copy the model's vocab.json and merges.txt, or tokenizer.json, beside the weights)", dir, err)
	}
	pre, err := preprocessConfig(dir, m.Cfg.ImageSize)
	if err != nil {
		return nil, err
	}
	return &Encoder{Model: m, Tok: tok, Pre: pre, Dir: dir, ImageBatch: 8, TextBatch: 16}, nil
}

func preprocessConfig(dir string, size int) (imageproc.Config, error) {
	if b, err := os.ReadFile(filepath.Join(dir, "preprocessor_config.json")); err == nil {
		c, err := imageproc.ConfigFromHF(b)
		if err != nil {
			return c, fmt.Errorf("clip: %s: preprocessor_config.json: %w", dir, err)
		}
		return c, nil
	}
	c := imageproc.DefaultCLIP(size)
	if b, err := os.ReadFile(filepath.Join(dir, "open_clip_config.json")); err == nil {
		var oc struct {
			Pre struct {
				Size json.RawMessage `json:"size"`
				Mean []float32       `json:"mean"`
				Std  []float32       `json:"std"`
			} `json:"preprocess_cfg"`
		}
		if json.Unmarshal(b, &oc) == nil {
			if len(oc.Pre.Mean) == 3 && len(oc.Pre.Std) == 3 {
				copy(c.Mean[:], oc.Pre.Mean)
				copy(c.Std[:], oc.Pre.Std)
			}
		}
	}
	return c, nil
}

// Dim is the embedding dimension.
func (e *Encoder) Dim() int { return e.Model.Cfg.EmbedDim }

// BatchSizes are ImageBatch and TextBatch: how many inputs a caller that
// gathers work for the encoder (the engine's batching across requests)
// should give one call.
func (e *Encoder) BatchSizes() (images, texts int) { return e.ImageBatch, e.TextBatch }

// Modalities lists what Embed accepts.
func (e *Encoder) Modalities() []Modality { return []Modality{ModalityImage, ModalityText} }

// TextWindow is the most tokens one text input holds (start and end
// tokens included); longer texts are truncated by EmbedTexts.
func (e *Encoder) TextWindow() int { return e.Model.Cfg.Context }

// CountTokens is how many of TextWindow's tokens text takes.
func (e *Encoder) CountTokens(text string) int { return len(e.Tok.Encode(text)) + 2 }

// EmbedTexts returns one L2-normalised embedding per text.
func (e *Encoder) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	ids := make([][]int, len(texts))
	for i, t := range texts {
		ids[i] = e.Tok.EncodeContext(t, e.Model.Cfg.Context)
	}
	return e.run(ctx, len(texts), e.TextBatch, func(lo, hi int) ([]float32, error) {
		out, err := e.Model.Text.Embed(ids[lo:hi])
		if err != nil {
			return nil, err
		}
		return out.Embeds, nil
	})
}

// EmbedImages returns one L2-normalised embedding per image.
func (e *Encoder) EmbedImages(ctx context.Context, imgs []image.Image) ([][]float32, error) {
	s := e.Model.Cfg.ImageSize
	return e.run(ctx, len(imgs), e.ImageBatch, func(lo, hi int) ([]float32, error) {
		px := make([]float32, 0, (hi-lo)*3*s*s)
		for i := lo; i < hi; i++ {
			p, err := imageproc.Preprocess(imgs[i], e.Pre)
			if err != nil {
				return nil, fmt.Errorf("image %d: %w", i, err)
			}
			if len(p) != 3*s*s {
				return nil, fmt.Errorf("image %d: preprocessing gave %d values, the model takes 3×%d×%d", i, len(p), s, s)
			}
			px = append(px, p...)
		}
		return e.Model.EncodeImages(px, hi-lo)
	})
}

// EncodeImages runs whichever image tower the model has on preprocessed
// CHW pixels and returns unnormalised features [batch*EmbedDim].
func (m *Model) EncodeImages(px []float32, batch int) ([]float32, error) {
	if m.ResNet != nil {
		return m.ResNet.Forward(px, batch)
	}
	out, err := m.Vision.Forward(px, batch)
	if err != nil {
		return nil, err
	}
	return out.Embeds, nil
}

// run splits n inputs into batches of at most size, runs them on up to
// GOMAXPROCS goroutines, and normalises the results.
func (e *Encoder) run(ctx context.Context, n, size int, f func(lo, hi int) ([]float32, error)) ([][]float32, error) {
	d := e.Dim()
	out := make([][]float32, n)
	if n == 0 {
		return out, nil
	}
	size = max(size, 1)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for lo := 0; lo < n; lo += size {
		if err := ctx.Err(); err != nil {
			wg.Wait()
			return nil, err
		}
		hi := min(n, lo+size)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			emb, err := f(lo, hi)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				return
			}
			for i := lo; i < hi; i++ {
				v := emb[(i-lo)*d : (i-lo+1)*d : (i-lo+1)*d]
				normalize(v)
				out[i] = v
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, ctx.Err()
}

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

// Classify does zero-shot classification: each label becomes a prompt
// (template with {label} replaced; default "a photo of a {label}."), and
// the image's similarities to the prompts, times the logit scale, go
// through a softmax. The probabilities are in label order.
func (e *Encoder) Classify(ctx context.Context, img image.Image, labels []string, template string) ([]float32, error) {
	if len(labels) == 0 {
		return nil, errors.New("clip: classify needs at least one label")
	}
	if template == "" {
		template = "a photo of a {label}."
	}
	prompts := make([]string, len(labels))
	for i, l := range labels {
		prompts[i] = strings.ReplaceAll(template, "{label}", l)
	}
	te, err := e.EmbedTexts(ctx, prompts)
	if err != nil {
		return nil, err
	}
	ie, err := e.EmbedImages(ctx, []image.Image{img})
	if err != nil {
		return nil, err
	}
	logits := make([]float64, len(labels))
	maxL := math.Inf(-1)
	for i, t := range te {
		var s float64
		for k, x := range t {
			s += float64(x) * float64(ie[0][k])
		}
		logits[i] = float64(e.Model.LogitScale) * s
		maxL = math.Max(maxL, logits[i])
	}
	var sum float64
	for i := range logits {
		logits[i] = math.Exp(logits[i] - maxL)
		sum += logits[i]
	}
	probs := make([]float32, len(labels))
	for i := range logits {
		probs[i] = float32(logits[i] / sum)
	}
	return probs, nil
}
