package coca

import (
	"context"
	"slices"
	"testing"

	"rosetta/internal/embedcmp"
	"rosetta/internal/fixtures"
)

// TestInt8Accuracy records the cost of int8 weights on the coca fixture
// (a model of its own: the shared fixture model stays float32). The image
// and text latents are CoCa's embeddings and are held to CLIP's bar
// (cosine ≥ 0.999 to float32); so are the decoder logits of each
// position; the text→image swaps and greedy captions are logged.
func TestInt8Accuracy(t *testing.T) {
	f := load(t)
	q, err := Load(fixtures.Dir(t, "coca"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.QuantizeInt8(); err != nil {
		t.Fatal(err)
	}
	px, shape := f.f32(t, "pixel_values")
	ids := f.ids(t, "input_ids")
	run := func(m *Model) (img, txt, logits []float32, captions [][]int) {
		img, imgTok, err := m.EncodeImage(px, shape[0])
		if err != nil {
			t.Fatal(err)
		}
		txt, txtTok, err := m.EncodeText(ids)
		if err != nil {
			t.Fatal(err)
		}
		pairs := min(shape[0], len(ids))
		per := len(imgTok) / shape[0]
		tper := len(txtTok) / len(ids)
		logits, err = m.DecoderLogits(imgTok[:pairs*per], txtTok[:pairs*tper], pairs, len(ids[0]))
		if err != nil {
			t.Fatal(err)
		}
		captions, err = m.Greedy(context.Background(), px, shape[0], 20)
		if err != nil {
			t.Fatal(err)
		}
		return img, txt, logits, captions
	}
	fImg, fTxt, fLog, fCap := run(f.model)
	qImg, qTxt, qLog, qCap := run(q)
	d := f.model.Cfg.EmbedDim
	ci, ct := embedcmp.Min(embedcmp.Cosines(fImg, qImg, d)), embedcmp.Min(embedcmp.Cosines(fTxt, qTxt, d))
	cl := embedcmp.Min(embedcmp.Cosines(fLog, qLog, f.model.Cfg.Vocab))
	same := 0
	for i := range fCap {
		if slices.Equal(fCap[i], qCap[i]) {
			same++
		}
	}
	n, gap, _ := embedcmp.Swaps(fTxt, fImg, qTxt, qImg, d)
	t.Logf("coca: int8 vs float32 cosine: image latent min %.6f, text latent min %.6f, decoder logits min %.6f; text→image %d swapped pairs (widest float32 gap %.4f); greedy captions unchanged %d of %d",
		ci, ct, cl, n, gap, same, len(fCap))
	if ci < 0.999 || ct < 0.999 || cl < 0.999 {
		t.Errorf("cosine to float32 below 0.999 (image %.6f, text %.6f, logits %.6f)", ci, ct, cl)
	}
}
