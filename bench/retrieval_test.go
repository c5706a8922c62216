package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rosetta/encoders/clip"
	"rosetta/internal/fixtures"
)

// The harness consumes Embedder; the real encoder must satisfy it.
var _ Embedder = (*clip.Encoder)(nil)

// The synthetic dataset: 12 images, each a two-colour checkerboard whose
// top-left cell has a distinct key colour, with 2–5 captions each (42 in
// all). Images 6–11 live in a sub-directory named by "filepath".
const synthImages = 12

func keyColour(i int) color.RGBA {
	return color.RGBA{uint8(20 * i), uint8(255 - 20*i), uint8(97 * i % 256), 255}
}

func captionsOf(i int) int { return 2 + i%4 }

func captionText(i, c int) string { return fmt.Sprintf("photo %d, caption %d", i, c) }

func imageSubdir(i int) string {
	if i >= 6 {
		return "sub"
	}
	return ""
}

// writeSynthetic writes the PNGs and the Karpathy JSON (all in split
// "test") into dir and returns the JSON's path.
func writeSynthetic(t *testing.T, dir string) string {
	t.Helper()
	type sentence struct {
		Raw string `json:"raw"`
	}
	type entry struct {
		Filepath  string     `json:"filepath,omitempty"`
		Filename  string     `json:"filename"`
		Split     string     `json:"split"`
		Sentences []sentence `json:"sentences"`
	}
	var entries []entry
	for i := range synthImages {
		key := keyColour(i)
		other := color.RGBA{255 - key.R, 255 - key.G, 255 - key.B, 255}
		size, cell := 32+i, 4+i%3
		img := image.NewRGBA(image.Rect(0, 0, size, size+3))
		for y := range size + 3 {
			for x := range size {
				c := key
				if (x/cell+y/cell)%2 == 1 {
					c = other
				}
				img.SetRGBA(x, y, c)
			}
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("img%02d.png", i)
		sub := filepath.Join(dir, imageSubdir(i))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		e := entry{Filepath: imageSubdir(i), Filename: name, Split: "test"}
		for c := range captionsOf(i) {
			e.Sentences = append(e.Sentences, sentence{captionText(i, c)})
		}
		entries = append(entries, e)
	}
	b, err := json.Marshal(map[string]any{"dataset": "synthetic", "images": entries})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "dataset_synthetic.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// distractors lists, per caption, the images the fake ranks above the
// caption's own image (in both directions, see fakeEmbedder):
//
//	caption 0 of images 0–9 → {11}
//	caption 1 of images 0–5 → {10}
//	caption 2 of image 2    → {0, 1, 3, 4, 5, 6}
func distractors(i, c int) []int {
	switch {
	case c == 0 && i <= 9:
		return []int{11}
	case c == 1 && i <= 5:
		return []int{10}
	case c == 2 && i == 2:
		return []int{0, 1, 3, 4, 5, 6}
	}
	return nil
}

// fakeEmbedder maps image i (recognised by its key colour) to the basis
// vector e_i and a caption of image i to a vector with weight 10 on e_i,
// weights 11, 12, ... on its distractors and a padding component that
// gives every caption the same norm, so that after normalisation the
// score of caption j with image i is its weight on e_i / fakeNorm.
//
// Text → image: a caption's own image ranks behind exactly its
// distractors. Image → text: image i's own captions all score 10, and the
// foreign captions above them are exactly those listing i as a distractor.
type fakeEmbedder struct {
	texts       map[string][]float32
	colours     map[color.RGBA]int
	imageCalls  int
	textCalls   int
	maxBatch    int
	breakImages func([][]float32) [][]float32 // corrupts the output when set
	cancel      context.CancelFunc            // called on the first image batch when set
}

const fakeDim = synthImages + 1
const fakeNorm = 100

func newFake() *fakeEmbedder {
	f := &fakeEmbedder{texts: map[string][]float32{}, colours: map[color.RGBA]int{}}
	for i := range synthImages {
		f.colours[keyColour(i)] = i
		for c := range captionsOf(i) {
			v := make([]float32, fakeDim)
			v[i] = 10
			for k, j := range distractors(i, c) {
				v[j] = float32(11 + k)
			}
			var ss float64
			for _, x := range v {
				ss += float64(x) * float64(x)
			}
			v[synthImages] = float32(math.Sqrt(fakeNorm*fakeNorm - ss))
			f.texts[captionText(i, c)] = v
		}
	}
	return f
}

func (f *fakeEmbedder) Dim() int { return fakeDim }

func (f *fakeEmbedder) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	f.textCalls++
	f.maxBatch = max(f.maxBatch, len(texts))
	out := make([][]float32, len(texts))
	for i, s := range texts {
		v, ok := f.texts[s]
		if !ok {
			return nil, fmt.Errorf("fake: unknown caption %q", s)
		}
		out[i] = append([]float32(nil), v...)
	}
	return out, nil
}

func (f *fakeEmbedder) EmbedImages(ctx context.Context, imgs []image.Image) ([][]float32, error) {
	f.imageCalls++
	f.maxBatch = max(f.maxBatch, len(imgs))
	if f.cancel != nil {
		f.cancel()
	}
	out := make([][]float32, len(imgs))
	for n, img := range imgs {
		b := img.Bounds()
		c := color.RGBAModel.Convert(img.At(b.Min.X, b.Min.Y)).(color.RGBA)
		i, ok := f.colours[c]
		if !ok {
			return nil, fmt.Errorf("fake: unknown key colour %v", c)
		}
		out[n] = make([]float32, fakeDim)
		out[n][i] = 1
	}
	if f.breakImages != nil {
		out = f.breakImages(out)
	}
	return out, nil
}

func frac(a, b int) float64 { return float64(a) / float64(b) }

func TestRetrievalKnownRecalls(t *testing.T) {
	dir := t.TempDir()
	path := writeSynthetic(t, dir)
	for _, tc := range []struct {
		name          string
		limit, block  int // block: score-block size in floats (0 = default)
		images, capts int
		t2i, i2t      Recalls
	}{
		// Text → image: 17 of 42 captions rank one or more images above
		// their own; one (caption 2 of image 2) ranks six. Image → text:
		// images 2, 7, 8, 9 have no foreign caption above their own; 0, 1,
		// 3–6 have one; 10 has six; 11 has ten.
		{"all", 0, 0, 12, 42,
			Recalls{frac(25, 42), frac(41, 42), 1},
			Recalls{frac(4, 12), frac(10, 12), frac(11, 12)}},
		// Scored five captions at a time: several GEMM blocks, two passes.
		{"blocked", 0, 5 * synthImages, 12, 42,
			Recalls{frac(25, 42), frac(41, 42), 1},
			Recalls{frac(4, 12), frac(10, 12), frac(11, 12)}},
		// Images 0–5 only: the distractors 10 and 11 are gone; caption 2 of
		// image 2 still ranks 0, 1, 3, 4, 5 first (rank 5: a miss at 5),
		// and they each have that one foreign caption above their own.
		{"limit", 6, 0, 6, 19,
			Recalls{frac(18, 19), frac(18, 19), 1},
			Recalls{frac(1, 6), 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.block > 0 {
				old := scoreBlockFloats
				scoreBlockFloats = tc.block
				defer func() { scoreBlockFloats = old }()
			}
			set, err := LoadKarpathy(path, dir, "test", tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			f := newFake()
			var log bytes.Buffer
			rep, err := RunRetrieval(context.Background(), f, set, RetrievalOptions{Model: "fake", Batch: 5, Log: &log})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Images != tc.images || rep.Captions != tc.capts || rep.Dim != fakeDim || rep.Dataset != "synthetic" {
				t.Errorf("report says %d images, %d captions, dim %d, dataset %q; want %d, %d, %d, synthetic",
					rep.Images, rep.Captions, rep.Dim, rep.Dataset, tc.images, tc.capts, fakeDim)
			}
			if rep.TextToImage != tc.t2i {
				t.Errorf("text → image %+v, want %+v", rep.TextToImage, tc.t2i)
			}
			if rep.ImageToText != tc.i2t {
				t.Errorf("image → text %+v, want %+v", rep.ImageToText, tc.i2t)
			}
			if want := (tc.images + 4) / 5; f.imageCalls != want || f.maxBatch > 5 {
				t.Errorf("%d image calls, largest batch %d; want %d calls of at most 5", f.imageCalls, f.maxBatch, want)
			}
			if f.textCalls != (tc.capts+4)/5 {
				t.Errorf("%d text calls for %d captions in batches of 5", f.textCalls, tc.capts)
			}
			if rep.ImagesPerSec <= 0 || rep.CaptionsPerSec <= 0 {
				t.Errorf("throughput %v images/s, %v captions/s", rep.ImagesPerSec, rep.CaptionsPerSec)
			}
			// The last batch always logs, whatever the interval.
			if s := log.String(); !strings.Contains(s, fmt.Sprintf("images %d/%d", tc.images, tc.images)) ||
				!strings.Contains(s, fmt.Sprintf("captions %d/%d", tc.capts, tc.capts)) {
				t.Errorf("progress log lacks the final lines:\n%s", s)
			}
		})
	}
}

// TestRetrievalRecallsMatchesNaive compares the blocked GEMM scoring with
// a float64 double loop on random embeddings (no ties), for block sizes
// that do and do not divide the caption count.
func TestRetrievalRecallsMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const nImg, d = 37, 9
	var capImg []int
	for i := range nImg {
		for range 1 + rng.IntN(5) {
			capImg = append(capImg, i)
		}
	}
	nTxt := len(capImg)
	randVecs := func(n int) [][]float32 {
		out := make([][]float32, n)
		for i := range out {
			out[i] = make([]float32, d)
			for k := range out[i] {
				out[i][k] = float32(rng.NormFloat64())
			}
		}
		return out
	}
	imgs, txts := randVecs(nImg), randVecs(nTxt)
	// Pull each caption towards its image so recalls are neither 0 nor 1.
	for j, i := range capImg {
		for k := range d {
			txts[j][k] += 0.8 * imgs[i][k]
		}
	}
	cos := func(a, b []float32) float64 {
		var ab, aa, bb float64
		for k := range a {
			ab += float64(a[k]) * float64(b[k])
			aa += float64(a[k]) * float64(a[k])
			bb += float64(b[k]) * float64(b[k])
		}
		return ab / math.Sqrt(aa*bb)
	}
	var t2iHits, i2tHits [3]int
	best := make([]float64, nImg)
	for i := range best {
		best[i] = math.Inf(-1)
	}
	for j, own := range capImg {
		s := cos(txts[j], imgs[own])
		best[own] = max(best[own], s)
		rank := 0
		for i := range nImg {
			if i != own && cos(txts[j], imgs[i]) >= s {
				rank++
			}
		}
		countHits(&t2iHits, rank)
	}
	for i := range nImg {
		rank := 0
		for j, own := range capImg {
			if own != i && cos(txts[j], imgs[i]) >= best[i] {
				rank++
			}
		}
		countHits(&i2tHits, rank)
	}
	want1, want2 := recalls(t2iHits, nTxt), recalls(i2tHits, nImg)
	if want1.R1 == 0 || want1.R10 == 1 || want2.R1 == 0 {
		t.Fatalf("degenerate test data: %+v %+v", want1, want2)
	}
	old := scoreBlockFloats
	defer func() { scoreBlockFloats = old }()
	for _, rows := range []int{1, 7, 16, nTxt - 1, nTxt, 1 << 20} {
		scoreBlockFloats = rows * nImg
		t2i, i2t, err := RetrievalRecalls(context.Background(), imgs, txts, capImg)
		if err != nil {
			t.Fatal(err)
		}
		if t2i != want1 || i2t != want2 {
			t.Errorf("blocks of %d rows: %+v %+v, want %+v %+v", rows, t2i, i2t, want1, want2)
		}
	}
}

// TestRetrievalTiesCountAgainst: when every embedding is the same, every
// wrong item ties with the right one and ranks above it.
func TestRetrievalTiesCountAgainst(t *testing.T) {
	v := []float32{1, 2, 3}
	imgs := [][]float32{v, v, v}
	txts := [][]float32{v, v, v, v}
	t2i, i2t, err := RetrievalRecalls(context.Background(), imgs, txts, []int{0, 1, 2, 2})
	if err != nil {
		t.Fatal(err)
	}
	// Text → image: 2 wrong images tie → rank 2: a miss at 1, a hit at 5.
	// Image → text: 2 or 3 foreign captions tie → a miss at 1 only.
	if want := (Recalls{0, 1, 1}); t2i != want || i2t != want {
		t.Errorf("got %+v and %+v, want %+v for both", t2i, i2t, want)
	}
}

func TestParseKarpathyErrors(t *testing.T) {
	good := `{"images":[{"filename":"a.jpg","split":"test","sentences":[{"raw":"a"}]},{"filename":"b.jpg","split":"train","sentences":[{"raw":"b"}]}]}`
	for _, tc := range []struct {
		name, data, split string
		want              error
		msg               string
	}{
		{"truncated", `{"images":[`, "test", ErrBadDataset, ""},
		{"not json", `dataset`, "test", ErrBadDataset, ""},
		{"wrong type", `{"images":3}`, "test", ErrBadDataset, ""},
		{"no images key", `{"dataset":"x"}`, "test", ErrBadDataset, `"images"`},
		{"no filename", `{"images":[{"split":"test","sentences":[{"raw":"a"}]}]}`, "test", ErrBadDataset, "filename"},
		{"no captions", `{"images":[{"filename":"a.jpg","split":"test","sentences":[]}]}`, "test", ErrBadDataset, "a.jpg"},
		{"empty caption", `{"images":[{"filename":"a.jpg","split":"test","sentences":[{"raw":" "}]}]}`, "test", ErrBadDataset, "a.jpg"},
		{"empty split", good, "val", ErrEmptySplit, `"test" (1), "train" (1)`},
		{"no images", `{"images":[]}`, "test", ErrEmptySplit, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKarpathy([]byte(tc.data), "/imgs", tc.split, 0)
			if !errors.Is(err, tc.want) || !strings.Contains(fmt.Sprint(err), tc.msg) {
				t.Errorf("got %v, want %v mentioning %s", err, tc.want, tc.msg)
			}
		})
	}
}

func TestParseKarpathyFields(t *testing.T) {
	data := `{"dataset":"coco","images":[
		{"filepath":"val2014","filename":"a.jpg","split":"test","sentences":[{"raw":"A dog."},{"tokens":["a","cat"]}]},
		{"filename":"b.jpg","split":"train","sentences":[{"raw":"B"}]},
		{"filename":"c.jpg","split":"test","sentences":[{"raw":"C"}]}]}`
	set, err := ParseKarpathy([]byte(data), "/coco", "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	wantImages := []string{filepath.Join("/coco", "val2014", "a.jpg"), filepath.Join("/coco", "c.jpg")}
	if set.Name != "coco" || fmt.Sprint(set.Images) != fmt.Sprint(wantImages) ||
		fmt.Sprint(set.Captions) != "[A dog. a cat C]" || fmt.Sprint(set.CaptionImage) != "[0 0 1]" {
		t.Errorf("parsed %+v", set)
	}
	all, err := ParseKarpathy([]byte(data), "/coco", "", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Images) != 2 || all.Images[1] != filepath.Join("/coco", "b.jpg") {
		t.Errorf("split \"\" limit 2 kept %v", all.Images)
	}
}

func TestRetrievalImageErrors(t *testing.T) {
	dir := t.TempDir()
	path := writeSynthetic(t, dir)
	victim := filepath.Join(dir, "sub", "img07.png")

	t.Run("missing at load", func(t *testing.T) {
		d := t.TempDir()
		p := writeSynthetic(t, d)
		if err := os.Remove(filepath.Join(d, "sub", "img07.png")); err != nil {
			t.Fatal(err)
		}
		_, err := LoadKarpathy(p, d, "test", 0)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "img07.png") || !strings.Contains(err.Error(), "1 of 12") {
			t.Errorf("got %v, want fs.ErrNotExist naming img07.png", err)
		}
	})
	t.Run("missing at run", func(t *testing.T) {
		d := t.TempDir()
		p := writeSynthetic(t, d)
		set, err := LoadKarpathy(p, d, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(d, "sub", "img07.png")); err != nil {
			t.Fatal(err)
		}
		_, err = RunRetrieval(context.Background(), newFake(), set, RetrievalOptions{})
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "img07.png") {
			t.Errorf("got %v, want fs.ErrNotExist naming img07.png", err)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		set, err := LoadKarpathy(path, dir, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(victim, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = RunRetrieval(context.Background(), newFake(), set, RetrievalOptions{Batch: 4})
		if err == nil || !strings.Contains(err.Error(), "img07.png") {
			t.Errorf("got %v, want an error naming img07.png", err)
		}
	})
}

func TestRetrievalEmbedderErrors(t *testing.T) {
	dir := t.TempDir()
	set, err := LoadKarpathy(writeSynthetic(t, dir), dir, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		corrupt func([][]float32) [][]float32
		msg     string
	}{
		{"short", func(v [][]float32) [][]float32 { return v[1:] }, "vectors for"},
		{"wrong dim", func(v [][]float32) [][]float32 { v[0] = v[0][1:]; return v }, "components"},
		{"nan", func(v [][]float32) [][]float32 { v[1][0] = float32(math.NaN()); return v }, "NaN"},
		{"zero", func(v [][]float32) [][]float32 { clear(v[2]); return v }, "img02.png"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.breakImages = tc.corrupt
			_, err := RunRetrieval(context.Background(), f, set, RetrievalOptions{Batch: 4})
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want an error mentioning %q", err, tc.msg)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f := newFake()
		f.cancel = cancel
		_, err := RunRetrieval(ctx, f, set, RetrievalOptions{Batch: 4})
		if !errors.Is(err, context.Canceled) || f.imageCalls != 1 || f.textCalls != 0 {
			t.Errorf("got %v after %d image and %d text calls; want context.Canceled after the first batch", err, f.imageCalls, f.textCalls)
		}
	})
	t.Run("bad options", func(t *testing.T) {
		_, err := RunRetrieval(context.Background(), newFake(), set, RetrievalOptions{Batch: -1, Progress: -1})
		if err == nil || !strings.Contains(err.Error(), "batch") || !strings.Contains(err.Error(), "progress") {
			t.Errorf("got %v, want both problems reported", err)
		}
	})
	t.Run("empty set", func(t *testing.T) {
		_, err := RunRetrieval(context.Background(), newFake(), &CaptionSet{}, RetrievalOptions{})
		if !errors.Is(err, ErrEmptySplit) {
			t.Errorf("got %v, want ErrEmptySplit", err)
		}
	})
}

func TestRetrievalReportSave(t *testing.T) {
	dir := t.TempDir()
	set, err := LoadKarpathy(writeSynthetic(t, dir), dir, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := RunRetrieval(context.Background(), newFake(), set, RetrievalOptions{Model: "fake"})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"text → image", "image → text", "59.52", "33.33", "per second", "images (read+decode+embed)"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	out := filepath.Join(dir, "out")
	paths, err := rep.Save(out, "retrieval")
	if err != nil || len(paths) != 2 {
		t.Fatalf("Save: %v %v", paths, err)
	}
	b, err := os.ReadFile(filepath.Join(out, "retrieval.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back RetrievalReport
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.TextToImage != rep.TextToImage || back.ImageToText != rep.ImageToText || back.Images != 12 || back.Captions != 42 {
		t.Errorf("JSON round trip: %+v", back)
	}
}

// TestRetrievalCLIPFixture runs the real encoder end to end on the
// synthetic dataset. The fixture is a tiny randomly initialised CLIP, so
// its recalls mean nothing: this only checks that the whole path runs and
// that the recalls are fractions.
func TestRetrievalCLIPFixture(t *testing.T) {
	src := fixtures.Dir(t, "clip-vit")
	tok := fixtures.Dir(t, "tokenizer-clip")
	model := t.TempDir()
	for _, l := range []struct{ dir, name string }{
		{src, "config.json"}, {src, "model.safetensors"}, {src, "preprocessor_config.json"},
		{tok, "vocab.json"}, {tok, "merges.txt"},
	} {
		if err := os.Symlink(filepath.Join(l.dir, l.name), filepath.Join(model, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := clip.Open(model, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	set, err := LoadKarpathy(writeSynthetic(t, dir), dir, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := RunRetrieval(context.Background(), enc, set, RetrievalOptions{Model: model, Batch: 5})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Images != 12 || rep.Captions != 42 || rep.Dim != enc.Dim() {
		t.Errorf("report: %d images, %d captions, dim %d", rep.Images, rep.Captions, rep.Dim)
	}
	for _, r := range []Recalls{rep.TextToImage, rep.ImageToText} {
		for _, v := range []float64{r.R1, r.R5, r.R10} {
			if !(v >= 0 && v <= 1) {
				t.Errorf("recall %v outside [0, 1]: %+v", v, r)
			}
		}
		if r.R1 > r.R5 || r.R5 > r.R10 {
			t.Errorf("recalls not monotone in K: %+v", r)
		}
	}
}

func FuzzParseKarpathy(f *testing.F) {
	f.Add([]byte(`{"images":[{"filename":"a.jpg","split":"test","sentences":[{"raw":"a"},{"tokens":["b"]}]}]}`), "test", 0)
	f.Add([]byte(`{"dataset":"coco","images":[{"filepath":"val2014","filename":"a.jpg","split":"val","sentences":[{"raw":"a"}]}]}`), "", 1)
	f.Add([]byte(`{"images":null}`), "test", 0)
	f.Fuzz(func(t *testing.T, data []byte, split string, limit int) {
		set, err := ParseKarpathy(data, "/imgs", split, limit)
		if err != nil {
			if !errors.Is(err, ErrBadDataset) && !errors.Is(err, ErrEmptySplit) {
				t.Fatalf("error %v is neither ErrBadDataset nor ErrEmptySplit", err)
			}
			return
		}
		if err := set.check(); err != nil {
			t.Fatalf("parsed set fails its own check: %v", err)
		}
		if limit > 0 && len(set.Images) > limit {
			t.Fatalf("%d images for limit %d", len(set.Images), limit)
		}
	})
}
