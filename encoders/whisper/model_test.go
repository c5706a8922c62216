package whisper

import (
	"sync"
	"testing"
)

var (
	modelOnce sync.Once
	modelVal  *Model
	modelErr  error
)

func loadModel(t *testing.T) *Model {
	t.Helper()
	dir, _ := golden(t)
	modelOnce.Do(func() { modelVal, modelErr = Load(dir, nil) })
	if modelErr != nil {
		t.Fatal(modelErr)
	}
	return modelVal
}

// mel30 is pad_or_trim(mel, 3000) of a golden spectrogram.
func mel30(t *testing.T, m *Model, name string) []float32 {
	t.Helper()
	_, g := golden(t)
	mel := g.f32["mel_"+name]
	mels := m.Config().NumMelBins
	w, err := m.Window(mel, len(mel)/mels, 0)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestEncoderGolden(t *testing.T) {
	m := loadModel(t)
	_, g := golden(t)
	for _, name := range []string{"jfk", "tone"} {
		t.Run(name, func(t *testing.T) {
			enc, err := m.Encode(mel30(t, m, name), m.AudioFrames())
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "enc_"+name, enc, g.f32["enc_"+name], 1e-4)
		})
	}
}

func ints(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

func TestDecoderGolden(t *testing.T) {
	m := loadModel(t)
	_, g := golden(t)
	enc := g.f32["enc_jfk"]
	for _, c := range []struct{ prefix, logits string }{
		{"prefix_notimestamps", "logits_jfk"},
		{"prefix_timestamps", "logits_ts_jfk"},
	} {
		t.Run(c.logits, func(t *testing.T) {
			tokens := ints(g.i64[c.prefix])
			full, err := m.DecoderForward(tokens, enc)
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, c.logits, full, g.f32[c.logits], 1e-4)

			// One token at a time through the kv-cache.
			s, err := m.NewDecoderState(enc)
			if err != nil {
				t.Fatal(err)
			}
			var stepped []float32
			for _, tok := range tokens {
				l, err := s.Step([]int{tok})
				if err != nil {
					t.Fatal(err)
				}
				stepped = append(stepped, l...)
			}
			checkClose(t, c.logits+" stepped vs full", stepped, full, 1e-5)

			// A prefix, then the rest.
			s, _ = m.NewDecoderState(enc)
			a, err := s.Step(tokens[:3])
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.Step(tokens[3:])
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, c.logits+" split vs full", append(a, b...), full, 1e-5)
			if s.Len() != len(tokens) {
				t.Errorf("Len %d, want %d", s.Len(), len(tokens))
			}
		})
	}
}

func TestEncodeDecodeEndToEnd(t *testing.T) {
	// From the reference's spectrogram through our encoder into our decoder.
	m := loadModel(t)
	_, g := golden(t)
	enc, err := m.Encode(mel30(t, m, "jfk"), m.AudioFrames())
	if err != nil {
		t.Fatal(err)
	}
	logits, err := m.DecoderForward(ints(g.i64["prefix_notimestamps"]), enc)
	if err != nil {
		t.Fatal(err)
	}
	checkClose(t, "logits_jfk via our encoder", logits, g.f32["logits_jfk"], 1e-4)
}
