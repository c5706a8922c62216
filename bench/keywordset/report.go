package keywordset

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"rosetta/internal/atomicfile"
)

// Report is what one engine measured on one corpus. scripts/keyword-xapian.py
// writes the same JSON.
type Report struct {
	Engine  string `json:"engine"`  // "rosetta", "bleve", "xapian"
	Version string `json:"version"` // of the engine or its library
	Scoring string `json:"scoring"` // e.g. "bm25 k1=1.2 b=0.75"
	// Size says what IndexRun.BytesPerDoc measures ("on disk", "in memory").
	Size    string        `json:"size"`
	Corpus  string        `json:"corpus"`
	Docs    int           `json:"docs"`
	K       int           `json:"k"`
	Passes  int           `json:"passes"`
	Date    string        `json:"date"`
	Machine Machine       `json:"machine"`
	Index   []IndexRun    `json:"index"`
	Queries []ClassResult `json:"queries"` // timed on the index of the last IndexRun
	Notes   []string      `json:"notes,omitempty"`
}

// Machine identifies where a report was measured.
type Machine struct {
	CPU   string `json:"cpu"`
	Cores int    `json:"cores"`
	Go    string `json:"go,omitempty"`
}

// IndexRun is one timed build of the whole corpus.
type IndexRun struct {
	Threads     int     `json:"threads"`
	Docs        int     `json:"docs"`
	Seconds     float64 `json:"seconds"`
	DocsPerSec  float64 `json:"docs_per_sec"`
	BytesPerDoc float64 `json:"bytes_per_doc"` // see Report.Size
	// SnapshotBytesPerDoc is the size of a serialised snapshot per document,
	// for an in-memory engine that has one.
	SnapshotBytesPerDoc float64 `json:"snapshot_bytes_per_doc,omitempty"`
	// Segments is how many segments the index had when queried (bleve).
	Segments int `json:"segments,omitempty"`
}

// ClassResult is the latency of one query class.
type ClassResult struct {
	Class    string  `json:"class"`
	Queries  int     `json:"queries"` // timed searches (queries × passes)
	P50us    float64 `json:"p50_us"`
	P99us    float64 `json:"p99_us"`
	MeanUs   float64 `json:"mean_us"`
	HitRate  float64 `json:"hit_rate"`  // fraction of searches with at least one hit
	MeanHits float64 `json:"mean_hits"` // hits returned per search (at most k)
}

// NewReport starts a report with the date and this machine filled in.
func NewReport(engine, version, scoring, size, corpus string, docs, k, passes int) *Report {
	return &Report{
		Engine: engine, Version: version, Scoring: scoring, Size: size, Corpus: corpus,
		Docs: docs, K: k, Passes: passes, Date: time.Now().Format("2006-01-02"), Machine: ThisMachine(),
	}
}

// ThisMachine describes the CPU this process runs on.
func ThisMachine() Machine {
	m := Machine{CPU: runtime.GOARCH, Cores: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// NewIndexRun fills in the rate of a build of docs documents.
func NewIndexRun(threads, docs int, d time.Duration, bytes int64) IndexRun {
	s := d.Seconds()
	return IndexRun{Threads: threads, Docs: docs, Seconds: s, DocsPerSec: float64(docs) / s, BytesPerDoc: float64(bytes) / float64(docs)}
}

// SearchFunc runs one query string and returns how many hits it returned.
type SearchFunc func(q string) (hits int, err error)

// TimeQueries runs every query of every class once untimed, then times each
// class, passes times over its queries, and returns one result per class in
// Classes order. The first failing query stops it, named in the error.
func TimeQueries(qs Queries, passes int, search SearchFunc) ([]ClassResult, error) {
	if passes < 1 {
		passes = 1
	}
	for _, c := range Classes {
		for _, q := range qs[c] {
			if _, err := search(q); err != nil {
				return nil, fmt.Errorf("query %s %q: %w", c, q, err)
			}
		}
	}
	out := make([]ClassResult, 0, len(Classes))
	for _, c := range Classes {
		lat := make([]time.Duration, 0, passes*len(qs[c]))
		hit, hits := 0, 0
		for range passes {
			for _, q := range qs[c] {
				t := time.Now()
				n, err := search(q)
				lat = append(lat, time.Since(t))
				if err != nil {
					return nil, fmt.Errorf("query %s %q: %w", c, q, err)
				}
				hits += n
				if n > 0 {
					hit++
				}
			}
		}
		out = append(out, Summarize(c, lat, hit, hits))
	}
	return out, nil
}

// Summarize turns one class's latencies (reordered in place) and hit counts
// into a ClassResult.
func Summarize(class string, lat []time.Duration, withHits, hits int) ClassResult {
	r := ClassResult{Class: class, Queries: len(lat)}
	if len(lat) == 0 {
		return r
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	r.P50us, r.P99us = us(Percentile(lat, 0.5)), us(Percentile(lat, 0.99))
	r.MeanUs = us(sum) / float64(len(lat))
	r.HitRate = float64(withHits) / float64(len(lat))
	r.MeanHits = float64(hits) / float64(len(lat))
	return r
}

// Percentile returns the p-th latency of sorted: sorted[min(n-1, ⌊p·n⌋)].
func Percentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// WriteTable prints the report for a terminal.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "\n%s %s (%s) — %d docs from %s, k=%d, %d timed pass(es)\n", r.Engine, r.Version, r.Scoring, r.Docs, r.Corpus, r.K, r.Passes)
	fmt.Fprintf(w, "machine: %s, %d cores, %s\n", r.Machine.CPU, r.Machine.Cores, r.Date)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	snap := slices.ContainsFunc(r.Index, func(x IndexRun) bool { return x.SnapshotBytesPerDoc > 0 })
	segs := slices.ContainsFunc(r.Index, func(x IndexRun) bool { return x.Segments > 0 })
	head := "\nthreads\tdocs\tseconds\tdocs/s\tbytes/doc (" + r.Size + ")\t"
	if snap {
		head += "snapshot bytes/doc\t"
	}
	if segs {
		head += "segments\t"
	}
	fmt.Fprintln(tw, head)
	for _, x := range r.Index {
		fmt.Fprintf(tw, "%d\t%d\t%.2f\t%.0f\t%.0f\t", x.Threads, x.Docs, x.Seconds, x.DocsPerSec, x.BytesPerDoc)
		if snap {
			fmt.Fprintf(tw, "%.0f\t", x.SnapshotBytesPerDoc)
		}
		if segs {
			fmt.Fprintf(tw, "%d\t", x.Segments)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw, "\nclass\tsearches\tp50 µs\tp99 µs\tmean µs\thit rate\thits/search\t")
	for _, c := range r.Queries {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.3f\t%.2f\t\n", c.Class, c.Queries, c.P50us, c.P99us, c.MeanUs, c.HitRate, c.MeanHits)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return nil
}

// WriteJSON writes the whole report, indented.
func (r *Report) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

// Save writes the report as JSON to path, crash-safely.
func (r *Report) Save(path string) error {
	return atomicfile.Write(path, 0o644, r.WriteJSON)
}
