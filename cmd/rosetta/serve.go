package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"rosetta/cluster"
	"rosetta/encoders"
	"rosetta/engine"
	"rosetta/httpapi"
	"rosetta/models"
	"rosetta/store"
)

func newServeCmd() *cobra.Command {
	var dataDir, addr, apiKey, apiKeyFile, logLevel, modelsDir, metricsAddr, metricsToken, precision string
	var corsOrigins []string
	var snapshotEvery time.Duration
	var mediaRoots []string
	var thumbCacheMB int
	var publicMetrics bool
	lim := engine.DefaultLimits()
	var maxImageMpx, decodeMpx float64
	var diskReserveMB, cacheMB int64
	var batchWait time.Duration
	var batchMax int
	var cf clusterFlags
	cmd := &cobra.Command{
		Use:   "serve --data DIR [--addr 127.0.0.1:7700]",
		Short: "Run the Rosetta server over a data directory",
		Long: `Opens the data directory (Pebble store + index snapshots; created if missing) and
serves the REST API (/v1/collections, objects, search, /healthz, /readyz, /metrics,
/openapi.json) and a search page for the browser at /. Indexes load in the background; /readyz reports 503 until they are
ready. SIGINT/SIGTERM stop accepting connections, drain requests, snapshot the
indexes and close the store. One process owns a data directory.

It listens on 127.0.0.1:7700 by default: only this machine can connect. To expose it,
bind another address (--addr 0.0.0.0:7700, or one interface's address), set an API key,
and put TLS in front (a reverse proxy such as Caddy or nginx): the server speaks plain HTTP.

With an API key every route but /healthz and the page's own files
needs "Authorization: Bearer <key>" — /metrics too, unless --public-metrics; a scraper
can instead get --metrics-token (opens /metrics alone) or its own listener,
--metrics-addr (serves /metrics alone, without a key: bind it to a private address).
The page asks for the key once and keeps it in the tab. Give the key in a file
(--api-key-file, e.g. mode 0600; surrounding white space is trimmed) or in $ROSETTA_API_KEY:
--api-key works too, but a command line is visible to every user of the machine (ps).

Every request is logged at info level (method, route, status, duration, bytes,
request_id); --log-level warn hides the access log.

--cors-origin lets pages on other origins call the API from a browser (repeatable;
* for any). They send the key in the Authorization header; cookies are never
allowed cross-origin. Off by default.

Every request is bounded: an image over --max-image-mpx megapixels or a request with more
than --max-audio-seconds of audio is refused (413); the server decodes at most
--decode-mpx megapixels and encodes --encodes forward passes at once, and a request that
finds no room within --queue-wait gets 429 with Retry-After. Writes are refused (507)
while the disk has less than --disk-reserve-mb free; they resume once space is freed.

Concurrent small encodes (a search's text or image, an upsert of a few objects) of one
model share a forward pass: while an encode of that model and medium is running, the
next ones gather for up to --encode-batch-wait (2ms) or until --encode-batch-max inputs
(default: the model's preferred batch, 8 images or 16 texts for CLIP), then run as one
call, each request getting its own vectors, bit for bit those of an encode alone. An
encode that finds none running never waits. --encode-batch-wait 0 turns this off.

The page shows thumbnails and plays audio from the objects' source files. A file is
served only if, with symbolic links resolved, it lies under a folder that
'rosetta ingest --data' recorded for the collection or that --media-root names;
objects written through the API with other sources get 403, never the file.

A space may name a model ({"name": "clip", "model": "openai/clip-vit-base-patch32"}):
its dimension then comes from the model, objects can carry "content": {"text": ...} or
{"image": base64} to be encoded on write, and searches can query by text or image.
Models are directories: a path, or a name under --models.

With --cluster NAME the server is a node of a cluster (docs/cluster.md): it embeds a
NATS JetStream server (client port --nats-listen, route port --nats-cluster-listen,
routed to the other nodes' --nats-peers) or joins an external NATS cluster (--nats-url,
checked through --nats-monitor to sync every write). Collections are then sharded
("shards") and replicated ("replicas") over the nodes; every node answers the whole API,
and GET /v1/cluster shows the nodes and shard maps. --role encoder makes a worker that
pulls 'rosetta ingest --cluster' work, encodes it with its models and writes it.`,
		Example: `  rosetta serve --data ./data --addr 127.0.0.1:7700    # then open http://127.0.0.1:7700/
  rosetta serve --data ./data --media-root /srv/photos
  rosetta serve --data ./n1 --addr 10.0.0.1:7700 --cluster prod --node n1 \
      --nats-listen 10.0.0.1:4222 --nats-cluster-listen 10.0.0.1:6222 --nats-peers 10.0.0.2:6222,10.0.0.3:6222`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := encoders.CheckPrecision(precision); err != nil {
				return fmt.Errorf("--precision: %w", err)
			}
			key, err := serverAPIKey(apiKey, apiKeyFile, cmd.Flags().Changed("api-key"))
			if err != nil {
				return err
			}
			apiKey = key
			for _, o := range corsOrigins {
				if err := httpapi.CheckCORSOrigin(o); err != nil {
					return fmt.Errorf("--cors-origin: %w", err)
				}
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			roots := make([]string, len(mediaRoots))
			for i, r := range mediaRoots {
				a, err := filepath.Abs(r)
				if err != nil {
					return fmt.Errorf("--media-root %s: %w", r, err)
				}
				if fi, err := os.Stat(a); err != nil || !fi.IsDir() {
					return fmt.Errorf("--media-root %s is not a directory", r)
				}
				roots[i] = a
			}
			lim.MaxImagePixels, lim.DecodePixels = int64(maxImageMpx*1e6), int64(decodeMpx*1e6)
			if batchWait < 0 || batchMax < 0 {
				return errors.New("--encode-batch-wait and --encode-batch-max cannot be negative")
			}
			if batchWait == 0 {
				batchWait = -1 // the engine's "off"
			}
			// A cluster node's engine holds only its shard replicas, under
			// DIR/cluster: never a single server's collections in DIR.
			engineDir := dataDir
			if cf.name != "" {
				engineDir = filepath.Join(dataDir, "cluster")
			}
			e, err := engine.Open(engine.Options{Dir: engineDir, Logger: log, SnapshotEvery: snapshotEvery,
				LoadModel:        serverModelLoader(modelsDir),
				LoadTranscriber:  serverTranscriberLoader(modelsDir),
				CheckModelName:   func(name string) error { return models.CheckServerName(modelsDir, name) },
				DefaultPrecision: precision,
				MediaRoots:       roots, Limits: lim, EncodeBatchWait: batchWait, EncodeBatchMax: batchMax,
				Store: store.Options{DiskReserveBytes: diskReserveMB << 20, CacheBytes: cacheMB << 20}})
			if err != nil {
				return err
			}
			var api httpapi.Engine = e
			var node *cluster.Node
			var cc *clusterConn
			closeAll := func() error {
				if node != nil {
					node.Close()
				}
				err := e.Close()
				if cc != nil {
					cc.close()
				}
				return err
			}
			if cf.name != "" {
				if cf.node == "" {
					if cf.node, err = os.Hostname(); err != nil {
						e.Close()
						return fmt.Errorf("--node: %w", err)
					}
				}
				if cc, err = cf.connect(cmd.Context(), dataDir, true, log); err != nil {
					e.Close()
					return err
				}
				ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
				node, err = cluster.Open(ctx, cf.config(e, cc.nc, addr, log))
				cancel()
				if err != nil {
					closeAll()
					return err
				}
				api = node
				log.Info("joined the cluster", "cluster", cf.name, "node", cf.node, "role", cf.role)
			} else if cmd.Flags().Changed("role") || cf.natsURL != "" || cf.natsClusterListen != "" || len(cf.natsPeers) > 0 || cmd.Flags().Changed("node") {
				e.Close()
				return errors.New("--node, --role and the --nats-* flags need --cluster NAME")
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				closeAll()
				return err
			}
			thumbBytes := thumbCacheMB << 20
			if thumbCacheMB <= 0 {
				thumbBytes = -1
			}
			reg := prometheus.NewRegistry()
			srv := httpapi.NewServer(addr, httpapi.New(api, httpapi.Options{APIKey: apiKey, Logger: log, Registry: reg,
				ThumbnailCacheBytes: thumbBytes, PublicMetrics: publicMetrics, MetricsToken: metricsToken,
				CORSOrigins: corsOrigins}))
			if metricsAddr != "" {
				mln, err := net.Listen("tcp", metricsAddr)
				if err != nil {
					closeAll()
					return fmt.Errorf("--metrics-addr: %w", err)
				}
				mux := http.NewServeMux()
				mux.Handle("GET /metrics", httpapi.MetricsHandler(reg, log))
				msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
				go msrv.Serve(mln)
				defer msrv.Close()
				log.Info("serving metrics", "addr", mln.Addr().String())
			}
			log.Info("serving", "addr", ln.Addr().String(), "page", "http://"+ln.Addr().String()+"/", "data", dataDir, "auth", apiKey != "")
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				closeAll()
				return err
			case <-cmd.Context().Done():
			}
			log.Info("shutting down: draining requests")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("shutdown", "err", err)
			}
			log.Info("snapshotting indexes and closing the store")
			return closeAll()
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data", "", "data directory (required)")
	f.StringVar(&addr, "addr", "127.0.0.1:7700", "listen address (0.0.0.0:7700 for every interface: set a key, put TLS in front)")
	f.StringVar(&apiKey, "api-key", "", "require this bearer token; visible in ps, prefer --api-key-file or $ROSETTA_API_KEY")
	f.StringVar(&apiKeyFile, "api-key-file", "", "require the bearer token in this file (white space trimmed)")
	f.StringArrayVar(&corsOrigins, "cors-origin", nil, "let pages on this origin (https://host[:port], or *) call the API from a browser (repeatable)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&modelsDir, "models", defaultModelsDir(), "models directory, for spaces that name a model (also $ROSETTA_MODELS)")
	f.StringVar(&precision, "precision", "float32", "weights of the models of spaces that do not name a precision: float32 or int8 (see the README)")
	f.DurationVar(&snapshotEvery, "snapshot-every", 5*time.Minute, "how often to snapshot the indexes (negative: only on shutdown)")
	f.StringArrayVar(&mediaRoots, "media-root", nil, "also serve objects' source files under this folder (repeatable)")
	f.IntVar(&thumbCacheMB, "thumbnail-cache-mb", 64, "memory for cached thumbnails (0 disables the cache)")
	f.BoolVar(&publicMetrics, "public-metrics", false, "serve /metrics without the API key")
	f.StringVar(&metricsToken, "metrics-token", os.Getenv("ROSETTA_METRICS_TOKEN"), "a bearer token that opens /metrics alone (default $ROSETTA_METRICS_TOKEN)")
	f.StringVar(&metricsAddr, "metrics-addr", "", "also serve /metrics, without a key, on this address (e.g. a private interface)")
	f.Float64Var(&maxImageMpx, "max-image-mpx", float64(lim.MaxImagePixels)/1e6, "largest image accepted, in megapixels (declared size)")
	f.Float64Var(&decodeMpx, "decode-mpx", float64(lim.DecodePixels)/1e6, "decoded image megapixels in memory at once, server-wide")
	f.Float64Var(&lim.MaxAudioSeconds, "max-audio-seconds", lim.MaxAudioSeconds, "most audio one request may carry, in seconds")
	f.Float64Var(&lim.AudioSeconds, "audio-seconds", lim.AudioSeconds, "audio seconds being encoded at once, server-wide")
	f.IntVar(&lim.Encodes, "encodes", lim.Encodes, "model forward passes at once, server-wide")
	f.DurationVar(&lim.QueueWait, "queue-wait", lim.QueueWait, "how long a request waits for room before 429")
	f.DurationVar(&batchWait, "encode-batch-wait", engine.DefaultEncodeBatchWait, "how long a small encode waits for others of its model to share a forward pass, when one is running (0: no batching across requests)")
	f.IntVar(&batchMax, "encode-batch-max", 0, "most inputs one batched forward pass takes (0: the model's preferred batch, else 8)")
	f.Int64Var(&cacheMB, "cache-mb", store.DefaultCacheBytes>>20, "Pebble block cache for records and vectors, MiB")
	f.Int64Var(&diskReserveMB, "disk-reserve-mb", 0, "refuse writes while the data directory's disk has less than this free (0: the store's default)")
	cf.add(cmd)
	cmd.MarkFlagRequired("data")
	return cmd
}

// serverAPIKey picks the server's API key: --api-key-file, else --api-key,
// else $ROSETTA_API_KEY; giving both flags is an error, and so is a file
// that holds no key (a server meant to be locked must not start open).
func serverAPIKey(flagKey, file string, flagSet bool) (string, error) {
	switch {
	case file != "" && flagSet:
		return "", errors.New("--api-key and --api-key-file: give one")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--api-key-file: %w", err)
		}
		key := strings.TrimSpace(string(b))
		if key == "" {
			return "", fmt.Errorf("--api-key-file %s is empty", file)
		}
		return key, nil
	case flagSet:
		if flagKey == "" {
			return "", errors.New("--api-key is empty")
		}
		return flagKey, nil
	}
	return strings.TrimSpace(os.Getenv("ROSETTA_API_KEY")), nil
}
