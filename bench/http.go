package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"rosetta/api"
	"rosetta/client"
	"rosetta/internal/vecgen"
)

// HTTPOptions configure `rosetta bench http`: a load test of a running
// server over HTTP (loopback), never an in-process shortcut.
type HTTPOptions struct {
	Server     string // base URL, e.g. http://127.0.0.1:7700
	APIKey     string
	Collection string
	N, Dim     int // vectors loaded before the timed phase
	Batch      int // objects per upsert while loading
	Clients    int
	Duration   time.Duration
	WriteFrac  float64 // fraction of timed operations that are upserts
	WriteBatch int     // objects per timed upsert (default 1)
	// Writers are extra clients that only upsert (WriteBatch objects at a
	// time) during the timed phase, beside the Clients mixing by WriteFrac:
	// with WriteFrac 0 they measure searches while batches are written.
	Writers int
	// Reuse keeps a collection that already holds N objects of dimension
	// Dim instead of dropping and reloading it (several timed phases on one
	// load).
	Reuse bool
	K, Ef int
	Seed  uint64
	Log   io.Writer
}

// HTTPReport is what one run measured.
type HTTPReport struct {
	Date        string  `json:"date"`
	N           int     `json:"n"`
	Dim         int     `json:"dim"`
	LoadSeconds float64 `json:"load_seconds"`
	LoadPerSec  float64 `json:"load_objects_per_sec"`
	Clients     int     `json:"clients"`
	Seconds     float64 `json:"seconds"`
	Searches    int     `json:"searches"`
	Upserts     int     `json:"upserts"`
	Errors      int     `json:"errors"`
	QPS         float64 `json:"qps"`
	SearchP50ms float64 `json:"search_p50_ms"`
	SearchP99ms float64 `json:"search_p99_ms"`
	SearchMaxms float64 `json:"search_max_ms"`
	UpsertP50ms float64 `json:"upsert_p50_ms"`
	UpsertP99ms float64 `json:"upsert_p99_ms"`
	UpsertMaxms float64 `json:"upsert_max_ms"`
	Writers     int     `json:"writers"`
	WriteBatch  int     `json:"write_batch"`
	WriteFrac   float64 `json:"write_frac"`
	FirstError  string  `json:"first_error,omitempty"`
}

// RunHTTP loads o.N clustered vectors into a fresh collection, then runs
// o.Clients concurrent clients mixing searches and upserts for o.Duration.
func RunHTTP(ctx context.Context, o HTTPOptions) (*HTTPReport, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: o.Clients * 2, MaxConnsPerHost: o.Clients * 2}
	cl := client.New(o.Server, o.APIKey, &http.Client{Transport: tr, Timeout: 60 * time.Second})
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", args...)
		}
	}
	set := vecgen.Clustered(o.N, 1000, o.Dim, 100, 0.05, o.Seed)
	reused := false
	if o.Reuse {
		if c, err := cl.Collection(ctx, o.Collection); err == nil && c.Count == o.N && len(c.Spaces) == 1 && c.Spaces[0].Dim == o.Dim {
			reused = true
		}
	}
	if !reused {
		_ = cl.DropCollection(ctx, o.Collection)
		if _, err := cl.CreateCollection(ctx, api.CreateCollectionRequest{Name: o.Collection, Spaces: []api.Space{{Name: "v", Dim: o.Dim}}}); err != nil {
			return nil, err
		}
	}
	o.WriteBatch = max(o.WriteBatch, 1)
	rep := &HTTPReport{Date: time.Now().Format("2006-01-02"), N: o.N, Dim: o.Dim, Clients: o.Clients,
		Writers: o.Writers, WriteBatch: o.WriteBatch, WriteFrac: o.WriteFrac}
	// Load with Clients concurrent batches.
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	var loadErr error
	var once sync.Once
	if reused {
		next.Store(int64(o.N)) // loaded already
		logf("reusing collection %s (%d × %d)", o.Collection, o.N, o.Dim)
	}
	for c := 0; c < o.Clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(int64(o.Batch))) - o.Batch
				if lo >= o.N || ctx.Err() != nil {
					return
				}
				hi := min(o.N, lo+o.Batch)
				objs := make([]api.Object, 0, hi-lo)
				for i := lo; i < hi; i++ {
					objs = append(objs, api.Object{ID: uint64(i + 1), Metadata: map[string]any{"g": float64(i % 10)},
						Vectors: map[string][]float32{"v": vecgen.Row(set.Base, o.Dim, i)}})
				}
				if _, err := cl.Upsert(ctx, o.Collection, objs); err != nil {
					once.Do(func() { loadErr = err })
					return
				}
				if lo%(o.Batch*40) == 0 {
					logf("loaded %d/%d", hi, o.N)
				}
			}
		}()
	}
	wg.Wait()
	if loadErr != nil {
		return nil, loadErr
	}
	rep.LoadSeconds = time.Since(start).Seconds()
	rep.LoadPerSec = float64(o.N) / rep.LoadSeconds
	logf("loaded %d vectors in %.1fs (%.0f/s); running %d clients for %v", o.N, rep.LoadSeconds, rep.LoadPerSec, o.Clients, o.Duration)

	// Timed mixed phase.
	tctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var mu sync.Mutex
	var searchLat, upsertLat []time.Duration
	var errs atomic.Int64
	var firstErr atomic.Value
	t0 := time.Now()
	for c := 0; c < o.Clients+o.Writers; c++ {
		wg.Add(1)
		seed := o.Seed + uint64(c) + 1
		writer := c >= o.Clients
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 9))
			var sl, ul []time.Duration
			for tctx.Err() == nil {
				var err error
				s0 := time.Now()
				write := writer || r.Float64() < o.WriteFrac
				if write {
					// WriteBatch distinct existing ids, new vectors.
					first := r.IntN(o.N)
					objs := make([]api.Object, o.WriteBatch)
					for j := range objs {
						objs[j] = api.Object{ID: uint64((first+j)%o.N + 1), Metadata: map[string]any{"g": float64(r.IntN(10))},
							Vectors: map[string][]float32{"v": vecgen.Row(set.Base, o.Dim, r.IntN(o.N))}}
					}
					_, err = cl.Upsert(tctx, o.Collection, objs)
				} else {
					_, err = cl.Search(tctx, o.Collection, api.SearchRequest{Query: api.Query{Vector: vecgen.Row(set.Queries, o.Dim, r.IntN(set.NQueries()))}, K: o.K, Ef: o.Ef})
				}
				d := time.Since(s0)
				if err != nil {
					if tctx.Err() != nil {
						break // the deadline cut this request, not the server
					}
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				if write {
					ul = append(ul, d)
				} else {
					sl = append(sl, d)
				}
			}
			mu.Lock()
			searchLat = append(searchLat, sl...)
			upsertLat = append(upsertLat, ul...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	rep.Seconds = time.Since(t0).Seconds()
	rep.Searches, rep.Upserts, rep.Errors = len(searchLat), len(upsertLat), int(errs.Load())
	if fe, ok := firstErr.Load().(string); ok {
		rep.FirstError = fe
	}
	rep.QPS = float64(rep.Searches+rep.Upserts) / rep.Seconds
	rep.SearchP50ms, rep.SearchP99ms, rep.SearchMaxms = pctMs(searchLat, 0.5), pctMs(searchLat, 0.99), pctMs(searchLat, 1)
	rep.UpsertP50ms, rep.UpsertP99ms, rep.UpsertMaxms = pctMs(upsertLat, 0.5), pctMs(upsertLat, 0.99), pctMs(upsertLat, 1)
	return rep, nil
}

func pctMs(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
}

// WriteText prints the report for a terminal.
func (r *HTTPReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "loaded %d × %d vectors in %.1fs (%.0f objects/s)\n", r.N, r.Dim, r.LoadSeconds, r.LoadPerSec)
	fmt.Fprintf(w, "%d clients (write fraction %.2f) + %d writers, %d objects per upsert, for %.1fs: %.0f requests/s (%d searches, %d upserts), %d errors\n",
		r.Clients, r.WriteFrac, r.Writers, r.WriteBatch, r.Seconds, r.QPS, r.Searches, r.Upserts, r.Errors)
	fmt.Fprintf(w, "search p50 %.2f ms, p99 %.2f ms, max %.2f ms; upsert p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		r.SearchP50ms, r.SearchP99ms, r.SearchMaxms, r.UpsertP50ms, r.UpsertP99ms, r.UpsertMaxms)
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error: %s\n", r.FirstError)
	}
}
