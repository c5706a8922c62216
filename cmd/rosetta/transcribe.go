package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"rosetta/encoders/audio"
	"rosetta/encoders/whisper"
	"rosetta/models"
)

func newTranscribeCmd() *cobra.Command {
	var model, language, task, initialPrompt string
	var withoutTimestamps, condition, fallback, asJSON, srt, vtt bool
	var bestOf int
	cmd := &cobra.Command{
		Use:   "transcribe --model DIR FILE...",
		Short: "Transcribe speech with Whisper",
		Long: `Transcribes audio files (WAV, FLAC, MP3, Ogg Vorbis; mixed to mono and resampled
to 16 kHz) with a Whisper model in the transformers layout, as openai/whisper's
transcribe() does at temperature 0: 30 s windows, greedy decoding, segments from the
timestamp tokens. There is no beam search. With --fallback a window whose decode looks
repetitive or improbable is decoded again by sampling at 0.2, 0.4, … 1.0 (--best-of
samples each), as openai/whisper's command line does; samples are seeded, not the
reference's. --initial-prompt TEXT is openai/whisper's initial_prompt: the first
window's prompt (and the start of the next ones' while conditioning on previous text),
never in the output. A file is read a window at a time (decoded, mixed and resampled
per range; a WAV file from disk, a compressed one from memory), so an hour of audio takes
no more memory than a minute.

Output: one "[start --> end] text" line per segment; --json one line per file,
{"file", "language", "text", "segments": [{"id", "seek", "start", "end", "text",
"tokens"}]}; --srt or --vtt the subtitles openai/whisper writes (one FILE only).`,
		Example: `  rosetta transcribe --model ~/models/whisper-tiny talk.wav
  rosetta transcribe --model ~/models/whisper-tiny --language en --srt talk.flac > talk.srt`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if n := btoi(asJSON) + btoi(srt) + btoi(vtt); n > 1 {
				return fmt.Errorf("--json, --srt and --vtt exclude each other")
			}
			if (srt || vtt) && len(args) > 1 {
				return fmt.Errorf("--srt and --vtt take one FILE, got %d", len(args))
			}
			if bestOf < 1 {
				return fmt.Errorf("--best-of must be positive")
			}
			if task != "transcribe" && task != "translate" {
				return fmt.Errorf("--task %q: want transcribe or translate", task)
			}
			dir, err := models.Resolve(defaultModelsDir(), model)
			if err != nil {
				return err
			}
			w, err := openTranscriber(dir)
			if err != nil {
				return err
			}
			m, tok := w.m, w.tok
			opt := whisper.DefaultTranscribeOptions()
			if language != "auto" {
				opt.Language = language
			}
			opt.Task = task
			opt.WithoutTimestamps = withoutTimestamps
			opt.ConditionOnPreviousText = condition
			opt.InitialPrompt = initialPrompt
			if fallback {
				opt.Temperatures = []float64{0, 0.2, 0.4, 0.6, 0.8, 1}
				opt.BestOf = bestOf
			}
			out := cmd.OutOrStdout()
			enc := json.NewEncoder(out)
			enc.SetEscapeHTML(false)
			for _, path := range args {
				src, closeFile, err := openSpeech(path, m.Preprocessor().SamplingRate)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				r, err := m.TranscribeSamples(cmd.Context(), tok, src, opt)
				closeFile()
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				switch {
				case asJSON:
					err = enc.Encode(transcriptJSON(path, r))
				case srt:
					err = writeSRT(out, r.Segments)
				case vtt:
					err = writeVTT(out, r.Segments)
				default:
					if len(args) > 1 {
						fmt.Fprintf(out, "# %s\n", path)
					}
					for _, s := range r.Segments {
						if _, err = fmt.Fprintf(out, "[%s --> %s] %s\n", formatTimestamp(s.Start, false, "."), formatTimestamp(s.End, false, "."), s.Text); err != nil {
							break
						}
					}
				}
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "Whisper model: a directory or a catalogue name (required)")
	f.StringVar(&language, "language", "auto", "language code (en, de, …), or auto to detect it from the first 30 s")
	f.StringVar(&task, "task", "transcribe", "transcribe, or translate (to English)")
	f.BoolVar(&withoutTimestamps, "without-timestamps", false, "decode without timestamp tokens (one segment per 30 s window)")
	f.BoolVar(&condition, "condition-on-previous-text", true, "prompt each window with the text of the previous ones")
	f.StringVar(&initialPrompt, "initial-prompt", "", "text to prompt the first window with (openai/whisper's initial_prompt)")
	f.BoolVar(&fallback, "fallback", false, "decode failed windows again at temperatures 0.2 … 1.0 (sampling)")
	f.IntVar(&bestOf, "best-of", 5, "samples per window decode with --fallback")
	f.BoolVar(&asJSON, "json", false, "one JSON line per file with the segments and their token ids")
	f.BoolVar(&srt, "srt", false, "write SubRip subtitles")
	f.BoolVar(&vtt, "vtt", false, "write WebVTT subtitles")
	cmd.MarkFlagRequired("model")
	return cmd
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// openSpeech opens an audio file as mono samples at rate Hz, decoded,
// mixed and resampled a range at a time: the same samples as decoding it
// whole, mixing it to mono and resampling it, as the HuBERT path does,
// without holding them all. A WAV file is read from disk a range at a
// time (audio.OpenReaderAt), so not even its bytes are held; compressed
// files are read into memory and decoded as the ranges advance. The
// caller calls closeFile when done with the recording.
func openSpeech(path string, rate int) (rec audio.Recording, closeFile func() error, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err == nil {
		rec, err = audio.OpenReaderAt(f, st.Size())
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return audio.Resampled(rec, rate), f.Close, nil
}

type segmentJSON struct {
	ID     int     `json:"id"`
	Seek   int     `json:"seek"`
	Start  float64 `json:"start"`
	End    float64 `json:"end"`
	Text   string  `json:"text"`
	Tokens []int   `json:"tokens"`
}

type fileTranscriptJSON struct {
	File     string        `json:"file"`
	Language string        `json:"language"`
	Text     string        `json:"text"`
	Segments []segmentJSON `json:"segments"`
}

func transcriptJSON(path string, r *whisper.Transcript) fileTranscriptJSON {
	out := fileTranscriptJSON{File: path, Language: r.Language, Text: r.Text, Segments: []segmentJSON{}}
	for _, s := range r.Segments {
		toks := s.Tokens
		if toks == nil {
			toks = []int{}
		}
		out.Segments = append(out.Segments, segmentJSON{ID: s.ID, Seek: s.Seek, Start: s.Start, End: s.End, Text: s.Text, Tokens: toks})
	}
	return out
}

// formatTimestamp is openai/whisper's format_timestamp: milliseconds
// rounded half to even, hours only when non-zero unless alwaysHours.
// Negative times (never produced by Transcribe) print as 0.
func formatTimestamp(seconds float64, alwaysHours bool, marker string) string {
	ms := int64(math.RoundToEven(math.Max(seconds, 0) * 1000))
	h := ms / 3_600_000
	ms -= h * 3_600_000
	m := ms / 60_000
	ms -= m * 60_000
	s := ms / 1000
	ms -= s * 1000
	hours := ""
	if alwaysHours || h > 0 {
		hours = fmt.Sprintf("%02d:", h)
	}
	return fmt.Sprintf("%s%02d:%02d%s%03d", hours, m, s, marker, ms)
}

// subtitleText is a segment's text as the reference's subtitle writers put
// it: stripped as Python's str.strip does, with "-->" replaced by "->".
func subtitleText(s whisper.Segment) string {
	t := strings.TrimFunc(s.Text, func(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f })
	return strings.ReplaceAll(t, "-->", "->")
}

// writeVTT is openai/whisper's WriteVTT for segments without word timings.
func writeVTT(w io.Writer, segs []whisper.Segment) error {
	if _, err := io.WriteString(w, "WEBVTT\n\n"); err != nil {
		return err
	}
	for _, s := range segs {
		if _, err := fmt.Fprintf(w, "%s --> %s\n%s\n\n", formatTimestamp(s.Start, false, "."), formatTimestamp(s.End, false, "."), subtitleText(s)); err != nil {
			return err
		}
	}
	return nil
}

// writeSRT is openai/whisper's WriteSRT for segments without word timings.
func writeSRT(w io.Writer, segs []whisper.Segment) error {
	for i, s := range segs {
		if _, err := fmt.Fprintf(w, "%d\n%s --> %s\n%s\n\n", i+1, formatTimestamp(s.Start, true, ","), formatTimestamp(s.End, true, ","), subtitleText(s)); err != nil {
			return err
		}
	}
	return nil
}
