package whisper

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"rosetta/internal/fixtures"
)

// englishOnly builds an English-only (.en) tokenizer and a random model
// from the multilingual fixture's files, laid out as the hub's .en
// checkpoints are: 50,256 regular tokens, every special one id lower
// (<|endoftext|> 50256, <|startoftranscript|> 50257, … <|0.00|> 50363),
// <|nocaptions|> for <|nospeech|>, 51,864 ids. No fixture has an .en
// vocabulary; this checks the start sequence and the rules that differ.
func englishOnly(t *testing.T) (*Model, *Tokenizer) {
	t.Helper()
	dir := fixtures.Dir(t, "whisper")
	var vocab, added map[string]int
	for name, v := range map[string]*map[string]int{"vocab.json": &vocab, "added_tokens.json": &added} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	for tok, id := range vocab {
		if id >= 50256 {
			delete(vocab, tok)
		}
	}
	en := map[string]int{}
	for tok, id := range added {
		if tok == "<|nospeech|>" {
			tok = "<|nocaptions|>"
		}
		en[tok] = id - 1
	}
	merges, err := os.ReadFile(filepath.Join(dir, "merges.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for i, line := range strings.Split(string(merges), "\n") {
		a, b, ok := strings.Cut(line, " ")
		if i == 0 || !ok {
			continue
		}
		_, oka := vocab[a]
		_, okb := vocab[b]
		_, okm := vocab[a+b]
		if oka && okb && okm {
			kept = append(kept, line)
		}
	}
	tok, err := newTokenizer(vocab, []byte(strings.Join(kept, "\n")), en)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{ModelType: "whisper", DModel: 32, EncoderLayers: 1, EncoderAttentionHeads: 2, EncoderFFNDim: 64,
		DecoderLayers: 1, DecoderAttentionHeads: 2, DecoderFFNDim: 64, NumMelBins: 80, VocabSize: 51864,
		MaxSourcePositions: 1500, MaxTargetPositions: 448, ActivationFunction: "gelu"}
	m, err := NewRandom(cfg, Preprocessor{}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if m.Multilingual() || tok.Size() != 51864 || tok.EOT() != 50256 || tok.SOT() != 50257 || tok.TimestampBegin() != 50363 {
		t.Fatalf("not an English-only layout: multilingual %v, %d ids, eot %d, sot %d, <|0.00|> %d",
			m.Multilingual(), tok.Size(), tok.EOT(), tok.SOT(), tok.TimestampBegin())
	}
	return m, tok
}

// TestEnglishOnly: an .en model starts from <|startoftranscript|> alone
// (no language or task token, as the reference's sot_sequence for a
// non-multilingual tokenizer), plus <|notimestamps|> without timestamps
// and after <|startofprev|> and the prompt; it detects no language (the
// result is English) and never samples a special token other than
// timestamps and <|endoftext|>; Transcribe runs on it.
func TestEnglishOnly(t *testing.T) {
	m, tok := englishOnly(t)
	mel := make([]float32, 80*m.AudioFrames())
	for i := range mel {
		mel[i] = float32(i%13) * 0.05
	}
	feat, err := m.Encode(mel, m.AudioFrames())
	if err != nil {
		t.Fatal(err)
	}
	sot, nots, prev := 50257, 50362, 50360
	for _, c := range []struct {
		opt  DecodeOptions
		want []int
	}{
		{DecodeOptions{SampleLen: 8}, []int{sot}},
		{DecodeOptions{SampleLen: 8, Language: "en"}, []int{sot}},
		{DecodeOptions{SampleLen: 8, WithoutTimestamps: true}, []int{sot, nots}},
		{DecodeOptions{SampleLen: 8, Prompt: []int{1, 2, 3}}, []int{prev, 1, 2, 3, sot}},
	} {
		r, err := m.Decode(context.Background(), tok, feat, c.opt)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.InitialTokens, c.want) || r.Language != "en" || r.LanguageProbs != nil {
			t.Errorf("%+v: initial %v language %q probs %v; want %v, en, no detection", c.opt, r.InitialTokens, r.Language, r.LanguageProbs, c.want)
		}
		for _, id := range r.Tokens {
			if id >= tok.EOT() && id < tok.TimestampBegin() {
				t.Errorf("%+v: sampled the special token %d", c.opt, id)
			}
		}
	}
	x := make([]float32, 16000*3)
	for i := range x {
		x[i] = float32(i%97)/97 - 0.5
	}
	tr, err := m.Transcribe(context.Background(), tok, x, DefaultTranscribeOptions())
	if err != nil || tr.Language != "en" {
		t.Fatalf("Transcribe: %v, language %q", err, tr.Language)
	}
}
