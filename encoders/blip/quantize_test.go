package blip

import (
	"testing"

	"rosetta/internal/embedcmp"
)

func flat(rows [][]float32) []float32 {
	var out []float32
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// itmOutputs returns the ITC image and text features of the golden inputs
// and their ITM logits.
func itmOutputs(t *testing.T, m *ITM, g *golden) (img, txt, itm []float32) {
	t.Helper()
	px, shape := g.floats("pixel_values")
	ids, masks := g.ints("input_ids"), g.ints("attention_mask")
	emb, err := m.ImageEmbeds(px, shape[0])
	if err != nil {
		t.Fatal(err)
	}
	fi, err := m.ImageFeatures(emb, shape[0])
	if err != nil {
		t.Fatal(err)
	}
	ft, err := m.TextFeatures(ids, masks)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := m.ITMLogits(emb, ids, masks)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range logits {
		itm = append(itm, l[0], l[1])
	}
	return flat(fi), flat(ft), itm
}

// TestInt8Accuracy records the cost of int8 weights on the blip-itm
// fixture: the ITC features are embeddings like CLIP's and are held to
// CLIP's bar (cosine ≥ 0.999 to float32); the ITM logits (2 per pair)
// must keep each pair's match/no-match decision and move by at most 0.05,
// a fifth of the fixture's smallest float32 margin between the two (0.24).
func TestInt8Accuracy(t *testing.T) {
	m, g := loadITM(t)
	fImg, fTxt, fITM := itmOutputs(t, m, g)
	if err := m.QuantizeInt8(); err != nil {
		t.Fatal(err)
	}
	qImg, qTxt, qITM := itmOutputs(t, m, g)
	d := m.Cfg.ImageTextHidden
	ci, ct := embedcmp.Min(embedcmp.Cosines(fImg, qImg, d)), embedcmp.Min(embedcmp.Cosines(fTxt, qTxt, d))
	worst := maxAbsDiff(t, qITM, fITM)
	t.Logf("blip-itm: int8 vs float32: ITC cosine image min %.6f, text min %.6f; ITM logits max abs diff %.4f", ci, ct, worst)
	n, gap, _ := embedcmp.Swaps(fTxt, fImg, qTxt, qImg, d)
	t.Logf("blip-itm: text→image: %d swapped pairs (widest float32 gap %.4f)", n, gap)
	if ci < 0.999 || ct < 0.999 {
		t.Errorf("ITC cosine to float32 below 0.999 (image %.6f, text %.6f)", ci, ct)
	}
	for p := 0; p < len(fITM); p += 2 {
		if (fITM[p+1] > fITM[p]) != (qITM[p+1] > qITM[p]) {
			t.Errorf("pair %d: ITM decision changed (float32 %v, int8 %v)", p/2, fITM[p:p+2], qITM[p:p+2])
		}
	}
	if worst > 0.05 {
		t.Errorf("ITM logits moved by %.4f", worst)
	}
}

// TestCaptionerInt8Accuracy records the cost on the blip-caption fixture:
// the prefix logits' cosine to float32 (asserted ≥ 0.999, the bar of the
// embeddings), and whether greedy captions stay the same (logged: a
// random model's close top-2 tokens may swap).
func TestCaptionerInt8Accuracy(t *testing.T) {
	c, g := loadCaptioner(t)
	px, shape := g.floats("pixel_values")
	per := len(px) / shape[0]
	prefix := g.ints("prefix_ids")
	run := func() (logits [][]float32, greedy [][]int) {
		for i := range shape[0] {
			l, err := c.Logits(px[i*per:(i+1)*per], prefix[i])
			if err != nil {
				t.Fatal(err)
			}
			ids, err := c.Greedy(px[i*per:(i+1)*per], nil, 12)
			if err != nil {
				t.Fatal(err)
			}
			logits, greedy = append(logits, l), append(greedy, ids)
		}
		return logits, greedy
	}
	fl, fg := run()
	if err := c.QuantizeInt8(); err != nil {
		t.Fatal(err)
	}
	ql, qg := run()
	vocab := c.Cfg.Text.Vocab
	cos := 1.0
	same := 0
	for i := range fl {
		cos = min(cos, embedcmp.Min(embedcmp.Cosines(fl[i], ql[i], vocab)))
		if equalInts(fg[i], qg[i]) {
			same++
		}
	}
	t.Logf("blip-caption: int8 vs float32: prefix logits cosine min %.6f; greedy captions unchanged %d of %d", cos, same, len(fg))
	if cos < 0.999 {
		t.Errorf("prefix logits cosine to float32 %.6f < 0.999", cos)
	}
}
