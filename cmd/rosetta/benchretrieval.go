package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"rosetta/bench"
	"rosetta/encoders/clip"
)

func newBenchRetrievalCmd() *cobra.Command {
	o := bench.DefaultRetrievalOptions()
	var model, dataset, images, split, out, prefix string
	var limit int
	cmd := &cobra.Command{
		Use:   "retrieval --model DIR --dataset FILE.json --images DIR",
		Short: "Text → image and image → text recall@1/5/10 of a CLIP model on Flickr30k or COCO captions",
		Long: `Embeds every image and caption of one split of a caption dataset with the CLIP
model in --model and reports, by exact search (every caption scored against every
image, dot products of L2-normalised embeddings):

  text → image  for each caption, rank all images; a hit at K when the caption's
                own image is among the top K
  image → text  for each image, rank all captions; a hit at K when any of the
                image's own captions is among the top K (open_clip's definition)

as recall@1/5/10, with the images/s and captions/s of embedding (images/s includes
reading and decoding). A wrong item that ties with the right one ranks above it.
Writes a table to the terminal and <out>/<prefix>.{txt,json}.

--dataset is a caption file in the Karpathy-split JSON format, e.g.
dataset_flickr30k.json or dataset_coco.json from Karpathy's caption_datasets.zip:
{"images": [{"filename": "1000092795.jpg", "split": "test",
"sentences": [{"raw": "Two young guys ..."}, ...]}, ...]}. --images is the directory
holding the image files (flickr30k-images/ for Flickr30k; for COCO the directory
holding train2014/ and val2014/, which the entries' "filepath" names). Every image
of the split must exist and decode; a missing or corrupt one stops the run, naming
the file.

Expected: openai/clip-vit-base-patch32 on the Flickr30k 1k test split (--split
test: 1000 images, 5000 captions) should come close to open_clip's published
zero-shot retrieval results:

  text → image  R@1 58.8  R@5 83.6
  image → text  R@1 78.9  R@5 94.9

Differences of a few tenths of a point can come from image decoding and resizing;
a large gap means a preprocessing or model-conversion problem. --limit runs on
the first N images of the split, whose recalls are higher (fewer distractors) and
do not compare with the table.`,
		Example: `  rosetta bench retrieval --model ~/models/clip-vit-base-patch32 \
      --dataset ~/data/dataset_flickr30k.json --images ~/data/flickr30k-images
  rosetta bench retrieval --model ~/models/clip-vit-base-patch32 \
      --dataset ~/data/dataset_coco.json --images ~/data/coco --split test --limit 1000`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return fmt.Errorf("--limit %d must not be negative", limit)
			}
			if o.Batch < 1 {
				return fmt.Errorf("--batch %d must be positive", o.Batch)
			}
			// The caption file and the images are checked before the
			// (slower) model load, so a wrong path fails at once.
			set, err := bench.LoadKarpathy(dataset, images, split, limit)
			if err != nil {
				return err
			}
			enc, err := clip.Open(model, nil)
			if err != nil {
				return err
			}
			o.Model = filepath.Base(filepath.Clean(model))
			o.Log = cmd.ErrOrStderr()
			rep, err := bench.RunRetrieval(cmd.Context(), enc, set, o)
			if err != nil {
				return err
			}
			if err := rep.WriteTable(cmd.OutOrStdout()); err != nil {
				return err
			}
			if out != "" {
				if prefix == "" {
					prefix = "retrieval-" + fileSafe(set.Name)
					if split != "" {
						prefix += "-" + fileSafe(split)
					}
				}
				paths, err := rep.Save(out, prefix)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", strings.Join(paths, ", "))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "CLIP model directory (transformers or open_clip layout)")
	f.StringVar(&dataset, "dataset", "", "caption file in the Karpathy JSON format (dataset_flickr30k.json, dataset_coco.json)")
	f.StringVar(&images, "images", "", "directory holding the image files")
	f.StringVar(&split, "split", "test", `split to evaluate (the entries' "split"; empty for every image)`)
	f.IntVar(&limit, "limit", 0, "evaluate only the first N images of the split and their captions (0 = all)")
	f.IntVar(&o.Batch, "batch", o.Batch, "images or captions per encoder call")
	f.StringVar(&out, "out", "bench/out", "directory for the .txt and .json report (empty: none)")
	f.StringVar(&prefix, "prefix", "", "file name prefix for the report (default retrieval-<dataset>-<split>)")
	for _, name := range []string{"model", "dataset", "images"} {
		cmd.MarkFlagRequired(name)
	}
	return cmd
}

// fileSafe keeps letters, digits, '-', '_' and '.' of s for a file name.
func fileSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, strings.TrimSuffix(s, ".json"))
	if s == "" || strings.Trim(s, ".") == "" {
		return "dataset"
	}
	return s
}
