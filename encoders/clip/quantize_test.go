package clip

import (
	"math/rand/v2"
	"testing"

	"rosetta/internal/embedcmp"
	"rosetta/internal/fixtures"
	"rosetta/kernels"
)

// embedBoth returns a model's normalised image and text embeddings of the
// fixture's golden inputs.
func embedBoth(t *testing.T, m *Model, g golden) (img, txt []float32) {
	t.Helper()
	px, shape := g.f32(t, "pixel_values")
	var feats []float32
	if m.ResNet != nil {
		f, err := m.ResNet.Forward(px, shape[0])
		if err != nil {
			t.Fatal(err)
		}
		feats = f
	} else {
		vo, err := m.Vision.Forward(px, shape[0])
		if err != nil {
			t.Fatal(err)
		}
		feats = vo.Embeds
	}
	to, err := m.Text.Forward(g.ids(t, "input_ids"))
	if err != nil {
		t.Fatal(err)
	}
	return normalizeRows(feats, m.Cfg.EmbedDim), normalizeRows(to.Embeds, m.Cfg.EmbedDim)
}

// TestInt8Accuracy is the accuracy cost of int8 weights on every CLIP
// fixture: each image and text embedding of the golden inputs must stay
// within cosine 0.999 of the float32 one. On clip-vit (the HF layout,
// the tiny CLIP the engine and CLI tests use) every text query must rank
// the six images exactly as float32 does. The open_clip fixtures' random
// towers score their images within hundredths of each other (clip-resnet's
// six images span 0.012 for a query), closer than int8's score error
// (≤ 0.025 here), so there only pairs closer than 0.01 in float32 may
// swap, and every swap is logged. Image→text swaps are logged.
func TestInt8Accuracy(t *testing.T) {
	t.Logf("int8 kernel: %s", kernels.Int8Impl())
	for _, fx := range []string{"clip-vit", "clip-vit-openclip", "clip-resnet"} {
		t.Run(fx, func(t *testing.T) {
			dir := fixtures.Dir(t, fx)
			g := openGolden(t, dir)
			m, err := Load(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			fImg, fTxt := embedBoth(t, m, g)
			if err := m.QuantizeInt8(); err != nil {
				t.Fatal(err)
			}
			qImg, qTxt := embedBoth(t, m, g)
			d := m.Cfg.EmbedDim
			ci, ct := embedcmp.Min(embedcmp.Cosines(fImg, qImg, d)), embedcmp.Min(embedcmp.Cosines(fTxt, qTxt, d))
			t.Logf("%s: int8 vs float32 cosine: image min %.6f, text min %.6f", fx, ci, ct)
			if ci < 0.999 || ct < 0.999 {
				t.Errorf("%s: cosine to float32 below 0.999 (image %.6f, text %.6f)", fx, ci, ct)
			}
			n, gap, change := embedcmp.Swaps(fTxt, fImg, qTxt, qImg, d)
			t.Logf("%s: text→image: %d swapped pairs (widest float32 gap %.4f), largest score change %.4f", fx, n, gap, change)
			if fx == "clip-vit" && !embedcmp.SameRankings(embedcmp.Rankings(fTxt, fImg, d), embedcmp.Rankings(qTxt, qImg, d)) {
				t.Errorf("%s: text→image rankings changed: float32 %v, int8 %v", fx, embedcmp.Rankings(fTxt, fImg, d), embedcmp.Rankings(qTxt, qImg, d))
			}
			if gap >= 0.01 {
				t.Errorf("%s: int8 swapped images whose float32 scores differ by %.4f", fx, gap)
			}
			n, gap, _ = embedcmp.Swaps(fImg, fTxt, qImg, qTxt, d)
			t.Logf("%s: image→text: %d swapped pairs (widest float32 gap %.4f)", fx, n, gap)
		})
	}
}

// TestInt8AccuracyFullSize runs ViT-B/32's real shapes (random weights,
// random pixels and tokens): the fixtures are narrow, and quantisation
// error grows with width and depth differently.
func TestInt8AccuracyFullSize(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size model")
	}
	m, err := NewRandom(ViTB32(), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(2, 3))
	const batch = 2
	px := make([]float32, batch*3*224*224)
	for i := range px {
		px[i] = float32(r.NormFloat64())
	}
	ids := make([][]int, batch)
	for b := range ids {
		ids[b] = make([]int, 77)
		ids[b][0] = 49406
		n := 5 + r.IntN(30)
		for i := 1; i <= n; i++ {
			ids[b][i] = r.IntN(49405)
		}
		ids[b][n+1] = 49407
	}
	run := func() (img, txt []float32) {
		vo, err := m.Vision.Forward(px, batch)
		if err != nil {
			t.Fatal(err)
		}
		to, err := m.Text.Forward(ids)
		if err != nil {
			t.Fatal(err)
		}
		return vo.Embeds, to.Embeds
	}
	fImg, fTxt := run()
	if err := m.QuantizeInt8(); err != nil {
		t.Fatal(err)
	}
	qImg, qTxt := run()
	ci, ct := embedcmp.Min(embedcmp.Cosines(fImg, qImg, 512)), embedcmp.Min(embedcmp.Cosines(fTxt, qTxt, 512))
	t.Logf("ViT-B/32 shapes, random weights: int8 vs float32 cosine: image min %.6f, text min %.6f", ci, ct)
	if ci < 0.999 || ct < 0.999 {
		t.Errorf("cosine to float32 below 0.999 (image %.6f, text %.6f)", ci, ct)
	}
}
