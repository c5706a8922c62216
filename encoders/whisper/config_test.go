package whisper

import (
	"errors"
	"testing"
)

// largeV3Like has large-v3's vocabulary and mel bins at a tiny width.
func largeV3Like() Config {
	return Config{
		ModelType: "whisper", DModel: 32, EncoderLayers: 1, EncoderAttentionHeads: 2, EncoderFFNDim: 64,
		DecoderLayers: 1, DecoderAttentionHeads: 2, DecoderFFNDim: 64, NumMelBins: 128, VocabSize: 51866,
		MaxSourcePositions: 1500, MaxTargetPositions: 448, ActivationFunction: "gelu",
	}
}

func TestSizesFromConfig(t *testing.T) {
	m, err := NewRandom(largeV3Like(), Preprocessor{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Frontend().Mels != 128 || m.Frontend().Bins() != 201 {
		t.Fatalf("front end %d mels %d bins", m.Frontend().Mels, m.Frontend().Bins())
	}
	mel, frames, err := m.LogMel(make([]float32, 16000))
	if err != nil {
		t.Fatal(err)
	}
	if frames != (16000+480000)/160 || len(mel) != 128*frames {
		t.Fatalf("LogMel: %d values, %d frames", len(mel), frames)
	}
	w, err := m.Window(mel, frames, 0)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := m.Encode(w, m.AudioFrames())
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != 1500*32 {
		t.Fatalf("encoder output %d values", len(enc))
	}
	logits, err := m.DecoderForward([]int{50258, 51865}, enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(logits) != 2*51866 {
		t.Fatalf("logits %d values", len(logits))
	}
}

func TestConfigErrors(t *testing.T) {
	bad := largeV3Like()
	bad.DModel, bad.NumMelBins, bad.ScaleEmbedding = 30, 0, true
	err := bad.validate()
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("validate: %v", err)
	}
	if _, err := NewRandom(bad, Preprocessor{}, 1); !errors.Is(err, ErrConfig) {
		t.Fatalf("NewRandom: %v", err)
	}
}

func TestInputErrors(t *testing.T) {
	cfg := largeV3Like()
	cfg.VocabSize, cfg.MaxTargetPositions, cfg.NumMelBins = 100, 4, 8
	m, err := NewRandom(cfg, Preprocessor{FeatureSize: 8, SamplingRate: 16000, HopLength: 160, NFFT: 400, NSamples: 480000}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Encode(make([]float32, 8*10), 10); !errors.Is(err, ErrInput) {
		t.Errorf("short spectrogram: %v", err)
	}
	if _, _, err := m.Frontend().LogMel(make([]float32, 10), 0); !errors.Is(err, ErrInput) {
		t.Errorf("too few samples: %v", err)
	}
	if _, err := m.NewDecoderState(make([]float32, 33)); !errors.Is(err, ErrInput) {
		t.Errorf("ragged features: %v", err)
	}
	s, err := m.NewDecoderState(make([]float32, 32*3))
	if err != nil {
		t.Fatal(err)
	}
	for _, tokens := range [][]int{nil, {100}, {-1}, {1, 2, 3, 4, 5}} {
		if _, err := s.Step(tokens); !errors.Is(err, ErrInput) {
			t.Errorf("Step(%v): %v", tokens, err)
		}
	}
	if s.Len() != 0 {
		t.Errorf("a failed Step moved the state to %d", s.Len())
	}
	if _, err := s.Step([]int{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Step([]int{1}); !errors.Is(err, ErrInput) {
		t.Errorf("past the text context: %v", err)
	}
}

func TestWindowPadsWithZeros(t *testing.T) {
	m, g := loadModel(t), func() goldenSet { _, g := golden(t); return g }()
	mel := g.f32["mel_long"]
	frames := len(mel) / 80
	w, err := m.Window(mel, frames, 2996)
	if err != nil {
		t.Fatal(err)
	}
	n := m.AudioFrames()
	for c := 0; c < 80; c++ {
		for i := 0; i < n; i++ {
			want := float32(0)
			if 2996+i < frames {
				want = mel[c*frames+2996+i]
			}
			if w[c*n+i] != want {
				t.Fatalf("Window[%d, %d] = %v, want %v", c, i, w[c*n+i], want)
			}
		}
	}
}
