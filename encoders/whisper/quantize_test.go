package whisper

import (
	"context"
	"slices"
	"testing"

	"rosetta/internal/embedcmp"
)

// TestInt8Accuracy records the cost of int8 weights on the whisper
// fixture (a model of its own; the shared one stays float32): the
// encoder's audio features per frame and the decoder's logits per
// position, held to cosine ≥ 0.999 to float32 as the embeddings are, and
// whether greedy decoding of jfk gives the same tokens (logged: this
// random model's top two logits come within 3.6e-4 of each other, far
// inside int8's error, so a different transcript is expected).
func TestInt8Accuracy(t *testing.T) {
	f := loadModel(t)
	dir, g := golden(t)
	q, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.QuantizeInt8(); err != nil {
		t.Fatal(err)
	}
	tok := loadTokenizer(t)
	prefix := ints(g.i64["prefix_notimestamps"])
	mel := mel30(t, f, "jfk")
	run := func(m *Model) (enc, logits []float32, tokens []int) {
		enc, err := m.Encode(mel, m.AudioFrames())
		if err != nil {
			t.Fatal(err)
		}
		logits, err = m.DecoderForward(prefix, enc)
		if err != nil {
			t.Fatal(err)
		}
		r, err := m.Decode(context.Background(), tok, enc, DecodeOptions{Task: "transcribe", Language: "en", WithoutTimestamps: true})
		if err != nil {
			t.Fatal(err)
		}
		return enc, logits, r.Tokens
	}
	fEnc, fLog, fTok := run(f)
	qEnc, qLog, qTok := run(q)
	ce := embedcmp.Min(embedcmp.Cosines(fEnc, qEnc, f.Config().DModel))
	cl := embedcmp.Min(embedcmp.Cosines(fLog, qLog, f.Config().VocabSize))
	t.Logf("whisper: int8 vs float32 cosine: encoder frames min %.6f, decoder logits min %.6f; greedy jfk tokens unchanged: %v (%d vs %d tokens)",
		ce, cl, slices.Equal(fTok, qTok), len(fTok), len(qTok))
	if ce < 0.999 || cl < 0.999 {
		t.Errorf("cosine to float32 below 0.999 (encoder %.6f, logits %.6f)", ce, cl)
	}
}
