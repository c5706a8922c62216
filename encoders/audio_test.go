package encoders

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"rosetta/encoders/audio"
	"rosetta/encoders/safetensors"
	"rosetta/internal/fixtures"
)

// floatWAV encodes mono float32 samples as a WAVE_FORMAT_IEEE_FLOAT file.
func floatWAV(x []float32, rate int) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+4*len(x)))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, le, uint32(16))
	binary.Write(&b, le, uint16(3)) // IEEE float
	binary.Write(&b, le, uint16(1))
	binary.Write(&b, le, uint32(rate))
	binary.Write(&b, le, uint32(4*rate))
	binary.Write(&b, le, uint16(4))
	binary.Write(&b, le, uint16(32))
	b.WriteString("data")
	binary.Write(&b, le, uint32(4*len(x)))
	for _, v := range x {
		binary.Write(&b, le, math.Float32bits(v))
	}
	return b.Bytes()
}

// TestHuBERTEmbedsAudioFiles: a WAV file of the golden input through
// decoding and HuBERT gives the golden mean-pooled vector (normalised).
func TestHuBERTEmbedsAudioFiles(t *testing.T) {
	dir := linkDir(t, [2]string{"hubert", "config.json"}, [2]string{"hubert", "model.safetensors"}, [2]string{"hubert", "preprocessor_config.json"})
	e, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := e.(*HuBERT)
	if !ok {
		t.Fatalf("Open gave %T", e)
	}
	g, err := safetensors.OpenCheckpoint(filepath.Join(fixtures.Dir(t, "hubert"), "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	in, shape, _ := g.Float32("input_values")
	want, _, _ := g.Float32("mean_pooled")
	n, d := shape[1], h.Dim()
	var clips [][]byte
	for i := 0; i < shape[0]; i++ {
		clips = append(clips, floatWAV(in[i*n:(i+1)*n], 16000))
	}
	got, err := h.EmbedAudio(context.Background(), clips)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		ref := append([]float32(nil), want[i*d:(i+1)*d]...)
		ref = rows(ref, d)[0]
		for k := range ref {
			if math.Abs(float64(got[i][k]-ref[k])) > 1e-4 {
				t.Fatalf("clip %d [%d]: %v, golden %v", i, k, got[i][k], ref[k])
			}
		}
	}
	if _, err := h.EmbedTexts(context.Background(), []string{"x"}); !errors.Is(err, ErrNotForModality) {
		t.Fatalf("text through HuBERT: %v", err)
	}
	if _, err := h.EmbedAudio(context.Background(), [][]byte{[]byte("RIFF....WAVEjunk")}); err == nil {
		t.Fatal("corrupt WAV accepted")
	}
}

// TestEmbedSamplesRate: a window's rate must lie in audio.MinRate..
// audio.MaxRate, as a file's must; the check comes before the model runs.
func TestEmbedSamplesRate(t *testing.T) {
	h := &HuBERT{} // no model: refused rates never reach it
	x := make([]float32, 100)
	for _, tc := range []struct {
		rate int
		want error
	}{{0, audio.ErrCorrupt}, {1, audio.ErrUnsupported}, {audio.MinRate - 1, audio.ErrUnsupported}, {audio.MaxRate + 1, audio.ErrUnsupported}} {
		_, err := h.EmbedSamples(context.Background(), x, tc.rate)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), fmt.Sprint(tc.rate)) {
			t.Errorf("rate %d: %v, want %v naming the rate", tc.rate, err, tc.want)
		}
	}
}
