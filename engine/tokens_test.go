package engine

import (
	"bytes"
	"context"
	"errors"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"rosetta/encoders"
	"rosetta/encoders/clip"
	"rosetta/encoders/imageproc"
	"rosetta/internal/fixtures"
	"rosetta/kernels"
)

var _ TokenMatcher = (*encoders.BLIP)(nil)
var _ TokenEmbedder = (*encoders.BLIP)(nil)

// countingBLIP counts the image tower's runs of the fixture BLIP.
type countingBLIP struct {
	*encoders.BLIP
	tower, embeds atomic.Int64
}

func (b *countingBLIP) ImageTokens(ctx context.Context, imgs []image.Image) ([]float32, error) {
	b.tower.Add(int64(len(imgs)))
	return b.BLIP.ImageTokens(ctx, imgs)
}

func (b *countingBLIP) EmbedImages(ctx context.Context, imgs []image.Image) ([][]float32, error) {
	b.embeds.Add(int64(len(imgs)))
	return b.BLIP.EmbedImages(ctx, imgs)
}

func tinyBLIP(t *testing.T) *countingBLIP {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors", "preprocessor_config.json"} {
		os.Symlink(filepath.Join(fixtures.Dir(t, "blip-itm"), f), filepath.Join(dir, f))
	}
	os.Symlink(filepath.Join(fixtures.Dir(t, "tokenizer-bert"), "vocab.txt"), filepath.Join(dir, "vocab.txt"))
	b, err := encoders.OpenBLIP(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &countingBLIP{BLIP: b}
}

// openBLIPEngine opens an engine whose models are "blip" (the fixture
// BLIP ITM) and "clip" (the fixture CLIP).
func openBLIPEngine(t *testing.T, dir string, b *countingBLIP) *Engine {
	t.Helper()
	clipDir := tinyCLIP(t)
	e, err := Open(Options{Dir: dir, SnapshotEvery: -1, LoadModel: func(name string) (Encoder, error) {
		switch name {
		case "blip":
			return b, nil
		case "clip":
			return clip.Open(clipDir, nil)
		}
		return nil, errors.New("no such model")
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.WaitReady(bg)
	return e
}

var tokenImages = []string{"astronaut", "camera", "chelsea", "coffee", "rocket"}

// copyImages copies the fixture's photos to a folder of the test's and
// returns their bytes by name.
func copyImages(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, n := range tokenImages {
		b, err := os.ReadFile(filepath.Join(fixtures.Dir(t, "preprocess-image"), n+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		out[n] = b
	}
	return out
}

// TestRerankFromCachedTokens: a collection naming a rerank model caches
// every image's tokens at write (exactly 13 + 2·T·W bytes), a text → image
// re-rank reads them — it scores every candidate with the sources gone and
// no media root — and its probabilities match the uncached float32 path
// within the float16 tolerance, in the same order; upserts replace the
// tokens, deletes remove them, and a crash after the write loses neither
// the object nor its tokens.
func TestRerankFromCachedTokens(t *testing.T) {
	dataDir, imgDir := t.TempDir(), t.TempDir()
	b := tinyBLIP(t)
	e := openBLIPEngine(t, dataDir, b)
	defer func() { e.Close() }()
	imgs := copyImages(t, imgDir)
	if _, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "clip", Model: "clip"}}, RerankModel: "blip"}); err != nil {
		t.Fatal(err)
	}
	var objs []Object
	for _, n := range tokenImages {
		objs = append(objs, Object{Key: n, Source: filepath.Join(imgDir, n+".png"), Content: &Content{Image: imgs[n]}})
	}
	objs = append(objs, Object{Key: "text", Content: &Content{Text: "a cat on a sofa"}})
	ids, err := e.Upsert(bg, "c", objs)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.tower.Load(); got != int64(len(tokenImages)) {
		t.Fatalf("the image tower ran %d times for %d images", got, len(tokenImages))
	}
	tokens, width := b.ImageTokenShape()
	for i, id := range ids {
		tb, err := e.db.Tokens("c", id)
		if i == len(tokenImages) {
			if err == nil {
				t.Fatal("a text object has image tokens")
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tokenImages[i], err)
		}
		if want := 13 + 2*tokens*width; len(tb) != want {
			t.Fatalf("%d bytes of tokens, want %d", len(tb), want)
		}
	}
	// The sources are gone and no media root was recorded: only the cache
	// can score the candidates.
	for _, n := range tokenImages {
		os.Remove(filepath.Join(imgDir, n+".png"))
	}
	const query = "a photo of a cat"
	hits, err := e.Search(bg, "c", SearchRequest{Query: Query{Text: query}, K: 5, Modality: "image",
		Rerank: &Rerank{Top: 5}, Fields: []string{"key"}}) // the collection's rerank model
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != len(tokenImages) {
		t.Fatalf("%d hits", len(hits))
	}
	// The uncached float32 path: the original image through the image tower
	// and ITMLogits (MatchProbabilities), one candidate at a time.
	type scored struct {
		key            string
		cached, direct float64
	}
	var got []scored
	var worst float64
	for i, h := range hits {
		if h.RerankScore == nil {
			t.Fatalf("hit %d (%s) was not scored from the cache", i, h.Object.Key)
		}
		img, _, err := imageproc.DecodeBytes(imgs[h.Object.Key])
		if err != nil {
			t.Fatal(err)
		}
		p, err := b.MatchProbabilities(bg, img, []string{query})
		if err != nil {
			t.Fatal(err)
		}
		s := scored{h.Object.Key, float64(*h.RerankScore), float64(p[0])}
		worst = math.Max(worst, math.Abs(s.cached-s.direct))
		got = append(got, s)
	}
	var ims []image.Image
	for _, s := range got {
		img, _, _ := imageproc.DecodeBytes(imgs[s.key])
		ims = append(ims, img)
	}
	raw, err := b.ImageTokens(bg, ims)
	if err != nil {
		t.Fatal(err)
	}
	tol := f16Tolerance(t, b, query, raw, len(ims))
	t.Logf("cached float16 tokens vs the float32 path: max |Δp| %.3g (tolerance %.3g)", worst, tol)
	if worst > tol {
		t.Errorf("cached re-rank off the float32 path by %.3g (tolerance %.3g): %+v", worst, tol, got)
	}
	direct := append([]scored(nil), got...)
	sort.SliceStable(direct, func(i, j int) bool { return direct[i].direct > direct[j].direct })
	for i := range got {
		if got[i].key != direct[i].key {
			t.Fatalf("cached order %+v, float32 order %+v", got, direct)
		}
	}

	// An upsert of the same key with another image replaces its tokens
	// (they decode to that image's tokens); a delete removes them.
	before, _ := e.db.Tokens("c", ids[0])
	if _, err := e.Upsert(bg, "c", []Object{{Key: tokenImages[0], Content: &Content{Image: imgs["rocket"]}}}); err != nil {
		t.Fatal(err)
	}
	after, err := e.db.Tokens("c", ids[0])
	if err != nil || bytes.Equal(before, after) {
		t.Fatalf("upsert did not replace the tokens (%v)", err)
	}
	rocket, _ := e.db.Tokens("c", ids[4])
	if !bytes.Equal(after, rocket) {
		t.Fatal("the replaced tokens are not the new image's")
	}
	if err := e.DeleteObject(bg, "c", ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Tokens("c", ids[1]); err == nil {
		t.Fatal("delete left the tokens")
	}
	// An upsert without content keeps no tokens (its re-rank falls back
	// to the source).
	if _, err := e.Upsert(bg, "c", []Object{{Key: tokenImages[2], Modality: "image", Source: filepath.Join(imgDir, tokenImages[2]+".png"), Vectors: map[string][]float32{"clip": unit(16)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Tokens("c", ids[2]); err == nil {
		t.Fatal("an upsert without an image left the old tokens")
	}
	scoreOf := func(key string) *float32 {
		t.Helper()
		hits, err := e.Search(bg, "c", SearchRequest{Query: Query{Text: query}, K: 5, Modality: "image",
			Rerank: &Rerank{Model: "blip", Top: 5}, Fields: []string{"key"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if h.Object.Key == key {
				return h.RerankScore
			}
		}
		t.Fatalf("%s not found", key)
		return nil
	}
	if scoreOf(tokenImages[2]) != nil {
		t.Fatal("scored a candidate with neither tokens nor a readable source")
	}
	// With its source readable again, the candidate without tokens is
	// scored from it.
	os.WriteFile(filepath.Join(imgDir, tokenImages[2]+".png"), imgs[tokenImages[2]], 0o644)
	if err := e.AddMediaRoot(bg, "c", imgDir); err != nil {
		t.Fatal(err)
	}
	if scoreOf(tokenImages[2]) == nil {
		t.Fatal("the candidate without tokens was not scored from its source")
	}
	// A crash right after an acknowledged write loses nothing of it.
	if _, err := e.Upsert(bg, "c", []Object{{Key: "late", Content: &Content{Image: imgs["coffee"]}}}); err != nil {
		t.Fatal(err)
	}
	crash(e)
	e = openBLIPEngine(t, dataDir, b)
	id, ok, err := e.db.IDOfKey("c", "late")
	if err != nil || !ok {
		t.Fatal("the object is gone after a crash", err)
	}
	if tb, err := e.db.Tokens("c", id); err != nil || len(tb) != 13+2*tokens*width {
		t.Fatalf("tokens after a crash: %d bytes, %v", len(tb), err)
	}
}

// f16Tolerance is how far float16 tokens may move the ITM probabilities
// of images whose float32 tokens are raw: three times the largest change
// that 8 random relative perturbations of every value by up to 2⁻¹¹ give
// (the bound of float16's round-to-nearest error, 10 fraction bits), plus
// 1e-6 for float32 reordering. Rounding is such a perturbation, if not
// exactly a random one; a cache that rounded more coarsely (bfloat16's 2⁻⁸)
// or decoded wrongly would be far outside it.
func f16Tolerance(t *testing.T, m TokenMatcher, text string, raw []float32, n int) float64 {
	t.Helper()
	base, err := m.MatchTokens(bg, text, raw, n)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	w := make([]float32, len(raw))
	var worst float64
	for range 8 {
		for i, x := range raw {
			w[i] = x * float32(1+(2*r.Float64()-1)/2048)
		}
		p, err := m.MatchTokens(bg, text, w, n)
		if err != nil {
			t.Fatal(err)
		}
		for i := range p {
			worst = math.Max(worst, math.Abs(float64(p[i]-base[i])))
		}
	}
	return 3*worst + 1e-6
}

func unit(n int) []float32 {
	v := make([]float32, n)
	v[0] = 1
	return v
}

// TestTokenRoundTrip: tokens survive encoding to float16 within 2⁻¹¹
// relative, the record is refused when its version, shape, length or
// checksum is wrong, values outside float16 are not cached, and the ITM
// pass on decoded tokens equals the float32 pass on the float16-rounded
// tokens (the cache changes nothing but the rounding).
func TestTokenRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const tokens, width = 37, 48
	v := make([]float32, tokens*width)
	for i := range v {
		v[i] = float32(r.NormFloat64() * 3)
	}
	b, err := encodeTokens(v, tokens, width)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 13+2*len(v) {
		t.Fatalf("%d bytes", len(b))
	}
	got := make([]float32, len(v))
	if err := decodeTokens(b, tokens, width, got); err != nil {
		t.Fatal(err)
	}
	for i := range v {
		if d := math.Abs(float64(got[i] - v[i])); d > math.Abs(float64(v[i]))/2048+1e-7 {
			t.Fatalf("value %d: %v → %v", i, v[i], got[i])
		}
	}
	bad := map[string][]byte{
		"short":    b[:12],
		"version":  append([]byte{9}, b[1:]...),
		"shape":    append(append([]byte{}, b[:1]...), append([]byte{38, 0, 0, 0}, b[5:]...)...),
		"length":   append(append([]byte{}, b[:len(b)-4]...), append([]byte{0, 0}, b[len(b)-4:]...)...),
		"checksum": append(append([]byte{}, b[:100]...), append([]byte{b[100] ^ 1}, b[101:]...)...),
	}
	for name, x := range bad {
		if err := decodeTokens(x, tokens, width, got); !errors.Is(err, errTokens) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, x := range []float32{float32(math.NaN()), 70000, -1e6} {
		w := append([]float32(nil), v...)
		w[5] = x
		if _, err := encodeTokens(w, tokens, width); !errors.Is(err, errTokens) {
			t.Errorf("%v encoded: %v", x, err)
		}
	}

	// On the fixture model: MatchTokens on decoded tokens = MatchTokens on
	// the float32 tokens rounded to float16 (the same input: to float32
	// reordering only), while the unrounded tokens differ by more.
	m := tinyBLIP(t)
	var ims []image.Image
	for _, n := range tokenImages {
		bb, _ := os.ReadFile(filepath.Join(fixtures.Dir(t, "preprocess-image"), n+".png"))
		im, _, err := imageproc.DecodeBytes(bb)
		if err != nil {
			t.Fatal(err)
		}
		ims = append(ims, im)
	}
	raw, err := m.ImageTokens(bg, ims)
	if err != nil {
		t.Fatal(err)
	}
	nt, nw := m.ImageTokenShape()
	per := nt * nw
	dec := make([]float32, len(raw))
	rounded := make([]float32, len(raw))
	h := make([]uint16, len(raw))
	kernels.EncodeF16(h, raw)
	kernels.DecodeF16(rounded, h)
	for i := range ims {
		rec, err := encodeTokens(raw[i*per:(i+1)*per], nt, nw)
		if err != nil {
			t.Fatal(err)
		}
		if err := decodeTokens(rec, nt, nw, dec[i*per:(i+1)*per]); err != nil {
			t.Fatal(err)
		}
	}
	const text = "a photo of a cat"
	pDec, err := m.MatchTokens(bg, text, dec, len(ims))
	if err != nil {
		t.Fatal(err)
	}
	pRound, _ := m.MatchTokens(bg, text, rounded, len(ims))
	pRaw, _ := m.MatchTokens(bg, text, raw, len(ims))
	var dRound, dRaw float64
	for i := range pDec {
		dRound = math.Max(dRound, math.Abs(float64(pDec[i]-pRound[i])))
		dRaw = math.Max(dRaw, math.Abs(float64(pDec[i]-pRaw[i])))
	}
	tol := f16Tolerance(t, m, text, raw, len(ims))
	t.Logf("decoded vs rounded %.3g, decoded vs float32 %.3g (tolerance %.3g)", dRound, dRaw, tol)
	if dRound > 0 {
		t.Errorf("decoded tokens differ from the float16-rounded ones: %.3g", dRound)
	}
	if dRaw > tol {
		t.Errorf("float16 tokens move the probabilities by %.3g (tolerance %.3g)", dRaw, tol)
	}
	// The tolerance is not vacuous: bfloat16-sized rounding (2⁻⁸) is
	// outside it.
	coarse := make([]float32, len(raw))
	for i, x := range raw {
		coarse[i] = math.Float32frombits((math.Float32bits(x) + 1<<15) &^ (1<<16 - 1))
	}
	pCoarse, _ := m.MatchTokens(bg, text, coarse, len(ims))
	var dCoarse float64
	for i := range pCoarse {
		dCoarse = math.Max(dCoarse, math.Abs(float64(pCoarse[i]-pRaw[i])))
	}
	t.Logf("bfloat16 rounding moves them by %.3g", dCoarse)
	if dCoarse <= tol {
		t.Errorf("bfloat16 rounding (%.3g) is inside the float16 tolerance %.3g", dCoarse, tol)
	}
}

// TestRerankModelChecked: a rerank_model must be a model with an
// image-text matching head, and cluster mode refuses one.
func TestRerankModelChecked(t *testing.T) {
	e := openBLIPEngine(t, t.TempDir(), tinyBLIP(t))
	defer e.Close()
	_, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "clip", Model: "clip"}}, RerankModel: "clip"})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "image-text matching head") {
		t.Fatalf("CLIP as rerank_model: %v", err)
	}
	if _, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "clip", Model: "clip"}}, RerankModel: "missing"}); err == nil {
		t.Fatal("a model that does not load accepted")
	}
	if _, err := e.GetCollection(bg, "c"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused collection was created: %v", err)
	}
	c := Collection{Name: "c", Spaces: []Space{{Name: "clip", Model: "clip"}}, RerankModel: "blip"}
	if _, err := e.CheckSchema(bg, c); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "rerank_model") {
		t.Fatalf("cluster schema with a rerank_model: %v", err)
	}
	c.Spaces[0].Dim = 16 // as CheckSchema would fill it in
	if _, err := e.Prepare(bg, c, []Object{{Key: "a", Vectors: map[string][]float32{"clip": unit(16)}}}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("cluster prepare with a rerank_model: %v", err)
	}
	// A search with no rerank model on a collection without one is refused.
	if _, err := e.CreateCollection(bg, Collection{Name: "plain", Spaces: []Space{{Name: "clip", Model: "clip"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Search(bg, "plain", SearchRequest{Query: Query{Text: "x"}, Rerank: &Rerank{Top: 3}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("rerank without a model: %v", err)
	}
}

// TestRerankModelFillsItsSpace: when the rerank model also fills a space,
// each image goes through its image tower once, for both the vector and
// the cached tokens, and the vector is the one EmbedImages gives.
func TestRerankModelFillsItsSpace(t *testing.T) {
	b := tinyBLIP(t)
	e := openBLIPEngine(t, t.TempDir(), b)
	defer e.Close()
	imgs := copyImages(t, t.TempDir())
	if _, err := e.CreateCollection(bg, Collection{Name: "c", Spaces: []Space{{Name: "itc", Model: "blip"}}, RerankModel: "blip"}); err != nil {
		t.Fatal(err)
	}
	var objs []Object
	for _, n := range tokenImages {
		objs = append(objs, Object{Key: n, Content: &Content{Image: imgs[n]}})
	}
	ids, err := e.Upsert(bg, "c", objs)
	if err != nil {
		t.Fatal(err)
	}
	if tw, em := b.tower.Load(), b.embeds.Load(); tw != int64(len(objs)) || em != 0 {
		t.Fatalf("image tower %d times, EmbedImages %d times, for %d images", tw, em, len(objs))
	}
	for i, id := range ids {
		o, err := e.GetObject(bg, "c", id)
		if err != nil {
			t.Fatal(err)
		}
		img, _, _ := imageproc.DecodeBytes(imgs[tokenImages[i]])
		want, err := b.BLIP.EmbedImages(bg, []image.Image{img})
		if err != nil {
			t.Fatal(err)
		}
		for j, x := range want[0] {
			if o.Vectors["itc"][j] != x {
				t.Fatalf("%s: vector %v, EmbedImages %v", tokenImages[i], o.Vectors["itc"], want[0])
			}
		}
		if _, err := e.db.Tokens("c", id); err != nil {
			t.Fatal(err)
		}
	}
}
