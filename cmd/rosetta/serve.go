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
	"time"

	"github.com/spf13/cobra"

	"rosetta/engine"
	"rosetta/httpapi"
)

func newServeCmd() *cobra.Command {
	var dataDir, addr, apiKey, logLevel, modelsDir string
	var snapshotEvery time.Duration
	var mediaRoots []string
	var thumbCacheMB int
	cmd := &cobra.Command{
		Use:   "serve --data DIR [--addr :7700]",
		Short: "Run the Rosetta server over a data directory",
		Long: `Opens the data directory (Pebble store + index snapshots; created if missing) and
serves the REST API (/v1/collections, objects, search, /healthz, /readyz, /metrics,
/openapi.json) and a search page for the browser at /. Indexes load in the background; /readyz reports 503 until they are
ready. SIGINT/SIGTERM stop accepting connections, drain requests, snapshot the
indexes and close the store. One process owns a data directory.

With --api-key (or ROSETTA_API_KEY) every route but /healthz and /metrics needs
"Authorization: Bearer <key>"; the page asks for it once and keeps it in the tab.

The page shows thumbnails and plays audio from the objects' source files. A file is
served only if, with symbolic links resolved, it lies under a folder that
'rosetta ingest --data' recorded for the collection or that --media-root names;
objects written through the API with other sources get 403, never the file.

A space may name a model ({"name": "clip", "model": "openai/clip-vit-base-patch32"}):
its dimension then comes from the model, objects can carry "content": {"text": ...} or
{"image": base64} to be encoded on write, and searches can query by text or image.
Models are directories: a path, or a name under --models.`,
		Example: `  rosetta serve --data ./data --addr 127.0.0.1:7700    # then open http://127.0.0.1:7700/
  rosetta serve --data ./data --media-root /srv/photos`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if apiKey == "" {
				apiKey = os.Getenv("ROSETTA_API_KEY")
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			e, err := engine.Open(engine.Options{Dir: dataDir, Logger: log, SnapshotEvery: snapshotEvery, LoadModel: modelLoader(modelsDir)})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				e.Close()
				return err
			}
			roots := make([]string, len(mediaRoots))
			for i, r := range mediaRoots {
				a, err := filepath.Abs(r)
				if err != nil {
					e.Close()
					return fmt.Errorf("--media-root %s: %w", r, err)
				}
				if fi, err := os.Stat(a); err != nil || !fi.IsDir() {
					e.Close()
					return fmt.Errorf("--media-root %s is not a directory", r)
				}
				roots[i] = a
			}
			thumbBytes := thumbCacheMB << 20
			if thumbCacheMB <= 0 {
				thumbBytes = -1
			}
			srv := httpapi.NewServer(addr, httpapi.New(e, httpapi.Options{APIKey: apiKey, Logger: log,
				MediaRoots: roots, ThumbnailCacheBytes: thumbBytes}))
			log.Info("serving", "addr", ln.Addr().String(), "page", "http://"+ln.Addr().String()+"/", "data", dataDir, "auth", apiKey != "")
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				e.Close()
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
			return e.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data", "", "data directory (required)")
	f.StringVar(&addr, "addr", ":7700", "listen address")
	f.StringVar(&apiKey, "api-key", "", "require this bearer token (default $ROSETTA_API_KEY)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&modelsDir, "models", defaultModelsDir(), "models directory, for spaces that name a model (also $ROSETTA_MODELS)")
	f.DurationVar(&snapshotEvery, "snapshot-every", 5*time.Minute, "how often to snapshot the indexes (negative: only on shutdown)")
	f.StringArrayVar(&mediaRoots, "media-root", nil, "also serve objects' source files under this folder (repeatable)")
	f.IntVar(&thumbCacheMB, "thumbnail-cache-mb", 64, "memory for cached thumbnails (0 disables the cache)")
	cmd.MarkFlagRequired("data")
	return cmd
}
