package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"rosetta/encoders"
	"rosetta/encoders/audio"
	"rosetta/encoders/clip"
	"rosetta/encoders/imageproc"
	"rosetta/models"
)

func newEncodeCmd() *cobra.Command {
	var model, precision string
	var texts, images, audios []string
	var segments bool
	var window, overlap time.Duration
	cmd := &cobra.Command{
		Use:   "encode --model DIR (--text T | --image FILE | --audio FILE)...",
		Short: "Print embeddings of texts, images or audio, one JSON line per input",
		Long: `Encodes each --text and --image with the CLIP model in --model (a transformers or
open_clip model directory) and prints one JSON line per input, in the order given:
{"input": ..., "modality": "text"|"image", "embedding": [...]} (L2-normalised, as stored).`,
		Example: `  rosetta encode --model ~/models/clip-vit-base-patch32 --text "a cat" --image cat.jpg`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(texts)+len(images)+len(audios) == 0 {
				return errors.New("give at least one --text, --image or --audio")
			}
			dir, err := models.Resolve(defaultModelsDir(), model)
			if err != nil {
				return err
			}
			enc, err := encoders.OpenAt(dir, precision)
			if err != nil {
				return err
			}
			out := json.NewEncoder(cmd.OutOrStdout())
			if len(texts) > 0 {
				embs, err := enc.EmbedTexts(cmd.Context(), texts)
				if err != nil {
					return err
				}
				for i, e := range embs {
					if err := out.Encode(embeddingLine{Input: texts[i], Modality: "text", Embedding: e}); err != nil {
						return err
					}
				}
			}
			if len(images) > 0 {
				imgs := make([]image.Image, len(images))
				for i, p := range images {
					if imgs[i], err = readImage(p); err != nil {
						return err
					}
				}
				embs, err := enc.EmbedImages(cmd.Context(), imgs)
				if err != nil {
					return err
				}
				for i, e := range embs {
					if err := out.Encode(embeddingLine{Input: images[i], Modality: "image", Embedding: e}); err != nil {
						return err
					}
				}
			}
			if len(audios) > 0 {
				ae, ok := enc.(*encoders.HuBERT)
				if !ok {
					return fmt.Errorf("%s does not embed audio (use a HuBERT or wav2vec 2.0 model)", model)
				}
				if audio.Windows(1, 1, window, overlap) == nil {
					return fmt.Errorf("--window %v and --overlap %v do not make windows", window, overlap)
				}
				for _, p := range audios {
					if err := encodeAudioFile(cmd, ae, p, segments, window, overlap); err != nil {
						return fmt.Errorf("%s: %w", p, err)
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "model directory or catalogue name (see rosetta models list) (required)")
	cmd.Flags().StringVar(&precision, "precision", "float32", "weights' precision: float32, or int8 (per-channel int8 weights, a quarter of the memory; fast with AVX-512 VNNI; see the README)")
	cmd.Flags().StringArrayVar(&texts, "text", nil, "text to encode (repeatable)")
	cmd.Flags().StringArrayVar(&images, "image", nil, "image file to encode (repeatable)")
	cmd.Flags().StringArrayVar(&audios, "audio", nil, "audio file to encode with a HuBERT/wav2vec 2.0 model (repeatable)")
	cmd.Flags().BoolVar(&segments, "segments", false, "with --audio: one line per window (start, end in seconds) instead of the pooled file vector")
	cmd.Flags().DurationVar(&window, "window", 10*time.Second, "segment length for --segments")
	cmd.Flags().DurationVar(&overlap, "overlap", 2*time.Second, "segment overlap for --segments")
	cmd.MarkFlagRequired("model")
	return cmd
}

// openEncoder resolves a model directory or catalogue name (under
// $ROSETTA_MODELS or the default models directory) and loads it.
func openEncoder(model string) (*clip.Encoder, error) {
	dir, err := models.Resolve(defaultModelsDir(), model)
	if err != nil {
		return nil, err
	}
	return clip.Open(dir, nil)
}

func readImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := imageproc.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

func newClassifyCmd() *cobra.Command {
	var model, imagePath, labels, template string
	cmd := &cobra.Command{
		Use:   "classify --model DIR --image FILE --labels cat,dog,...",
		Short: "CLIP zero-shot classification of an image",
		Long: `Scores the image against one prompt per label (--template, default
"a photo of a {label}.") and prints the softmax probabilities, highest first.`,
		Example: `  rosetta classify --model ~/models/clip-vit-base-patch32 --image cat.jpg --labels cat,dog,car`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var ls []string
			for _, l := range strings.Split(labels, ",") {
				if l = strings.TrimSpace(l); l != "" {
					ls = append(ls, l)
				}
			}
			if len(ls) == 0 {
				return errors.New("--labels needs at least one label")
			}
			if !strings.Contains(template, "{label}") {
				return fmt.Errorf("--template %q must contain {label}", template)
			}
			enc, err := openEncoder(model)
			if err != nil {
				return err
			}
			img, err := readImage(imagePath)
			if err != nil {
				return err
			}
			probs, err := enc.Classify(cmd.Context(), img, ls, template)
			if err != nil {
				return err
			}
			order := make([]int, len(ls))
			for i := range order {
				order[i] = i
			}
			sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
			for _, i := range order {
				fmt.Fprintf(cmd.OutOrStdout(), "%-24s %.4f\n", ls[i], probs[i])
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "model directory or catalogue name (see rosetta models list) (required)")
	cmd.Flags().StringVar(&imagePath, "image", "", "image file (required)")
	cmd.Flags().StringVar(&labels, "labels", "", "comma-separated labels (required)")
	cmd.Flags().StringVar(&template, "template", "a photo of a {label}.", "prompt template; {label} is replaced")
	cmd.MarkFlagRequired("model")
	cmd.MarkFlagRequired("image")
	cmd.MarkFlagRequired("labels")
	return cmd
}

// encodeAudioFile prints an audio file's pooled embedding, or with
// segments one JSON line per window (start and end in seconds). Windows are
// read from the file a range at a time (audio.Open) and embedded as ingest
// embeds a long file's segments, so the vectors are the ones ingest stores.
// The pooled vector is the whole file's embedding up to
// encoders.MaxAudioSeconds, and past that the normalised mean of its
// windows' vectors, as ingest computes it.
func encodeAudioFile(cmd *cobra.Command, h *encoders.HuBERT, path string, segments bool, window, overlap time.Duration) error {
	out := json.NewEncoder(cmd.OutOrStdout())
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	rec, err := audio.Open(data)
	if err != nil {
		return err
	}
	rate, n := rec.Rate(), rec.Frames()
	if !segments && n <= encoders.MaxAudioSeconds*rate {
		embs, err := h.EmbedAudio(cmd.Context(), [][]byte{data})
		if err != nil {
			return err
		}
		return out.Encode(embeddingLine{Input: path, Modality: "audio", Embedding: embs[0]})
	}
	var sum []float64
	for _, win := range audio.Windows(n, rate, window, overlap) {
		x, err := rec.Range(win.Start, win.End)
		if err != nil {
			return err
		}
		v, err := h.EmbedSamples(cmd.Context(), x, rate)
		if err != nil {
			return err
		}
		if segments {
			start, end := float64(win.Start)/float64(rate), float64(win.End)/float64(rate)
			if err := out.Encode(embeddingLine{Input: path, Modality: "audio", Start: &start, End: &end, Embedding: v}); err != nil {
				return err
			}
			continue
		}
		if sum == nil {
			sum = make([]float64, len(v))
		}
		for i, x := range v {
			sum[i] += float64(x)
		}
	}
	if segments {
		return nil
	}
	var norm float64
	for _, x := range sum {
		norm += x * x
	}
	v := make([]float32, len(sum))
	for i, x := range sum {
		v[i] = float32(x / math.Sqrt(norm))
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s: longer than %d s: the embedding is the mean of its %v windows\n", path, encoders.MaxAudioSeconds, window)
	return out.Encode(embeddingLine{Input: path, Modality: "audio", Embedding: v})
}

// embeddingLine is one line of rosetta encode's output.
type embeddingLine struct {
	Input     string    `json:"input"`
	Modality  string    `json:"modality"`
	Start     *float64  `json:"start,omitempty"`
	End       *float64  `json:"end,omitempty"`
	Embedding []float32 `json:"embedding"`
}
