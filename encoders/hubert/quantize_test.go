package hubert

import (
	"testing"

	"rosetta/internal/embedcmp"
	"rosetta/internal/fixtures"
)

func flatRows(r [][]float32) []float32 {
	var out []float32
	for _, v := range r {
		out = append(out, v...)
	}
	return out
}

// TestInt8Accuracy records the cost of int8 weights on the hubert and
// wav2vec2 fixtures: the mean-pooled output is the audio embedding a
// space stores and is held to CLIP's bar (cosine ≥ 0.999 to float32);
// the frames of the last hidden state are logged.
func TestInt8Accuracy(t *testing.T) {
	for _, fx := range []string{"hubert", "wav2vec2"} {
		t.Run(fx, func(t *testing.T) {
			dir := fixtures.Dir(t, fx)
			in := rows(golden(t, dir)["input_values"], 2)
			m, err := Load(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			f, err := m.Forward(in)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.QuantizeInt8(); err != nil {
				t.Fatal(err)
			}
			q, err := m.Forward(in)
			if err != nil {
				t.Fatal(err)
			}
			d := m.Dim()
			cp := embedcmp.Min(embedcmp.Cosines(flatRows(f.MeanPooled), flatRows(q.MeanPooled), d))
			ch := embedcmp.Min(embedcmp.Cosines(flatRows(f.LastHidden), flatRows(q.LastHidden), d))
			t.Logf("%s: int8 vs float32 cosine: mean pooled min %.6f, last hidden state frames min %.6f", fx, cp, ch)
			if cp < 0.999 {
				t.Errorf("%s: mean-pooled cosine to float32 %.6f < 0.999", fx, cp)
			}
		})
	}
}
