package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"rosetta/encoders/whisper"
	"rosetta/kernels"
	"rosetta/models"
)

// whisperSizes are the shapes of openai/whisper-tiny, -base and -small as
// their hub config.json files give them (d_model, layers and heads alike in
// the encoder and the decoder, ffn 4·d_model, the multilingual vocabulary).
// "test" is a hidden shape small enough for a unit test.
var whisperSizes = map[string]struct{ d, layers, heads int }{
	"tiny":  {384, 4, 6},
	"base":  {512, 6, 8},
	"small": {768, 12, 12},
	"test":  {64, 2, 4},
}

// whisperSizeConfig returns the config of a named size.
func whisperSizeConfig(size string) (whisper.Config, error) {
	s, ok := whisperSizes[size]
	if !ok {
		return whisper.Config{}, fmt.Errorf("--size %q: want tiny, base or small", size)
	}
	return whisper.Config{
		ModelType: "whisper", DModel: s.d,
		EncoderLayers: s.layers, EncoderAttentionHeads: s.heads, EncoderFFNDim: 4 * s.d,
		DecoderLayers: s.layers, DecoderAttentionHeads: s.heads, DecoderFFNDim: 4 * s.d,
		NumMelBins: 80, VocabSize: 51865, MaxSourcePositions: 1500, MaxTargetPositions: 448,
		ActivationFunction: "gelu", EOSTokenID: 50257, DecoderStartTokenID: 50258,
		NoTimestampsTokenID: 50363, MaxInitialTimestamp: 50,
	}, nil
}

type whisperBenchOptions struct {
	Sizes     []string
	Model     string // a checkpoint directory instead of Sizes
	Tokenizer string // for Sizes: the tokenizer of the whole-file run
	Threads   []int
	Runs      int
	Tokens    int
	Audio     string
	Seed      uint64
	Warmup    bool
	Log       io.Writer
}

// whisperBenchRow is one model at one thread count; every time is the
// median over Runs.
type whisperBenchRow struct {
	Model   string `json:"model"`
	Threads int    `json:"threads"`
	Runs    int    `json:"runs"`
	// MelMs is LogMel of one 30 s window of audio (the clip cut or
	// zero-padded to 30 s) with the reference's 30 s of trailing zeros.
	MelMs float64 `json:"mel_ms"`
	// EncoderMs is Encode of one 30 s window (convolutions, blocks, final
	// layer norm); the mel is not in it.
	EncoderMs float64 `json:"encoder_ms"`
	// CrossKVMs is NewDecoderState: every decoder layer's cross-attention
	// keys and values of the window, computed once per window.
	CrossKVMs float64 `json:"cross_kv_ms"`
	// PromptMs is the one Step over the start sequence.
	PromptMs float64 `json:"prompt_ms"`
	// DecoderMsPerToken is the mean of Tokens one-token Steps after the
	// start sequence (self-attention over the cache, cross-attention,
	// MLP and the logits over the whole vocabulary; the greedy argmax
	// between steps is not timed).
	DecoderMsPerToken float64 `json:"decoder_ms_per_token"`
	Tokens            int     `json:"tokens"`
	// The whole-file run: Transcribe of the clip at temperature 0,
	// language en, with timestamps (absent without audio or tokenizer).
	FileSeconds  float64 `json:"file_s,omitempty"`
	FileTokens   int     `json:"file_tokens,omitempty"`
	FileWindows  int     `json:"file_windows,omitempty"`
	AudioSeconds float64 `json:"audio_s,omitempty"`
	// RTF is FileSeconds / AudioSeconds.
	RTF float64 `json:"rtf,omitempty"`
}

type whisperBenchReport struct {
	Audio string            `json:"audio,omitempty"`
	Rows  []whisperBenchRow `json:"rows"`
}

func newBenchWhisperCmd() *cobra.Command {
	o := whisperBenchOptions{Runs: 3, Tokens: 64, Seed: 1, Warmup: true}
	var sizes, threads string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "whisper [--size tiny,base,small | --model DIR]",
		Short: "Whisper speed: encoder ms per 30 s window, decoder ms per token, whole-file real-time factor",
		Long: `Times the pure-Go Whisper (encoders/whisper) with random weights in the shapes of
openai/whisper-tiny, -base and -small (--size), or a real checkpoint (--model), on
each --threads count (GEMM threads and GOMAXPROCS), the median of --runs:

  mel         LogMel of a 30 s window (the clip cut or zero-padded to 30 s)
  encoder     Encode of one 30 s window, mel excluded
  cross-kv    the cross-attention keys and values of a window (once per window)
  prompt      one Step over the start sequence (sot, en, transcribe, notimestamps)
  dec/token   the mean of --tokens one-token KV-cached Steps after it, greedy
  file        Transcribe of --audio at temperature 0 (language en); with random
              weights the text is garbage, so the tokens decoded are reported with
              the real-time factor (time / audio length)

Before the timed runs of a model and thread count one untimed encode and a few
decoder steps warm the caches (--warmup=false skips them). The whole-file run
needs a tokenizer: the checkpoint's, or for --size the one in --tokenizer
(default $ROSETTA_FIXTURES/whisper, whose config.json also gives the suppressed
tokens); without one, or without audio, it is skipped.`,
		Example: `  rosetta bench whisper --size tiny --threads 1 --runs 1
  rosetta bench whisper --size tiny,base,small --threads 1,2 --json
  rosetta bench whisper --model ~/models/whisper-tiny --audio talk.wav`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if o.Threads, err = parseInts(threads, "--threads"); err != nil {
				return err
			}
			if len(o.Threads) == 0 {
				return errors.New("--threads: give at least one count")
			}
			if o.Runs < 1 || o.Tokens < 1 {
				return errors.New("--runs and --tokens must be positive")
			}
			if o.Model != "" && cmd.Flags().Changed("size") {
				return errors.New("--size and --model exclude each other")
			}
			if o.Model == "" {
				for _, s := range strings.Split(sizes, ",") {
					if s = strings.TrimSpace(s); s != "" {
						if _, err := whisperSizeConfig(s); err != nil {
							return err
						}
						o.Sizes = append(o.Sizes, s)
					}
				}
				if len(o.Sizes) == 0 {
					return errors.New("--size: give at least one of tiny, base, small")
				}
			} else if o.Model, err = models.Resolve(defaultModelsDir(), o.Model); err != nil {
				return err
			}
			o.Log = cmd.ErrOrStderr()
			rep, err := runWhisperBench(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
			}
			return rep.writeTable(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&sizes, "size", "tiny,base,small", "model shapes with random weights: tiny, base, small (comma-separated)")
	f.StringVar(&o.Model, "model", "", "a Whisper checkpoint (directory or catalogue name) instead of --size")
	f.StringVar(&o.Tokenizer, "tokenizer", fixtureWhisperDir(), "tokenizer directory for the whole-file run with --size (empty: skip it)")
	f.StringVar(&threads, "threads", "1,2", "thread counts (comma-separated)")
	f.IntVar(&o.Runs, "runs", o.Runs, "timed runs per model and thread count (the median is reported)")
	f.IntVar(&o.Tokens, "tokens", o.Tokens, "one-token decoder steps per run")
	f.StringVar(&o.Audio, "audio", fixtureJFK(), "audio file for the mel and whole-file runs (empty: 30 s of silence for the mel, no whole-file run)")
	f.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the random weights")
	f.BoolVar(&o.Warmup, "warmup", o.Warmup, "one untimed encode and decoder steps before the timed runs")
	f.BoolVar(&asJSON, "json", false, "print the report as one JSON line")
	return cmd
}

func fixtureWhisperDir() string {
	if d := os.Getenv("ROSETTA_FIXTURES"); d != "" {
		if p := filepath.Join(d, "whisper"); fileExists(filepath.Join(p, "vocab.json")) {
			return p
		}
	}
	return ""
}

func fixtureJFK() string {
	if d := fixtureWhisperDir(); d != "" {
		if p := filepath.Join(d, "audio_jfk.wav"); fileExists(p) {
			return p
		}
	}
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// whisperBenchModel is a model to time and the tokenizer of its
// whole-file run (nil: none).
type whisperBenchModel struct {
	name string
	m    *whisper.Model
	tok  *whisper.Tokenizer
}

func runWhisperBench(ctx context.Context, o whisperBenchOptions) (*whisperBenchReport, error) {
	rep := &whisperBenchReport{Audio: o.Audio, Rows: []whisperBenchRow{}}
	var samples []float32
	if o.Audio != "" {
		rec, closeFile, err := openSpeech(o.Audio, 16000)
		if err == nil {
			samples, err = rec.Range(0, rec.Frames())
			closeFile()
		}
		if err != nil {
			return nil, fmt.Errorf("--audio %s: %w", o.Audio, err)
		}
	}
	names := o.Sizes
	if o.Model != "" {
		names = []string{o.Model}
	}
	// GEMM threads and GOMAXPROCS are process-wide: put them back after.
	defer kernels.SetGemmThreads(kernels.SetGemmThreads(kernels.GemmThreads()))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, name := range names {
		bm, err := loadWhisperBenchModel(name, o)
		if err != nil {
			return nil, err
		}
		if bm.m.Preprocessor().SamplingRate != 16000 {
			return nil, fmt.Errorf("%s: sampling rate %d, the bench reads audio at 16000", name, bm.m.Preprocessor().SamplingRate)
		}
		if 4+o.Tokens > bm.m.Config().MaxTargetPositions {
			return nil, fmt.Errorf("--tokens %d: with the start sequence more than the text context of %d", o.Tokens, bm.m.Config().MaxTargetPositions)
		}
		for _, t := range o.Threads {
			kernels.SetGemmThreads(t)
			runtime.GOMAXPROCS(t)
			row, err := timeWhisper(ctx, bm, samples, t, o)
			if err != nil {
				return nil, fmt.Errorf("%s, %d threads: %w", name, t, err)
			}
			rep.Rows = append(rep.Rows, row)
		}
	}
	return rep, nil
}

func loadWhisperBenchModel(name string, o whisperBenchOptions) (whisperBenchModel, error) {
	bm := whisperBenchModel{name: name}
	var err error
	tokDir := o.Tokenizer
	start := time.Now()
	if o.Model != "" {
		bm.name = filepath.Base(name)
		if bm.m, err = whisper.Load(name, nil); err != nil {
			return bm, err
		}
		tokDir = name
	} else {
		cfg, err := whisperSizeConfig(name)
		if err != nil {
			return bm, err
		}
		if tokDir != "" {
			suppressFrom(&cfg, filepath.Join(tokDir, "config.json"))
		}
		if bm.m, err = whisper.NewRandom(cfg, whisper.Preprocessor{}, o.Seed); err != nil {
			return bm, err
		}
	}
	fmt.Fprintf(o.Log, "%s: d_model %d, %d+%d layers, built in %.1fs\n", bm.name, bm.m.Dim(),
		bm.m.Config().EncoderLayers, bm.m.Config().DecoderLayers, time.Since(start).Seconds())
	if tokDir != "" {
		tok, err := whisper.LoadTokenizer(tokDir)
		switch {
		case err != nil:
			fmt.Fprintf(o.Log, "%s: no tokenizer in %s (%v): no whole-file run\n", bm.name, tokDir, err)
		case tok.Size() > bm.m.Config().VocabSize:
			fmt.Fprintf(o.Log, "%s: the tokenizer in %s has %d ids, the model %d: no whole-file run\n", bm.name, tokDir, tok.Size(), bm.m.Config().VocabSize)
		default:
			bm.tok = tok
		}
	}
	return bm, nil
}

// suppressFrom copies the suppressed tokens of the config.json at path
// (the tokenizer's checkpoint; the released checkpoints share them) into
// cfg, so that the whole-file run suppresses what a real model does. A
// missing or unreadable file leaves cfg as it is.
func suppressFrom(cfg *whisper.Config, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var c whisper.Config
	if json.Unmarshal(b, &c) == nil && c.VocabSize == cfg.VocabSize {
		cfg.SuppressTokens, cfg.BeginSuppressTokens = c.SuppressTokens, c.BeginSuppressTokens
	}
}

// startSequence is sot, en, transcribe, notimestamps: the tokenizer's ids,
// or a multilingual model's fixed ones without a tokenizer, or sot alone.
func startSequence(bm whisperBenchModel) []int {
	if tok := bm.tok; tok != nil {
		seq := []int{tok.SOT()}
		for _, s := range []string{"<|en|>", "<|transcribe|>"} {
			if id, ok := tok.SpecialID(s); ok {
				seq = append(seq, id)
			}
		}
		return append(seq, tok.NoTimestamps())
	}
	cfg := bm.m.Config()
	if bm.m.Multilingual() {
		return []int{cfg.DecoderStartTokenID, 50259, 50359, 50363}
	}
	return []int{cfg.DecoderStartTokenID}
}

// melWindow returns the samples of one 30 s window: the clip cut or
// padded with zeros to 30 s.
func melWindow(m *whisper.Model, samples []float32) []float32 {
	w := make([]float32, m.Preprocessor().NSamples)
	copy(w, samples)
	return w
}

func timeWhisper(ctx context.Context, bm whisperBenchModel, samples []float32, threads int, o whisperBenchOptions) (whisperBenchRow, error) {
	m := bm.m
	row := whisperBenchRow{Model: bm.name, Threads: threads, Runs: o.Runs, Tokens: o.Tokens}
	window := melWindow(m, samples)
	seq := startSequence(bm)
	var mel, enc, cross, prompt, dec, file []float64
	pass := func(tokens int, timed bool) error {
		t0 := time.Now()
		spec, frames, err := m.LogMel(window)
		if err != nil {
			return err
		}
		win, err := m.Window(spec, frames, 0)
		if err != nil {
			return err
		}
		t1 := time.Now()
		feat, err := m.Encode(win, m.AudioFrames())
		if err != nil {
			return err
		}
		t2 := time.Now()
		st, err := m.NewDecoderState(feat)
		if err != nil {
			return err
		}
		t3 := time.Now()
		logits, err := st.Step(seq)
		if err != nil {
			return err
		}
		t4 := time.Now()
		vocab := m.Config().VocabSize
		next := kernels.Argmax(logits[len(logits)-vocab:])
		var stepped time.Duration
		for i := 0; i < tokens; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			s := time.Now()
			logits, err := st.Step([]int{next})
			if err != nil {
				return err
			}
			stepped += time.Since(s)
			next = kernels.Argmax(logits)
		}
		if timed {
			mel = append(mel, ms(t1.Sub(t0)))
			enc = append(enc, ms(t2.Sub(t1)))
			cross = append(cross, ms(t3.Sub(t2)))
			prompt = append(prompt, ms(t4.Sub(t3)))
			dec = append(dec, ms(stepped)/float64(tokens))
		}
		return nil
	}
	if o.Warmup {
		fmt.Fprintf(o.Log, "%s, %d threads: warm-up\n", bm.name, threads)
		if err := pass(min(8, o.Tokens), false); err != nil {
			return row, err
		}
	}
	for r := 0; r < o.Runs; r++ {
		if err := pass(o.Tokens, true); err != nil {
			return row, err
		}
		fmt.Fprintf(o.Log, "%s, %d threads, run %d/%d: encoder %.1f ms, decoder %.2f ms/token\n",
			bm.name, threads, r+1, o.Runs, enc[r], dec[r])
		if bm.tok == nil || len(samples) == 0 {
			continue
		}
		opt := whisper.DefaultTranscribeOptions()
		opt.Language = "en"
		t0 := time.Now()
		tr, err := m.Transcribe(ctx, bm.tok, samples, opt)
		if err != nil {
			return row, fmt.Errorf("transcribe: %w", err)
		}
		file = append(file, time.Since(t0).Seconds())
		row.FileTokens, row.FileWindows = 0, len(tr.Windows)
		for _, w := range tr.Windows {
			row.FileTokens += len(w.Tokens)
		}
		fmt.Fprintf(o.Log, "%s, %d threads, run %d/%d: whole file %.2f s, %d windows, %d tokens\n",
			bm.name, threads, r+1, o.Runs, file[r], row.FileWindows, row.FileTokens)
	}
	row.MelMs, row.EncoderMs, row.CrossKVMs = median(mel), median(enc), median(cross)
	row.PromptMs, row.DecoderMsPerToken = median(prompt), median(dec)
	if len(file) > 0 {
		row.FileSeconds = median(file)
		row.AudioSeconds = float64(len(samples)) / 16000
		row.RTF = row.FileSeconds / row.AudioSeconds
	}
	return row, nil
}

func (r *whisperBenchReport) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tthreads\tmel ms\tencoder ms\tcross-kv ms\tprompt ms\tdec ms/token\tfile s\tfile tokens\tRTF\t")
	for _, x := range r.Rows {
		file, toks, rtf := "-", "-", "-"
		if x.FileSeconds > 0 {
			file, toks, rtf = fmt.Sprintf("%.2f", x.FileSeconds), fmt.Sprint(x.FileTokens), fmt.Sprintf("%.3f", x.RTF)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%s\t%s\t%s\t\n", x.Model, x.Threads,
			x.MelMs, x.EncoderMs, x.CrossKVMs, x.PromptMs, x.DecoderMsPerToken, file, toks, rtf)
	}
	return tw.Flush()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}
