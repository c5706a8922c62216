package bench

// Keyword search: `rosetta bench keyword` builds Rosetta's in-memory BM25
// index (package textindex) over the keyword corpus of
// scripts/keyword-corpus.sh, once per thread count, and times the query sets
// of queries.json against the last build. It reports what the Xapian and
// bleve peers (scripts/keyword-xapian.py, bench/keywordpeers/bleve) report,
// in the same JSON, following the rules of package keywordset: the corpus is
// read before any clock starts, indexing runs until the last Put returns,
// every query is run once untimed before the timed pass.
//
// A document is Put with id = its line number and two fields, "content"
// (the text) and "metadata.title" (the title), the names the engine gives a
// collection's text and its title metadata. A search is textindex.Parse
// followed by Index.Search with K hits and no boosts: an unfielded word is
// scored by BM25 in each field and the scores summed, where the peers score
// one combined field (bleve's _all, Xapian's unprefixed terms).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"rosetta/bench/keywordset"
	"rosetta/engine"
	"rosetta/internal/buildinfo"
	"rosetta/internal/vecgen"
	"rosetta/textindex"
)

// KeywordOptions configures RunKeyword.
type KeywordOptions struct {
	Corpus   string // corpus.jsonl
	Queries  string // queries.json
	K        int    // hits per search
	Threads  []int  // one timed build per entry, goroutines calling Put; the last is searched
	Passes   int    // timed passes over each query class
	Language string // textindex.Config.Language ("" = "en")
	Log      io.Writer
}

// DefaultKeywordOptions returns k=10, builds on 1 and 2 goroutines, one pass.
func DefaultKeywordOptions() KeywordOptions {
	return KeywordOptions{K: 10, Threads: []int{1, 2}, Passes: 1}
}

func (o *KeywordOptions) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// RunKeyword runs the keyword benchmark.
func RunKeyword(ctx context.Context, o KeywordOptions) (*keywordset.Report, error) {
	if o.Corpus == "" || o.Queries == "" {
		return nil, errors.New("bench: keyword needs a corpus and a query file")
	}
	if o.K < 1 || o.Passes < 1 || len(o.Threads) == 0 {
		return nil, fmt.Errorf("bench: keyword: k %d and passes %d must be positive, with at least one thread count", o.K, o.Passes)
	}
	for _, t := range o.Threads {
		if t < 1 {
			return nil, fmt.Errorf("bench: keyword: thread count %d must be positive", t)
		}
	}
	docs, err := keywordset.LoadCorpus(o.Corpus)
	if err != nil {
		return nil, err
	}
	qs, err := keywordset.LoadQueries(o.Queries)
	if err != nil {
		return nil, err
	}
	lang := o.Language
	if lang == "" {
		lang = "en"
	}
	rep := keywordset.NewReport("rosetta", rosettaVersion(), "bm25", "in memory", o.Corpus, len(docs), o.K, o.Passes)
	rep.Notes = append(rep.Notes, fmt.Sprintf("textindex language %q; fields content (text) and metadata.title (title); bytes/doc is Stats().Bytes; search is Parse + Search, BM25 per field, summed", lang))

	var ix *textindex.Index
	for _, threads := range o.Threads {
		ix = nil
		runtime.GC() // the previous build's garbage is not this one's cost
		o.logf("rosetta: indexing %d docs, %d thread(s)", len(docs), threads)
		var took time.Duration
		if ix, took, err = buildKeyword(ctx, docs, threads, o.Language); err != nil {
			return nil, err
		}
		st := ix.Stats()
		if st.Docs != len(docs) {
			return nil, fmt.Errorf("bench: keyword: index holds %d docs, want %d", st.Docs, len(docs))
		}
		var cw countingWriter
		if _, err := ix.WriteTo(&cw); err != nil {
			return nil, fmt.Errorf("bench: keyword snapshot: %w", err)
		}
		run := keywordset.NewIndexRun(threads, len(docs), took, st.Bytes)
		run.SnapshotBytesPerDoc = float64(cw.n) / float64(len(docs))
		rep.Index = append(rep.Index, run)
		o.logf("rosetta: %.0f docs/s, %d terms, %d postings, %.0f bytes/doc in memory, %.0f in a snapshot",
			run.DocsPerSec, st.Terms, st.Postings, run.BytesPerDoc, run.SnapshotBytesPerDoc)
	}

	o.logf("rosetta: timing queries")
	opts := textindex.Options{K: o.K}
	rep.Queries, err = keywordset.TimeQueries(qs, o.Passes, func(s string) (int, error) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		q, err := textindex.Parse(s)
		if err != nil {
			return 0, err
		}
		hits, err := ix.Search(q, opts)
		return len(hits), err
	})
	if err != nil {
		return nil, fmt.Errorf("bench: keyword: %w", err)
	}
	return rep, nil
}

// buildKeyword indexes docs from threads goroutines, each taking the next
// document, and returns the index and the time from the first Put to the
// last.
func buildKeyword(ctx context.Context, docs []keywordset.Doc, threads int, lang string) (*textindex.Index, time.Duration, error) {
	ix, err := textindex.New(textindex.Config{Language: lang})
	if err != nil {
		return nil, 0, fmt.Errorf("bench: keyword: %w", err)
	}
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range threads {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(docs) || (i%1024 == 0 && ctx.Err() != nil) {
					return
				}
				d := &docs[i]
				ix.Put(uint64(i+1), []textindex.Field{{Name: "content", Text: d.Text}, {Name: "metadata.title", Text: d.Title}})
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	return ix, took, nil
}

// rosettaVersion is the build's version, with its commit when known.
func rosettaVersion() string {
	in := buildinfo.Get()
	if in.Commit == "" {
		return in.Version
	}
	return in.Version + " " + in.Commit[:min(12, len(in.Commit))]
}

// countingWriter counts what is written to it and drops it.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// HybridOptions configures RunHybrid.
type HybridOptions struct {
	Dim   int // vector dimension of the collection's space
	Batch int // objects per upsert
	Log   io.Writer
}

// RunHybrid measures the engine's search modes on the keyword corpus: it
// creates a collection in a temporary data directory, upserts every
// document (content text, title metadata, a vector of dimension Dim from
// a clustered synthetic set, as an external embedder would give), then
// times SearchPage for each query class in keyword and hybrid mode (the
// class's text for the keyword side, a query vector for the vector side;
// ids and scores only, snippets included) and vector mode, k hits. Its
// rows are added to rep.Queries as "engine-keyword/CLASS",
// "hybrid-rrf/CLASS" (and "hybrid-alpha/CLASS") and "vector".
func RunHybrid(ctx context.Context, o KeywordOptions, h HybridOptions, rep *keywordset.Report) error {
	docs, err := keywordset.LoadCorpus(o.Corpus)
	if err != nil {
		return err
	}
	qs, err := keywordset.LoadQueries(o.Queries)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "rosetta-bench-hybrid-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	e, err := engine.Open(engine.Options{Dir: dir, SnapshotEvery: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer e.Close()
	if err := e.WaitReady(ctx); err != nil {
		return err
	}
	if _, err := e.CreateCollection(ctx, engine.Collection{Name: "kw", Spaces: []engine.Space{{Name: "v", Dim: h.Dim}}}); err != nil {
		return err
	}
	set := vecgen.Clustered(len(docs), 256, h.Dim, 100, 0.05, 42)
	start := time.Now()
	for lo := 0; lo < len(docs); lo += h.Batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		var objs []engine.Object
		for i := lo; i < min(lo+h.Batch, len(docs)); i++ {
			d := &docs[i]
			objs = append(objs, engine.Object{Key: d.Key, Modality: "text", Metadata: map[string]any{"title": d.Title},
				Content: &engine.Content{Text: d.Text}, Vectors: map[string][]float32{"v": vecgen.Row(set.Base, h.Dim, i)}})
		}
		if _, err := e.Upsert(ctx, "kw", objs); err != nil {
			return fmt.Errorf("bench: hybrid upsert: %w", err)
		}
	}
	took := time.Since(start)
	if h.Log != nil {
		fmt.Fprintf(h.Log, "engine: upserted %d documents with %d-d vectors in %.1f s (%.0f/s, batches of %d)\n",
			len(docs), h.Dim, took.Seconds(), float64(len(docs))/took.Seconds(), h.Batch)
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("engine rows: one collection, %d documents upserted in batches of %d with %d-d clustered vectors in %.1f s; "+
		"SearchPage ids and scores (snippets read for keyword hits), k=%d; hybrid sides fetch max(4k, 100)", len(docs), h.Batch, h.Dim, took.Seconds(), o.K))
	nq := set.NQueries()
	type mode struct {
		name string
		req  func(text string, i int) engine.SearchRequest
	}
	modes := []mode{
		{"engine-keyword", func(text string, i int) engine.SearchRequest {
			return engine.SearchRequest{Keyword: text, Mode: engine.ModeKeyword, K: o.K}
		}},
		{"engine-keyword-nosnippets", func(text string, i int) engine.SearchRequest {
			return engine.SearchRequest{Keyword: text, Mode: engine.ModeKeyword, K: o.K, NoSnippets: true}
		}},
		{"hybrid-rrf", func(text string, i int) engine.SearchRequest {
			return engine.SearchRequest{Query: engine.Query{Vector: vecgen.Row(set.Queries, h.Dim, i%nq)}, Keyword: text, Mode: engine.ModeHybrid, K: o.K}
		}},
		{"hybrid-alpha", func(text string, i int) engine.SearchRequest {
			return engine.SearchRequest{Query: engine.Query{Vector: vecgen.Row(set.Queries, h.Dim, i%nq)}, Keyword: text, Mode: engine.ModeHybrid, K: o.K,
				Fusion: &engine.Fusion{Method: engine.FusionRelativeScore, Alpha: engine.DefaultAlpha}}
		}},
	}
	for _, m := range modes {
		i := 0
		res, err := keywordset.TimeQueries(qs, o.Passes, func(s string) (int, error) {
			i++
			p, err := e.SearchPage(ctx, "kw", m.req(s, i))
			return len(p.Hits), err
		})
		if err != nil {
			return fmt.Errorf("bench: %s: %w", m.name, err)
		}
		for _, r := range res {
			r.Class = m.name + "/" + r.Class
			rep.Queries = append(rep.Queries, r)
		}
	}
	// The vector side alone, for scale.
	i := 0
	res, err := keywordset.TimeQueries(keywordset.Queries{"one": qs["one"]}, o.Passes, func(string) (int, error) {
		i++
		p, err := e.SearchPage(ctx, "kw", engine.SearchRequest{Query: engine.Query{Vector: vecgen.Row(set.Queries, h.Dim, i%nq)}, Mode: engine.ModeVector, K: o.K})
		return len(p.Hits), err
	})
	if err != nil {
		return fmt.Errorf("bench: vector: %w", err)
	}
	for _, r := range res {
		if r.Queries > 0 {
			r.Class = "vector"
			rep.Queries = append(rep.Queries, r)
		}
	}
	return nil
}
