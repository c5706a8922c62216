package engine

import "rosetta/store"

// Conversions between the engine's domain types and the store's records.
// The store never sees image or audio bytes, nor a decoded image.

func fromStoreCollection(m store.Collection) Collection {
	c := Collection{Name: m.Name, Created: m.Created, Count: m.Count,
		Index: IndexParams{M: m.Index.M, EfConstruction: m.Index.EfConstruction, EfSearch: m.Index.EfSearch, Storage: m.Index.Storage}}
	c.Spaces = make([]Space, len(m.Spaces))
	for i, s := range m.Spaces {
		c.Spaces[i] = Space{Name: s.Name, Dim: s.Dim, Metric: s.Metric, Model: s.Model}
	}
	return c
}

func toStoreCollection(c Collection) store.Collection {
	m := store.Collection{Name: c.Name,
		Index: store.IndexParams{M: c.Index.M, EfConstruction: c.Index.EfConstruction, EfSearch: c.Index.EfSearch, Storage: c.Index.Storage}}
	m.Spaces = make([]store.Space, len(c.Spaces))
	for i, s := range c.Spaces {
		m.Spaces[i] = store.Space{Name: s.Name, Dim: s.Dim, Metric: s.Metric, Model: s.Model}
	}
	return m
}

// toRecord keeps what the store stores of an object: its text content but
// no media bytes.
func toRecord(o *Object) store.Object {
	r := store.Object{ID: o.ID, Key: o.Key, Modality: o.Modality, Source: o.Source, Hash: o.Hash,
		Metadata: o.Metadata, Text: o.Text, Vectors: o.Vectors, Blob: o.Blob}
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
