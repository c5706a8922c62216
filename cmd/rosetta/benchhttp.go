package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"rosetta/bench"
	"rosetta/engine"
	"rosetta/httpapi"
)

func newBenchHTTPCmd() *cobra.Command {
	o := bench.HTTPOptions{Collection: "bench_http", N: 100_000, Dim: 512, Batch: 500, Clients: 8,
		Duration: 20 * time.Second, WriteFrac: 0.1, K: 10, Ef: 64, Seed: 1}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "http [--server URL]",
		Short: "Load test the REST API: concurrent searches and upserts over loopback",
		Long: `Loads --n clustered vectors into a fresh collection (--collection, dropped first),
then runs --clients concurrent clients for --duration, each doing upserts (fraction
--write-frac) and k-NN searches, and reports requests/s, p50/p99 latency per kind and
errors. Without --server it starts a server on 127.0.0.1 over a temporary data
directory and talks to it over HTTP like any client.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.N < 1 || o.Dim < 1 || o.Clients < 1 || o.Batch < 1 || o.Batch > engine.MaxBatch || o.WriteBatch < 1 || o.WriteBatch > min(engine.MaxBatch, o.N) || o.Writers < 0 {
				return fmt.Errorf("--n, --dim, --clients must be positive, --batch and --write-batch in 1..%d (and --write-batch at most --n), --writers not negative", engine.MaxBatch)
			}
			if o.Server == "" {
				dir, err := os.MkdirTemp("", "rosetta-bench-http-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
				e, err := engine.Open(engine.Options{Dir: dir, Logger: log, SnapshotEvery: -1})
				if err != nil {
					return err
				}
				defer e.Close()
				if err := e.WaitReady(cmd.Context()); err != nil {
					return err
				}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					return err
				}
				srv := httpapi.NewServer(ln.Addr().String(), httpapi.New(e, httpapi.Options{Logger: log}))
				go srv.Serve(ln)
				defer srv.Close()
				o.Server = "http://" + ln.Addr().String()
				fmt.Fprintf(cmd.ErrOrStderr(), "started a server at %s over %s\n", o.Server, dir)
			}
			o.Log = cmd.ErrOrStderr()
			rep, err := bench.RunHTTP(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				if err := json.NewEncoder(cmd.OutOrStdout()).Encode(rep); err != nil {
					return err
				}
			} else {
				rep.WriteText(cmd.OutOrStdout())
			}
			if rep.Errors > 0 {
				return errors.New("the load test saw errors")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Server, "server", "", "base URL of a running server (default: start one)")
	f.StringVar(&o.APIKey, "api-key", os.Getenv("ROSETTA_API_KEY"), "bearer token for the server")
	f.StringVar(&o.Collection, "collection", o.Collection, "collection to create (dropped first!)")
	f.IntVar(&o.N, "n", o.N, "vectors to load before the timed phase")
	f.IntVar(&o.Dim, "dim", o.Dim, "vector dimension")
	f.IntVar(&o.Batch, "batch", o.Batch, "objects per upsert while loading")
	f.IntVar(&o.Clients, "clients", o.Clients, "concurrent clients")
	f.DurationVar(&o.Duration, "duration", o.Duration, "length of the timed phase")
	f.Float64Var(&o.WriteFrac, "write-frac", o.WriteFrac, "fraction of timed requests that are upserts")
	f.IntVar(&o.WriteBatch, "write-batch", 1, "objects per timed upsert")
	f.IntVar(&o.Writers, "writers", 0, "extra clients that only upsert --write-batch objects at a time")
	f.BoolVar(&asJSON, "json", false, "print the report as one JSON line")
	f.BoolVar(&o.Reuse, "reuse", false, "keep the collection when it already holds --n vectors of --dim (several timed phases on one load)")
	f.IntVarP(&o.K, "k", "k", o.K, "neighbours per search")
	f.IntVar(&o.Ef, "ef", o.Ef, "ef per search")
	return cmd
}
