package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"rosetta/internal/atomicfile"
)

// WriteTable prints the report for a terminal.
func (r *ANNReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "\n%s — %d × %d (%s), %d queries, k=%d\n", r.Dataset, r.N, r.Dim, r.Metric, r.Queries, r.K)
	fmt.Fprintf(w, "machine: %s, %d cores, %s, kernels %s, %s\n", r.Machine.CPU, r.Machine.Cores, r.Machine.Go, r.Machine.Kernels, r.Date)
	if r.GTSeconds > 0 {
		fmt.Fprintf(w, "ground truth: %.2fs\n", r.GTSeconds)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\nbuild\tstorage\tM\tefC\tthreads\tn\tseconds\tinserts/s\theap B/vector\tRSS B/vector\t")
	for _, b := range r.Builds {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%.1f\t%.0f\t%.0f\t%.0f\t\n", b.Index, dash(b.Storage), b.M, b.EfConstruction, b.Threads, b.N, b.Seconds, b.InsertsPerSec, b.BytesPerVector, b.RSSBytesPerVector)
	}
	fmt.Fprintln(tw, "\nindex\tstorage\trescore\tM\tefC\tef\tfilter\tallowed\tR@1\tR@10\tR@100\tQPS 1t\tQPS all\tp50 µs\tp95 µs\tp99 µs\tevals/q\texact\t")
	rows := append([]SearchRow(nil), r.Rows...)
	sortRows(rows)
	for _, x := range rows {
		r100 := "-"
		if x.Recall100 >= 0 {
			r100 = fmt.Sprintf("%.4f", x.Recall100)
		}
		evals := "-"
		if x.DistEvals >= 0 {
			evals = fmt.Sprintf("%.0f", x.DistEvals)
		}
		filter, allowed := "-", "-"
		if x.Selectivity < 1 {
			filter = strconv.FormatFloat(x.Selectivity, 'g', 3, 64)
			allowed = strconv.Itoa(x.AllowSize)
		}
		rescore, ef := "-", strconv.Itoa(x.Ef)
		if x.Rescore > 0 {
			rescore = strconv.Itoa(x.Rescore) + "k"
		}
		if x.Param != "" {
			ef = x.Param + "=" + ef
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%.4f\t%.4f\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%s\t%.0f%%\t\n",
			x.Index, dash(x.Storage), rescore, x.M, x.EfConstruction, ef, filter, allowed, x.Recall1, x.Recall10, r100,
			x.QPS1, x.QPSAll, x.P50us, x.P95us, x.P99us, evals, 100*x.ExactFraction)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(tw, "\nnote: %s\n", n)
	}
	return tw.Flush()
}

// WriteCSV writes one line per sweep row.
func (r *ANNReport) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"dataset", "n", "dim", "metric", "index", "storage", "rescore", "m", "ef_construction", "ef", "param", "selectivity", "allow_size",
		"recall_at_1", "recall_at_10", "recall_at_100", "qps_1_thread", "qps_all_threads", "p50_us", "p95_us", "p99_us", "distance_evals_per_query", "exact_fraction",
		"build_threads", "build_inserts_per_sec", "resident_bytes_per_vector"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, x := range r.Rows {
		cw.Write([]string{r.Dataset, strconv.Itoa(r.N), strconv.Itoa(r.Dim), r.Metric, x.Index, x.Storage, strconv.Itoa(x.Rescore), strconv.Itoa(x.M), strconv.Itoa(x.EfConstruction),
			strconv.Itoa(x.Ef), x.Param, f(x.Selectivity), strconv.Itoa(x.AllowSize), f(x.Recall1), f(x.Recall10), f(x.Recall100),
			f(x.QPS1), f(x.QPSAll), f(x.P50us), f(x.P95us), f(x.P99us), f(x.DistEvals), f(x.ExactFraction),
			strconv.Itoa(x.BuildThreads), f(x.BuildInsertsPerSec), f(x.ResidentBytesPerVector)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the whole report.
func (r *ANNReport) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

// WritePlot draws recall@10 against single-thread QPS, one curve per
// unfiltered index configuration.
func (r *ANNReport) WritePlot(w io.Writer) error {
	var series []PlotSeries
	pos := map[string]int{}
	for _, x := range r.Rows {
		if x.Selectivity < 1 {
			continue
		}
		name := x.Index
		if x.M > 0 && x.Index == "rosetta-hnsw" {
			name = fmt.Sprintf("hnsw %s M=%d efC=%d", strings.Replace(x.Storage, "float", "f", 1), x.M, x.EfConstruction)
			if x.Rescore > 0 {
				name = fmt.Sprintf("hnsw %s rescore %dk", x.Storage, x.Rescore)
			}
		}
		i, ok := pos[name]
		if !ok {
			i = len(series)
			pos[name] = i
			series = append(series, PlotSeries{Name: name})
		}
		series[i].Points = append(series[i].Points, PlotPoint{Recall: x.Recall10, QPS: x.QPS1, Label: fmt.Sprintf("ef=%d", x.Ef)})
	}
	name, _, _ := strings.Cut(r.Dataset, "(")
	title := fmt.Sprintf("%s, %d × %d, k=%d, 1 thread", name, r.N, r.Dim, r.K)
	return WritePlotSVG(w, title, "recall@10", "queries per second (1 thread)", series)
}

// Save writes table.txt, results.csv, results.json and recall_qps.svg into
// dir (created if needed), each crash-safely, and returns their paths.
func (r *ANNReport) Save(dir, prefix string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{prefix + ".txt", r.WriteTable},
		{prefix + ".csv", r.WriteCSV},
		{prefix + ".json", r.WriteJSON},
		{prefix + ".svg", r.WritePlot},
	}
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := atomicfile.Write(p, 0o644, f.write); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
