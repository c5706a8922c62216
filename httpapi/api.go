package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"rosetta/api"
	"rosetta/engine"
)

// Engine is what the API needs from the database. *engine.Engine implements
// it; tests use an in-memory fake. Implementations must be safe for
// concurrent use: the handler calls them from many goroutines at once. Every
// error they return should wrap one of the engine's sentinel errors
// (engine.ErrNotFound, ...); anything else is answered 500.
type Engine interface {
	CreateCollection(ctx context.Context, c engine.Collection) (engine.Collection, error)
	GetCollection(ctx context.Context, name string) (engine.Collection, error)
	ListCollections(ctx context.Context) ([]engine.Collection, error)
	DropCollection(ctx context.Context, name string) error
	// RebuildCollection rebuilds a collection's indexes from the store.
	RebuildCollection(ctx context.Context, name string) error
	Upsert(ctx context.Context, collection string, objs []engine.Object) ([]uint64, error) // returns the ids in input order
	GetObject(ctx context.Context, collection string, id uint64) (engine.Object, error)
	ListObjects(ctx context.Context, collection string, after uint64, limit int) ([]engine.Object, error)
	DeleteObject(ctx context.Context, collection string, id uint64) error
	// SearchPage runs a query and returns one page of hits.
	SearchPage(ctx context.Context, collection string, req engine.SearchRequest) (engine.Page, error)
	// Health is nil when the engine serves every collection and accepts
	// writes, else why not (for /readyz).
	Health() error
	Stats() engine.Stats
	// CollectionStats reports a collection's counts per modality, index
	// health and change counter (the browser page's overview).
	CollectionStats(ctx context.Context, name string) (engine.CollectionStats, error)
	// OpenSource opens an object's source file if the engine's file
	// policy lets the server read it (under a media root).
	OpenSource(ctx context.Context, collection string, id uint64) (*engine.Source, error)
	// OpenStill opens the still image that stands for an object (a
	// video's or a video frame's keyframe; else its source), under the
	// same policy: thumbnails show it.
	OpenStill(ctx context.Context, collection string, id uint64) (*engine.Source, error)
}

// Clustered is implemented by an Engine that is a cluster node
// (cluster.Node): GET /v1/cluster shows its status and an upsert answers
// with the log sequences of the write.
type Clustered interface {
	ClusterStatus() api.ClusterStatus
	UpsertSequences(ctx context.Context, collection string, objs []engine.Object) ([]uint64, map[string]uint64, error)
}

// DefaultMaxBodyBytes bounds a request body unless Options say otherwise.
const DefaultMaxBodyBytes = 32 << 20

// Options configure the handler that New returns. The zero value is usable:
// New fills the defaults.
type Options struct {
	// APIKey, when not empty, must be sent as "Authorization: Bearer <key>"
	// on every request except GET /healthz, the browser page's own files
	// and (with PublicMetrics) GET /metrics.
	APIKey string

	// MaxBodyBytes bounds a request body; a larger one is answered 413.
	// Zero or negative means DefaultMaxBodyBytes (32 MiB). An upsert of
	// engine.MaxBatch objects with large vectors in several spaces may need
	// more: 1000 objects × 1536 floats take about 18 MB of JSON per space.
	MaxBodyBytes int64

	// Logger receives one info-level access-log line per request, and panics and
	// internal errors at error level. Nil discards everything.
	Logger *slog.Logger

	// Registry receives the HTTP and engine metrics and the Go and process
	// collectors, and is what GET /metrics exposes. Nil means a new registry
	// private to this handler. Collectors that are already registered (for
	// example by an earlier New on the same registry) are reused, not
	// duplicated.
	Registry *prometheus.Registry

	// PublicMetrics exposes GET /metrics without the API key (for a
	// scraper without credentials on a trusted network). By default, with
	// an API key set, /metrics needs the key or MetricsToken.
	PublicMetrics bool

	// MetricsToken, when set, is a second bearer token that opens GET
	// /metrics alone, for a scraper that should not hold the API key.
	MetricsToken string

	// CORSOrigins are the origins ("https://app.example.com", or "*")
	// whose pages may call the API from a browser; empty, the default,
	// sends no CORS headers. See CheckCORSOrigin.
	CORSOrigins []string

	// ThumbnailCacheBytes bounds the in-memory thumbnail cache. Zero means
	// DefaultThumbnailCacheBytes (64 MiB); negative disables the cache.
	ThumbnailCacheBytes int
}

// DefaultOptions returns the options New uses for zero fields.
func DefaultOptions() Options {
	return Options{MaxBodyBytes: DefaultMaxBodyBytes}
}

// withDefaults returns a copy of o with every unset field filled.
func (o Options) withDefaults() Options {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ThumbnailCacheBytes == 0 {
		o.ThumbnailCacheBytes = DefaultThumbnailCacheBytes
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	return o
}

// api holds what the handlers share. It is immutable after newRouter.
type server struct {
	e       Engine
	opts    Options
	log     *slog.Logger
	metrics *httpMetrics
	openapi []byte // the marshalled OpenAPI document, served as is
	thumbs  *thumbCache
	// thumbSlots bounds the thumbnails being made at once (one per CPU).
	thumbSlots chan struct{}
}

// New returns the REST API over e as an http.Handler. The handler is safe
// for concurrent use when e is; it never closes e.
func New(e Engine, opts Options) http.Handler {
	return newRouter(e, opts)
}

// newRouter builds the chi router; tests walk its routes.
func newRouter(e Engine, opts Options) *chi.Mux {
	opts = opts.withDefaults()
	a := &server{
		e:          e,
		opts:       opts,
		log:        opts.Logger,
		metrics:    registerMetrics(opts.Registry, e, opts.Logger),
		openapi:    mustMarshalOpenAPI(),
		thumbs:     newThumbCache(max(opts.ThumbnailCacheBytes, 0)),
		thumbSlots: make(chan struct{}, runtime.GOMAXPROCS(0)),
	}

	r := chi.NewRouter()
	// The recoverer is outermost so that a panic anywhere below, including
	// in the other middleware, becomes a 500 JSON answer.
	// CORS answers preflights before authentication (browsers send them
	// without credentials); GetHead routes HEAD wherever GET is routed
	// (net/http drops the body).
	r.Use(a.recoverer, a.observe, a.cors, middleware.GetHead, a.authenticate)
	r.NotFound(a.notFound)
	r.MethodNotAllowed(a.methodNotAllowed(r))

	r.Get("/healthz", a.healthz)
	r.Get("/v1/version", a.version)
	r.Get("/v1/cluster", a.clusterStatus)
	r.Get("/readyz", a.readyz)
	r.Method(http.MethodGet, "/metrics", MetricsHandler(opts.Registry, opts.Logger))
	r.Get("/openapi.json", a.serveOpenAPI)

	r.Post("/v1/collections", a.createCollection)
	r.Get("/v1/collections", a.listCollections)
	r.Get("/v1/collections/{collection}", a.getCollection)
	r.Get("/v1/collections/{collection}/stats", a.collectionStats)
	r.Delete("/v1/collections/{collection}", a.dropCollection)
	r.Post("/v1/collections/{collection}/rebuild", a.rebuildCollection)

	r.Put("/v1/collections/{collection}/objects", a.upsertObjects)
	r.Get("/v1/collections/{collection}/objects", a.listObjects)
	r.Get("/v1/collections/{collection}/objects/{id}", a.getObject)
	r.Delete("/v1/collections/{collection}/objects/{id}", a.deleteObject)
	r.Get("/v1/collections/{collection}/objects/{id}/media", a.objectMedia)
	r.Get("/v1/collections/{collection}/objects/{id}/thumbnail", a.objectThumbnail)

	r.Post("/v1/collections/{collection}/search", a.search)

	r.Post("/v1/session/media", a.startMediaSession)
	r.Delete("/v1/session/media", a.endMediaSession)

	// The browser page: public, like /healthz, so that it can ask for the
	// API key; everything it shows comes from the routes above.
	r.Get("/", a.serveUIIndex)
	r.Handle("/ui/*", a.uiAssets())
	return r
}

// MetricsHandler serves the Prometheus exposition of reg: what GET
// /metrics answers, and what `rosetta serve --metrics-addr` serves on a
// listener of its own.
func MetricsHandler(reg *prometheus.Registry, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}))
}

// NewServer returns an *http.Server that serves h on addr with timeouts
// suited to a database API: ReadHeaderTimeout 10s, ReadTimeout 60s (large
// upsert bodies), WriteTimeout 120s (slow searches and model encodes),
// IdleTimeout 120s and MaxHeaderBytes 1 MiB.
//
// The caller owns the server's lifecycle. For a graceful shutdown, run
// ListenAndServe in a goroutine, wait for SIGINT or SIGTERM, then call
// Shutdown with a deadline: it stops accepting connections and waits for
// in-flight requests (every acknowledged write is already durable in the
// engine), after which the caller closes the engine:
//
//	srv := httpapi.NewServer(addr, httpapi.New(eng, opts))
//	errc := make(chan error, 1)
//	go func() { errc <- srv.ListenAndServe() }()
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	select {
//	case err := <-errc: // failed to listen
//		return err
//	case <-ctx.Done():
//	}
//	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
//	defer cancel()
//	err := srv.Shutdown(shutdownCtx) // then eng.Close()
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
	}
}
