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
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"rosetta/api"
	"rosetta/api/convert"
	"rosetta/client"
	"rosetta/engine"
)

func newSearchCmd() *cobra.Command {
	var coll, text, imagePath, audioPath, modality, filter, server, dataDir, modelsDir, space, apiKey, groupBy string
	var mode, keyword string
	var boostFlag map[string]string
	var alpha float64
	var object uint64
	var k, rrfK int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "search --collection C (--text T | --image FILE | --audio FILE | --object ID | --keyword Q)",
		Short: "Search a collection by text, image, audio, stored object or keywords",
		Long: `Runs one query against a running server (--server URL) or, when no server owns
it, directly against a data directory (--data DIR). Text, image and audio queries are
encoded by the model the space names.

--mode picks the ranking: vector (k-NN), keyword (BM25 over the collection's keyword
index) or hybrid (both, fused by reciprocal rank fusion, or by relative score with
--alpha, the vector side's weight). The default is hybrid when the keyword index holds
documents and the query has text for it, keyword when there is no vector side (or a
--text query on a space without a model), else vector. The keyword side's query is
--keyword, else --text, in this syntax: words (any of them), "a phrase", prefix*,
fuzzy~1, +required, -excluded, field:word (content, text.caption, title, ...).

Prints a table, or with --json one JSON line per hit, best first, in this stable form
(fields without a value are left out):

  {"rank": 1, "id": 7, "score": 0.83, "key": "...", "modality": "image", "source": "...",
   "metadata": {...}, "segments": [{"id": 9, "score": 0.83, "key": "...#t=8.000,18.000",
   "start": 8, "end": 18}], "found_by": {"vector": {"rank": 2, "score": 0.31},
   "keyword": {"rank": 1, "score": 7.2}}, "snippets": [{"field": "content",
   "parts": [{"text": "the "}, {"text": "ledger", "match": true}]}]}

segments come with --group-by parent: the hit is then a file and these its best windows.
found_by and snippets come in keyword and hybrid modes.`,
		Example: `  rosetta search --server http://127.0.0.1:7700 --collection photos --text "a red car"
  rosetta search --data ./data --collection photos --image query.jpg --modality image -k 5
  rosetta search --server http://127.0.0.1:7700 --collection docs --keyword '"exit status" +pipe' --mode keyword
  rosetta search --server http://127.0.0.1:7700 --collection docs --text "how to end a process" --mode hybrid --alpha 0.5`,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := engine.SearchRequest{Space: space, K: k, Modality: modality, GroupBy: groupBy, Fields: []string{"key", "modality", "source", "metadata"}}
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
			if audioPath != "" {
				b, err := os.ReadFile(audioPath)
				if err != nil {
					return err
				}
				req.Query.Audio = b
				n++
			}
			if cmd.Flags().Changed("object") {
				req.Query.Object = &object
				n++
			}
			if n > 1 || (n == 0 && keyword == "") {
				return errors.New("give exactly one of --text, --image, --audio, --object (or --keyword alone)")
			}
			req.Mode, req.Keyword = mode, keyword
			for f, v := range boostFlag {
				b, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return fmt.Errorf("--boost %s=%s: not a number", f, v)
				}
				if req.Boost == nil {
					req.Boost = map[string]float64{}
				}
				req.Boost[f] = b
			}
			switch {
			case cmd.Flags().Changed("alpha"):
				req.Fusion = &engine.Fusion{Method: engine.FusionRelativeScore, Alpha: alpha}
			case cmd.Flags().Changed("rrf-k"):
				req.Fusion = &engine.Fusion{Method: engine.FusionRRF, K: rrfK}
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
	f.StringVar(&audioPath, "audio", "", "query audio file (WAV, FLAC, MP3, Ogg Vorbis)")
	f.StringVar(&groupBy, "group-by", "", `"parent": one hit per file, with its best segments`)
	f.StringVar(&mode, "mode", "", "vector, keyword or hybrid (default: see above)")
	f.StringVar(&keyword, "keyword", "", "the keyword side's query (default: --text)")
	f.Float64Var(&alpha, "alpha", engine.DefaultAlpha, "hybrid: fuse by relative score with this vector weight in [0, 1] (default: reciprocal rank fusion)")
	f.IntVar(&rrfK, "rrf-k", engine.DefaultRRFK, "hybrid: reciprocal rank fusion's rank constant")
	f.StringToStringVar(&boostFlag, "boost", nil, "keyword field boosts, e.g. title=2,content=1")
	f.Uint64Var(&object, "object", 0, "query by a stored object's id")
	f.StringVar(&space, "space", "", "vector space (needed when the collection has several)")
	f.StringVar(&modality, "modality", "", "only return objects of this modality: image, text, audio or video")
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
	e, err := engine.Open(engine.Options{Dir: dataDir, Logger: log, SnapshotEvery: -1, LoadModel: modelLoader(modelsDir), LoadTranscriber: transcriberLoader(modelsDir)})
	if err != nil {
		return nil, fmt.Errorf("%w (if `rosetta serve` owns this directory, use --server)", err)
	}
	defer e.Close()
	if err := e.WaitReady(ctx); err != nil {
		return nil, err
	}
	return e.Search(engine.Trusted(ctx), coll, req)
}

// searchLine is one line of `search --json`: a stable, documented form.
type searchLine struct {
	Rank     int            `json:"rank"`
	ID       uint64         `json:"id"`
	Score    float32        `json:"score"`
	Key      string         `json:"key,omitempty"`
	Modality string         `json:"modality,omitempty"`
	Source   string         `json:"source,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
	Segments []segmentLine  `json:"segments,omitempty"`
	FoundBy  *api.FoundBy   `json:"found_by,omitempty"` // the REST API's forms
	Snippets []api.Snippet  `json:"snippets,omitempty"`
}

// sideOf converts where one side ranked a hit to its wire form.
func sideOf(s *engine.SideHit) *api.SideHit {
	if s == nil {
		return nil
	}
	return &api.SideHit{Rank: s.Rank, Score: s.Score}
}

// snippetText renders a snippet on one line for the terminal, white space
// folded, matches in [brackets].
func snippetText(sn engine.Snippet) string {
	var b strings.Builder
	for _, p := range sn.Parts {
		t := strings.Join(strings.Fields(p.Text), " ")
		if t == "" {
			if p.Text != "" {
				b.WriteByte(' ')
			}
			continue
		}
		if strings.TrimLeftFunc(p.Text, unicode.IsSpace) != p.Text {
			t = " " + t
		}
		if strings.TrimRightFunc(p.Text, unicode.IsSpace) != p.Text {
			t += " "
		}
		if p.Match {
			t = "[" + strings.TrimSpace(t) + "]"
		}
		b.WriteString(t)
	}
	return b.String()
}

type segmentLine struct {
	ID    uint64   `json:"id"`
	Score float32  `json:"score"`
	Key   string   `json:"key,omitempty"`
	Start *float64 `json:"start,omitempty"` // seconds (audio) or characters (text chunks)
	End   *float64 `json:"end,omitempty"`
}

func printHits(w io.Writer, hits []engine.Hit, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for i, h := range hits {
			line := searchLine{Rank: i + 1, ID: h.ID, Score: h.Score}
			if o := h.Object; o != nil {
				line.Key, line.Modality, line.Source, line.Metadata = o.Key, o.Modality, o.Source, o.Metadata
			}
			for _, sg := range h.Segments {
				sl := segmentLine{ID: sg.ID, Score: sg.Score}
				if o := sg.Object; o != nil {
					sl.Key = o.Key
					if v, ok := o.Metadata["segment_start"].(float64); ok {
						sl.Start = &v
					}
					if v, ok := o.Metadata["segment_end"].(float64); ok {
						sl.End = &v
					}
				}
				line.Segments = append(line.Segments, sl)
			}
			if h.Vector != nil || h.Keyword != nil {
				line.FoundBy = &api.FoundBy{Vector: sideOf(h.Vector), Keyword: sideOf(h.Keyword)}
			}
			for _, sn := range h.Snippets {
				sl := api.Snippet{Field: sn.Field}
				for _, p := range sn.Parts {
					sl.Parts = append(sl.Parts, api.SnippetPart{Text: p.Text, Match: p.Match})
				}
				line.Snippets = append(line.Snippets, sl)
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
		if len(h.Snippets) > 0 {
			fmt.Fprintf(tw, "\t\t\t\t\t%s: %s\n", h.Snippets[0].Field, snippetText(h.Snippets[0]))
		}
	}
	return tw.Flush()
}
