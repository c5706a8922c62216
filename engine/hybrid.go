package engine

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/RoaringBitmap/roaring/v2/roaring64"

	"rosetta/index"
	"rosetta/store"
	"rosetta/textindex"
)

// Hybrid search defaults.
const (
	// DefaultRRFK is reciprocal rank fusion's rank constant (the value of
	// Cormack et al., Vespa, Qdrant, Milvus and Elasticsearch).
	DefaultRRFK = 60
	// DefaultAlpha is relative-score fusion's vector weight (Weaviate's).
	DefaultAlpha = 0.75
	// HybridOversample and HybridMinCandidates size each side's list in
	// hybrid mode: max(HybridOversample·(offset+k), HybridMinCandidates),
	// at most MaxK, so that the fused top k is not starved by hits only
	// one side ranks high.
	HybridOversample    = 4
	HybridMinCandidates = 100
	// MaxSnippets is how many snippets a hit carries, best field first.
	MaxSnippets = 3
)

// candidate is one ranked result of a side, or of the fusion.
type candidate struct {
	ID       uint64
	Score    float32
	Distance float32
	vec, kw  *SideHit
}

func fromIndex(res []index.Result) []candidate {
	out := make([]candidate, len(res))
	for i, r := range res {
		out[i] = candidate{ID: r.ID, Score: r.Score, Distance: r.Distance}
	}
	return out
}

// keywordSearch runs the keyword side: up to n hits, best first, of the
// documents allow admits (nil: all).
func keywordSearch(ix *textindex.Index, query string, boost map[string]float64, n int, allow *roaring64.Bitmap) ([]candidate, *textindex.Query, error) {
	q, err := textindex.Parse(query)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: keyword query: %v", ErrInvalid, err)
	}
	o := textindex.Options{K: n, Boost: boost}
	if allow != nil {
		o.Allow = allow.Contains
	}
	hits, err := ix.Search(q, o)
	if err != nil {
		return nil, nil, err
	}
	out := make([]candidate, len(hits))
	for i, h := range hits {
		s := float32(h.Score)
		out[i] = candidate{ID: h.ID, Score: s, kw: &SideHit{Rank: i + 1, Score: s}}
	}
	return out, q, nil
}

// fuse merges the vector and keyword lists, best first (ties by id).
// RRF scores a hit Σ 1/(k + rank) over the lists that hold it;
// relative_score min-max normalises each list's scores to [0, 1] (all 1
// when they are equal; an l2 list by negated distance) and scores
// alpha·vector + (1−alpha)·keyword, a missing side counting 0.
func fuse(vec, kw []candidate, f Fusion, l2 bool) []candidate {
	out := make([]candidate, 0, len(vec)+len(kw))
	score := make([]float64, 0, cap(out))
	at := make(map[uint64]int, cap(out))
	get := func(id uint64) int {
		i, ok := at[id]
		if !ok {
			i = len(out)
			at[id] = i
			out = append(out, candidate{ID: id})
			score = append(score, 0)
		}
		return i
	}
	norm := func(list []candidate, side func(candidate) float64) func(int) float64 {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, c := range list {
			lo, hi = math.Min(lo, side(c)), math.Max(hi, side(c))
		}
		return func(i int) float64 {
			if hi == lo {
				return 1
			}
			return (side(list[i]) - lo) / (hi - lo)
		}
	}
	vside := func(c candidate) float64 {
		if l2 {
			return -float64(c.Distance)
		}
		return float64(c.Score)
	}
	vn := norm(vec, vside)
	kn := norm(kw, func(c candidate) float64 { return float64(c.Score) })
	for i, v := range vec {
		j := get(v.ID)
		out[j].Distance = v.Distance
		out[j].vec = &SideHit{Rank: i + 1, Score: v.Score}
		if f.Method == FusionRelativeScore {
			score[j] += f.Alpha * vn(i)
		} else {
			score[j] += 1 / float64(f.K+i+1)
		}
	}
	for i, k := range kw {
		j := get(k.ID)
		out[j].kw = k.kw
		if f.Method == FusionRelativeScore {
			score[j] += (1 - f.Alpha) * kn(i)
		} else {
			score[j] += 1 / float64(f.K+i+1)
		}
	}
	order := make([]int, len(out))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		i, j := order[a], order[b]
		if score[i] != score[j] {
			return score[i] > score[j]
		}
		return out[i].ID < out[j].ID
	})
	sorted := make([]candidate, len(out))
	for r, i := range order {
		sorted[r] = out[i]
		sorted[r].Score = float32(score[i])
	}
	return sorted
}

// fusionOf fills a request's fusion defaults.
func fusionOf(req *SearchRequest) Fusion {
	if req.Fusion == nil {
		return Fusion{Method: FusionRRF, K: DefaultRRFK}
	}
	return *req.Fusion
}

// addSnippets highlights the keyword query's matches in each hit the
// keyword side found, reading its record when the hit does not carry its
// texts.
func (e *Engine) addSnippets(c *coll, ix *textindex.Index, q *textindex.Query, hits []Hit) error {
	hl := ix.Highlighter(q)
	for i := range hits {
		h := &hits[i]
		if h.Keyword == nil {
			continue
		}
		rec, err := e.db.Record(c.name, h.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		sn := hl.Snippets(h.ID, c.keywordFields(&rec), 0)
		if len(sn) > MaxSnippets {
			sn = sn[:MaxSnippets]
		}
		for _, s := range sn {
			out := Snippet{Field: s.Field, Parts: make([]SnippetPart, len(s.Parts))}
			for j, p := range s.Parts {
				out.Parts[j] = SnippetPart{Text: p.Text, Match: p.Match}
			}
			h.Snippets = append(h.Snippets, out)
		}
	}
	return nil
}
