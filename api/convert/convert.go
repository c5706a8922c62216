// Package convert translates between the REST API's wire types (package api)
// and the engine's domain types: the one place that knows both shapes,
// used by the server (httpapi) and by clients that hand engine types to a
// server (ingest --server).
package convert

import (
	"rosetta/api"
	"rosetta/engine"
	"rosetta/textindex"
)

// ToEngineSpaces converts spaces.
func ToEngineSpaces(ss []api.Space) []engine.Space {
	out := make([]engine.Space, len(ss))
	for i, s := range ss {
		out[i] = engine.Space{Name: s.Name, Dim: s.Dim, Metric: s.Metric, Model: s.Model, Precision: s.Precision}
	}
	return out
}

// ToEngineCollection converts a create request.
func ToEngineCollection(r api.CreateCollectionRequest) engine.Collection {
	return engine.Collection{Name: r.Name, Spaces: ToEngineSpaces(r.Spaces),
		Index: engine.IndexParams{M: r.Index.M, EfConstruction: r.Index.EfConstruction, EfSearch: r.Index.EfSearch, Storage: r.Index.Storage,
			Rescore: r.Index.Rescore, RescoreFrom: r.Index.RescoreFrom},
		Text:       engine.TextSchema{Fields: r.TextFields, Language: r.Language, Disabled: r.KeywordIndex != nil && !*r.KeywordIndex},
		Transcribe: toEngineTranscription(r.Transcribe), RerankModel: r.RerankModel, Shards: r.Shards, Replicas: r.Replicas}
}

func toEngineTranscription(t *api.Transcription) engine.Transcription {
	if t == nil {
		return engine.Transcription{}
	}
	return engine.Transcription{Model: t.Model, Language: t.Language}
}

func fromEngineTranscription(t engine.Transcription) *api.Transcription {
	if t.Model == "" {
		return nil
	}
	return &api.Transcription{Model: t.Model, Language: t.Language}
}

// FromEngineCollection converts a collection.
func FromEngineCollection(c engine.Collection) api.Collection {
	out := api.Collection{Name: c.Name, Created: c.Created, Count: c.Count, Shards: c.Shards, Replicas: c.Replicas, Spaces: make([]api.Space, len(c.Spaces)),
		Index: api.IndexParams{M: c.Index.M, EfConstruction: c.Index.EfConstruction, EfSearch: c.Index.EfSearch, Storage: c.Index.Storage,
			Rescore: c.Index.Rescore, RescoreFrom: c.Index.RescoreFrom}}
	for i, s := range c.Spaces {
		out.Spaces[i] = api.Space{Name: s.Name, Dim: s.Dim, Metric: s.Metric, Model: s.Model, Precision: s.Precision}
	}
	out.KeywordIndex = !c.Text.Disabled
	out.Transcribe = fromEngineTranscription(c.Transcribe)
	out.RerankModel = c.RerankModel
	out.Language = c.Text.Language
	if out.Language == "" {
		out.Language = textindex.DefaultLanguage
	}
	out.TextFields = c.Text.Fields
	if out.TextFields == nil {
		out.TextFields = engine.DefaultTextFields
	}
	return out
}

// ToEngineObject converts an object, with its content.
func ToEngineObject(o api.Object) engine.Object {
	out := engine.Object{ID: o.ID, Key: o.Key, Modality: o.Modality, Source: o.Source, Hash: o.Hash,
		Metadata: o.Metadata, Text: o.Text, Vectors: o.Vectors, Created: o.Created, Updated: o.Updated}
	if c := o.Content; c != nil {
		out.Content = &engine.Content{Text: c.Text, Image: c.Image, Audio: c.Audio, Keep: c.Keep == nil || *c.Keep}
	}
	return out
}

// FromEngineObject converts an object, with whatever content it carries
// (objects read back from the engine carry text content only).
func FromEngineObject(o engine.Object) api.Object {
	out := api.Object{ID: o.ID, Key: o.Key, Modality: o.Modality, Source: o.Source, Hash: o.Hash,
		Metadata: o.Metadata, Text: o.Text, Vectors: o.Vectors, Created: o.Created, Updated: o.Updated}
	if c := o.Content; c != nil && (c.Text != "" || c.Image != nil || c.Audio != nil) {
		out.Content = &api.Content{Text: c.Text, Image: c.Image, Audio: c.Audio}
		if c.Image != nil || c.Audio != nil {
			keep := c.Keep
			out.Content.Keep = &keep
		}
	}
	return out
}

// ToEngineSearch converts a search request.
func ToEngineSearch(r api.SearchRequest) engine.SearchRequest {
	out := engine.SearchRequest{Space: r.Space, K: r.K, Ef: r.Ef, Filter: r.Filter, Modality: r.Modality, Fields: r.Fields,
		GroupBy: r.GroupBy, Exclude: r.Exclude, MinScore: r.MinScore, Offset: r.Offset, Consistency: r.Consistency,
		Query: engine.Query{Vector: r.Query.Vector, Object: r.Query.Object, Text: r.Query.Text, Image: r.Query.Image, Audio: r.Query.Audio}}
	if r.Rerank != nil {
		out.Rerank = &engine.Rerank{Model: r.Rerank.Model, Top: r.Rerank.Top}
	}
	out.Mode, out.Keyword, out.Boost = r.Mode, r.Keyword, r.Boost
	out.NoSnippets = r.Snippets != nil && !*r.Snippets
	switch {
	case r.Fusion != nil:
		out.Fusion = &engine.Fusion{Method: r.Fusion.Method, K: r.Fusion.K, Alpha: engine.DefaultAlpha}
		if r.Fusion.Alpha != nil {
			out.Fusion.Alpha = *r.Fusion.Alpha
		}
		if r.Alpha != nil && out.Fusion.Method == engine.FusionRelativeScore && r.Fusion.Alpha == nil {
			out.Fusion.Alpha = *r.Alpha
		}
	case r.Alpha != nil:
		out.Fusion = &engine.Fusion{Method: engine.FusionRelativeScore, Alpha: *r.Alpha}
	}
	return out
}

// FromEngineHits converts search hits.
func FromEngineHits(hs []engine.Hit) []api.Hit {
	out := make([]api.Hit, len(hs))
	for i, h := range hs {
		out[i] = api.Hit{ID: h.ID, Score: h.Score, Distance: h.Distance, RerankScore: h.RerankScore}
		if h.Object != nil {
			o := FromEngineObject(*h.Object)
			out[i].Object = &o
		}
		if len(h.Segments) > 0 {
			out[i].Segments = FromEngineHits(h.Segments)
		}
		if h.Vector != nil || h.Keyword != nil {
			out[i].FoundBy = &api.FoundBy{}
			if h.Vector != nil {
				out[i].FoundBy.Vector = &api.SideHit{Rank: h.Vector.Rank, Score: h.Vector.Score}
			}
			if h.Keyword != nil {
				out[i].FoundBy.Keyword = &api.SideHit{Rank: h.Keyword.Rank, Score: h.Keyword.Score}
			}
		}
		for _, sn := range h.Snippets {
			as := api.Snippet{Field: sn.Field, Parts: make([]api.SnippetPart, len(sn.Parts))}
			for j, p := range sn.Parts {
				as.Parts[j] = api.SnippetPart{Text: p.Text, Match: p.Match}
			}
			out[i].Snippets = append(out[i].Snippets, as)
		}
	}
	return out
}

// FromEngineStats converts a collection overview (without the server counters).
func FromEngineStats(st engine.CollectionStats) api.CollectionStats {
	out := api.CollectionStats{Collection: FromEngineCollection(st.Collection), Modalities: st.Modalities, Segments: st.Segments,
		LastSeq: st.LastSeq, AppliedSeq: st.AppliedSeq, MediaRoots: st.MediaRoots, State: st.State, Error: st.Error,
		Spaces: make([]api.SpaceStats, len(st.Spaces))}
	if out.MediaRoots == nil {
		out.MediaRoots = []string{}
	}
	if k := st.Keyword; k != nil {
		out.Keyword = &api.KeywordStats{Documents: k.Documents, Slots: k.Slots, Terms: k.Terms, Postings: k.Postings, Bytes: k.Bytes, Language: k.Language}
	}
	for i, s := range st.Spaces {
		out.Spaces[i] = api.SpaceStats{Name: s.Name, Live: s.Live, Slots: s.Slots, Tombstones: s.Tombstones, Storage: s.Storage,
			Skipped: s.Skipped, Snapshot: s.Snapshot, SnapshotBytes: s.SnapshotBytes}
	}
	return out
}

// FromEngineCreate is the create request for a collection's schema.
func FromEngineCreate(c engine.Collection) api.CreateCollectionRequest {
	a := FromEngineCollection(c)
	kw := a.KeywordIndex
	return api.CreateCollectionRequest{Name: a.Name, Spaces: a.Spaces, Index: a.Index, TextFields: c.Text.Fields, Language: c.Text.Language, KeywordIndex: &kw, Transcribe: a.Transcribe,
		RerankModel: a.RerankModel}
}

// ToEngineCollectionInfo converts a collection as the server reports it.
func ToEngineCollectionInfo(a api.Collection) engine.Collection {
	kw := a.KeywordIndex
	c := ToEngineCollection(api.CreateCollectionRequest{Name: a.Name, Spaces: a.Spaces, Index: a.Index, TextFields: a.TextFields, Language: a.Language, KeywordIndex: &kw, Transcribe: a.Transcribe,
		RerankModel: a.RerankModel, Shards: a.Shards, Replicas: a.Replicas})
	c.Created, c.Count = a.Created, a.Count
	return c
}

// FromEngineSearch converts a search request.
func FromEngineSearch(r engine.SearchRequest) api.SearchRequest {
	out := api.SearchRequest{Space: r.Space, K: r.K, Ef: r.Ef, Filter: r.Filter, Modality: r.Modality, Fields: r.Fields,
		GroupBy: r.GroupBy, Exclude: r.Exclude, MinScore: r.MinScore, Offset: r.Offset, Consistency: r.Consistency,
		Query: api.Query{Vector: r.Query.Vector, Object: r.Query.Object, Text: r.Query.Text, Image: r.Query.Image, Audio: r.Query.Audio}}
	if r.Rerank != nil {
		out.Rerank = &api.Rerank{Model: r.Rerank.Model, Top: r.Rerank.Top}
	}
	out.Mode, out.Keyword, out.Boost = r.Mode, r.Keyword, r.Boost
	if r.NoSnippets {
		no := false
		out.Snippets = &no
	}
	if f := r.Fusion; f != nil {
		alpha := f.Alpha
		out.Fusion = &api.Fusion{Method: f.Method, K: f.K}
		if f.Method == engine.FusionRelativeScore {
			out.Fusion.Alpha = &alpha
		}
	}
	return out
}

// ToEngineHits converts search hits.
func ToEngineHits(hs []api.Hit) []engine.Hit {
	out := make([]engine.Hit, len(hs))
	for i, h := range hs {
		out[i] = engine.Hit{ID: h.ID, Score: h.Score, Distance: h.Distance, RerankScore: h.RerankScore}
		if h.Object != nil {
			o := ToEngineObject(*h.Object)
			out[i].Object = &o
		}
		if len(h.Segments) > 0 {
			out[i].Segments = ToEngineHits(h.Segments)
		}
		if f := h.FoundBy; f != nil {
			if f.Vector != nil {
				out[i].Vector = &engine.SideHit{Rank: f.Vector.Rank, Score: f.Vector.Score}
			}
			if f.Keyword != nil {
				out[i].Keyword = &engine.SideHit{Rank: f.Keyword.Rank, Score: f.Keyword.Score}
			}
		}
		for _, sn := range h.Snippets {
			es := engine.Snippet{Field: sn.Field, Parts: make([]engine.SnippetPart, len(sn.Parts))}
			for j, p := range sn.Parts {
				es.Parts[j] = engine.SnippetPart{Text: p.Text, Match: p.Match}
			}
			out[i].Snippets = append(out[i].Snippets, es)
		}
	}
	return out
}
