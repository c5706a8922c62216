package engine

import (
	"context"
	"fmt"
	"image"
	"sort"
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
		return nil, fmt.Errorf("%w: model %q has no image-text matching head (use a BLIP retrieval checkpoint)", ErrUnsupported, name)
	}
	return m, nil
}

// rerank re-scores hits with the matcher: for a text query, each image
// candidate (its source file read through OpenSource, so only files under
// the media roots) against the text; for an image query, the query image
// against each text candidate's content. Scored hits come first, ordered
// by the match probability; candidates that cannot be scored (no readable
// image, no text) keep their order after them.
func (e *Engine) rerank(ctx context.Context, c *coll, m Matcher, req SearchRequest, hits []Hit) ([]Hit, error) {
	if req.Query.Text != "" {
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
