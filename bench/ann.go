package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/RoaringBitmap/roaring/v2/roaring64"

	"rosetta/index"
	"rosetta/internal/vecgen"
	"rosetta/kernels"
)

// DataSpec says where the vectors come from: a synthetic generator
// ("clustered", "sphere", "crossmodal") or files ("files": Base, Queries and
// optionally GT in .fvecs/.bvecs/.npy and .ivecs/.npy).
type DataSpec struct {
	Kind     string
	N        int     // base vectors (synthetic)
	Queries  int     // queries (synthetic)
	Dim      int     // dimension (synthetic)
	Clusters int     // mixture components (clustered, crossmodal)
	Sigma    float64 // per-component noise (clustered, crossmodal)
	Shift    float64 // norm of the query offset (crossmodal)
	Seed     uint64
	Base     string // files
	Query    string // files
	GT       string // files, optional: computed when empty
}

// ANNOptions configures one `rosetta bench ann` run.
type ANNOptions struct {
	Data           DataSpec
	Metric         kernels.Metric
	K              int
	M              []int
	EfConstruction []int
	Storage        []StorageSpec
	Rescore        []int // re-scoring factors swept on int8 (none: the storage's default)
	RescoreRaBitQ  []int // the same for rabitq
	Ef             []int
	BuildThreads   []int   // each is a separate timed build; the last is searched
	Threads        int     // for all-thread QPS and ground truth
	MinSeconds     float64 // each timed search pass repeats the queries until this long
	Selectivities  []float64
	FilterEf       []int
	SwitchSizes    []int // allow-list sizes at which exact scan and graph are compared
	Brute          bool
	Coder          bool
	CoderMax       int      // coder/hnsw is slow to build; cap its base size (0 = all)
	Baselines      []string // peers run by the Python driver: hnswlib, faiss
	// Rounds > 1 re-times every single-thread pass (Rosetta's and the
	// peers', interleaved) after all indexes are built, and reports the
	// median: ratios measured that way survive this machine's drift.
	Rounds int
	Python string // interpreter that sees Debian's python3-hnswlib and python3-faiss
	Log    io.Writer
}

// StorageSpec is one graph storage under test: the vector storage and, for
// int8 and rabitq, where the full-precision vectors for re-scoring live
// ("int8" keeps them in memory as float16, "int8/store" reads them from a
// file, as the engine reads them from its store).
type StorageSpec struct {
	Storage   index.Storage
	Originals index.Originals
}

func (s StorageSpec) String() string {
	if s.Storage.Quantised() && s.Originals == index.OriginalsStore {
		return s.Storage.String() + "/store"
	}
	return s.Storage.String()
}

// ParseStorageSpec accepts what index.ParseStorage does, and "int8/store".
func ParseStorageSpec(v string) (StorageSpec, error) {
	st, org, _ := strings.Cut(v, "/")
	s, err := index.ParseStorage(st)
	if err != nil {
		return StorageSpec{}, err
	}
	o, err := index.ParseOriginals(org)
	if err != nil {
		return StorageSpec{}, err
	}
	if org != "" && !s.Quantised() {
		return StorageSpec{}, fmt.Errorf("bench: storage %q: only int8 and rabitq take /memory or /store", v)
	}
	return StorageSpec{Storage: s, Originals: o}, nil
}

// DefaultANNOptions is the run used for bench/RESULTS.md at a smaller size.
func DefaultANNOptions() ANNOptions {
	return ANNOptions{
		Data:           DataSpec{Kind: "clustered", N: 100_000, Queries: 1000, Dim: 512, Clusters: 100, Sigma: 0.05, Shift: 0.8, Seed: 1},
		Metric:         kernels.MetricCosine,
		K:              10,
		M:              []int{16},
		EfConstruction: []int{200},
		Storage:        []StorageSpec{{index.StorageFloat32, index.OriginalsMemory}, {index.StorageFloat16, index.OriginalsMemory}},
		Python:         "/usr/bin/python3",
		Ef:             []int{10, 16, 24, 32, 48, 64, 96, 128, 192, 256},
		BuildThreads:   []int{1, runtime.GOMAXPROCS(0)},
		Threads:        runtime.GOMAXPROCS(0),
		MinSeconds:     1,
		Selectivities:  []float64{0.5, 0.1, 0.01, 0.001},
		FilterEf:       []int{64, 128},
		Brute:          true,
		Coder:          true,
		CoderMax:       20_000,
	}
}

// BuildResult is one timed index build.
type BuildResult struct {
	Index          string  `json:"index"`
	Storage        string  `json:"storage"`
	M              int     `json:"m"`
	EfConstruction int     `json:"ef_construction"`
	Threads        int     `json:"threads"`
	N              int     `json:"n"`
	Seconds        float64 `json:"seconds"`
	InsertsPerSec  float64 `json:"inserts_per_sec"`
	BytesPerVector float64 `json:"bytes_per_vector"` // Go heap growth (0 for peers)
	// RSSBytesPerVector is the growth of the process's resident memory
	// over the build, per vector (after returning free memory to the OS).
	RSSBytesPerVector float64 `json:"rss_bytes_per_vector"`
}

// SearchRow is one point of a sweep.
type SearchRow struct {
	Index          string  `json:"index"`
	Storage        string  `json:"storage"`
	M              int     `json:"m"`
	EfConstruction int     `json:"ef_construction"`
	Ef             int     `json:"ef"`
	Param          string  `json:"param,omitempty"`   // what Ef holds when not ef (faiss IVF: nprobe)
	Rescore        int     `json:"rescore,omitempty"` // int8, rabitq: candidates re-scored per result
	Selectivity    float64 `json:"selectivity"`       // 1 = unfiltered
	AllowSize      int     `json:"allow_size"`
	Recall1        float64 `json:"recall_at_1"`
	Recall10       float64 `json:"recall_at_10"`
	Recall100      float64 `json:"recall_at_100"` // -1 when ef < 100
	QPS1           float64 `json:"qps_1_thread"`  // the median of QPS1Rounds when there are rounds
	// QPS1Rounds holds each round's single-thread QPS (--rounds).
	QPS1Rounds    []float64 `json:"qps_1_thread_rounds,omitempty"`
	QPSAll        float64   `json:"qps_all_threads"`
	P50us         float64   `json:"p50_us"`
	P95us         float64   `json:"p95_us"`
	P99us         float64   `json:"p99_us"`
	DistEvals     float64   `json:"distance_evals_per_query"` // -1: not exposed by the peer
	ExactFraction float64   `json:"exact_fraction"`
	// The build this index came from (the last timed one): inserts per
	// second and resident bytes per vector.
	BuildThreads           int     `json:"build_threads"`
	BuildInsertsPerSec     float64 `json:"build_inserts_per_sec"`
	ResidentBytesPerVector float64 `json:"resident_bytes_per_vector"`
}

// ANNReport is everything one run measured.
type ANNReport struct {
	Date      string        `json:"date"`
	Machine   Machine       `json:"machine"`
	Dataset   string        `json:"dataset"`
	N         int           `json:"n"`
	Queries   int           `json:"queries"`
	Dim       int           `json:"dim"`
	Metric    string        `json:"metric"`
	K         int           `json:"k"`
	GTSeconds float64       `json:"ground_truth_seconds"`
	Builds    []BuildResult `json:"builds"`
	Rows      []SearchRow   `json:"rows"`
	Notes     []string      `json:"notes,omitempty"`
}

// Machine identifies where a report was measured.
type Machine struct {
	CPU     string `json:"cpu"`
	Cores   int    `json:"cores"`
	Go      string `json:"go"`
	Kernels string `json:"kernels"`
}

func thisMachine() Machine {
	return Machine{CPU: cpuModel(), Cores: runtime.NumCPU(), Go: runtime.Version(), Kernels: kernels.Impl()}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// LoadData builds or reads the base and query sets and the name to report.
func LoadData(d DataSpec) (base, queries *Matrix, gt *IDMatrix, name string, err error) {
	var set *vecgen.Set
	switch d.Kind {
	case "clustered":
		set = vecgen.Clustered(d.N, d.Queries, d.Dim, d.Clusters, d.Sigma, d.Seed)
		name = fmt.Sprintf("clustered(%d clusters, sigma %.3g)", d.Clusters, d.Sigma)
	case "crossmodal":
		set = vecgen.CrossModal(d.N, d.Queries, d.Dim, d.Clusters, d.Sigma, d.Shift, d.Seed)
		name = fmt.Sprintf("crossmodal(%d clusters, sigma %.3g, query shift %.2g)", d.Clusters, d.Sigma, d.Shift)
	case "sphere":
		set = vecgen.Sphere(d.N, d.Queries, d.Dim, d.Seed)
		name = "sphere(uniform)"
	case "files":
		if d.Base == "" || d.Query == "" {
			return nil, nil, nil, "", errors.New("bench: --base and --queries are required for file datasets")
		}
		if base, err = ReadVectors(d.Base); err != nil {
			return nil, nil, nil, "", err
		}
		if queries, err = ReadVectors(d.Query); err != nil {
			return nil, nil, nil, "", err
		}
		if base.Dim != queries.Dim {
			return nil, nil, nil, "", fmt.Errorf("bench: base dimension %d != query dimension %d", base.Dim, queries.Dim)
		}
		if d.GT != "" {
			if gt, err = ReadIDs(d.GT); err != nil {
				return nil, nil, nil, "", err
			}
			if gt.Rows != queries.Rows {
				return nil, nil, nil, "", fmt.Errorf("bench: ground truth has %d rows for %d queries", gt.Rows, queries.Rows)
			}
		}
		return base, queries, gt, d.Base, nil
	default:
		return nil, nil, nil, "", fmt.Errorf("bench: unknown dataset %q (want clustered, crossmodal, sphere or files)", d.Kind)
	}
	base = &Matrix{Rows: set.NBase(), Dim: set.Dim, Data: set.Base}
	queries = &Matrix{Rows: set.NQueries(), Dim: set.Dim, Data: set.Queries}
	return base, queries, nil, name, nil
}

func (o *ANNOptions) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// searcher is what a sweep needs from an index under test.
type searcher interface {
	search(q []float32, k, ef int, allow *roaring64.Bitmap, st *index.SearchStats) ([]uint64, error)
}

type ourSearcher struct{ idx index.Index }

func (s ourSearcher) search(q []float32, k, ef int, allow *roaring64.Bitmap, st *index.SearchStats) ([]uint64, error) {
	res, err := s.idx.Search(q, index.SearchOptions{K: k, Ef: ef, Allow: allow, Stats: st})
	if err != nil {
		return nil, err
	}
	ids := make([]uint64, len(res))
	for i, r := range res {
		ids[i] = r.ID
	}
	return ids, nil
}

// RunANN runs the whole benchmark.
func RunANN(ctx context.Context, o ANNOptions) (*ANNReport, error) {
	if o.K <= 0 {
		return nil, errors.New("bench: k must be positive")
	}
	if o.Threads < 1 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	if len(o.BuildThreads) == 0 {
		o.BuildThreads = []int{o.Threads}
	}
	base, queries, fileGT, name, err := LoadData(o.Data)
	if err != nil {
		return nil, err
	}
	rep := &ANNReport{
		Date: time.Now().Format("2006-01-02"), Machine: thisMachine(), Dataset: name,
		N: base.Rows, Queries: queries.Rows, Dim: base.Dim, Metric: o.Metric.String(), K: o.K,
	}
	o.logf("dataset %s: %d base, %d queries, dim %d, metric %v", name, base.Rows, queries.Rows, base.Dim, o.Metric)
	pb := prepared(base, o.Metric)
	pq := prepared(queries, o.Metric)
	gtK := max(100, o.K)
	start := time.Now()
	var gt [][]uint64
	if fileGT != nil {
		gt = make([][]uint64, fileGT.Rows)
		for i := range gt {
			row := fileGT.Data[i*fileGT.Cols : (i+1)*fileGT.Cols]
			gt[i] = make([]uint64, len(row))
			for j, v := range row {
				gt[i][j] = uint64(v)
			}
		}
		rep.Notes = append(rep.Notes, "ground truth read from "+o.Data.GT)
	} else {
		gt = GroundTruth(pb, pq, base.Dim, o.Metric, gtK, o.Threads, nil)
		rep.GTSeconds = time.Since(start).Seconds()
		o.logf("ground truth (k=%d, %d threads): %.2fs", gtK, o.Threads, rep.GTSeconds)
	}

	if o.Brute {
		flat, err := index.NewFlat(base.Dim, o.Metric)
		if err != nil {
			return nil, err
		}
		for i := 0; i < base.Rows; i++ {
			if err := flat.Add(uint64(i), base.Data[i*base.Dim:(i+1)*base.Dim]); err != nil {
				return nil, fmt.Errorf("bench: base row %d: %w", i, err)
			}
		}
		row, err := o.sweepPoint(ctx, ourSearcher{flat}, queries, gt, o.K, nil)
		if err != nil {
			return nil, err
		}
		row.Index, row.Storage, row.Selectivity = "brute-force", "float32", 1
		rep.Rows = append(rep.Rows, row)
		o.logf("brute force: %.1f QPS (1 thread), %.1f QPS (%d threads)", row.QPS1, row.QPSAll, o.Threads)
	}

	if len(o.Storage) == 0 {
		o.Storage = []StorageSpec{{index.StorageFloat32, index.OriginalsMemory}}
	}
	filters := o.filterSets(pb, pq, base.Dim)
	// retime re-measures rows for the interleaved rounds.
	var retime []retimer
	keep := func(row SearchRow, fn func() (float64, error)) {
		rep.Rows = append(rep.Rows, row)
		retime = append(retime, retimer{len(rep.Rows) - 1, fn})
	}
	var src *fileSource
	defer func() {
		if src != nil {
			src.Close()
		}
	}()
	for _, st := range o.Storage {
		if st.Originals == index.OriginalsStore && src == nil {
			if src, err = newFileSource(base); err != nil {
				return nil, err
			}
		}
		for _, m := range o.M {
			for _, efc := range o.EfConstruction {
				var h *index.HNSW
				var last BuildResult
				for _, bt := range o.BuildThreads {
					h = nil
					heap0, rss0 := memNow()
					cfg := index.DefaultConfig(base.Dim)
					cfg.Metric, cfg.M, cfg.EfConstruction, cfg.Storage, cfg.Originals = o.Metric, m, efc, st.Storage, st.Originals
					cfg.CompactRatio = -1
					cfg.Capacity = base.Rows
					h, err = index.NewHNSW(cfg)
					if err != nil {
						return nil, err
					}
					if src != nil {
						h.SetVectorSource(src.Vector)
					}
					t0 := time.Now()
					if err := buildParallel(ctx, h, base, bt); err != nil {
						return nil, err
					}
					secs := time.Since(t0).Seconds()
					heap1, rss1 := memNow()
					b := BuildResult{Index: "rosetta-hnsw", Storage: st.String(), M: m, EfConstruction: efc, Threads: bt, N: base.Rows,
						Seconds: secs, InsertsPerSec: float64(base.Rows) / secs,
						BytesPerVector:    float64(heap1-heap0) / float64(base.Rows),
						RSSBytesPerVector: float64(rss1-rss0) / float64(base.Rows)}
					rep.Builds = append(rep.Builds, b)
					last = b
					o.logf("build %v M=%d efC=%d threads=%d: %.1fs, %.0f inserts/s, %.0f B/vector heap, %.0f B/vector RSS", st, m, efc, bt, secs, b.InsertsPerSec, b.BytesPerVector, b.RSSBytesPerVector)
				}
				rescores := []int{0}
				if h.Quantised() {
					rescores = o.Rescore
					if st.Storage == index.StorageRaBitQ {
						rescores = o.RescoreRaBitQ
					}
					if len(rescores) == 0 {
						rescores = []int{h.Config().Rescore} // the storage's default
					}
				}
				for _, rs := range rescores {
					if rs > 0 {
						h.SetRescore(rs)
					}
					label := func(r *SearchRow) {
						r.Storage, r.M, r.EfConstruction, r.Rescore = st.String(), m, efc, rs
						r.BuildThreads, r.BuildInsertsPerSec, r.ResidentBytesPerVector = last.Threads, last.InsertsPerSec, last.RSSBytesPerVector
					}
					for _, ef := range o.Ef {
						if ef < o.K {
							continue
						}
						row, err := o.sweepPoint(ctx, ourSearcher{h}, queries, gt, ef, nil)
						if err != nil {
							return nil, err
						}
						row.Index, row.Ef, row.Selectivity = "rosetta-hnsw", ef, 1
						label(&row)
						keep(row, o.retimeOurs(h, rs, queries, ef, nil))
						o.logf("  %s rescore=%d ef=%-4d recall@10 %.4f  QPS %8.0f (1t) %8.0f (%dt)  p50 %6.0fµs p99 %6.0fµs  evals %5.0f",
							st, rs, ef, row.Recall10, row.QPS1, row.QPSAll, o.Threads, row.P50us, row.P99us, row.DistEvals)
					}
					rows, err := o.filtered(ctx, h, filters, queries)
					if err != nil {
						return nil, err
					}
					for _, r := range rows {
						label(&r)
						var allow *roaring64.Bitmap
						for _, f := range filters {
							if f.sel == r.Selectivity {
								allow = f.allow
							}
						}
						keep(r, o.retimeOurs(h, rs, queries, r.Ef, allow))
					}
					srows, err := o.switchPoint(ctx, h, pb, queries)
					if err != nil {
						return nil, err
					}
					for _, r := range srows {
						label(&r)
						rep.Rows = append(rep.Rows, r)
					}
				}
			}
		}
	}

	if len(o.Baselines) > 0 {
		peers, err := o.runPeers(ctx, rep, pb, pq, base.Dim, gt, filters)
		if err != nil {
			return nil, err
		}
		defer peers.close()
		retime = append(retime, peers.retimers...)
	}
	if err := o.rounds(ctx, rep, retime); err != nil {
		return nil, err
	}

	if o.Coder {
		rows, b, note, err := o.coderBaseline(ctx, base, queries, pb, pq)
		if err != nil {
			return nil, err
		}
		rep.Builds = append(rep.Builds, b)
		rep.Rows = append(rep.Rows, rows...)
		if note != "" {
			rep.Notes = append(rep.Notes, note)
		}
	}
	return rep, nil
}

// buildParallel inserts every base row using `threads` goroutines.
func buildParallel(ctx context.Context, h index.Index, base *Matrix, threads int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= base.Rows {
					return
				}
				if i%1024 == 0 && ctx.Err() != nil {
					once.Do(func() { firstErr = ctx.Err() })
					return
				}
				if err := h.Add(uint64(i), base.Data[i*base.Dim:(i+1)*base.Dim]); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("bench: base row %d: %w", i, err) })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// sweepPoint measures one (index, ef, allow) point: recall from one pass,
// single-thread QPS and latency from repeated timed passes, all-thread QPS
// from concurrent passes.
func (o *ANNOptions) sweepPoint(ctx context.Context, s searcher, queries *Matrix, gt [][]uint64, ef int, allow *roaring64.Bitmap) (SearchRow, error) {
	var row SearchRow
	nq, dim := queries.Rows, queries.Dim
	q := func(i int) []float32 { return queries.Data[i*dim : (i+1)*dim] }
	// Recall pass (untimed), also counting distance evaluations.
	var r1, r10, r100 float64
	var evals, exact int
	for i := 0; i < nq; i++ {
		var st index.SearchStats
		ids, err := s.search(q(i), o.K, ef, allow, &st)
		if err != nil {
			return row, fmt.Errorf("bench: query %d: %w", i, err)
		}
		r1 += recall(ids, gt[i], 1)
		r10 += recall(ids, gt[i], o.K)
		evals += st.DistanceEvals
		if st.Exact {
			exact++
		}
	}
	row.Recall1, row.Recall10 = r1/float64(nq), r10/float64(nq)
	row.DistEvals = float64(evals) / float64(nq)
	row.ExactFraction = float64(exact) / float64(nq)
	row.Recall100 = -1
	if ef >= 100 && len(gt) > 0 && len(gt[0]) >= 100 {
		for i := 0; i < nq; i++ {
			ids, err := s.search(q(i), 100, ef, allow, nil)
			if err != nil {
				return row, err
			}
			r100 += recall(ids, gt[i], 100)
		}
		row.Recall100 = r100 / float64(nq)
	}
	if err := ctx.Err(); err != nil {
		return row, err
	}
	// Single thread: repeat the query set until MinSeconds have passed.
	qps, lat, err := o.timeOne(s, queries, ef, allow)
	if err != nil {
		return row, err
	}
	done := len(lat)
	row.QPS1 = qps
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds()) / 1e3
	}
	row.P50us, row.P95us, row.P99us = pct(0.50), pct(0.95), pct(0.99)
	// All threads.
	var next atomic.Int64
	var wg sync.WaitGroup
	total := int64(max(done, nq*o.Threads))
	t1 := time.Now()
	for w := 0; w < o.Threads; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= total {
					return
				}
				s.search(q(int(i%int64(nq))), o.K, ef, allow, nil)
			}
		}()
	}
	wg.Wait()
	row.QPSAll = float64(total) / time.Since(t1).Seconds()
	return row, ctx.Err()
}

// retimer re-measures one row's single-thread QPS.
type retimer struct {
	row int
	fn  func() (float64, error)
}

// retimeOurs times a Rosetta index at ef (and rescore, when set) again.
func (o *ANNOptions) retimeOurs(h *index.HNSW, rescore int, queries *Matrix, ef int, allow *roaring64.Bitmap) func() (float64, error) {
	return func() (float64, error) {
		if rescore > 0 {
			h.SetRescore(rescore)
		}
		qps, _, err := o.timeOne(ourSearcher{h}, queries, ef, allow)
		return qps, err
	}
}

// rounds re-times every row Rounds−1 more times after all indexes are
// built, each round in a new seeded random order of all rows (Rosetta's and
// the peers' mixed, so that a slow spell of the machine hits them alike),
// and sets each row's QPS to the median of its rounds.
func (o *ANNOptions) rounds(ctx context.Context, rep *ANNReport, rt []retimer) error {
	if o.Rounds <= 1 || len(rt) == 0 {
		return nil
	}
	order := slices.Clone(rt)
	shuffle := rand.New(rand.NewPCG(uint64(o.Rounds), 77))
	for _, r := range rt {
		rep.Rows[r.row].QPS1Rounds = []float64{rep.Rows[r.row].QPS1}
	}
	for round := 1; round < o.Rounds; round++ {
		shuffle.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		o.logf("round %d of %d: re-timing %d rows", round+1, o.Rounds, len(order))
		for _, r := range order {
			if err := ctx.Err(); err != nil {
				return err
			}
			q, err := r.fn()
			if err != nil {
				return err
			}
			rep.Rows[r.row].QPS1Rounds = append(rep.Rows[r.row].QPS1Rounds, q)
		}
	}
	for _, r := range rt {
		row := &rep.Rows[r.row]
		v := slices.Clone(row.QPS1Rounds)
		slices.Sort(v)
		row.QPS1 = v[len(v)/2]
		if len(v)%2 == 0 {
			row.QPS1 = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("single-thread QPS is the median of %d interleaved rounds (qps_1_thread_rounds)", o.Rounds))
	return nil
}

// filterSet is one selectivity's allow-list and its exact ground truth,
// shared by Rosetta's rows and the peers'.
type filterSet struct {
	sel   float64
	allow *roaring64.Bitmap
	gt    [][]uint64
}

// filterSets draws a random allow-list per selectivity (seeded, so every
// index in a run and every run sees the same lists) and computes its
// ground truth.
func (o *ANNOptions) filterSets(pb, pq []float32, dim int) []filterSet {
	n := len(pb) / dim
	var out []filterSet
	for si, sel := range o.Selectivities {
		r := rand.New(rand.NewPCG(uint64(si)+100, 7))
		allow := roaring64.New()
		for i := 0; i < n; i++ {
			if r.Float64() < sel {
				allow.Add(uint64(i))
			}
		}
		out = append(out, filterSet{sel, allow, GroundTruth(pb, pq, dim, o.Metric, o.K, o.Threads, allow)})
	}
	return out
}

// timeOne runs the query set on one goroutine, repeating it until
// MinSeconds have passed, and returns the QPS and each query's latency.
func (o *ANNOptions) timeOne(s searcher, queries *Matrix, ef int, allow *roaring64.Bitmap) (float64, []time.Duration, error) {
	nq, dim := queries.Rows, queries.Dim
	lat := make([]time.Duration, 0, nq)
	t0 := time.Now()
	for pass := 0; pass == 0 || time.Since(t0).Seconds() < o.MinSeconds; pass++ {
		for i := 0; i < nq; i++ {
			s0 := time.Now()
			if _, err := s.search(queries.Data[i*dim:(i+1)*dim], o.K, ef, allow, nil); err != nil {
				return 0, nil, err
			}
			lat = append(lat, time.Since(s0))
		}
	}
	return float64(len(lat)) / time.Since(t0).Seconds(), lat, nil
}

// filtered runs the filtered sweep: each filter set searched at each
// FilterEf.
func (o *ANNOptions) filtered(ctx context.Context, h *index.HNSW, filters []filterSet, queries *Matrix) ([]SearchRow, error) {
	var rows []SearchRow
	for _, f := range filters {
		for _, ef := range o.FilterEf {
			if ef < o.K {
				continue
			}
			row, err := o.sweepPoint(ctx, ourSearcher{h}, queries, f.gt, ef, f.allow)
			if err != nil {
				return nil, err
			}
			row.Index, row.Ef = "rosetta-hnsw", ef
			row.Selectivity, row.AllowSize = f.sel, int(f.allow.GetCardinality())
			rows = append(rows, row)
			o.logf("  filter %.3g (%d ids) ef=%d: recall@10 %.4f  QPS %8.0f  evals %6.0f  exact %.0f%%",
				f.sel, row.AllowSize, ef, row.Recall10, row.QPS1, row.DistEvals, 100*row.ExactFraction)
		}
	}
	return rows, nil
}

// switchPoint measures, for allow-lists of fixed sizes, the exact scan
// against the filtered graph traversal, which is how the default
// ExactScanMax was chosen. Rows are labelled "switch-exact"/"switch-graph".
func (o *ANNOptions) switchPoint(ctx context.Context, h *index.HNSW, pb []float32, queries *Matrix) ([]SearchRow, error) {
	n := len(pb) / queries.Dim
	if len(o.SwitchSizes) == 0 {
		return nil, nil
	}
	saved := h.Config().ExactScanMax
	defer h.SetExactScanMax(saved)
	pq := prepared(queries, o.Metric)
	var rows []SearchRow
	for si, size := range o.SwitchSizes {
		if size > n {
			continue
		}
		r := rand.New(rand.NewPCG(uint64(si)+900, 3))
		allow := roaring64.New()
		for _, i := range r.Perm(n)[:size] {
			allow.Add(uint64(i))
		}
		gt := GroundTruth(pb, pq, queries.Dim, o.Metric, o.K, o.Threads, allow)
		for _, mode := range []string{"exact", "graph"} {
			if mode == "exact" {
				h.SetExactScanMax(math.MaxInt32)
			} else {
				h.SetExactScanMax(0)
			}
			row, err := o.sweepPoint(ctx, ourSearcher{h}, queries, gt, 64, allow)
			if err != nil {
				return nil, err
			}
			row.Index, row.Ef = "switch-"+mode, 64
			row.Selectivity, row.AllowSize = float64(size)/float64(n), size
			rows = append(rows, row)
			o.logf("  switch %s with %d allowed: %.0f QPS, recall@10 %.4f", mode, size, row.QPS1, row.Recall10)
		}
	}
	return rows, nil
}

// sortRows orders a report for display.
func sortRows(rows []SearchRow) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Index != b.Index {
			return a.Index < b.Index
		}
		if a.Storage != b.Storage {
			return a.Storage > b.Storage // float32 first
		}
		if a.Rescore != b.Rescore {
			return a.Rescore < b.Rescore
		}
		if a.Selectivity != b.Selectivity {
			return a.Selectivity > b.Selectivity
		}
		return a.Ef < b.Ef
	})
}
