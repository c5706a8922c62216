package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"rosetta/models"
)

// newModelsCmd is `rosetta models`: the catalogue of known checkpoints and
// the models directory (list, info, pull, add, verify).
func newModelsCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List, download, register and verify encoder checkpoints",
		Long: `Manages the models directory (--models, else $ROSETTA_MODELS, else the user cache
directory's rosetta/models). A model called org/name lives in org--name with a manifest
(rosetta-model.json) recording each file's size and sha256.

Downloads come from the Hugging Face hub ($ROSETTA_HUB_URL overrides the base URL;
$HF_TOKEN is sent for gated repositories), resume after an interruption and are
checked against the catalogue's sizes and checksums where known.`,
	}
	cmd.PersistentFlags().StringVar(&dir, "models", "", "models directory (default $ROSETTA_MODELS, else <user cache dir>/rosetta/models)")
	open := func(cmd *cobra.Command) (*models.Library, error) {
		o := models.DefaultOptions()
		o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
		o.Progress = newModelsProgress(cmd.ErrOrStderr())
		return models.Open(dir, &o)
	}
	cmd.AddCommand(
		newModelsListCmd(open),
		newModelsInfoCmd(open),
		newModelsPullCmd(open),
		newModelsAddCmd(open),
		newModelsVerifyCmd(open),
	)
	return cmd
}

type modelsOpener func(*cobra.Command) (*models.Library, error)

func newModelsListCmd(open modelsOpener) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the catalogue and the installed models",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := open(cmd)
			if err != nil {
				return err
			}
			ms, err := l.List()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tARCH\tLAYOUT\tMODALITIES\tDIM\tPINNED\tSTATUS\tSIZE")
			for _, m := range ms {
				arch, layout, modal, dim, pinned := "-", "-", "-", "-", "-"
				if e := m.Entry; e != nil {
					arch, layout, modal = e.Arch, string(e.Layout), strings.Join(e.Modalities, ",")
					if e.EmbedDim > 0 {
						dim = fmt.Sprint(e.EmbedDim)
					}
					pinned = modelsPinned(e)
				} else if m.Manifest != nil && m.Manifest.Layout != "" {
					layout = string(m.Manifest.Layout)
				}
				size := "-"
				if m.Manifest != nil {
					size = modelsSize(m.Manifest.TotalSize())
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, arch, layout, modal, dim, pinned, modelsStatus(m), size)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "\nPINNED: catalogue files whose size and sha256 are stated for a fixed hub commit;")
			fmt.Fprintln(cmd.OutOrStdout(), "unpinned files are checked against the digest recorded when they were downloaded.")
			fmt.Fprintf(cmd.OutOrStdout(), "models directory: %s\n", l.Dir())
			return nil
		},
	}
}

// modelsPinned is the PINNED column of `models list`.
func modelsPinned(e *models.Entry) string {
	p, n := e.Pinned()
	switch p {
	case 0:
		return "unpinned"
	case n:
		return "pinned"
	}
	return fmt.Sprintf("%d of %d files", p, n)
}

// modelsStatus is the STATUS column of `models list`.
func modelsStatus(m models.Model) string {
	switch m.State {
	case models.StateInstalled:
		switch mf := m.Manifest; {
		case m.ManifestErr != nil:
			return "installed (manifest unreadable)"
		case mf.Forced:
			return "installed (forced: does not match the catalogue)"
		case mf.Linked:
			return "installed (linked)"
		case strings.HasPrefix(mf.Source, "local"):
			return "installed (added)"
		}
		return "installed"
	case models.StateUnmanaged:
		return "files without manifest (use add --from)"
	case models.StatePartial:
		return "partial (pull resumes)"
	}
	return string(m.State)
}

func newModelsInfoCmd(open modelsOpener) *cobra.Command {
	return &cobra.Command{
		Use:     "info NAME",
		Aliases: []string{"show"},
		Short:   "Show everything known about a model: licence, files, sizes, checksums (pinned or not), where it is",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := open(cmd)
			if err != nil {
				return err
			}
			m, err := l.Get(args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
			row("Name", m.Name)
			if e := m.Entry; e != nil {
				rev := e.Revision
				if rev == "" {
					rev = models.DefaultRevision
				}
				row("Hub repo", e.Repo+" @ "+rev)
				row("Architecture", fmt.Sprintf("%s (%s layout)", e.Arch, e.Layout))
				row("Modalities", strings.Join(e.Modalities, ", "))
				if e.EmbedDim > 0 {
					row("Embedding dim", fmt.Sprint(e.EmbedDim))
				} else {
					row("Embedding dim", "none (generates text)")
				}
				row("Licence", e.License)
				row("Description", e.Description)
				if e.Notes != "" {
					row("Notes", e.Notes)
				}
			} else {
				row("Catalogue", "not in the catalogue")
			}
			row("Status", modelsStatus(m))
			switch m.State {
			case models.StateInstalled, models.StateUnmanaged:
				row("Directory", m.Dir)
			default:
				row("Directory", m.Dir+" (not there yet: `rosetta models pull "+m.Name+"`)")
			}
			if mf := m.Manifest; mf != nil {
				row("Source", mf.Source)
				row("Added", mf.Added.Local().Format(time.RFC3339))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if e := m.Entry; e != nil {
				p, n := e.Pinned()
				fmt.Fprintf(w, "\nCatalogue files (%d of %d pinned: size and sha256 stated for the commit named in the URL;\nunpinned files are checked against the digest recorded when they were downloaded):\n", p, n)
				tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "  FILE\tPIN\tSIZE\tSHA256\tURL")
				for _, f := range e.Files {
					name := f.Name
					if f.Optional {
						name += " (optional)"
					}
					size, sum := "-", "-"
					if f.Size > 0 {
						size = modelsSize(f.Size)
					}
					if f.SHA256 != "" {
						sum = f.SHA256
					}
					fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", name, f.PinState(), size, sum, l.URL(e, f))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			if mf := m.Manifest; mf != nil {
				fmt.Fprintln(w, "\nInstalled files (manifest):")
				tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "  FILE\tSIZE\tSHA256\t")
				for _, f := range mf.Files {
					note := ""
					switch {
					case f.CatalogSHA256:
						note = "matches catalogue"
					case f.Link != "":
						note = "→ " + f.Link
					}
					fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.Name, modelsSize(f.Size), f.SHA256, note)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func newModelsPullCmd(open modelsOpener) *cobra.Command {
	return &cobra.Command{
		Use:   "pull NAME...",
		Short: "Download catalogue models (resumable; checked against known checksums)",
		Example: `  rosetta models pull openai/clip-vit-base-patch32
  ROSETTA_MODELS=/srv/models rosetta models pull timm/resnet50_clip.openai`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := open(cmd)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, name := range args {
				start := time.Now()
				res, err := l.Pull(cmd.Context(), name)
				if err != nil {
					return err
				}
				if res.AlreadyInstalled {
					fmt.Fprintf(w, "%s is already installed in %s; nothing to do (`rosetta models verify %s` re-checks it)\n", res.Name, res.Dir, res.Name)
					continue
				}
				fmt.Fprintf(w, "pulled %s into %s: %d files, %s (%s downloaded in %s)\n", res.Name, res.Dir,
					len(res.Manifest.Files), modelsSize(res.Manifest.TotalSize()), modelsSize(res.Downloaded), time.Since(start).Round(100*time.Millisecond))
				if len(res.Resumed) > 0 {
					fmt.Fprintf(w, "  resumed: %s\n", strings.Join(res.Resumed, ", "))
				}
				if len(res.Skipped) > 0 {
					fmt.Fprintf(w, "  optional, not on the hub: %s\n", strings.Join(res.Skipped, ", "))
				}
			}
			return nil
		},
	}
}

func newModelsAddCmd(open modelsOpener) *cobra.Command {
	var from string
	var link, force bool
	cmd := &cobra.Command{
		Use:   "add NAME --from DIR",
		Short: "Register a model directory obtained by hand (copied, or linked with --link)",
		Long: `Checks that DIR looks like a checkpoint (config.json or open_clip_config.json, and a
.safetensors file). When NAME is a catalogue model, also checks that DIR's config files
describe that model: the family (CLIP, BLIP, CoCa, HuBERT, wav2vec2), the layout
(transformers or open_clip), the embedding dimension, and the tokenizer files the
catalogue lists; a mismatch is refused with what differs, unless --force. Then copies its
files (or symlinks them with --link) into the models directory under NAME, checks them
against the catalogue's pinned sizes and checksums, and writes a manifest with their
sha256s. A NAME the catalogue does not know is checked for a known layout only. DIR may
be the model's own directory in the models directory, for files put there by hand: then
only the manifest is written.`,
		Example: `  rosetta models add openai/clip-vit-base-patch32 --from ~/Downloads/clip-vit-base-patch32
  rosetta models add my-finetuned-clip --from /data/ckpt --link`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := open(cmd)
			if err != nil {
				return err
			}
			res, err := l.Add(cmd.Context(), args[0], from, &models.AddOptions{Link: link, Force: force})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if len(res.Mismatches) > 0 {
				ew := cmd.ErrOrStderr()
				fmt.Fprintf(ew, "warning: --force: %s does not match the catalogue entry %s:\n", from, res.Name)
				for _, m := range res.Mismatches {
					fmt.Fprintf(ew, "  %s\n", m)
				}
				fmt.Fprintf(ew, "  `rosetta models verify %s` will keep failing; the catalogue's dimension and family do not describe it\n", res.Name)
			}
			how := "copied"
			switch {
			case res.InPlace:
				how = "registered in place"
			case res.Manifest.Linked:
				how = "linked"
			}
			fmt.Fprintf(w, "added %s in %s: %d files, %s (%s, %s layout)\n", res.Name, res.Dir,
				len(res.Manifest.Files), modelsSize(res.Manifest.TotalSize()), how, res.Manifest.Layout)
			if len(res.Missing) > 0 {
				fmt.Fprintf(w, "  note: the catalogue lists files the source lacks: %s\n", strings.Join(res.Missing, ", "))
			}
			if len(res.Ignored) > 0 {
				fmt.Fprintf(w, "  not taken (directories, hidden or partial files): %s\n", strings.Join(res.Ignored, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "directory holding the model's files (required)")
	cmd.Flags().BoolVar(&link, "link", false, "symlink the files instead of copying them (DIR must stay)")
	cmd.Flags().BoolVar(&force, "force", false, "register DIR under a catalogue NAME even if its config does not match the entry (warns; verify keeps failing)")
	cmd.MarkFlagRequired("from")
	return cmd
}

func newModelsVerifyCmd(open modelsOpener) *cobra.Command {
	return &cobra.Command{
		Use:   "verify NAME...",
		Short: "Recompute every file's sha256 and compare it with the manifest and the catalogue",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := open(cmd)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			var failed []error
			for _, name := range args {
				rep, err := l.Verify(cmd.Context(), name)
				if rep == nil {
					return err
				}
				fmt.Fprintf(w, "%s (%s):\n", rep.Name, rep.Dir)
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				for _, f := range rep.Files {
					switch f.Status {
					case models.CheckOK:
						src := "manifest"
						if f.CatalogSHA256 != "" {
							src = "manifest, catalogue"
						}
						fmt.Fprintf(tw, "  ok\t%s\t%s\tsha256 %s (%s)\n", f.Name, modelsSize(f.Size), f.SHA256, src)
					default:
						fmt.Fprintf(tw, "  %s\t%s\t\t%s\n", strings.ToUpper(string(f.Status)), f.Name, f.Detail)
					}
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if rep.LayoutErr != nil {
					fmt.Fprintf(w, "  LAYOUT\t%v\n", rep.LayoutErr)
				}
				if len(rep.Mismatches) > 0 {
					how := ""
					if rep.Forced {
						how = " (added with --force)"
					}
					fmt.Fprintf(w, "  MISMATCH: the directory does not match the catalogue entry%s:\n", how)
					for _, m := range rep.Mismatches {
						fmt.Fprintf(w, "    %s\n", m)
					}
				}
				if len(rep.NotInstalled) > 0 {
					fmt.Fprintf(w, "  note: catalogue files not installed: %s\n", strings.Join(rep.NotInstalled, ", "))
				}
				if len(rep.Unlisted) > 0 {
					fmt.Fprintf(w, "  note: files not in the manifest: %s\n", strings.Join(rep.Unlisted, ", "))
				}
				fmt.Fprintf(w, "  %d of %d files ok", len(rep.Files)-rep.Failed(), len(rep.Files))
				if rep.LayoutErr != nil || len(rep.Mismatches) > 0 {
					fmt.Fprint(w, "; the model does not match")
				}
				fmt.Fprintln(w)
				if err != nil {
					if !errors.Is(err, models.ErrVerify) {
						return err
					}
					failed = append(failed, err)
				}
			}
			return errors.Join(failed...)
		},
	}
}

// modelsSize formats a byte count in binary units.
func modelsSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[i])
}

// modelsProgress shows pull progress: a bar per file on a terminal, a log
// line every 5 s (and one per finished file) otherwise.
type modelsProgress struct {
	w   io.Writer
	tty bool
	bar *progressbar.ProgressBar

	file               string
	have, total, start int64
	began, last        time.Time
}

func newModelsProgress(w io.Writer) *modelsProgress {
	p := &modelsProgress{w: w}
	if f, ok := w.(*os.File); ok {
		p.tty = term.IsTerminal(int(f.Fd()))
	}
	return p
}

func (p *modelsProgress) Start(model, file string, have, total int64) {
	p.file, p.have, p.total, p.start = file, have, total, have
	p.began, p.last = time.Now(), time.Now()
	if p.tty {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(file),
			progressbar.OptionShowBytes(true),
			progressbar.OptionUseIECUnits(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
		)
		if have > 0 {
			p.bar.Set64(have)
		}
		return
	}
	if have > 0 {
		fmt.Fprintf(p.w, "%s: %s: resuming at %s of %s\n", model, file, modelsSize(have), modelsTotal(total))
	} else {
		fmt.Fprintf(p.w, "%s: %s: downloading %s\n", model, file, modelsTotal(total))
	}
}

func (p *modelsProgress) Advance(n int64) {
	p.have += n
	if p.bar != nil {
		p.bar.Add64(n)
		return
	}
	if time.Since(p.last) >= 5*time.Second {
		p.last = time.Now()
		pct := ""
		if p.total > 0 {
			pct = fmt.Sprintf(" (%.0f%%)", 100*float64(p.have)/float64(p.total))
		}
		fmt.Fprintf(p.w, "  %s: %s of %s%s, %s/s\n", p.file, modelsSize(p.have), modelsTotal(p.total), pct, p.rate())
	}
}

func (p *modelsProgress) Finish(err error) {
	if p.bar != nil {
		if err == nil {
			p.bar.Finish()
		} else {
			p.bar.Exit()
			fmt.Fprintln(p.w)
		}
		p.bar = nil
		return
	}
	if err == nil && !p.tty {
		fmt.Fprintf(p.w, "  %s: done, %s at %s/s\n", p.file, modelsSize(p.have), p.rate())
	}
}

func (p *modelsProgress) rate() string {
	s := time.Since(p.began).Seconds()
	if s <= 0 {
		return modelsSize(0)
	}
	return modelsSize(int64(float64(p.have-p.start) / s))
}

func modelsTotal(n int64) string {
	if n < 0 {
		return "unknown size"
	}
	return modelsSize(n)
}
