package engine

import (
	"math"

	"rosetta/store"
)

// Conversions between the engine's domain types and the store's records.
// The store never sees image or audio bytes, nor a decoded image.

func fromStoreCollection(m store.Collection) Collection {
	c := Collection{Name: m.Name, Created: m.Created, Count: m.Count,
		Index: IndexParams{M: m.Index.M, EfConstruction: m.Index.EfConstruction, EfSearch: m.Index.EfSearch, Storage: m.Index.Storage,
			Rescore: m.Index.Rescore, RescoreFrom: m.Index.RescoreFrom},
		Text:        TextSchema{Disabled: m.Text.Disabled, Language: m.Text.Language, Fields: m.Text.Fields},
		Transcribe:  Transcription{Model: m.Transcribe.Model, Language: m.Transcribe.Language},
		RerankModel: m.RerankModel}
	c.Spaces = make([]Space, len(m.Spaces))
	for i, s := range m.Spaces {
		c.Spaces[i] = Space{Name: s.Name, Dim: s.Dim, Metric: s.Metric, Model: s.Model, Precision: s.Precision}
	}
	return c
}

func toStoreCollection(c Collection) store.Collection {
	m := store.Collection{Name: c.Name,
		Index: store.IndexParams{M: c.Index.M, EfConstruction: c.Index.EfConstruction, EfSearch: c.Index.EfSearch, Storage: c.Index.Storage,
			Rescore: c.Index.Rescore, RescoreFrom: c.Index.RescoreFrom},
		Text:        store.TextSchema{Disabled: c.Text.Disabled, Language: c.Text.Language, Fields: c.Text.Fields},
		Transcribe:  store.Transcription{Model: c.Transcribe.Model, Language: c.Transcribe.Language},
		RerankModel: c.RerankModel}
	m.Spaces = make([]store.Space, len(c.Spaces))
	for i, s := range c.Spaces {
		m.Spaces[i] = store.Space{Name: s.Name, Dim: s.Dim, Metric: s.Metric, Model: s.Model, Precision: s.Precision}
	}
	return m
}

// toRecord keeps what the store stores of an object: its text content but
// no media bytes.
func toRecord(o *Object) store.Object {
	r := store.Object{ID: o.ID, Key: o.Key, Modality: o.Modality, Source: o.Source, Hash: o.Hash,
		Metadata: o.Metadata, Text: o.Text, Vectors: o.Vectors, Blob: o.Blob, Updated: o.Updated, Tokens: o.tokens}
	if o.Content != nil && o.Content.Text != "" {
		r.Content = &store.Content{Text: o.Content.Text}
	}
	return r
}

func fromRecord(r store.Object) Object {
	o := Object{ID: r.ID, Key: r.Key, Modality: r.Modality, Source: r.Source, Hash: r.Hash,
		Metadata: r.Metadata, Text: r.Text, Vectors: r.Vectors, Blob: r.Blob, Created: r.Created, Updated: r.Updated}
	if r.Content != nil {
		o.Content = &Content{Text: r.Content.Text}
	}
	return o
}

type storeObject = store.Object

// VectorMean accumulates vectors per space and gives their normalised
// mean: the one vector of a recording too long to encode whole (its
// windows) or of a long text (its chunks). The zero value is ready.
type VectorMean struct{ sums map[string][]float64 }

// Add adds every vector of vs (by space).
func (m *VectorMean) Add(vs map[string][]float32) {
	if m.sums == nil {
		m.sums = map[string][]float64{}
	}
	for space, v := range vs {
		acc := m.sums[space]
		if acc == nil {
			acc = make([]float64, len(v))
			m.sums[space] = acc
		}
		for i, x := range v {
			if i < len(acc) {
				acc[i] += float64(x)
			}
		}
	}
}

// Vectors returns the normalised means by space; a space whose mean is
// zero is left out.
func (m *VectorMean) Vectors() map[string][]float32 {
	out := make(map[string][]float32, len(m.sums))
	for space, acc := range m.sums {
		var n float64
		for _, x := range acc {
			n += x * x
		}
		if n == 0 {
			continue
		}
		inv := 1 / math.Sqrt(n)
		v := make([]float32, len(acc))
		for i, x := range acc {
			v[i] = float32(x * inv)
		}
		out[space] = v
	}
	return out
}
