package engine

import (
	"context"
	"fmt"
	"image"
	"os"
	"sort"
)

// Matcher scores how well texts describe an image (BLIP's ITM head);
// *encoders.BLIP implements it.
type Matcher interface {
	MatchProbabilities(ctx context.Context, img image.Image, texts []string) ([]float32, error)
}

func (e *Engine) rerankModel(req SearchRequest) (Matcher, error) {
	r := req.Rerank
	if r.Model == "" || r.Top < 1 || r.Top > MaxRerank {
		return nil, fmt.Errorf("%w: rerank needs a model and top in 1..%d", ErrInvalid, MaxRerank)
	}
	if req.Query.Text == "" && req.Query.Image == nil {
		return nil, fmt.Errorf("%w: rerank applies to text or image queries", ErrInvalid)
	}
	enc, err := e.models.get(r.Model)
	if err != nil {
		return nil, err
	}
	m, ok := enc.(Matcher)
	if !ok {
		return nil, fmt.Errorf("%w: model %q has no image-text matching head (use a BLIP retrieval checkpoint)", ErrUnsupported, r.Model)
	}
	return m, nil
}

// rerank re-scores hits with the matcher: for a text query, each image
// candidate (read from its Source file) against the text; for an image
// query, the query image against each text candidate's content. Scored
// hits come first, ordered by the match probability; candidates that
// cannot be scored (no readable image, no text) keep their order after
// them.
func (e *Engine) rerank(ctx context.Context, coll string, m Matcher, req SearchRequest, hits []Hit) ([]Hit, error) {
	objs := make([]Object, len(hits))
	for i, h := range hits {
		o, err := e.db.Get(coll, h.ID)
		if err != nil {
			continue
		}
		objs[i] = o
	}
	if req.Query.Text != "" {
		for i, o := range objs {
			if o.Source == "" {
				continue
			}
			b, err := os.ReadFile(o.Source)
			if err != nil {
				continue
			}
			img, err := e.decodeImage(b)
			if err != nil {
				continue
			}
			p, err := m.MatchProbabilities(ctx, img, []string{req.Query.Text})
			if err != nil {
				return nil, err
			}
			hits[i].RerankScore = &p[0]
		}
	} else {
		img, err := e.decodeImage(req.Query.Image)
		if err != nil {
			return nil, err
		}
		var idx []int
		var texts []string
		for i, o := range objs {
			if o.Content != nil && o.Content.Text != "" {
				idx = append(idx, i)
				texts = append(texts, o.Content.Text)
			}
		}
		if len(texts) > 0 {
			ps, err := m.MatchProbabilities(ctx, img, texts)
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
