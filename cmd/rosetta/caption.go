package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"rosetta/encoders/caption"
	"rosetta/models"
)

func newCaptionCmd() *cobra.Command {
	var model string
	var beams, maxNew int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "caption --model DIR IMAGE...",
		Short: "Describe images with BLIP or CoCa",
		Long: `Generates one caption per image with a BLIP (transformers layout, e.g.
Salesforce/blip-image-captioning-base) or CoCa (open_clip layout, e.g.
laion/CoCa-ViT-B-32-laion2B-s13B-b90k) model: greedy decoding by default, beam search
with --beams N. --json prints {"image", "caption", "ids"} per line.`,
		Example: `  rosetta caption --model ~/models/blip-image-captioning-base photo.jpg
  rosetta caption --model Salesforce/blip-image-captioning-base --beams 3 --json *.jpg`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if beams < 1 || maxNew < 1 {
				return fmt.Errorf("--beams and --max-tokens must be positive")
			}
			dir, err := models.Resolve(defaultModelsDir(), model)
			if err != nil {
				return err
			}
			c, err := caption.Open(dir)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			for _, path := range args {
				img, err := readImage(path)
				if err != nil {
					return err
				}
				r, err := c.Caption(cmd.Context(), img, beams, maxNew)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				if asJSON {
					if err := enc.Encode(map[string]any{"image": path, "caption": r.Text, "ids": r.IDs}); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", path, r.Text)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "captioning model: a directory or a catalogue name (required)")
	f.IntVar(&beams, "beams", 1, "beam width (1 = greedy)")
	f.IntVar(&maxNew, "max-tokens", 20, "most tokens to generate")
	f.BoolVar(&asJSON, "json", false, "one JSON line per image with the token ids")
	cmd.MarkFlagRequired("model")
	return cmd
}
