package whisper

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
)

type goldenDecode struct {
	Options struct {
		Language          *string `json:"language"`
		Task              string  `json:"task"`
		WithoutTimestamps bool    `json:"without_timestamps"`
	} `json:"options"`
	InitialTokens      []int   `json:"initial_tokens"`
	Language           string  `json:"language"`
	Tokens             []int   `json:"tokens"`
	Text               string  `json:"text"`
	TextWithTimestamps string  `json:"text_with_timestamps"`
	AvgLogprob         float64 `json:"avg_logprob"`
	NoSpeechProb       float64 `json:"no_speech_prob"`
}

func TestDecodeGolden(t *testing.T) {
	m := loadModel(t)
	tok := loadTokenizer(t)
	dir, _ := golden(t)
	var g struct {
		Decode map[string]goldenDecode `json:"decode"`
	}
	goldenJSON(t, dir, &g)
	if len(g.Decode) == 0 {
		t.Fatal("golden.json has no decode cases")
	}
	features := map[string][]float32{}
	for name, c := range g.Decode {
		t.Run(name, func(t *testing.T) {
			audio, _, _ := strings.Cut(name, "/")
			enc, ok := features[audio]
			if !ok {
				var err error
				if enc, err = m.Encode(mel30(t, m, audio), m.AudioFrames()); err != nil {
					t.Fatal(err)
				}
				features[audio] = enc
			}
			opt := DecodeOptions{Task: c.Options.Task, WithoutTimestamps: c.Options.WithoutTimestamps}
			if c.Options.Language != nil {
				opt.Language = *c.Options.Language
			}
			r, err := m.Decode(context.Background(), tok, enc, opt)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.InitialTokens, c.InitialTokens) {
				t.Errorf("initial tokens %v, want %v", r.InitialTokens, c.InitialTokens)
			}
			if r.Language != c.Language {
				t.Errorf("language %q, want %q", r.Language, c.Language)
			}
			if !slices.Equal(r.Tokens, c.Tokens) {
				t.Errorf("tokens\n%v\nwant\n%v", r.Tokens, c.Tokens)
			}
			if r.Text != c.Text {
				t.Errorf("text %q, want %q", r.Text, c.Text)
			}
			if r.TextWithTimestamps != c.TextWithTimestamps {
				t.Errorf("text with timestamps %q, want %q", r.TextWithTimestamps, c.TextWithTimestamps)
			}
			dl, dn := math.Abs(r.AvgLogprob-c.AvgLogprob), math.Abs(r.NoSpeechProb-c.NoSpeechProb)
			t.Logf("%d tokens; avg_logprob error %.3g, no_speech_prob error %.3g", len(r.Tokens), dl, dn)
			if dl > 1e-4 || dn > 1e-4 {
				t.Errorf("avg_logprob %v (want %v), no_speech_prob %v (want %v)", r.AvgLogprob, c.AvgLogprob, r.NoSpeechProb, c.NoSpeechProb)
			}
		})
	}
}

func TestDetectLanguageGolden(t *testing.T) {
	m := loadModel(t)
	tok := loadTokenizer(t)
	dir, _ := golden(t)
	var g struct {
		Detect map[string]struct {
			Chosen      string    `json:"chosen"`
			ChosenToken int       `json:"chosen_token"`
			Probs       []float64 `json:"probs_by_token_id"`
		} `json:"detect_language"`
	}
	goldenJSON(t, dir, &g)
	c, ok := g.Detect["jfk"]
	if !ok {
		t.Fatal("golden.json has no detect_language.jfk")
	}
	enc, err := m.Encode(mel30(t, m, "jfk"), m.AudioFrames())
	if err != nil {
		t.Fatal(err)
	}
	l, probs, err := m.DetectLanguage(tok, enc)
	if err != nil {
		t.Fatal(err)
	}
	if l.Code != c.Chosen || l.ID != c.ChosenToken {
		t.Errorf("detected %+v, want %s (%d)", l, c.Chosen, c.ChosenToken)
	}
	if len(probs) != len(c.Probs) {
		t.Fatalf("%d language probabilities, want %d", len(probs), len(c.Probs))
	}
	var worst float64
	for i := range probs {
		worst = math.Max(worst, math.Abs(probs[i]-c.Probs[i]))
	}
	t.Logf("language probabilities: max abs error %.3g", worst)
	if worst > 1e-4 {
		t.Errorf("language probabilities: max abs error %.3g", worst)
	}
}
