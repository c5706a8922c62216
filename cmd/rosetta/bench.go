package main

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"rosetta/bench"
	"rosetta/kernels"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks: ann (vector index recall/latency), http (REST load test), retrieval (caption recall), keyword (BM25 index), whisper (speech-to-text speed), encoders (CLIP against ONNX Runtime)",
	}
	cmd.AddCommand(newBenchANNCmd(), newBenchHTTPCmd(), newBenchRetrievalCmd(), newBenchKeywordCmd(), newBenchWhisperCmd(), newBenchEncodersCmd())
	return cmd
}

func newBenchANNCmd() *cobra.Command {
	o := bench.DefaultANNOptions()
	var metric, storage, m, efc, ef, bt, sel, fef, sw, rescore, rescoreRBQ, baseline, out, prefix string
	cmd := &cobra.Command{
		Use:   "ann",
		Short: "Recall/QPS/latency sweep of the HNSW index against exact ground truth",
		Long: `Builds the HNSW index on a synthetic or user-supplied vector set, computes exact
ground truth, and sweeps ef (and M / efConstruction when given lists), reporting
recall@1/10/100, QPS on one and on all threads, p50/p95/p99 latency, distance
evaluations per query, build rate and memory per vector (Go heap and RSS); with
brute force and coder/hnsw v0.6.1 as baselines and filtered runs at several
selectivities. Storages: float32, float16, int8 and rabitq (codes re-scored
against float16 originals in memory), int8/store and rabitq/store (originals
read from a file per candidate, as the engine reads its store); --rescore and
--rescore-rabitq sweep the re-scored candidates per result of int8 and rabitq.

--baseline hnswlib,faiss runs Debian's python3-hnswlib (0.6.2) and python3-faiss
(1.7.3: IndexHNSWFlat, IndexHNSWSQ 8-bit, IndexIVFPQ re-ranked by
IndexRefineFlat) on the same vectors, allow-lists and ground truth through a
small Python driver (--python, default /usr/bin/python3), in the same table,
CSV, JSON and SVG. Install them with: apt-get install python3-hnswlib python3-faiss
Writes a table to the terminal and <out>/<prefix>.{txt,csv,json,svg}.

Datasets: --dataset clustered|crossmodal|sphere (synthetic), or --base/--queries
[--gt] with .fvecs/.bvecs/.npy vectors and .ivecs/.npy ground-truth ids.`,
		Example: `  rosetta bench ann --n 20000 --dim 128
  rosetta bench ann --dataset crossmodal --n 100000 --dim 512
  rosetta bench ann --storage float16,int8,int8/store --baseline hnswlib,faiss
  rosetta bench ann --base sift_base.fvecs --queries sift_query.fvecs --gt sift_groundtruth.ivecs --metric l2`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if o.Metric, err = kernels.ParseMetric(metric); err != nil {
				return err
			}
			lists := []struct {
				s    string
				dst  *[]int
				name string
			}{{m, &o.M, "--m"}, {efc, &o.EfConstruction, "--ef-construction"}, {ef, &o.Ef, "--ef"}, {bt, &o.BuildThreads, "--build-threads"}, {fef, &o.FilterEf, "--filter-ef"}, {sw, &o.SwitchSizes, "--switch-sizes"}, {rescore, &o.Rescore, "--rescore"}, {rescoreRBQ, &o.RescoreRaBitQ, "--rescore-rabitq"}}
			for _, l := range lists {
				if *l.dst, err = parseInts(l.s, l.name); err != nil {
					return err
				}
			}
			o.Storage = nil
			for _, p := range strings.Split(storage, ",") {
				st, err := bench.ParseStorageSpec(strings.TrimSpace(p))
				if err != nil {
					return err
				}
				o.Storage = append(o.Storage, st)
			}
			if o.Selectivities, err = parseFloats(sel, "--filters"); err != nil {
				return err
			}
			o.Baselines = nil
			for _, b := range strings.Split(baseline, ",") {
				if b = strings.TrimSpace(b); b != "" {
					o.Baselines = append(o.Baselines, b)
				}
			}
			if err := bench.CheckBaselines(o.Baselines); err != nil {
				return err
			}
			if o.Data.Base != "" || o.Data.Query != "" {
				o.Data.Kind = "files"
			}
			o.Log = cmd.ErrOrStderr()
			rep, err := bench.RunANN(cmd.Context(), o)
			if err != nil {
				return err
			}
			if err := rep.WriteTable(cmd.OutOrStdout()); err != nil {
				return err
			}
			if out != "" {
				paths, err := rep.Save(out, prefix)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", strings.Join(paths, ", "))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Data.Kind, "dataset", o.Data.Kind, "synthetic set: clustered, crossmodal or sphere")
	f.IntVar(&o.Data.N, "n", o.Data.N, "base vectors (synthetic)")
	f.IntVar(&o.Data.Queries, "queries-n", o.Data.Queries, "queries (synthetic)")
	f.IntVar(&o.Data.Dim, "dim", o.Data.Dim, "dimension (synthetic)")
	f.IntVar(&o.Data.Clusters, "clusters", o.Data.Clusters, "Gaussian clusters (clustered, crossmodal)")
	f.Float64Var(&o.Data.Sigma, "sigma", o.Data.Sigma, "per-component noise around a cluster centre")
	f.Float64Var(&o.Data.Shift, "shift", o.Data.Shift, "norm of the fixed query offset (crossmodal)")
	f.Uint64Var(&o.Data.Seed, "seed", o.Data.Seed, "random seed")
	f.StringVar(&o.Data.Base, "base", "", "base vectors file (.fvecs, .bvecs, .npy)")
	f.StringVar(&o.Data.Query, "queries", "", "query vectors file (.fvecs, .bvecs, .npy)")
	f.StringVar(&o.Data.GT, "gt", "", "ground-truth neighbour ids (.ivecs, .npy); computed exactly when omitted")
	f.StringVar(&metric, "metric", "cosine", "cosine, dot or l2")
	f.IntVarP(&o.K, "k", "k", o.K, "neighbours per query")
	f.StringVar(&storage, "storage", "float32,float16", "graph vector storage to compare: float32, float16, int8, rabitq, int8/store, rabitq/store (comma-separated)")
	f.StringVar(&rescore, "rescore", "", "int8: candidates re-scored per result, swept (comma-separated; default: the storage's)")
	f.StringVar(&rescoreRBQ, "rescore-rabitq", "", "rabitq: candidates re-scored per result, swept (comma-separated; default: the storage's)")
	f.StringVar(&baseline, "baseline", "", "peers to run on the same data: hnswlib, faiss (comma-separated; needs Debian's python3-hnswlib, python3-faiss)")
	f.StringVar(&o.Python, "python", o.Python, "Python interpreter for --baseline (one that sees Debian's packages)")
	f.IntVar(&o.Rounds, "rounds", 1, "time every single-thread pass this many times, interleaving the indexes after all are built, and report the median")
	f.StringVar(&m, "m", "16", "HNSW M values (comma-separated)")
	f.StringVar(&efc, "ef-construction", "200", "efConstruction values (comma-separated)")
	f.StringVar(&ef, "ef", joinInts(o.Ef), "ef values to sweep")
	f.StringVar(&bt, "build-threads", "1,"+strconv.Itoa(runtime.GOMAXPROCS(0)), "timed builds, one per thread count; the last is searched")
	f.IntVar(&o.Threads, "threads", o.Threads, "threads for the all-thread QPS and ground truth")
	f.Float64Var(&o.MinSeconds, "min-seconds", o.MinSeconds, "repeat each single-thread pass until this many seconds")
	f.StringVar(&sel, "filters", "0.5,0.1,0.01,0.001", "filter selectivities (empty for none)")
	f.StringVar(&fef, "filter-ef", "64,128", "ef values for filtered runs")
	f.StringVar(&sw, "switch-sizes", "", "allow-list sizes at which to compare exact scan and graph traversal (e.g. 250,500,1000,2000,4000)")
	f.BoolVar(&o.Brute, "brute", o.Brute, "include the brute-force baseline")
	f.BoolVar(&o.Coder, "coder", o.Coder, "include the github.com/coder/hnsw v0.6.1 baseline")
	f.IntVar(&o.CoderMax, "coder-max", o.CoderMax, "base vectors for the coder/hnsw baseline (0 = all)")
	f.StringVar(&out, "out", "bench/out", "directory for the CSV, JSON and SVG files (empty: none)")
	f.StringVar(&prefix, "prefix", "ann", "file name prefix for the outputs")
	return cmd
}

func parseInts(s, flag string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		v, err := strconv.Atoi(p)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: %q is not a positive integer", flag, p)
		}
		out = append(out, v)
	}
	return out, nil
}

func parseFloats(s, flag string) ([]float64, error) {
	var out []float64
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v <= 0 || v > 1 {
			return nil, fmt.Errorf("%s: %q is not a fraction in (0, 1]", flag, p)
		}
		out = append(out, v)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}
