// Command bleve is the bleve peer of `rosetta bench keyword` (issue 14): it
// indexes the keyword corpus (scripts/keyword-corpus.sh) with bleve v2's
// scorch index on disk and times the query sets against it, reporting the
// same figures, in the same JSON (package keywordset), as Rosetta and the
// Xapian peer (scripts/keyword-xapian.py).
//
// Mapping: "title" and "text" are text fields analysed with bleve's English
// analyzer ("en": unicode tokenizer, possessives, lower case, the Snowball
// English stop list, Porter stemmer), with term vectors (phrase queries need
// them), not stored, both in the _all field that an unfielded query string
// searches. Scoring is bleve's BM25 (mapping scoring_model "bm25", k1=1.2,
// b=0.75, bleve's constants). Document ids are the corpus line numbers.
//
// Indexing sends batches of --batch documents to Index.Batch from --threads
// goroutines; the time runs until every batch has been persisted (no
// in-memory segment left at the root). Merging then goes on in the
// background; the program waits for it to settle before it measures the
// directory and runs the queries, which are bleve.NewQueryStringQuery
// searches of size k (space-separated words are optional clauses: OR;
// "quoted words" are phrases).
//
//	go run ./bench/keywordpeers/bleve --corpus corpus.jsonl --queries queries.json --json bleve.json
//	go run ./bench/keywordpeers/bleve --stopwords   # prints the "en" stop list, one word a line
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/mapping"

	"rosetta/bench/keywordset"
)

func main() {
	var (
		corpus, queries, dir, out string
		k, threads, batch, passes int
		stop                      bool
		settle                    time.Duration
	)
	flag.StringVar(&corpus, "corpus", "", "corpus.jsonl")
	flag.StringVar(&queries, "queries", "", "queries.json")
	flag.IntVar(&k, "k", 10, "hits per search")
	flag.IntVar(&threads, "threads", 1, "goroutines sending batches")
	flag.IntVar(&batch, "batch", 1000, "documents per batch")
	flag.IntVar(&passes, "passes", 1, "timed passes over each query class (after one warm-up pass)")
	flag.StringVar(&dir, "dir", "", "parent directory for the index (default $TMPDIR); the index is removed at the end")
	flag.StringVar(&out, "json", "", "write the report as JSON to this file")
	flag.DurationVar(&settle, "settle", 2*time.Minute, "longest wait for background merges before the queries")
	flag.BoolVar(&stop, "stopwords", false, "print bleve's English stop words, one a line, and exit")
	flag.Parse()
	if stop {
		printStopWords()
		return
	}
	if err := run(corpus, queries, dir, out, k, threads, batch, passes, settle); err != nil {
		fmt.Fprintln(os.Stderr, "bleve peer:", err)
		os.Exit(1)
	}
}

func printStopWords() {
	m := analysis.NewTokenMap()
	if err := m.LoadBytes(en.EnglishStopWords); err != nil {
		fmt.Fprintln(os.Stderr, "bleve peer:", err)
		os.Exit(1)
	}
	words := make([]string, 0, len(m))
	for w := range m {
		words = append(words, w)
	}
	slices.Sort(words)
	for _, w := range words {
		fmt.Println(w)
	}
}

// doc is what bleve indexes; the json tags are the field names.
type doc struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

func indexMapping() *mapping.IndexMappingImpl {
	field := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = en.AnalyzerName
		f.Store = false
		f.IncludeTermVectors = true
		f.IncludeInAll = true
		f.DocValues = false
		return f
	}
	dm := bleve.NewDocumentStaticMapping()
	dm.AddFieldMappingsAt("title", field())
	dm.AddFieldMappingsAt("text", field())
	im := bleve.NewIndexMapping()
	im.DefaultMapping = dm
	im.DefaultAnalyzer = en.AnalyzerName
	im.ScoringModel = "bm25"
	im.StoreDynamic, im.IndexDynamic, im.DocValuesDynamic = false, false, false
	return im
}

func run(corpus, queries, dir, out string, k, threads, batch, passes int, settle time.Duration) error {
	if corpus == "" || queries == "" {
		return errors.New("--corpus and --queries are required")
	}
	if k < 1 || threads < 1 || batch < 1 || passes < 1 {
		return errors.New("--k, --threads, --batch and --passes must be positive")
	}
	docs, err := keywordset.LoadCorpus(corpus)
	if err != nil {
		return err
	}
	qs, err := keywordset.LoadQueries(queries)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, "keyword-bleve-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	path := tmp + "/index"
	idx, err := bleve.New(path, indexMapping())
	if err != nil {
		return err
	}
	defer idx.Close()

	fmt.Fprintf(os.Stderr, "bleve: indexing %d docs, %d thread(s), batches of %d\n", len(docs), threads, batch)
	start := time.Now()
	if err := indexAll(idx, docs, threads, batch); err != nil {
		return err
	}
	if err := waitPersisted(idx); err != nil {
		return err
	}
	took := time.Since(start)
	segments, err := waitMerged(idx, settle)
	if err != nil {
		return err
	}
	if n, err := idx.DocCount(); err != nil || n != uint64(len(docs)) {
		return fmt.Errorf("index holds %d docs, want %d (%v)", n, len(docs), err)
	}
	size, err := keywordset.DirSize(path)
	if err != nil {
		return err
	}
	rep := keywordset.NewReport("bleve", bleveVersion(), "bm25 k1=1.2 b=0.75", "on disk", corpus, len(docs), k, passes)
	run := keywordset.NewIndexRun(threads, len(docs), took, size)
	run.Segments = segments
	rep.Index = []keywordset.IndexRun{run}
	rep.Notes = append(rep.Notes, "scorch on disk; time until every batch is persisted; size and queries after background merges settled")

	fmt.Fprintf(os.Stderr, "bleve: %.0f docs/s, %d segments; timing queries\n", run.DocsPerSec, segments)
	rep.Queries, err = keywordset.TimeQueries(qs, passes, func(q string) (int, error) {
		req := bleve.NewSearchRequestOptions(bleve.NewQueryStringQuery(q), k, 0, false)
		res, err := idx.Search(req)
		if err != nil {
			return 0, err
		}
		return len(res.Hits), nil
	})
	if err != nil {
		return err
	}
	if err := rep.WriteTable(os.Stdout); err != nil {
		return err
	}
	if out != "" {
		return rep.Save(out)
	}
	return nil
}

// indexAll sends docs in batches from threads goroutines; each goroutine
// takes the next unsent range of the corpus.
func indexAll(idx bleve.Index, docs []keywordset.Doc, threads, size int) error {
	var (
		mu   sync.Mutex
		next int
		errs = make([]error, threads)
		wg   sync.WaitGroup
	)
	take := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		lo := next
		next = min(len(docs), next+size)
		return lo, next
	}
	for t := range threads {
		wg.Go(func() {
			for {
				lo, hi := take()
				if lo == hi {
					return
				}
				b := idx.NewBatch()
				for i := lo; i < hi; i++ {
					if err := b.Index(strconv.Itoa(i+1), doc{Title: docs[i].Title, Text: docs[i].Text}); err != nil {
						errs[t] = err
						return
					}
				}
				if err := idx.Batch(b); err != nil {
					errs[t] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// scorchStats returns the scorch index's statistics.
func scorchStats(idx bleve.Index) (map[string]interface{}, error) {
	m, ok := idx.StatsMap()["index"].(map[string]interface{})
	if !ok {
		return nil, errors.New("no scorch statistics")
	}
	return m, nil
}

func stat(m map[string]interface{}, name string) uint64 {
	v, _ := m[name].(uint64)
	return v
}

// waitPersisted returns once the root holds no in-memory segment.
func waitPersisted(idx bleve.Index) error {
	for {
		m, err := scorchStats(idx)
		if err != nil {
			return err
		}
		if stat(m, "num_root_memorysegments") == 0 && stat(m, "num_recs_to_persist") == 0 {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitMerged waits until the number of file segments has not changed for a
// second (or for at most limit) and returns it.
func waitMerged(idx bleve.Index, limit time.Duration) (int, error) {
	deadline := time.Now().Add(limit)
	last, since := -1, time.Now()
	for {
		m, err := scorchStats(idx)
		if err != nil {
			return 0, err
		}
		n := int(stat(m, "num_root_filesegments"))
		if n != last {
			last, since = n, time.Now()
		}
		if time.Since(since) >= time.Second || time.Now().After(deadline) {
			return n, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func bleveVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/blevesearch/bleve/v2" {
				return d.Version
			}
		}
	}
	return "v2"
}
