package bench

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"rosetta/index"
)

// driverPy runs the peers (Debian's python3-hnswlib and python3-faiss) on
// the files the harness writes; see annpeers/driver.py.
//
//go:embed annpeers/driver.py
var driverPy []byte

// peerSpec is the driver's input (see driver.py).
type peerSpec struct {
	Base           string       `json:"base"`
	Queries        string       `json:"queries"`
	Metric         string       `json:"metric"`
	K              int          `json:"k"`
	M              int          `json:"m"`
	EfConstruction int          `json:"ef_construction"`
	Ef             []int        `json:"ef"`
	FilterEf       []int        `json:"filter_ef"`
	BuildThreads   []int        `json:"build_threads"`
	MinSeconds     float64      `json:"min_seconds"`
	Filters        []peerFilter `json:"filters"`
	Peers          []string     `json:"peers"`
}

type peerFilter struct {
	Selectivity float64 `json:"selectivity"`
	Allow       string  `json:"allow"`
}

// peerOutput is the driver's output.
type peerOutput struct {
	Builds []struct {
		Index             string  `json:"index"`
		Storage           string  `json:"storage"`
		Threads           int     `json:"threads"`
		Seconds           float64 `json:"seconds"`
		InsertsPerSec     float64 `json:"inserts_per_sec"`
		RSSBytesPerVector float64 `json:"rss_bytes_per_vector"`
	} `json:"builds"`
	Rows []struct {
		Index       string    `json:"index"`
		Storage     string    `json:"storage"`
		Param       string    `json:"param"`
		Value       int       `json:"value"`
		Selectivity float64   `json:"selectivity"`
		AllowSize   int       `json:"allow_size"`
		QPS1        float64   `json:"qps_1_thread"`
		Evals       float64   `json:"distance_evals_per_query"`
		IDs         [][]int64 `json:"ids"`
	} `json:"rows"`
	Notes []string `json:"notes"`
}

// knownPeers are the names --baseline takes.
var knownPeers = map[string]bool{"hnswlib": true, "faiss": true}

// CheckBaselines validates a --baseline list.
func CheckBaselines(names []string) error {
	for _, n := range names {
		if !knownPeers[n] {
			return fmt.Errorf("bench: unknown baseline %q (want hnswlib or faiss)", n)
		}
	}
	return nil
}

// peerRun is the driver, still running with its indexes built, and the
// retimers of its rows.
type peerRun struct {
	cmd      *exec.Cmd
	in       io.WriteCloser
	out      *bufio.Reader
	retimers []retimer
}

// time asks the driver to time its row n again.
func (p *peerRun) time(n int) (float64, error) {
	if _, err := fmt.Fprintf(p.in, "time %d\n", n); err != nil {
		return 0, fmt.Errorf("bench: baseline driver: %w", err)
	}
	line, err := p.out.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("bench: baseline driver: %w", err)
	}
	return strconv.ParseFloat(strings.TrimSpace(line), 64)
}

func (p *peerRun) close() {
	p.in.Close()
	p.cmd.Wait()
}

// runPeers writes the prepared base and queries (normalised for cosine,
// so that every side sees the same numbers) and the allow-lists to a
// temporary directory, runs the driver with the same M, efConstruction,
// ef values, build threads and timing rule, and adds the peers' builds and
// rows to rep, with recall computed here against the same ground truth.
func (o *ANNOptions) runPeers(ctx context.Context, rep *ANNReport, pb, pq []float32, dim int, gt [][]uint64, filters []filterSet) (*peerRun, error) {
	if err := CheckBaselines(o.Baselines); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rosetta-peers-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)
	write := func(name string, m *Matrix) (string, error) {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			return "", err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		if err := WriteFvecs(w, m); err != nil {
			f.Close()
			return "", err
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return "", err
		}
		return p, f.Close()
	}
	spec := peerSpec{Metric: "ip", K: o.K, Ef: o.Ef, FilterEf: o.FilterEf, BuildThreads: o.BuildThreads, MinSeconds: o.MinSeconds, Peers: o.Baselines}
	switch o.Metric.String() {
	case "l2":
		spec.Metric = "l2"
	case "cosine", "dot":
	default:
		return nil, fmt.Errorf("bench: metric %v has no peer equivalent", o.Metric)
	}
	spec.M, spec.EfConstruction = o.M[0], o.EfConstruction[0]
	if spec.Base, err = write("base.fvecs", &Matrix{Rows: len(pb) / dim, Dim: dim, Data: pb}); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if spec.Queries, err = write("queries.fvecs", &Matrix{Rows: len(pq) / dim, Dim: dim, Data: pq}); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	for i, f := range filters {
		p := filepath.Join(dir, "allow"+strconv.Itoa(i)+".u64")
		b := make([]byte, 0, 8*f.allow.GetCardinality())
		for it := f.allow.Iterator(); it.HasNext(); {
			b = binary.LittleEndian.AppendUint64(b, it.Next())
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		spec.Filters = append(spec.Filters, peerFilter{f.sel, p})
	}
	js, _ := json.Marshal(spec)
	specPath, driver := filepath.Join(dir, "spec.json"), filepath.Join(dir, "driver.py")
	if err := os.WriteFile(specPath, js, 0o644); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := os.WriteFile(driver, driverPy, 0o644); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	o.logf("baselines %s: running %s %s", strings.Join(o.Baselines, ","), o.Python, driver)
	cmd := exec.CommandContext(ctx, o.Python, driver, specPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if o.Log != nil {
		cmd.Stderr = io.MultiWriter(o.Log, &stderr)
	}
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: baseline driver (%s): %w", o.Python, err)
	}
	run := &peerRun{cmd: cmd, in: in, out: bufio.NewReaderSize(stdout, 1<<20)}
	first, rerr := run.out.ReadBytes('\n')
	var out peerOutput
	if rerr == nil {
		rerr = json.Unmarshal(first, &out)
	}
	if rerr != nil {
		run.close()
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(msg, "\n"); i >= 0 && strings.Contains(msg, "Error") {
			msg = msg[i+1:]
		}
		return nil, fmt.Errorf("bench: baseline driver (%s; Debian's python3-hnswlib and python3-faiss are needed, see --python): %v: %s", o.Python, rerr, msg)
	}
	lastBuild := map[string]BuildResult{}
	for _, b := range out.Builds {
		br := BuildResult{Index: b.Index, Storage: b.Storage, M: spec.M, EfConstruction: spec.EfConstruction, Threads: b.Threads,
			N: len(pb) / dim, Seconds: b.Seconds, InsertsPerSec: b.InsertsPerSec, RSSBytesPerVector: b.RSSBytesPerVector}
		rep.Builds = append(rep.Builds, br)
		lastBuild[b.Index] = br
	}
	for n, r := range out.Rows {
		truth := gt
		if r.Selectivity < 1 {
			truth = nil
			for _, f := range filters {
				if f.sel == r.Selectivity {
					truth = f.gt
				}
			}
		}
		if len(r.IDs) != len(truth) {
			run.close()
			return nil, fmt.Errorf("bench: baseline %s returned %d result lists for %d queries", r.Index, len(r.IDs), len(truth))
		}
		var r10, r1 float64
		for i, ids := range r.IDs {
			got := make([]uint64, 0, len(ids))
			for _, id := range ids {
				if id >= 0 {
					got = append(got, uint64(id))
				}
			}
			r1 += recall(got, truth[i], 1)
			r10 += recall(got, truth[i], o.K)
		}
		nq := float64(len(r.IDs))
		b := lastBuild[r.Index]
		row := SearchRow{Index: r.Index, Storage: r.Storage, M: spec.M, EfConstruction: spec.EfConstruction, Ef: r.Value,
			Selectivity: r.Selectivity, AllowSize: r.AllowSize, Recall1: r1 / nq, Recall10: r10 / nq, Recall100: -1,
			QPS1: r.QPS1, DistEvals: r.Evals, BuildThreads: b.Threads, BuildInsertsPerSec: b.InsertsPerSec, ResidentBytesPerVector: b.RSSBytesPerVector}
		if r.Param != "ef" {
			row.Param = r.Param
		}
		rep.Rows = append(rep.Rows, row)
		run.retimers = append(run.retimers, retimer{len(rep.Rows) - 1, func() (float64, error) { return run.time(n) }})
		o.logf("  %s %s=%d filter %.3g: recall@10 %.4f QPS %.0f", r.Index, r.Param, r.Value, r.Selectivity, row.Recall10, row.QPS1)
	}
	rep.Notes = append(rep.Notes, out.Notes...)
	rep.Notes = append(rep.Notes, "peers (hnswlib, faiss) are timed over the whole query set per call with one thread; Rosetta per query (its latency percentiles); peers report no percentiles")
	return run, nil
}

// memNow returns the Go heap in use and the process's resident memory,
// after a collection that returns free memory to the OS, so that a
// difference of two readings is what a build keeps.
func memNow() (heap, rss int64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc), residentBytes()
}

// residentBytes reads the resident set size from /proc/self/statm (0
// where there is none).
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// fileSource is the benchmark's stand-in for the engine's store: the base
// vectors in a file, read with pread for each re-scored candidate (so they
// are not resident in the process; the OS page cache holds them, as it
// holds Pebble's files).
type fileSource struct {
	f    *os.File
	dim  int
	path string
	pool sync.Pool
}

func newFileSource(base *Matrix) (*fileSource, error) {
	f, err := os.CreateTemp("", "rosetta-vectors-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var b [4]byte
	for _, x := range base.Data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		w.Write(b[:])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("bench: %w", err)
	}
	s := &fileSource{f: f, dim: base.Dim, path: f.Name()}
	s.pool.New = func() any { b := make([]byte, 4*base.Dim); return &b }
	return s, nil
}

// Vector implements index.VectorSource.
func (s *fileSource) Vector(id uint64, buf []float32) ([]float32, error) {
	bp := s.pool.Get().(*[]byte)
	defer s.pool.Put(bp)
	b := *bp
	if _, err := s.f.ReadAt(b, int64(id)*int64(len(b))); err != nil {
		return nil, err
	}
	if cap(buf) < s.dim {
		buf = make([]float32, s.dim)
	}
	buf = buf[:s.dim]
	for i := range buf {
		buf[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return buf, nil
}

// Close removes the file.
func (s *fileSource) Close() error {
	return errors.Join(s.f.Close(), os.Remove(s.path))
}

var _ index.VectorSource = (*fileSource)(nil).Vector
