package bench

// Retrieval quality: `rosetta bench retrieval` embeds the images and
// captions of one split of a caption dataset in the Karpathy JSON format
// (Flickr30k, COCO) and reports text → image and image → text recall@1/5/10
// by exact search: one dot product per (caption, image) pair, computed as a
// blocked matrix product of the L2-normalised embeddings.
//
// Ranks are pessimistic about ties: a wrong item that scores exactly the
// same as the right one ranks above it, so a model that embeds everything
// alike scores 0, not 1. With real embeddings exact ties are rare (Flickr30k
// has a few identical captions of different images).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"rosetta/encoders/imageproc"
	"rosetta/internal/atomicfile"
	"rosetta/kernels"
)

// Embedder is what the retrieval harness needs from a model. Both methods
// return one vector of Dim() components per input, in input order; the
// harness normalises them itself. *clip.Encoder satisfies it.
type Embedder interface {
	Dim() int
	EmbedTexts(ctx context.Context, texts []string) ([][]float32, error)
	EmbedImages(ctx context.Context, imgs []image.Image) ([][]float32, error)
}

var (
	// ErrBadDataset is returned for a caption file that is not valid
	// Karpathy-format JSON or that lacks a file name or captions.
	ErrBadDataset = errors.New("bench: bad caption dataset")
	// ErrEmptySplit is returned when no image of the file is in the
	// requested split.
	ErrEmptySplit = errors.New("bench: no images in the requested split")
)

// retrievalKs are the cut-offs recall is reported at (Recalls R1, R5, R10).
var retrievalKs = [3]int{1, 5, 10}

// CaptionSet is one split of a caption dataset: images and their captions.
type CaptionSet struct {
	Name         string   // the file's "dataset" field, or its file name
	Split        string   // the split selected ("" = every image)
	Images       []string // image paths, joined with the images directory
	Captions     []string
	CaptionImage []int // CaptionImage[j] indexes Images: caption j's own image
}

// karpathyFile is the layout of dataset_flickr30k.json, dataset_coco.json
// and dataset_flickr8k.json from Karpathy's neuraltalk2 splits.
type karpathyFile struct {
	Dataset string `json:"dataset"`
	Images  *[]struct {
		Filepath  string `json:"filepath"` // COCO only: "train2014", "val2014"
		Filename  string `json:"filename"`
		Split     string `json:"split"`
		Sentences []struct {
			Raw    string   `json:"raw"`
			Tokens []string `json:"tokens"`
		} `json:"sentences"`
	} `json:"images"`
}

// ParseKarpathy reads a caption dataset in the Karpathy JSON format,
// {"images": [{"filename": ..., "split": ..., "sentences": [{"raw": ...}]}]},
// keeping the images whose "split" equals split (every image when split is
// ""), the first limit of them when limit > 0. Image paths are imagesDir
// joined with the image's "filepath" (when present) and "filename". A
// caption without "raw" is its "tokens" joined by spaces. It does not touch
// the image files.
func ParseKarpathy(data []byte, imagesDir, split string, limit int) (*CaptionSet, error) {
	var f karpathyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadDataset, err)
	}
	if f.Images == nil {
		return nil, fmt.Errorf("%w: no \"images\" array", ErrBadDataset)
	}
	set := &CaptionSet{Name: f.Dataset, Split: split}
	splits := map[string]int{}
	for i, im := range *f.Images {
		splits[im.Split]++
		if split != "" && im.Split != split {
			continue
		}
		if limit > 0 && len(set.Images) == limit {
			continue // keep counting splits for the error message only
		}
		if im.Filename == "" {
			return nil, fmt.Errorf("%w: image %d has no \"filename\"", ErrBadDataset, i)
		}
		if len(im.Sentences) == 0 {
			return nil, fmt.Errorf("%w: image %d (%s) has no captions", ErrBadDataset, i, im.Filename)
		}
		idx := len(set.Images)
		set.Images = append(set.Images, filepath.Join(imagesDir, im.Filepath, im.Filename))
		for c, s := range im.Sentences {
			text := s.Raw
			if text == "" {
				text = strings.Join(s.Tokens, " ")
			}
			if strings.TrimSpace(text) == "" {
				return nil, fmt.Errorf("%w: image %d (%s) caption %d is empty", ErrBadDataset, i, im.Filename, c)
			}
			set.Captions = append(set.Captions, text)
			set.CaptionImage = append(set.CaptionImage, idx)
		}
	}
	if len(set.Images) == 0 {
		names := make([]string, 0, len(splits))
		for s, n := range splits {
			names = append(names, fmt.Sprintf("%q (%d)", s, n))
		}
		sort.Strings(names)
		return nil, fmt.Errorf("%w %q; the file has %d images in splits %s", ErrEmptySplit, split, len(*f.Images), strings.Join(names, ", "))
	}
	return set, nil
}

// LoadKarpathy reads a Karpathy-format caption file (see ParseKarpathy)
// and checks that every selected image file exists, so that a wrong
// --images directory fails before any model runs. The error names the
// first few missing files and wraps fs.ErrNotExist.
func LoadKarpathy(path, imagesDir, split string, limit int) (*CaptionSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	set, err := ParseKarpathy(data, imagesDir, split, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if set.Name == "" {
		set.Name = filepath.Base(path)
	}
	var missing []string
	n := 0
	for _, p := range set.Images {
		if _, err := os.Stat(p); err != nil {
			n++
			if len(missing) < 3 {
				missing = append(missing, p)
			}
		}
	}
	if n > 0 {
		return nil, fmt.Errorf("bench: %d of %d images of %s are missing under %s (%s): %w", n, len(set.Images), path, imagesDir, strings.Join(missing, ", "), fs.ErrNotExist)
	}
	return set, nil
}

// RetrievalOptions configures RunRetrieval.
type RetrievalOptions struct {
	Model    string        // label for the report (e.g. the model directory)
	Batch    int           // inputs per Embed call; 0 means 32
	Progress time.Duration // interval between progress lines; 0 means 5s
	Log      io.Writer     // progress lines; nil for none
}

// DefaultRetrievalOptions returns batches of 32 and a progress line every
// five seconds.
func DefaultRetrievalOptions() RetrievalOptions {
	return RetrievalOptions{Batch: 32, Progress: 5 * time.Second}
}

func (o *RetrievalOptions) ensureDefaults() error {
	d := DefaultRetrievalOptions()
	var errs []error
	switch {
	case o.Batch == 0:
		o.Batch = d.Batch
	case o.Batch < 0:
		errs = append(errs, fmt.Errorf("bench: batch %d must be positive", o.Batch))
	}
	switch {
	case o.Progress == 0:
		o.Progress = d.Progress
	case o.Progress < 0:
		errs = append(errs, fmt.Errorf("bench: progress interval %v must be positive", o.Progress))
	}
	return errors.Join(errs...)
}

func (o *RetrievalOptions) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// Recalls are recall@1/5/10 as fractions in [0, 1].
type Recalls struct {
	R1  float64 `json:"recall_at_1"`
	R5  float64 `json:"recall_at_5"`
	R10 float64 `json:"recall_at_10"`
}

// RetrievalReport is what one `rosetta bench retrieval` run measured.
type RetrievalReport struct {
	Date     string  `json:"date"`
	Machine  Machine `json:"machine"`
	Model    string  `json:"model"`
	Dataset  string  `json:"dataset"`
	Split    string  `json:"split"`
	Images   int     `json:"images"`
	Captions int     `json:"captions"`
	Dim      int     `json:"dim"`
	Batch    int     `json:"batch"`
	// TextToImage ranks every image for each caption: a hit at K when the
	// caption's own image is in the top K. ImageToText ranks every caption
	// for each image: a hit when any of the image's own captions is.
	TextToImage Recalls `json:"text_to_image"`
	ImageToText Recalls `json:"image_to_text"`
	// ImageSeconds covers reading, decoding and embedding the images
	// (DecodeSeconds of it reading and decoding); ImagesPerSec is
	// Images/ImageSeconds.
	ImageSeconds   float64 `json:"image_seconds"`
	DecodeSeconds  float64 `json:"decode_seconds"`
	ImagesPerSec   float64 `json:"images_per_sec"`
	TextSeconds    float64 `json:"text_seconds"`
	CaptionsPerSec float64 `json:"captions_per_sec"`
	ScoreSeconds   float64 `json:"score_seconds"` // the exact similarity matrix and ranks
}

// RunRetrieval embeds set's images and captions with e, Batch inputs per
// call, and scores text → image and image → text recall@1/5/10 exactly. A
// missing or undecodable image is an error naming the file (no image is
// skipped: recalls over a subset would not compare with published ones).
// It stops at the next batch when ctx is cancelled.
func RunRetrieval(ctx context.Context, e Embedder, set *CaptionSet, o RetrievalOptions) (*RetrievalReport, error) {
	if err := o.ensureDefaults(); err != nil {
		return nil, err
	}
	if err := set.check(); err != nil {
		return nil, err
	}
	d := e.Dim()
	if d <= 0 {
		return nil, fmt.Errorf("bench: embedder dimension %d", d)
	}
	rep := &RetrievalReport{
		Date: time.Now().Format("2006-01-02"), Machine: thisMachine(), Model: o.Model,
		Dataset: set.Name, Split: set.Split, Images: len(set.Images), Captions: len(set.Captions), Dim: d, Batch: o.Batch,
	}
	o.logf("%s %s: %d images, %d captions, dim %d, batches of %d", set.Name, splitName(set.Split), rep.Images, rep.Captions, d, o.Batch)

	start := time.Now()
	img, decode, err := embedImages(ctx, e, set.Images, d, &o)
	if err != nil {
		return nil, err
	}
	rep.ImageSeconds, rep.DecodeSeconds = time.Since(start).Seconds(), decode.Seconds()
	rep.ImagesPerSec = float64(rep.Images) / rep.ImageSeconds

	start = time.Now()
	txt, err := embedTexts(ctx, e, set.Captions, d, &o)
	if err != nil {
		return nil, err
	}
	rep.TextSeconds = time.Since(start).Seconds()
	rep.CaptionsPerSec = float64(rep.Captions) / rep.TextSeconds

	start = time.Now()
	rep.TextToImage, rep.ImageToText, err = scoreRetrieval(ctx, img, txt, d, set.CaptionImage)
	if err != nil {
		return nil, err
	}
	rep.ScoreSeconds = time.Since(start).Seconds()
	o.logf("scored %d × %d pairs in %.2fs", rep.Captions, rep.Images, rep.ScoreSeconds)
	return rep, nil
}

func (s *CaptionSet) check() error {
	if s == nil || len(s.Images) == 0 || len(s.Captions) == 0 {
		return fmt.Errorf("%w: nothing to evaluate", ErrEmptySplit)
	}
	if len(s.CaptionImage) != len(s.Captions) {
		return fmt.Errorf("%w: %d captions but %d caption→image links", ErrBadDataset, len(s.Captions), len(s.CaptionImage))
	}
	has := make([]bool, len(s.Images))
	for j, i := range s.CaptionImage {
		if i < 0 || i >= len(s.Images) {
			return fmt.Errorf("%w: caption %d links image %d of %d", ErrBadDataset, j, i, len(s.Images))
		}
		has[i] = true
	}
	for i, ok := range has {
		if !ok {
			return fmt.Errorf("%w: image %s has no captions", ErrBadDataset, s.Images[i])
		}
	}
	return nil
}

func splitName(s string) string {
	if s == "" {
		return "(all splits)"
	}
	return s
}

// progress prints a line at most every o.Progress while a phase runs.
type progress struct {
	o           *RetrievalOptions
	what        string
	n           int
	start, last time.Time
}

func newProgress(o *RetrievalOptions, what string, n int) *progress {
	now := time.Now()
	return &progress{o: o, what: what, n: n, start: now, last: now}
}

func (p *progress) update(done int) {
	now := time.Now()
	if done < p.n && now.Sub(p.last) < p.o.Progress {
		return
	}
	p.last = now
	secs := now.Sub(p.start).Seconds()
	p.o.logf("%s %d/%d, %.1f/s, %.0fs", p.what, done, p.n, float64(done)/secs, secs)
}

// embedImages reads, decodes and embeds the images in batches and returns
// their normalised embeddings as a row-major len(paths)×d matrix, with the
// time spent reading and decoding.
func embedImages(ctx context.Context, e Embedder, paths []string, d int, o *RetrievalOptions) ([]float32, time.Duration, error) {
	out := make([]float32, len(paths)*d)
	imgs := make([]image.Image, o.Batch)
	var decode time.Duration
	p := newProgress(o, "images", len(paths))
	for lo := 0; lo < len(paths); lo += o.Batch {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		hi := min(len(paths), lo+o.Batch)
		batch := imgs[:hi-lo]
		t := time.Now()
		if err := decodeImages(paths[lo:hi], batch); err != nil {
			return nil, 0, err
		}
		decode += time.Since(t)
		embs, err := e.EmbedImages(ctx, batch)
		if err != nil {
			return nil, 0, fmt.Errorf("bench: embedding images %d..%d (%s, ...): %w", lo, hi-1, paths[lo], err)
		}
		if err := collect(out[lo*d:hi*d], embs, d, func(i int) string { return paths[lo+i] }); err != nil {
			return nil, 0, err
		}
		clear(batch) // let the decoded pixels go before the next batch
		p.update(hi)
	}
	return out, decode, nil
}

// decodeImages reads and decodes paths into dst on up to GOMAXPROCS
// goroutines. The error is the first by position, naming its file.
func decodeImages(paths []string, dst []image.Image) error {
	errs := make([]error, len(paths))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(len(paths), runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(paths) {
					return
				}
				dst[i], errs[i] = decodeImage(paths[i])
			}
		}()
	}
	wg.Wait()
	return firstError(errs)
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func decodeImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bench: image %w", err) // *PathError names the file
	}
	defer f.Close()
	img, _, err := imageproc.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("bench: image %s: %w", path, err)
	}
	return img, nil
}

// embedTexts embeds the captions in batches into a row-major
// len(texts)×d matrix of normalised embeddings.
func embedTexts(ctx context.Context, e Embedder, texts []string, d int, o *RetrievalOptions) ([]float32, error) {
	out := make([]float32, len(texts)*d)
	p := newProgress(o, "captions", len(texts))
	for lo := 0; lo < len(texts); lo += o.Batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(len(texts), lo+o.Batch)
		embs, err := e.EmbedTexts(ctx, texts[lo:hi])
		if err != nil {
			return nil, fmt.Errorf("bench: embedding captions %d..%d: %w", lo, hi-1, err)
		}
		if err := collect(out[lo*d:hi*d], embs, d, func(i int) string { return fmt.Sprintf("caption %d %q", lo+i, texts[lo+i]) }); err != nil {
			return nil, err
		}
		p.update(hi)
	}
	return out, nil
}

// collect copies embs into dst (len(embs)×d, row-major) and normalises each
// row, rejecting a wrong count, a wrong length, NaN/Inf and zero vectors;
// name(i) names input i in the error.
func collect(dst []float32, embs [][]float32, d int, name func(int) string) error {
	if len(embs)*d != len(dst) {
		return fmt.Errorf("bench: the embedder returned %d vectors for %d inputs", len(embs), len(dst)/d)
	}
	for i, v := range embs {
		if len(v) != d {
			return fmt.Errorf("bench: %s: embedding has %d components, want %d", name(i), len(v), d)
		}
		row := dst[i*d : (i+1)*d]
		copy(row, v)
		if err := kernels.CheckFinite(row); err != nil {
			return fmt.Errorf("bench: %s: %w", name(i), err)
		}
		if err := kernels.Normalize(row); err != nil {
			return fmt.Errorf("bench: %s: %w", name(i), err)
		}
	}
	return nil
}

// RetrievalRecalls scores text → image and image → text recall@1/5/10 of
// precomputed embeddings (normalised here; the inputs are not modified):
// captionImage[j] is the index in images of texts[j]'s own image, and
// every image needs at least one caption.
func RetrievalRecalls(ctx context.Context, images, texts [][]float32, captionImage []int) (t2i, i2t Recalls, err error) {
	if len(images) == 0 || len(texts) == 0 {
		return t2i, i2t, fmt.Errorf("%w: no embeddings", ErrEmptySplit)
	}
	d := len(images[0])
	if d == 0 {
		return t2i, i2t, errors.New("bench: empty embeddings")
	}
	set := CaptionSet{Images: make([]string, len(images)), Captions: make([]string, len(texts)), CaptionImage: captionImage}
	for i := range set.Images {
		set.Images[i] = fmt.Sprintf("#%d", i)
	}
	if err := set.check(); err != nil {
		return t2i, i2t, err
	}
	img := make([]float32, len(images)*d)
	if err := collect(img, images, d, func(i int) string { return fmt.Sprintf("image %d", i) }); err != nil {
		return t2i, i2t, err
	}
	txt := make([]float32, len(texts)*d)
	if err := collect(txt, texts, d, func(i int) string { return fmt.Sprintf("text %d", i) }); err != nil {
		return t2i, i2t, err
	}
	return scoreRetrieval(ctx, img, txt, d, captionImage)
}

// scoreBlockFloats bounds the caption × image score block held at once
// (32 MiB); the captions are scored in row blocks of that size. A variable
// so that tests can force several blocks.
var scoreBlockFloats = 1 << 23

// scoreRetrieval computes the exact scores S = txt·imgᵀ in row blocks with
// one GEMM each and turns them into ranks. Text → image: caption j's rank
// is the number of other images scoring ≥ S[j, own]. Image → text: image
// i's rank is the number of other images' captions scoring ≥ the best of
// its own captions, which needs the best own score of every image before
// counting, so a second pass recomputes the blocks when they do not all
// fit in one (identical GEMM calls give identical scores).
func scoreRetrieval(ctx context.Context, img, txt []float32, d int, capImg []int) (t2i, i2t Recalls, err error) {
	nImg, nTxt := len(img)/d, len(txt)/d
	packed, err := kernels.PackB(true, d, nImg, img, d)
	if err != nil {
		return t2i, i2t, fmt.Errorf("bench: %w", err)
	}
	rows := min(nTxt, max(1, scoreBlockFloats/nImg))
	block := make([]float32, rows*nImg)
	computed := -1 // first row of the block now in block
	scores := func(lo int) ([]float32, error) {
		hi := min(nTxt, lo+rows)
		if computed != lo {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := kernels.GemmPacked(false, hi-lo, 1, txt[lo*d:hi*d], d, packed, 0, block, nImg); err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
			computed = lo
		}
		return block[:(hi-lo)*nImg], nil
	}

	// Pass 1: text → image ranks and the best own-caption score per image.
	var t2iHits [len(retrievalKs)]int
	best := make([]float32, nImg)
	for i := range best {
		best[i] = float32(math.Inf(-1))
	}
	for lo := 0; lo < nTxt; lo += rows {
		s, err := scores(lo)
		if err != nil {
			return t2i, i2t, err
		}
		for r := 0; r*nImg < len(s); r++ {
			row, own := s[r*nImg:(r+1)*nImg], capImg[lo+r]
			target := row[own]
			best[own] = max(best[own], target)
			rank := 0
			for i, v := range row {
				if v >= target && i != own {
					rank++
				}
			}
			countHits(&t2iHits, rank)
		}
	}

	// Pass 2: image → text ranks.
	above := make([]int, nImg)
	for lo := 0; lo < nTxt; lo += rows {
		s, err := scores(lo)
		if err != nil {
			return t2i, i2t, err
		}
		for r := 0; r*nImg < len(s); r++ {
			row, own := s[r*nImg:(r+1)*nImg], capImg[lo+r]
			for i, v := range row {
				if v >= best[i] && i != own {
					above[i]++
				}
			}
		}
	}
	var i2tHits [len(retrievalKs)]int
	for _, rank := range above {
		countHits(&i2tHits, rank)
	}
	return recalls(t2iHits, nTxt), recalls(i2tHits, nImg), nil
}

func countHits(hits *[len(retrievalKs)]int, rank int) {
	for k, K := range retrievalKs {
		if rank < K {
			hits[k]++
		}
	}
}

func recalls(hits [len(retrievalKs)]int, n int) Recalls {
	f := func(h int) float64 { return float64(h) / float64(n) }
	return Recalls{R1: f(hits[0]), R5: f(hits[1]), R10: f(hits[2])}
}

// WriteTable prints the report for a terminal, recalls in percent.
func (r *RetrievalReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "\n%s %s — %d images, %d captions; model %s, dim %d\n", r.Dataset, splitName(r.Split), r.Images, r.Captions, dash(r.Model), r.Dim)
	fmt.Fprintf(w, "machine: %s, %d cores, %s, kernels %s, %s\n", r.Machine.CPU, r.Machine.Cores, r.Machine.Go, r.Machine.Kernels, r.Date)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\ndirection\tqueries\tR@1 %\tR@5 %\tR@10 %\t")
	fmt.Fprintf(tw, "text → image\t%d\t%.2f\t%.2f\t%.2f\t\n", r.Captions, 100*r.TextToImage.R1, 100*r.TextToImage.R5, 100*r.TextToImage.R10)
	fmt.Fprintf(tw, "image → text\t%d\t%.2f\t%.2f\t%.2f\t\n", r.Images, 100*r.ImageToText.R1, 100*r.ImageToText.R5, 100*r.ImageToText.R10)
	fmt.Fprintln(tw, "\nembedding\tinputs\tseconds\tper second\t")
	fmt.Fprintf(tw, "images (read+decode+embed)\t%d\t%.1f\t%.1f\t\n", r.Images, r.ImageSeconds, r.ImagesPerSec)
	fmt.Fprintf(tw, "captions\t%d\t%.1f\t%.1f\t\n", r.Captions, r.TextSeconds, r.CaptionsPerSec)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "decode %.1fs of the image time; exact scoring %.2fs; batch %d\n", r.DecodeSeconds, r.ScoreSeconds, r.Batch)
	return err
}

// WriteJSON writes the whole report.
func (r *RetrievalReport) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

// Save writes <prefix>.txt and <prefix>.json into dir (created if needed),
// each crash-safely, and returns their paths.
func (r *RetrievalReport) Save(dir, prefix string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	var paths []string
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{prefix + ".txt", r.WriteTable}, {prefix + ".json", r.WriteJSON}} {
		p := filepath.Join(dir, f.name)
		if err := atomicfile.Write(p, 0o644, f.write); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
