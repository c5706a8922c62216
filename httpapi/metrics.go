package httpapi

import (
	"errors"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"rosetta/engine"
)

// httpMetrics are the request metrics the observe middleware records.
type httpMetrics struct {
	requests *prometheus.CounterVec   // route, method, code
	duration *prometheus.HistogramVec // route, method, code
	inFlight prometheus.Gauge
	thumbs   *prometheus.CounterVec // result: hit, miss
}

// thumbnail counts a thumbnail served from the cache (hit) or made anew.
func (m *httpMetrics) thumbnail(hit bool) {
	if hit {
		m.thumbs.WithLabelValues("hit").Inc()
	} else {
		m.thumbs.WithLabelValues("miss").Inc()
	}
}

// durationBuckets span sub-millisecond cached lookups to minute-long
// encodes of large batches.
var durationBuckets = []float64{
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
}

// registerMetrics registers the request metrics, the engine's gauges and the
// Go and process collectors on reg and returns the request metrics.
// Collectors already on reg are reused; the engine collector is replaced, so
// that the registry reports the newest engine.
func registerMetrics(reg *prometheus.Registry, e Engine, log *slog.Logger) *httpMetrics {
	labels := []string{"route", "method", "code"}
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rosetta_http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code.",
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rosetta_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern, method and status code.",
			Buckets: durationBuckets,
		}, labels),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rosetta_http_requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
	}
	m.requests = registerOrReuse(reg, m.requests)
	m.duration = registerOrReuse(reg, m.duration)
	m.inFlight = registerOrReuse(reg, m.inFlight)
	m.thumbs = registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rosetta_thumbnails_total",
		Help: "Thumbnails served, by whether the in-memory cache held them (hit) or they were made (miss).",
	}, []string{"result"}))
	registerOrReuse(reg, collectors.NewGoCollector())
	registerOrReuse(reg, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	sc := newStatsCollector(e, log)
	if err := reg.Register(sc); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			panic(err) // our own descriptors are inconsistent: a bug here
		}
		reg.Unregister(are.ExistingCollector)
		reg.MustRegister(sc)
	}
	return m
}

// registerOrReuse registers c on reg, or returns the equal collector that is
// already registered.
func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(err) // a name clash with a different kind of metric: a wiring bug
}

// statsCollector turns Engine.Stats into gauges on every scrape.
type statsCollector struct {
	e           Engine
	log         *slog.Logger
	collections *prometheus.Desc
	objects     *prometheus.Desc
	indexNodes  *prometheus.Desc
	// Cumulative engine counters and Pebble figures.
	written, deleted, searches                  *prometheus.Desc
	disk, wal, memtable, l0, compactions, rdamp *prometheus.Desc
	// Robustness: vectors skipped at load, requests refused for budget,
	// store background errors, write stalls, disk-full refusals, health.
	skipped, busy, bgErrors, stalls, diskFull, storeHealthy *prometheus.Desc
	// Keyword index per collection: documents, terms, bytes, lag.
	textDocs, textTerms, textBytes, textLag *prometheus.Desc
	// Encoder calls per model and medium: inputs per call, calls that
	// batched several requests, batches redone request by request.
	encodeBatch, encodeBatched, encodeFallbacks *prometheus.Desc
}

var _ prometheus.Collector = (*statsCollector)(nil)

func newStatsCollector(e Engine, log *slog.Logger) *statsCollector {
	return &statsCollector{
		e:   e,
		log: log,
		collections: prometheus.NewDesc("rosetta_collections",
			"Collections in the database.", nil, nil),
		objects: prometheus.NewDesc("rosetta_collection_objects",
			"Live objects per collection.", []string{"collection"}, nil),
		indexNodes: prometheus.NewDesc("rosetta_index_nodes",
			"Index slots (live and tombstoned) per collection and vector space.",
			[]string{"collection", "space"}, nil),
		written:     prometheus.NewDesc("rosetta_objects_written_total", "Objects upserted since start.", nil, nil),
		deleted:     prometheus.NewDesc("rosetta_objects_deleted_total", "Objects deleted since start.", nil, nil),
		searches:    prometheus.NewDesc("rosetta_searches_total", "Searches run since start.", nil, nil),
		disk:        prometheus.NewDesc("rosetta_pebble_disk_bytes", "Disk space used by the Pebble store.", nil, nil),
		wal:         prometheus.NewDesc("rosetta_pebble_wal_bytes", "Size of Pebble's write-ahead log files.", nil, nil),
		memtable:    prometheus.NewDesc("rosetta_pebble_memtable_bytes", "Bytes in Pebble memtables.", nil, nil),
		l0:          prometheus.NewDesc("rosetta_pebble_l0_files", "SSTables in Pebble's level 0.", nil, nil),
		compactions: prometheus.NewDesc("rosetta_pebble_compactions_total", "Pebble compactions since open.", nil, nil),
		rdamp:       prometheus.NewDesc("rosetta_pebble_read_amplification", "Pebble read amplification.", nil, nil),
		skipped: prometheus.NewDesc("rosetta_index_skipped_vectors",
			"Stored vectors an index refused while loading (logged and left out), per collection and space.",
			[]string{"collection", "space"}, nil),
		busy:         prometheus.NewDesc("rosetta_busy_rejections_total", "Requests refused (429) because the decode/encode budget stayed full.", nil, nil),
		bgErrors:     prometheus.NewDesc("rosetta_store_background_errors_total", "Background errors Pebble reported (flushes, compactions).", nil, nil),
		stalls:       prometheus.NewDesc("rosetta_store_write_stalls_total", "Write stalls Pebble began.", nil, nil),
		diskFull:     prometheus.NewDesc("rosetta_store_disk_full_refusals_total", "Writes refused because the disk is (nearly) full.", nil, nil),
		storeHealthy: prometheus.NewDesc("rosetta_store_healthy", "1 while the store accepts writes, 0 while it refuses them.", nil, nil),
		textDocs:     prometheus.NewDesc("rosetta_text_index_documents", "Documents in a collection's keyword index.", []string{"collection"}, nil),
		textTerms:    prometheus.NewDesc("rosetta_text_index_terms", "Distinct (field, term) pairs in a collection's keyword index.", []string{"collection"}, nil),
		textBytes:    prometheus.NewDesc("rosetta_text_index_bytes", "Memory a collection's keyword index holds (estimated).", []string{"collection"}, nil),
		textLag: prometheus.NewDesc("rosetta_index_lag_changes",
			"Committed changes of a collection its indexes (vector and keyword) do not reflect yet.", []string{"collection"}, nil),
		encodeBatch: prometheus.NewDesc("rosetta_encode_batch_size",
			"Inputs per encoder call made for requests (queries, upserts), by model and medium; calls that batch several requests take more than one.",
			[]string{"model", "medium"}, nil),
		encodeBatched: prometheus.NewDesc("rosetta_encode_batched_calls_total",
			"Encoder calls that gathered the inputs of more than one request, by model and medium.", []string{"model", "medium"}, nil),
		encodeFallbacks: prometheus.NewDesc("rosetta_encode_batch_fallbacks_total",
			"Batched encoder calls that failed and were redone request by request, by model and medium.", []string{"model", "medium"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.collections
	ch <- c.objects
	ch <- c.indexNodes
	for _, d := range []*prometheus.Desc{c.written, c.deleted, c.searches, c.disk, c.wal, c.memtable, c.l0, c.compactions, c.rdamp,
		c.skipped, c.busy, c.bgErrors, c.stalls, c.diskFull, c.storeHealthy, c.textDocs, c.textTerms, c.textBytes, c.textLag,
		c.encodeBatch, c.encodeBatched, c.encodeFallbacks} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. The registry calls it on its own
// goroutine, out of reach of the HTTP recoverer, so it recovers a panic
// from the engine itself rather than let it end the process.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	defer func() {
		if rec := recover(); rec != nil {
			c.log.Error("engine stats panicked", slog.Any("panic", rec))
		}
	}()
	st := c.e.Stats()
	ch <- prometheus.MustNewConstMetric(c.collections, prometheus.GaugeValue, float64(st.Collections))
	for name, n := range st.Objects {
		ch <- prometheus.MustNewConstMetric(c.objects, prometheus.GaugeValue, float64(n), name)
	}
	for key, n := range st.IndexNodes {
		coll, space := splitIndexKey(key)
		ch <- prometheus.MustNewConstMetric(c.indexNodes, prometheus.GaugeValue, float64(n), coll, space)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter(c.written, float64(st.ObjectsWritten))
	counter(c.deleted, float64(st.ObjectsDeleted))
	counter(c.searches, float64(st.Searches))
	counter(c.compactions, float64(st.Compactions))
	gauge(c.disk, float64(st.DiskBytes))
	gauge(c.wal, float64(st.WALBytes))
	gauge(c.memtable, float64(st.MemtableBytes))
	gauge(c.l0, float64(st.L0Files))
	gauge(c.rdamp, float64(st.ReadAmp))
	for key, n := range st.SkippedVectors {
		coll, space := splitIndexKey(key)
		ch <- prometheus.MustNewConstMetric(c.skipped, prometheus.GaugeValue, float64(n), coll, space)
	}
	counter(c.busy, float64(st.Busy))
	counter(c.bgErrors, float64(st.BackgroundErrors))
	counter(c.stalls, float64(st.WriteStalls))
	counter(c.diskFull, float64(st.DiskFullRefusals))
	healthy := 0.0
	if st.StoreHealthy {
		healthy = 1
	}
	gauge(c.storeHealthy, healthy)
	for name, k := range st.Keyword {
		ch <- prometheus.MustNewConstMetric(c.textDocs, prometheus.GaugeValue, float64(k.Documents), name)
		ch <- prometheus.MustNewConstMetric(c.textTerms, prometheus.GaugeValue, float64(k.Terms), name)
		ch <- prometheus.MustNewConstMetric(c.textBytes, prometheus.GaugeValue, float64(k.Bytes), name)
	}
	for name, lag := range st.Lag {
		ch <- prometheus.MustNewConstMetric(c.textLag, prometheus.GaugeValue, float64(lag), name)
	}
	for _, b := range st.EncodeBatches {
		ch <- prometheus.MustNewConstHistogram(c.encodeBatch, b.Calls, float64(b.Inputs), batchBuckets(b.Sizes), b.Model, b.Medium)
		ch <- prometheus.MustNewConstMetric(c.encodeBatched, prometheus.CounterValue, float64(b.Batched), b.Model, b.Medium)
		ch <- prometheus.MustNewConstMetric(c.encodeFallbacks, prometheus.CounterValue, float64(b.Fallbacks), b.Model, b.Medium)
	}
}

// batchBuckets turns EncodeBatchStats.Sizes (a count per bucket of
// engine.EncodeBatchBuckets) into a Prometheus histogram's cumulative
// counts by upper bound.
func batchBuckets(sizes []uint64) map[float64]uint64 {
	out := make(map[float64]uint64, len(engine.EncodeBatchBuckets))
	var cum uint64
	for i, le := range engine.EncodeBatchBuckets {
		if i < len(sizes) {
			cum += sizes[i]
		}
		out[float64(le)] = cum
	}
	return out
}

// splitIndexKey splits an Engine.Stats IndexNodes key, "collection/space",
// into its parts. Collection names cannot contain '/'; a key without one is
// a collection with an unnamed space.
func splitIndexKey(key string) (collection, space string) {
	collection, space, _ = strings.Cut(key, "/")
	return collection, space
}
