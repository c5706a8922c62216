package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"rosetta/api/convert"
	"rosetta/client"
	"rosetta/engine"
)

func newSearchCmd() *cobra.Command {
	var coll, text, imagePath, modality, filter, server, dataDir, modelsDir, space, apiKey string
	var object uint64
	var k int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "search --collection C (--text T | --image FILE | --object ID)",
		Short: "Search a collection by text, image or stored object",
		Long: `Runs one k-NN query against a running server (--server URL) or, when no server owns
it, directly against a data directory (--data DIR). Text and image queries are encoded by
the model the space names. Prints a table, or one JSON line per hit with --json:
{"id", "score", "modality", "source", "metadata"}.`,
		Example: `  rosetta search --server http://127.0.0.1:7700 --collection photos --text "a red car"
  rosetta search --data ./data --collection photos --image query.jpg --modality image -k 5`,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := engine.SearchRequest{Space: space, K: k, Modality: modality, Fields: []string{"key", "modality", "source", "metadata"}}
			n := 0
			if text != "" {
				req.Query.Text = text
				n++
			}
			if imagePath != "" {
				b, err := os.ReadFile(imagePath)
				if err != nil {
					return err
				}
				req.Query.Image = b
				n++
			}
			if cmd.Flags().Changed("object") {
				req.Query.Object = &object
				n++
			}
			if n != 1 {
				return errors.New("give exactly one of --text, --image, --object")
			}
			if filter != "" {
				if !json.Valid([]byte(filter)) {
					return errors.New("--filter is not valid JSON")
				}
				req.Filter = json.RawMessage(filter)
			}
			var hits []engine.Hit
			var err error
			switch {
			case server != "":
				hits, err = searchServer(cmd.Context(), server, apiKey, coll, req)
			case dataDir != "":
				hits, err = searchLocal(cmd.Context(), dataDir, modelsDir, coll, req)
			default:
				return errors.New("give --server URL or --data DIR")
			}
			if err != nil {
				return err
			}
			return printHits(cmd.OutOrStdout(), hits, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&coll, "collection", "", "collection (required)")
	f.StringVar(&text, "text", "", "query text")
	f.StringVar(&imagePath, "image", "", "query image file")
	f.Uint64Var(&object, "object", 0, "query by a stored object's id")
	f.StringVar(&space, "space", "", "vector space (needed when the collection has several)")
	f.StringVar(&modality, "modality", "", "only return objects of this modality: image, text or audio")
	f.IntVarP(&k, "k", "k", 10, "number of results")
	f.StringVar(&filter, "filter", "", `metadata filter as JSON, e.g. '{"field":"year","gte":2020}'`)
	f.BoolVar(&asJSON, "json", false, "one JSON line per hit")
	f.StringVar(&server, "server", "", "URL of a running server")
	f.StringVar(&apiKey, "api-key", os.Getenv("ROSETTA_API_KEY"), "bearer token for --server")
	f.StringVar(&dataDir, "data", "", "data directory (when no server is running)")
	f.StringVar(&modelsDir, "models", defaultModelsDir(), "models directory (with --data)")
	cmd.MarkFlagRequired("collection")
	return cmd
}

func searchServer(ctx context.Context, base, key, coll string, req engine.SearchRequest) ([]engine.Hit, error) {
	resp, err := client.New(base, key, &http.Client{Timeout: 2 * time.Minute}).Search(ctx, coll, convert.FromEngineSearch(req))
	if err != nil {
		return nil, err
	}
	return convert.ToEngineHits(resp.Hits), nil
}

func searchLocal(ctx context.Context, dataDir, modelsDir, coll string, req engine.SearchRequest) ([]engine.Hit, error) {
	if _, err := os.Stat(dataDir); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := engine.Open(engine.Options{Dir: dataDir, Logger: log, SnapshotEvery: -1, LoadModel: modelLoader(modelsDir)})
	if err != nil {
		return nil, fmt.Errorf("%w (if `rosetta serve` owns this directory, use --server)", err)
	}
	defer e.Close()
	if err := e.WaitReady(ctx); err != nil {
		return nil, err
	}
	return e.Search(engine.Trusted(ctx), coll, req)
}

func printHits(w io.Writer, hits []engine.Hit, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, h := range hits {
			line := map[string]any{"id": h.ID, "score": h.Score}
			if h.Object != nil {
				line["modality"], line["source"], line["metadata"] = h.Object.Modality, h.Object.Source, h.Object.Metadata
				if h.Object.Key != "" {
					line["key"] = h.Object.Key
				}
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tid\tscore\tmodality\tsource / key\tmetadata")
	for i, h := range hits {
		var mod, src, md string
		if o := h.Object; o != nil {
			mod, src = o.Modality, o.Source
			if src == "" {
				src = o.Key
			}
			if len(o.Metadata) > 0 {
				b, _ := json.Marshal(o.Metadata)
				md = string(b)
				if len(md) > 60 {
					md = md[:57] + "..."
				}
			}
		}
		fmt.Fprintf(tw, "%d\t%d\t%.4f\t%s\t%s\t%s\n", i+1, h.ID, h.Score, mod, src, md)
	}
	return tw.Flush()
}
