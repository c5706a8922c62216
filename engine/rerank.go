package engine

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sort"

	"rosetta/store"
)

// Matcher scores how well texts describe an image (BLIP's ITM head);
// *encoders.BLIP implements it.
type Matcher interface {
	MatchProbabilities(ctx context.Context, img image.Image, texts []string) ([]float32, error)
}

// rerankModel loads the matching model a request names; a name from an
// untrusted caller must pass Options.CheckModelName first.
func (e *Engine) rerankModel(ctx context.Context, name string) (Matcher, error) {
	if err := e.checkModelName(ctx, name); err != nil {
		return nil, err
	}
	enc, err := e.models.get(ctx, name)
	if err != nil {
		return nil, err
	}
	m, ok := enc.(Matcher)
	if !ok {
		return nil, notMatcher(name)
	}
	return m, nil
}

// rerankChunk is how many candidates of a text query one ITM pass scores
// together (TokenMatcher.MatchTokens): enough rows for the text's linear
// layers to run as efficient GEMMs, while the candidates' float32 tokens
// and their packed copies stay near 90 MB for BLIP-base.
const rerankChunk = 16

// rerank re-scores hits with the matcher: for a text query, each image
// candidate against the text (its tokens cached at write when the matcher
// is the collection's RerankModel, else its source file read through
// OpenSource, so only files under the media roots); for an image query,
// the query image against each text candidate's content. Scored hits come
// first, ordered by the match probability; candidates that cannot be
// scored (no tokens and no readable image, no text) keep their order
// after them.
func (e *Engine) rerank(ctx context.Context, c *coll, m Matcher, req SearchRequest, hits []Hit) ([]Hit, error) {
	if tm, ok := m.(TokenMatcher); ok && req.Query.Text != "" {
		if err := e.matchTokens(ctx, c, tm, req.Rerank.Model == c.meta.RerankModel, req.Query.Text, hits); err != nil {
			return nil, err
		}
	} else if req.Query.Text != "" {
		for i, h := range hits {
			b, err := e.readSource(ctx, c.name, h.ID)
			if err != nil {
				continue
			}
			img, release, err := e.decodeBudgeted(ctx, b)
			if err != nil {
				continue
			}
			var p []float32
			_, err = e.embed(ctx, func() ([][]float32, error) {
				p, err = m.MatchProbabilities(ctx, img, []string{req.Query.Text})
				return nil, err
			})
			release()
			if err != nil {
				return nil, err
			}
			hits[i].RerankScore = &p[0]
		}
	} else {
		var idx []int
		var texts []string
		for i, h := range hits {
			o, err := e.db.Get(c.name, h.ID)
			if err != nil || o.Content == nil || o.Content.Text == "" {
				continue
			}
			idx = append(idx, i)
			texts = append(texts, o.Content.Text)
		}
		if len(texts) > 0 {
			img, release, err := e.decodeBudgeted(ctx, req.Query.Image)
			if err != nil {
				return nil, err
			}
			var ps []float32
			_, err = e.embed(ctx, func() ([][]float32, error) {
				ps, err = m.MatchProbabilities(ctx, img, texts)
				return nil, err
			})
			release()
			if err != nil {
				return nil, err
			}
			for j, i := range idx {
				p := ps[j]
				hits[i].RerankScore = &p
			}
		}
	}
	sort.SliceStable(hits, func(a, b int) bool {
		ra, rb := hits[a].RerankScore, hits[b].RerankScore
		switch {
		case ra != nil && rb != nil:
			return *ra > *rb
		case ra != nil:
			return true
		default:
			return false
		}
	})
	return hits, nil
}

// matchTokens scores each image candidate against text with the ITM head,
// rerankChunk candidates per pass: their tokens come from the store when
// cached (the collection's rerank model) and are valid, else from the
// candidate's source, decoded and run through the image tower as an
// uncached re-rank does.
func (e *Engine) matchTokens(ctx context.Context, c *coll, tm TokenMatcher, cached bool, text string, hits []Hit) error {
	tokens, width := tm.ImageTokenShape()
	per := tokens * width
	slab := make([]float32, min(len(hits), rerankChunk)*per)
	var idx []int // the hits whose tokens are in slab, in order
	flush := func() error {
		if len(idx) == 0 {
			return nil
		}
		var ps []float32
		_, err := e.embed(ctx, func() ([][]float32, error) {
			var err error
			ps, err = tm.MatchTokens(ctx, text, slab[:len(idx)*per], len(idx))
			return nil, err
		})
		if err != nil {
			return err
		}
		if len(ps) != len(idx) {
			return fmt.Errorf("engine: the rerank model gave %d probabilities for %d candidates", len(ps), len(idx))
		}
		for j, i := range idx {
			p := ps[j]
			hits[i].RerankScore = &p
		}
		idx = idx[:0]
		return nil
	}
	for i, h := range hits {
		if err := ctx.Err(); err != nil {
			return err
		}
		dst := slab[len(idx)*per : (len(idx)+1)*per]
		ok := false
		if cached {
			b, err := e.db.Tokens(c.name, h.ID)
			switch {
			case err == nil:
				if err := decodeTokens(b, tokens, width, dst); err != nil {
					e.log.Warn("cached image tokens not used", "collection", c.name, "id", h.ID, "err", err)
				} else {
					ok = true
				}
			case !errors.Is(err, store.ErrNotFound):
				return storeErr(err)
			}
		}
		if !ok {
			var err error
			if ok, err = e.sourceTokens(ctx, c, tm, h.ID, dst); err != nil {
				return err
			}
		}
		if !ok {
			continue
		}
		idx = append(idx, i)
		if len(idx) == rerankChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// sourceTokens computes a candidate's image tokens into dst from its
// source file; false when it has no readable, decodable image.
func (e *Engine) sourceTokens(ctx context.Context, c *coll, tm TokenMatcher, id uint64, dst []float32) (bool, error) {
	b, err := e.readSource(ctx, c.name, id)
	if err != nil {
		return false, nil
	}
	img, release, err := e.decodeBudgeted(ctx, b)
	if err != nil {
		return false, nil
	}
	defer release()
	var toks []float32
	_, err = e.embed(ctx, func() ([][]float32, error) {
		var err error
		toks, err = tm.ImageTokens(ctx, []image.Image{img})
		return nil, err
	})
	if err != nil {
		return false, err
	}
	if len(toks) != len(dst) {
		return false, fmt.Errorf("engine: the rerank model gave %d token values for one image, want %d", len(toks), len(dst))
	}
	copy(dst, toks)
	return true, nil
}
