package encoders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"

	"rosetta/encoders/blip"
	"rosetta/encoders/clip"
	"rosetta/encoders/coca"
	"rosetta/encoders/imageproc"
	"rosetta/encoders/tokenizer"
	"rosetta/encoders/wordpiece"
)

// Embedder embeds texts and images into one shared space, L2-normalised.
// CLIP (*clip.Encoder), BLIP's image-text contrastive (ITC) features and
// CoCa's latents all serve as a collection's model through it.
type Embedder interface {
	Dim() int
	EmbedTexts(ctx context.Context, texts []string) ([][]float32, error)
	EmbedImages(ctx context.Context, imgs []image.Image) ([][]float32, error)
}

// ErrUnknownModel is returned for a directory Open cannot place.
var ErrUnknownModel = errors.New("encoders: unknown model layout")

// Open loads the embedding model in dir, whatever its family: CLIP
// (transformers or open_clip), BLIP image-text retrieval (transformers), or
// CoCa (open_clip).
func Open(dir string) (Embedder, error) {
	if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		var head struct {
			ModelType     string   `json:"model_type"`
			Architectures []string `json:"architectures"`
		}
		json.Unmarshal(b, &head)
		switch head.ModelType {
		case "clip":
			return clip.Open(dir, nil)
		case "hubert", "wav2vec2":
			return OpenHuBERT(dir)
		case "blip":
			for _, a := range head.Architectures {
				if a == "BlipForConditionalGeneration" {
					return nil, fmt.Errorf("%w: %s is a BLIP captioning checkpoint; retrieval needs an image-text retrieval one (e.g. Salesforce/blip-itm-base-coco)", ErrUnknownModel, dir)
				}
			}
			return OpenBLIP(dir)
		case "whisper":
			return nil, fmt.Errorf("%w: %s is a Whisper speech-to-text checkpoint, which embeds nothing; use it with rosetta transcribe or ingest --transcribe, and an embedding model (e.g. facebook/hubert-base-ls960) for the space", ErrUnknownModel, dir)
		}
		return nil, fmt.Errorf("%w: %s has model_type %q (want clip, blip, hubert or wav2vec2)", ErrUnknownModel, dir, head.ModelType)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "open_clip_config.json")); err == nil {
		if strings.Contains(string(b), "multimodal_cfg") {
			return OpenCoCa(dir)
		}
		return clip.Open(dir, nil)
	}
	// clip.Open explains what to download when the directory is missing.
	return clip.Open(dir, nil)
}

// BLIP is BLIP's ITC space as an Embedder, plus its ITM head for
// re-ranking. Safe for concurrent use.
type BLIP struct {
	M   *blip.ITM
	Tok *wordpiece.Tokenizer
	Pre imageproc.Config
	// MaxTokens bounds a text (BLIP's retrieval code uses 35).
	MaxTokens int
}

// OpenBLIP loads a BLIP image-text retrieval checkpoint with its vocab.txt.
func OpenBLIP(dir string) (*BLIP, error) {
	m, err := blip.LoadITM(dir, nil)
	if err != nil {
		return nil, err
	}
	tok, err := wordpiece.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("encoders: %s: %w (BLIP needs its vocab.txt beside the weights)", dir, err)
	}
	pre := imageproc.DefaultBLIP(m.Cfg.Vision.ImageSize)
	if b, err := os.ReadFile(filepath.Join(dir, "preprocessor_config.json")); err == nil {
		if pre, err = imageproc.ConfigFromHF(b); err != nil {
			return nil, fmt.Errorf("encoders: %s: preprocessor_config.json: %w", dir, err)
		}
	}
	return &BLIP{M: m, Tok: tok, Pre: pre, MaxTokens: min(35, m.Cfg.Text.MaxPositions)}, nil
}

// Dim is the ITC feature width.
func (b *BLIP) Dim() int { return b.M.Cfg.ImageTextHidden }

func (b *BLIP) encodeTexts(texts []string) (ids, masks [][]int) {
	for _, t := range texts {
		i, m := b.Tok.Encode(t, b.MaxTokens)
		ids, masks = append(ids, i), append(masks, m)
	}
	return ids, masks
}

// TextWindow is the most tokens one text input holds ([CLS] and [SEP]
// included); longer texts are truncated.
func (b *BLIP) TextWindow() int { return b.MaxTokens }

// CountTokens is how many of TextWindow's tokens text takes.
func (b *BLIP) CountTokens(text string) int { return len(b.Tok.TokenIDs(text)) + 2 }

// EmbedTexts returns normalised ITC text features.
func (b *BLIP) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ids, masks := b.encodeTexts(texts)
	return b.M.TextFeatures(ids, masks)
}

func (b *BLIP) imageEmbeds(imgs []image.Image) ([]float32, error) {
	var px []float32
	for i, img := range imgs {
		p, err := imageproc.Preprocess(img, b.Pre)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		px = append(px, p...)
	}
	return b.M.ImageEmbeds(px, len(imgs))
}

// EmbedImages returns normalised ITC image features.
func (b *BLIP) EmbedImages(ctx context.Context, imgs []image.Image) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e, err := b.imageEmbeds(imgs)
	if err != nil {
		return nil, err
	}
	return b.M.ImageFeatures(e, len(imgs))
}

// MatchProbabilities scores one image against several texts with the ITM
// head: the probability that each text describes the image.
func (b *BLIP) MatchProbabilities(ctx context.Context, img image.Image, texts []string) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e, err := b.imageEmbeds([]image.Image{img})
	if err != nil {
		return nil, err
	}
	rep := make([]float32, 0, len(e)*len(texts))
	for range texts {
		rep = append(rep, e...)
	}
	ids, masks := b.encodeTexts(texts)
	logits, err := b.M.ITMLogits(rep, ids, masks)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(logits))
	for i, l := range logits {
		out[i] = blip.MatchProbability(l)
	}
	return out, nil
}

// ImageTokenShape is how many image tokens the image tower gives per image
// and their width (577×768 for BLIP-base at 384 px): what ImageTokens
// returns and MatchTokens takes.
func (b *BLIP) ImageTokenShape() (tokens, width int) {
	return b.M.ImageTokens(), b.M.Cfg.Vision.Hidden
}

// ImageTokens runs the image tower over imgs and returns their tokens
// [len(imgs)*tokens*width] (ImageTokenShape): the image side of the ITM
// head, which a collection can cache per image.
func (b *BLIP) ImageTokens(ctx context.Context, imgs []image.Image) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return b.imageEmbeds(imgs)
}

// EmbedImageTokens returns the normalised ITC features of n images from
// their tokens: EmbedImages without running the image tower again.
func (b *BLIP) EmbedImageTokens(tokens []float32, n int) ([][]float32, error) {
	return b.M.ImageFeatures(tokens, n)
}

// MatchTokens scores one text against n images given by their tokens
// ([n*tokens*width]) with the ITM head, all images at once
// (blip.ITM.MatchText): the probability that the text describes each.
func (b *BLIP) MatchTokens(ctx context.Context, text string, tokens []float32, n int) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// One text needs no padding: padded tokens are keys no token attends
	// to, so they would only cost (three times the work for a 12-token
	// text padded to 35).
	logits, err := b.M.MatchText(tokens, n, b.Tok.EncodeNoPad(text, b.MaxTokens), nil)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(logits))
	for i, l := range logits {
		out[i] = blip.MatchProbability(l)
	}
	return out, nil
}

// CoCa is CoCa's contrastive latents as an Embedder.
type CoCa struct {
	M   *coca.Model
	Tok *tokenizer.Tokenizer
	Pre imageproc.Config
}

// OpenCoCa loads an open_clip CoCa checkpoint with the CLIP tokenizer files.
func OpenCoCa(dir string) (*CoCa, error) {
	m, err := coca.Load(dir, nil)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("encoders: %s: %w (CoCa needs the CLIP tokenizer files beside the weights)", dir, err)
	}
	return &CoCa{M: m, Tok: tok, Pre: imageproc.DefaultCLIP(m.Cfg.Vision.ImageSize)}, nil
}

// Dim is the latent width.
func (c *CoCa) Dim() int { return c.M.Cfg.EmbedDim }

// TextWindow is the most tokens one text input holds (start and end
// tokens included); longer texts are truncated.
func (c *CoCa) TextWindow() int { return c.M.Cfg.Text.Context }

// CountTokens is how many of TextWindow's tokens text takes.
func (c *CoCa) CountTokens(text string) int { return len(c.Tok.Encode(text)) + 2 }

// EmbedTexts returns normalised text latents.
func (c *CoCa) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ids := make([][]int, len(texts))
	for i, t := range texts {
		ids[i] = c.Tok.EncodeContext(t, c.M.Cfg.Text.Context)
	}
	lat, _, err := c.M.EncodeText(ids)
	if err != nil {
		return nil, err
	}
	return rows(lat, c.Dim()), nil
}

// EmbedImages returns normalised image latents.
func (c *CoCa) EmbedImages(ctx context.Context, imgs []image.Image) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var px []float32
	for i, img := range imgs {
		p, err := imageproc.Preprocess(img, c.Pre)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		px = append(px, p...)
	}
	lat, _, err := c.M.EncodeImage(px, len(imgs))
	if err != nil {
		return nil, err
	}
	return rows(lat, c.Dim()), nil
}

// rows splits a [n*d] slab into normalised rows.
func rows(flat []float32, d int) [][]float32 {
	out := make([][]float32, len(flat)/d)
	for i := range out {
		v := flat[i*d : (i+1)*d : (i+1)*d]
		var s float64
		for _, x := range v {
			s += float64(x) * float64(x)
		}
		if s > 0 {
			inv := float32(1 / math.Sqrt(s))
			for j := range v {
				v[j] *= inv
			}
		}
		out[i] = v
	}
	return out
}
