package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"rosetta/encoders/clip"
	"rosetta/kernels"
)

type encoderBenchOptions struct {
	Baseline   string // "ort" or "none"
	Encoders   []string
	Batches    []int
	Threads    []int
	Precisions []string
	Rounds     int
	Iters      int
	ORTDir     string
	Node       string
	Python     string
	Seed       uint64
	// Settle is an idle pause before every timed block of either runtime:
	// ONNX Runtime's intra-op threads spin-wait for work for a while after
	// each run, and without it they take the cores from the Rosetta block
	// that follows (and Go's GC or a Rosetta worker could do the same to
	// ORT).
	Settle time.Duration
	Log    io.Writer
}

// encoderBenchRow is one runtime at one (encoder, batch, threads,
// precision). Its first six fields are the contract of issue 18 that a
// check outside the repository reads from --json; the others are extra.
type encoderBenchRow struct {
	Encoder   string `json:"encoder"`   // image | text
	Runtime   string `json:"runtime"`   // rosetta | ort
	Batch     int    `json:"batch"`     // images, or 77-token captions, per forward
	Threads   int    `json:"threads"`   // GEMM threads and GOMAXPROCS, or ORT's intraOpNumThreads
	Precision string `json:"precision"` // float32 | int8
	// MsPerItem is the median over rounds of one round's wall time
	// divided by iters × batch.
	MsPerItem float64 `json:"ms_per_item"`
	Rounds    int     `json:"rounds"`
	Iters     int     `json:"iters"`
	// GFLOPPerItem is the model's multiply-add work per image or caption
	// (clip.Config.VisionFLOPs, TextFLOPs), GFLOPS that over MsPerItem.
	GFLOPPerItem float64 `json:"gflop_per_item"`
	GFLOPS       float64 `json:"gflops"`
	// Ratio is, on a rosetta row with --baseline ort, Rosetta's ms per item
	// over ORT's (below 1: Rosetta is faster).
	Ratio float64 `json:"ratio,omitempty"`
}

var (
	benchEncoderNames = []string{"image", "text"}
	benchPrecisions   = []string{"float32", "int8"}
)

func newBenchEncodersCmd() *cobra.Command {
	o := encoderBenchOptions{Rounds: 5, Iters: 3, Node: "node", Python: "/usr/bin/python3", Seed: 1, Settle: 200 * time.Millisecond}
	var encs, batches, threads, precs string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "encoders [--baseline ort|none]",
		Short: "CLIP ViT-B/32 image and text encoder speed, side by side with ONNX Runtime",
		Long: `Times the pure-Go CLIP towers with random weights in the shape of
openai/clip-vit-base-patch32 (8.82 GFLOP per 224×224 image, 5.96 per 77-token
caption): m.Vision.Forward of --batch images, m.Text.Forward of --batch captions,
for every --encoder, --precision, --threads (GEMM threads and GOMAXPROCS) and
--batch. Each configuration runs one untimed forward, then --rounds rounds of
--iters forwards; the median of the rounds' ms per item is reported.

--baseline ort runs ONNX Runtime's CPU library (onnxruntime-node 1.30.0) on ONNX
graphs of the same towers (bench/ort: build_graphs.py, driver.js), with
intraOpNumThreads = threads, interOpNumThreads 1, graphOptimizationLevel 'all',
sequential execution, warmed up before timing; the rounds interleave (rosetta,
ort, rosetta, ort, …) and the table gives the ratio rosetta/ort. The harness
needs, once, in --ort-dir:
  (cd bench/ort && npm ci --ignore-scripts)
Missing graphs are built with --python when it can import onnx and numpy
(apt-get install -y python3-onnx python3-numpy); the graphs' FLOP counts are
checked against Rosetta's model.

--json prints one JSON line per (encoder, runtime, batch, threads, precision)
as each configuration finishes: encoder, runtime, batch, threads, precision,
ms_per_item, and rounds, iters, gflop_per_item, gflops, ratio (rosetta rows,
with a baseline). Progress goes to stderr.`,
		Example: `  rosetta bench encoders --baseline none --batch 1 --threads 1 --rounds 1
  rosetta bench encoders --baseline ort --precision float32
  rosetta bench encoders --baseline ort --encoder image --batch 1,8 --threads 1,2 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if o.Baseline != "ort" && o.Baseline != "none" {
				return fmt.Errorf("--baseline %q: want ort or none", o.Baseline)
			}
			if o.Encoders, err = parseChoices(encs, "--encoder", benchEncoderNames); err != nil {
				return err
			}
			if o.Precisions, err = parseChoices(precs, "--precision", benchPrecisions); err != nil {
				return err
			}
			if o.Batches, err = parseInts(batches, "--batch"); err != nil {
				return err
			}
			if o.Threads, err = parseInts(threads, "--threads"); err != nil {
				return err
			}
			if len(o.Batches) == 0 || len(o.Threads) == 0 {
				return errors.New("--batch and --threads: give at least one value each")
			}
			if o.Rounds < 1 || o.Iters < 1 {
				return errors.New("--rounds and --iters must be positive")
			}
			o.Log = cmd.ErrOrStderr()
			var emit func(encoderBenchRow) error
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				emit = func(r encoderBenchRow) error { return enc.Encode(r) }
			}
			rows, err := runEncoderBench(cmd.Context(), o, emit)
			if err != nil {
				return err
			}
			if asJSON {
				return nil
			}
			return writeEncoderBenchTable(cmd.OutOrStdout(), rows)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Baseline, "baseline", "ort", "peer runtime timed on the same shapes: ort (ONNX Runtime through bench/ort) or none")
	f.StringVar(&encs, "encoder", "image,text", "towers to time: image, text (comma-separated)")
	f.StringVar(&batches, "batch", "1,8", "images or 77-token captions per forward (comma-separated)")
	f.StringVar(&threads, "threads", "1,2", "thread counts (comma-separated)")
	f.StringVar(&precs, "precision", "float32", "weights: float32, int8 (per-output-channel int8 weights on every linear layer; comma-separated)")
	f.IntVar(&o.Rounds, "rounds", o.Rounds, "interleaved timed rounds per configuration (the median is reported)")
	f.IntVar(&o.Iters, "iters", o.Iters, "forwards per round")
	f.StringVar(&o.ORTDir, "ort-dir", defaultORTDir(), "the ONNX Runtime harness: package.json, build_graphs.py, driver.js (default: $ROSETTA_ORT_DIR, else bench/ort)")
	f.StringVar(&o.Node, "node", o.Node, "Node.js executable for --baseline ort")
	f.StringVar(&o.Python, "python", o.Python, "Python that builds missing graphs (needs Debian's python3-onnx and python3-numpy)")
	f.Uint64Var(&o.Seed, "seed", o.Seed, "seed of Rosetta's random weights")
	f.DurationVar(&o.Settle, "settle", o.Settle, "idle pause before each timed block of either runtime (ORT's threads spin after a run)")
	f.BoolVar(&asJSON, "json", false, "one JSON line per encoder, runtime, batch, threads and precision")
	return cmd
}

// parseChoices splits a comma list, each value one of allowed, in the
// order given, without repeats.
func parseChoices(s, flag string, allowed []string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !slices.Contains(allowed, p) {
			return nil, fmt.Errorf("%s %q: want %s", flag, p, strings.Join(allowed, " or "))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: give at least one of %s", flag, strings.Join(allowed, ", "))
	}
	return out, nil
}

// encoderBenchInput makes one configuration's input and returns the
// forward pass over it, which gives the projected embeddings.
func encoderBenchInput(m *clip.Model, encoder string, batch int, seed uint64) func() ([]float32, error) {
	if encoder == "image" {
		s := m.Cfg.ImageSize
		px := make([]float32, batch*3*s*s)
		r := rand.New(rand.NewPCG(seed, 2))
		for i := range px {
			px[i] = float32(r.NormFloat64())
		}
		return func() ([]float32, error) {
			out, err := m.Vision.Forward(px, batch)
			if err != nil {
				return nil, err
			}
			return out.Embeds, nil
		}
	}
	// The ORT driver's caption: 1000+i, the end-of-text id last.
	ids := make([][]int, batch)
	for b := range ids {
		ids[b] = make([]int, m.Cfg.Context)
		for i := range ids[b] {
			ids[b][i] = 1000 + i
		}
		ids[b][m.Cfg.Context-1] = 49407
	}
	return func() ([]float32, error) {
		out, err := m.Text.Forward(ids)
		if err != nil {
			return nil, err
		}
		return out.Embeds, nil
	}
}

// runEncoderBench times every configuration of o; emit, when not nil, gets
// each row as soon as its configuration is done.
func runEncoderBench(ctx context.Context, o encoderBenchOptions, emit func(encoderBenchRow) error) ([]encoderBenchRow, error) {
	cfg := clip.ViTB32()
	gflop := map[string]float64{"image": float64(cfg.VisionFLOPs()) / 1e9, "text": float64(cfg.TextFLOPs()) / 1e9}
	var ort *ortDriver
	if o.Baseline == "ort" {
		h, err := prepareORT(ctx, o, gflop)
		if err != nil {
			return nil, err
		}
		if ort, err = startORT(ctx, h, o.Log); err != nil {
			return nil, err
		}
		defer ort.Close()
		fmt.Fprintf(o.Log, "ort: onnxruntime-node %s, graphs in %s\n", ort.Version, h.graphs)
	}
	// The int8 model before the float32 one: where quantisation is not
	// available the run fails before a model is timed.
	models := map[string]*clip.Model{}
	for _, prec := range []string{"int8", "float32"} {
		if !slices.Contains(o.Precisions, prec) {
			continue
		}
		start := time.Now()
		m, err := clip.NewRandom(cfg, nil, o.Seed)
		if err != nil {
			return nil, err
		}
		if prec == "int8" {
			if err := quantizeBenchModel(m); err != nil {
				return nil, err
			}
		}
		models[prec] = m
		fmt.Fprintf(o.Log, "rosetta: ViT-B/32 %s with random weights built in %.1fs (kernels %s)\n", prec, time.Since(start).Seconds(), kernels.Impl())
	}
	// GEMM threads and GOMAXPROCS are process-wide: put them back after.
	defer kernels.SetGemmThreads(kernels.SetGemmThreads(kernels.GemmThreads()))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var rows []encoderBenchRow
	for _, enc := range o.Encoders {
		for _, prec := range o.Precisions {
			for _, t := range o.Threads {
				for _, batch := range o.Batches {
					got, err := timeEncoderConfig(ctx, o, models[prec], ort, enc, prec, t, batch, gflop[enc])
					if err != nil {
						return nil, fmt.Errorf("%s %s, batch %d, %d threads: %w", enc, prec, batch, t, err)
					}
					for _, r := range got {
						if emit != nil {
							if err := emit(r); err != nil {
								return nil, err
							}
						}
					}
					rows = append(rows, got...)
				}
				if ort != nil {
					if err := ort.Release(enc, prec, t); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return rows, nil
}

// timeEncoderConfig times one configuration: an untimed Rosetta forward,
// then rounds of iters forwards, alternating Rosetta and ORT.
func timeEncoderConfig(ctx context.Context, o encoderBenchOptions, m *clip.Model, ort *ortDriver, enc, prec string, threads, batch int, gflop float64) ([]encoderBenchRow, error) {
	kernels.SetGemmThreads(threads)
	runtime.GOMAXPROCS(threads)
	forward := encoderBenchInput(m, enc, batch, o.Seed)
	embed := m.Cfg.EmbedDim
	check := func() error {
		e, err := forward()
		if err == nil && len(e) != batch*embed {
			err = fmt.Errorf("rosetta: %d embedding values, want %d×%d", len(e), batch, embed)
		}
		return err
	}
	if err := check(); err != nil {
		return nil, err
	}
	req := ortRequest{Encoder: enc, Batch: batch, Threads: threads, Precision: prec, Iterations: o.Iters}
	var ours, theirs []float64
	for r := 0; r < o.Rounds; r++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		time.Sleep(o.Settle)
		t0 := time.Now()
		for i := 0; i < o.Iters; i++ {
			if _, err := forward(); err != nil {
				return nil, err
			}
		}
		ours = append(ours, ms(time.Since(t0))/float64(o.Iters*batch))
		line := fmt.Sprintf("%s %s, batch %d, %d threads, round %d/%d: rosetta %.1f ms/item", enc, prec, batch, threads, r+1, o.Rounds, ours[r])
		if ort != nil {
			time.Sleep(o.Settle)
			v, err := ort.Time(req, embed)
			if err != nil {
				return nil, err
			}
			theirs = append(theirs, v)
			line += fmt.Sprintf(", ort %.1f ms/item", v)
		}
		fmt.Fprintln(o.Log, line)
	}
	row := func(runtime string, v []float64) encoderBenchRow {
		msi := median(v)
		return encoderBenchRow{Encoder: enc, Runtime: runtime, Batch: batch, Threads: threads, Precision: prec,
			MsPerItem: msi, Rounds: o.Rounds, Iters: o.Iters, GFLOPPerItem: gflop, GFLOPS: gflop / (msi / 1000)}
	}
	rows := []encoderBenchRow{row("rosetta", ours)}
	if ort != nil {
		rows = append(rows, row("ort", theirs))
		rows[0].Ratio = rows[0].MsPerItem / rows[1].MsPerItem
	}
	return rows, nil
}

// writeEncoderBenchTable prints one line per configuration, ORT beside
// Rosetta when it ran.
func writeEncoderBenchTable(w io.Writer, rows []encoderBenchRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "encoder\tprecision\tbatch\tthreads\trosetta ms/item\tGFLOPS\tort ms/item\tGFLOPS\trosetta/ort\t")
	for i := 0; i < len(rows); i++ {
		r := rows[i]
		ortMs, ortGF, ratio := "-", "-", "-"
		if i+1 < len(rows) && rows[i+1].Runtime == "ort" {
			o := rows[i+1]
			ortMs, ortGF, ratio = fmt.Sprintf("%.1f", o.MsPerItem), fmt.Sprintf("%.0f", o.GFLOPS), fmt.Sprintf("%.2f", r.Ratio)
			i++
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f\t%.0f\t%s\t%s\t%s\t\n", r.Encoder, r.Precision, r.Batch, r.Threads,
			r.MsPerItem, r.GFLOPS, ortMs, ortGF, ratio)
	}
	return tw.Flush()
}
