package blip

import (
	"errors"
	"math"
	"testing"
)

// TestMatchTextGolden: the absorbed, batched cross-attention of MatchText
// gives the reference's ITM logits for each golden pair (one image at a
// time), and for one text against all the images at once the logits
// ITMLogits gives pair by pair, to float32 rounding.
func TestMatchTextGolden(t *testing.T) {
	m, g := loadITM(t)
	px, shape := g.floats("pixel_values")
	ids, masks := g.ints("input_ids"), g.ints("attention_mask")
	n := shape[0]
	emb, err := m.ImageEmbeds(px, n)
	if err != nil {
		t.Fatal(err)
	}
	per := m.ImageTokens() * m.Cfg.Vision.Hidden
	want, _ := g.floats("itm_logits")
	var worst float64
	for i := 0; i < n; i++ {
		got, err := m.MatchText(emb[i*per:(i+1)*per], 1, ids[i], masks[i])
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 2; j++ {
			worst = math.Max(worst, math.Abs(float64(got[0][j])-float64(want[2*i+j])))
		}
	}
	t.Logf("MatchText vs golden itm_logits: max abs error %.3g", worst)
	if worst > tol {
		t.Errorf("MatchText off the golden logits by %.3g", worst)
	}
	// One text against every image, against ITMLogits pair by pair.
	for ti := range ids {
		got, err := m.MatchText(emb, n, ids[ti], masks[ti])
		if err != nil {
			t.Fatal(err)
		}
		rep := make([]float32, 0, len(emb))
		pids := make([][]int, n)
		pmasks := make([][]int, n)
		for i := 0; i < n; i++ {
			rep = append(rep, emb[i*per:(i+1)*per]...)
			pids[i], pmasks[i] = ids[ti], masks[ti]
		}
		ref, err := m.ITMLogits(rep, pids, pmasks)
		if err != nil {
			t.Fatal(err)
		}
		for i := range ref {
			for j := 0; j < 2; j++ {
				if d := math.Abs(float64(got[i][j]) - float64(ref[i][j])); d > 1e-5 {
					t.Fatalf("text %d, image %d: MatchText %v, ITMLogits %v", ti, i, got[i], ref[i])
				}
			}
		}
	}
	// Unpadded (nil mask) works too, and bad inputs are refused.
	if _, err := m.MatchText(emb, n, ids[0][:3], nil); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"no images":    func() error { _, err := m.MatchText(emb, 0, ids[0], nil); return err },
		"short embeds": func() error { _, err := m.MatchText(emb[:len(emb)-1], n, ids[0], nil); return err },
		"bad id":       func() error { _, err := m.MatchText(emb, n, []int{-1}, nil); return err },
		"empty text":   func() error { _, err := m.MatchText(emb, n, nil, nil); return err },
		"mask length":  func() error { _, err := m.MatchText(emb, n, ids[0], masks[0][:2]); return err },
	} {
		if err := call(); !errors.Is(err, ErrInput) {
			t.Errorf("%s: %v, want ErrInput", name, err)
		}
	}
}
