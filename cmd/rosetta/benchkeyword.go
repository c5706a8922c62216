package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"rosetta/bench"
)

func newBenchKeywordCmd() *cobra.Command {
	o := bench.DefaultKeywordOptions()
	var threads, out string
	hy := bench.HybridOptions{Dim: 512, Batch: 1000}
	cmd := &cobra.Command{
		Use:   "keyword --corpus FILE --queries FILE",
		Short: "Indexing rate, size and BM25 search latency of the keyword index (textindex)",
		Long: `Builds Rosetta's in-memory keyword index (package textindex) over a corpus of
JSON lines, {"key", "title", "text"} a line, once per --threads entry (that many
goroutines calling Put, id = line number, fields "content" and "metadata.title"),
and reports documents/s, bytes per document (the index's own count and the size
of a snapshot), and for each query class of --queries (one, two and three words,
phrases) the p50, p99 and mean latency of parsing and running one search for k
hits, after one untimed pass over every query, with the fraction of searches
that found anything.

scripts/keyword-corpus.sh OUTDIR writes the corpus and queries from Debian's
fortunes and man pages; scripts/keyword-bench.sh runs this command, the Xapian
peer (scripts/keyword-xapian.py) and the bleve peer (bench/keywordpeers/bleve),
which report the same figures in the same JSON.

With --hybrid-dim D (default 512; 0 skips it) it then builds an engine collection
of the corpus in a temporary directory (each document upserted with its text,
its title as metadata and a synthetic D-dimensional vector, in batches) and times
SearchPage per query class in keyword mode (engine-keyword/CLASS), hybrid mode
with RRF (hybrid-rrf/CLASS) and with relative-score fusion (hybrid-alpha/CLASS),
each with a query vector for the vector side, and vector mode alone (vector).`,
		Example: `  bash scripts/keyword-corpus.sh /tmp/kw
  rosetta bench keyword --corpus /tmp/kw/corpus.jsonl --queries /tmp/kw/queries.json --json /tmp/kw/rosetta.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if o.Threads, err = parseInts(threads, "--threads"); err != nil {
				return err
			}
			o.Log = cmd.ErrOrStderr()
			rep, err := bench.RunKeyword(cmd.Context(), o)
			if err != nil {
				return err
			}
			if hy.Dim > 0 {
				hy.Log = o.Log
				if err := bench.RunHybrid(cmd.Context(), o, hy, rep); err != nil {
					return err
				}
			}
			if err := rep.WriteTable(cmd.OutOrStdout()); err != nil {
				return err
			}
			if out != "" {
				if err := rep.Save(out); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", out)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Corpus, "corpus", "", "corpus, JSON lines {\"key\", \"title\", \"text\"}")
	f.StringVar(&o.Queries, "queries", "", `query sets, {"one": [...], "two": [...], "three": [...], "phrase": [...]}`)
	f.IntVarP(&o.K, "k", "k", o.K, "hits per search")
	f.StringVar(&threads, "threads", "1,2", "timed builds, one per goroutine count (comma-separated); the last is searched")
	f.IntVar(&o.Passes, "passes", o.Passes, "timed passes over each query class")
	f.StringVar(&o.Language, "language", "", `text analysis language ("" = en)`)
	f.StringVar(&out, "json", "", "write the report as JSON to this file")
	f.IntVar(&hy.Dim, "hybrid-dim", hy.Dim, "then time the engine's keyword, hybrid and vector modes on a collection of the corpus with vectors of this dimension (0: skip)")
	f.IntVar(&hy.Batch, "hybrid-batch", hy.Batch, "objects per upsert when building that collection")
	for _, name := range []string{"corpus", "queries"} {
		cmd.MarkFlagRequired(name)
	}
	return cmd
}
