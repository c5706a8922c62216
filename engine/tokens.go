package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"math"

	"rosetta/kernels"
)

// Cached image tokens. A text → image re-rank with BLIP's ITM head needs,
// per candidate, the image tower's output tokens (577×768 at 384 px for
// BLIP-base: 1.5 s of compute per image on two threads). A collection
// that names a rerank model computes them once, when an image object is
// written with its content, and keeps them in the store beside the
// record, in the object's own batch (store.Object.Tokens); a re-rank
// reads them back instead of decoding the source and running the tower.
//
// Encoding (tokensVersion 1), little-endian:
//
//	u8 version | u32 tokens | u32 width | tokens×width float16 | u32 CRC-32C of all before
//
// 13 bytes + 2 per value: 886,285 bytes per image for BLIP-base. Float16
// keeps 11 significant bits (relative error ≤ 2⁻¹¹ per value); the
// tokens are layer-normed activations, far inside its range (a value
// that is not is refused, and that image is not cached).

// TokenMatcher is a Matcher whose image side can be computed once per
// image and cached: a collection's RerankModel must be one.
// *encoders.BLIP implements it.
type TokenMatcher interface {
	Matcher
	// ImageTokenShape is the tokens per image and their width.
	ImageTokenShape() (tokens, width int)
	// ImageTokens returns the tokens of imgs, [len(imgs)*tokens*width].
	ImageTokens(ctx context.Context, imgs []image.Image) ([]float32, error)
	// MatchTokens returns the probability that text describes each of n
	// images given by their tokens ([n*tokens*width]).
	MatchTokens(ctx context.Context, text string, tokens []float32, n int) ([]float32, error)
}

// TokenEmbedder is a model that derives its image embeddings from the
// image tokens of its TokenMatcher side (BLIP: the class token through
// vision_proj). When a collection's RerankModel also fills a space, its
// images then go through the image tower once for both.
type TokenEmbedder interface {
	EmbedImageTokens(tokens []float32, n int) ([][]float32, error)
}

const tokensVersion = 1

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errTokens marks a cached token record that cannot be used.
var errTokens = errors.New("engine: cached image tokens")

// encodeTokens encodes one image's tokens (tokens×width values) for the
// store; an error when a value does not fit float16 (or is not finite).
func encodeTokens(v []float32, tokens, width int) ([]byte, error) {
	if len(v) != tokens*width {
		return nil, fmt.Errorf("%w: %d values for %d×%d", errTokens, len(v), tokens, width)
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || x > kernels.MaxFloat16 || x < -kernels.MaxFloat16 {
			return nil, fmt.Errorf("%w: value %d is %v, outside float16", errTokens, i, x)
		}
	}
	h := make([]uint16, len(v))
	kernels.EncodeF16(h, v)
	b := make([]byte, 9, 9+2*len(v)+4)
	b[0] = tokensVersion
	binary.LittleEndian.PutUint32(b[1:], uint32(tokens))
	binary.LittleEndian.PutUint32(b[5:], uint32(width))
	for _, x := range h {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable)), nil
}

// decodeTokens decodes a record of encodeTokens into dst
// (tokens×width values), checking its version, shape and checksum.
func decodeTokens(b []byte, tokens, width int, dst []float32) error {
	n := tokens * width
	switch {
	case len(b) < 13:
		return fmt.Errorf("%w: %d bytes", errTokens, len(b))
	case b[0] != tokensVersion:
		return fmt.Errorf("%w: version %d (this build reads %d)", errTokens, b[0], tokensVersion)
	case int(binary.LittleEndian.Uint32(b[1:])) != tokens || int(binary.LittleEndian.Uint32(b[5:])) != width:
		return fmt.Errorf("%w: %d×%d tokens, the model has %d×%d", errTokens,
			binary.LittleEndian.Uint32(b[1:]), binary.LittleEndian.Uint32(b[5:]), tokens, width)
	case len(b) != 13+2*n || len(dst) != n:
		return fmt.Errorf("%w: %d bytes for %d×%d", errTokens, len(b), tokens, width)
	case crc32.Checksum(b[:len(b)-4], crcTable) != binary.LittleEndian.Uint32(b[len(b)-4:]):
		return fmt.Errorf("%w: checksum mismatch", errTokens)
	}
	h := make([]uint16, n)
	for i := range h {
		h[i] = binary.LittleEndian.Uint16(b[9+2*i:])
	}
	kernels.DecodeF16(dst, h)
	return nil
}

// tokenModel returns the collection's rerank model, nil when it names none.
func (e *Engine) tokenModel(ctx context.Context, c *coll) (TokenMatcher, error) {
	if c.meta.RerankModel == "" {
		return nil, nil
	}
	enc, err := e.models.get(ctx, c.meta.RerankModel)
	if err != nil {
		return nil, err
	}
	tm, ok := enc.(TokenMatcher)
	if !ok {
		return nil, notMatcher(c.meta.RerankModel)
	}
	return tm, nil
}

func notMatcher(name string) error {
	return fmt.Errorf("%w: model %q has no image-text matching head (use a BLIP retrieval checkpoint, e.g. Salesforce/blip-itm-base-coco)", ErrUnsupported, name)
}

// checkRerankModel vets a new collection's RerankModel: a name an untrusted
// caller may use, of a model that loads and can cache image tokens.
func (e *Engine) checkRerankModel(ctx context.Context, name string) error {
	if name == "" {
		return nil
	}
	if err := e.checkModelName(ctx, name); err != nil {
		return err
	}
	enc, err := e.models.get(ctx, name)
	if err != nil {
		return err
	}
	if _, ok := enc.(TokenMatcher); !ok {
		return fmt.Errorf("%w: rerank_model %q has no image-text matching head (use a BLIP retrieval checkpoint, e.g. Salesforce/blip-itm-base-coco)", ErrInvalid, name)
	}
	return nil
}

// setTokens encodes the tokens of the images objs[chunk[j]] (toks holds
// them in chunk order) into the objects. An image whose tokens do not fit
// float16 is left uncached (logged): its re-rank decodes the source.
func (e *Engine) setTokens(c *coll, objs []Object, chunk []int, toks []float32, tokens, width int) error {
	per := tokens * width
	if len(toks) != len(chunk)*per {
		return fmt.Errorf("engine: rerank model %q returned %d token values for %d images of %d×%d", c.meta.RerankModel, len(toks), len(chunk), tokens, width)
	}
	for j, i := range chunk {
		b, err := encodeTokens(toks[j*per:(j+1)*per], tokens, width)
		if err != nil {
			e.log.Warn("image tokens not cached", "collection", c.name, "key", objs[i].Key, "err", err)
			continue
		}
		objs[i].tokens = b
	}
	return nil
}

// cacheTokens gives every image object of objs written with its content
// (and not given its tokens by encodeContent) the collection's rerank
// model's image tokens, decoding and encoding a chunk at a time under the
// same budgets as encodeContent.
func (e *Engine) cacheTokens(ctx context.Context, c *coll, objs []Object) error {
	var pending []int
	for i := range objs {
		if ct := objs[i].Content; ct != nil && (ct.Image != nil || ct.Decoded != nil) && objs[i].tokens == nil {
			pending = append(pending, i)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	tm, err := e.tokenModel(ctx, c)
	if err != nil || tm == nil {
		return err
	}
	tokens, width := tm.ImageTokenShape()
	for len(pending) > 0 {
		err := e.decodeImageChunk(ctx, objs, &pending, func(chunk []int, imgs []image.Image, _ func()) error {
			var toks []float32
			_, err := e.embed(ctx, func() ([][]float32, error) {
				var err error
				toks, err = tm.ImageTokens(ctx, imgs)
				return nil, err
			})
			if err != nil {
				return encodeErr(ctx, "image tokens", c.meta.RerankModel, err)
			}
			return e.setTokens(c, objs, chunk, toks, tokens, width)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
