package whisper

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"
)

type goldenTranscribe struct {
	Options struct {
		Language                string `json:"language"`
		ConditionOnPreviousText bool   `json:"condition_on_previous_text"`
	} `json:"options"`
	Text     string `json:"text"`
	Language string `json:"language"`
	Segments []struct {
		ID           int     `json:"id"`
		Seek         int     `json:"seek"`
		Start        float64 `json:"start"`
		End          float64 `json:"end"`
		Tokens       []int   `json:"tokens"`
		Text         string  `json:"text"`
		AvgLogprob   float64 `json:"avg_logprob"`
		NoSpeechProb float64 `json:"no_speech_prob"`
		Temperature  float64 `json:"temperature"`
		Compression  float64 `json:"compression_ratio"`
	} `json:"segments"`
	Windows []struct {
		Prompt []int `json:"prompt"`
		Tokens []int `json:"tokens"`
	} `json:"windows"`
}

func TestTranscribeGolden(t *testing.T) {
	m := loadModel(t)
	tok := loadTokenizer(t)
	dir, _ := golden(t)
	var g struct {
		Transcribe map[string]goldenTranscribe `json:"transcribe"`
	}
	goldenJSON(t, dir, &g)
	if len(g.Transcribe) == 0 {
		t.Fatal("golden.json has no transcribe cases")
	}
	samples := readWAV(t, filepath.Join(dir, "audio_long.wav"))
	for name, c := range g.Transcribe {
		t.Run(name, func(t *testing.T) {
			opt := DefaultTranscribeOptions()
			opt.Language = c.Options.Language
			opt.ConditionOnPreviousText = c.Options.ConditionOnPreviousText
			r, err := m.Transcribe(context.Background(), tok, samples, opt)
			if err != nil {
				t.Fatal(err)
			}
			if r.Language != c.Language {
				t.Errorf("language %q, want %q", r.Language, c.Language)
			}
			if len(r.Windows) != len(c.Windows) {
				t.Errorf("%d windows, want %d", len(r.Windows), len(c.Windows))
			}
			for i := range min(len(r.Windows), len(c.Windows)) {
				w, want := r.Windows[i], c.Windows[i]
				if !slices.Equal(w.Prompt, want.Prompt) && len(w.Prompt)+len(want.Prompt) > 0 {
					t.Errorf("window %d prompt %v, want %v", i, w.Prompt, want.Prompt)
				}
				if !slices.Equal(w.Tokens, want.Tokens) {
					t.Errorf("window %d tokens %v, want %v", i, w.Tokens, want.Tokens)
				}
			}
			if len(r.Segments) != len(c.Segments) {
				t.Fatalf("%d segments, want %d:\n%+v", len(r.Segments), len(c.Segments), r.Segments)
			}
			var worst float64
			for i, s := range r.Segments {
				want := c.Segments[i]
				if s.ID != want.ID || s.Seek != want.Seek || s.Start != want.Start || s.End != want.End ||
					s.Text != want.Text || !slices.Equal(s.Tokens, want.Tokens) || s.Temperature != want.Temperature {
					t.Errorf("segment %d: %+v\nwant %+v", i, s, want)
				}
				if s.CompressionRatio != want.Compression {
					t.Errorf("segment %d compression_ratio %v, want %v", i, s.CompressionRatio, want.Compression)
				}
				worst = math.Max(worst, math.Max(math.Abs(s.AvgLogprob-want.AvgLogprob), math.Abs(s.NoSpeechProb-want.NoSpeechProb)))
			}
			t.Logf("%d windows, %d segments; worst avg_logprob/no_speech_prob error %.3g",
				len(r.Windows), len(r.Segments), worst)
			if worst > 1e-4 {
				t.Errorf("avg_logprob/no_speech_prob error %.3g > 1e-4", worst)
			}
			if r.Text != c.Text {
				t.Errorf("text %q, want %q", r.Text, c.Text)
			}
		})
	}
}

func TestTranscribeRefusesBadTemperatures(t *testing.T) {
	m := loadModel(t)
	tok := loadTokenizer(t)
	for _, temp := range []float64{-0.2, math.NaN(), math.Inf(1)} {
		opt := DefaultTranscribeOptions()
		opt.Temperatures = []float64{0, temp}
		if _, err := m.Transcribe(context.Background(), tok, make([]float32, 16000), opt); err == nil {
			t.Errorf("temperature %v was accepted", temp)
		}
	}
}

// Transcribe's windows, computed a range of frames at a time after one
// pass for the maximum, equal the whole spectrogram's frames bit for bit.
func TestSpectrumRangesMatchLogMel(t *testing.T) {
	m := loadModel(t)
	dir, _ := golden(t)
	samples := readWAV(t, filepath.Join(dir, "audio_long.wav"))
	fe := m.Frontend()
	mel, frames, err := fe.LogMel(samples, m.Preprocessor().NSamples)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := fe.newSpectrum(samples, m.Preprocessor().NSamples)
	if err != nil {
		t.Fatal(err)
	}
	if spec.frames != frames {
		t.Fatalf("%d frames, LogMel has %d", spec.frames, frames)
	}
	top, err := spec.max()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]int{{0, 3000}, {2996, 1504}, {7499, 1}, {1, 257}} {
		start, size := r[0], r[1]
		part := make([]float64, fe.Mels*size)
		if err := spec.log10Mel(part, start, start+size); err != nil {
			t.Fatal(err)
		}
		for c := 0; c < fe.Mels; c++ {
			for j := 0; j < size; j++ {
				if got, want := clampMel(part[c*size+j], top), mel[c*frames+start+j]; got != want {
					t.Fatalf("frames %d+%d: mel[%d, %d] = %v, LogMel %v", start, size, c, start+j, got, want)
				}
			}
		}
	}
}

// cutWindow on hand-made token lists, one per branch of the reference's
// segmentation (tsBegin 100, so 100+k is <|k*0.02|>).
func TestCutWindow(t *testing.T) {
	const ts = 100
	type cut struct {
		tokens     []int
		start, end int
	}
	cases := []struct {
		name   string
		tokens []int
		want   []cut
		whole  bool
	}{
		{"pairs then unfinished text", []int{ts, 1, ts + 5, ts + 5, 2, ts + 9, 3},
			[]cut{{[]int{ts, 1, ts + 5}, 0, 5}}, false},
		{"pairs then a single timestamp", []int{ts, 1, ts + 5, ts + 5, 2, ts + 9},
			[]cut{{[]int{ts, 1, ts + 5}, 0, 5}, {[]int{ts + 5, 2, ts + 9}, 5, 9}}, true},
		{"ends with a pair", []int{ts + 2, 1, ts + 5, ts + 5, 2, ts + 9, ts + 9},
			[]cut{{[]int{ts + 2, 1, ts + 5}, 2, 5}, {[]int{ts + 5, 2, ts + 9}, 5, 9}}, false},
		{"no pair, last timestamp", []int{ts, 1, 2, ts + 7}, []cut{{[]int{ts, 1, 2, ts + 7}, 0, 7}}, true},
		{"no pair, only <|0.00|>", []int{ts, 1, 2}, []cut{{[]int{ts, 1, 2}, 0, -1}}, true},
		{"no timestamps", []int{1, 2}, []cut{{[]int{1, 2}, 0, -1}}, true},
		{"nothing", nil, []cut{{nil, 0, -1}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, whole := cutWindow(c.tokens, ts)
			if whole != c.whole || len(got) != len(c.want) {
				t.Fatalf("%+v whole %v, want %+v whole %v", got, whole, c.want, c.whole)
			}
			for i, g := range got {
				w := c.want[i]
				if !slices.Equal(g.tokens, w.tokens) || g.start != w.start || g.end != w.end {
					t.Errorf("cut %d: %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// The fallback schedule: this random model's windows always fail the
// log-probability threshold, so each is decoded again at 0.6, which also
// clears the prompt of the next window. Sampling is seeded, so equal calls
// agree.
func TestTranscribeFallback(t *testing.T) {
	m := loadModel(t)
	tok := loadTokenizer(t)
	dir, _ := golden(t)
	samples := readWAV(t, filepath.Join(dir, "audio_long.wav"))
	opt := DefaultTranscribeOptions()
	opt.Language = "en"
	opt.Temperatures = []float64{0, 0.6}
	r, err := m.Transcribe(context.Background(), tok, samples, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Windows) == 0 {
		t.Fatal("no windows")
	}
	for i, w := range r.Windows {
		if w.Temperature != 0.6 {
			t.Errorf("window %d decoded at %v, want 0.6", i, w.Temperature)
		}
		if len(w.Prompt) != 0 {
			t.Errorf("window %d has a prompt of %d tokens after a decode at 0.6", i, len(w.Prompt))
		}
		if len(w.Tokens) == 0 || w.Tokens[0] < tok.TimestampBegin() || w.Tokens[0] > tok.TimestampBegin()+50 {
			t.Errorf("window %d tokens %v: the first is not a timestamp ≤ 1 s", i, w.Tokens)
		}
	}
	for _, s := range r.Segments {
		if s.Temperature != 0.6 {
			t.Errorf("segment %d temperature %v", s.ID, s.Temperature)
		}
	}
	again, err := m.Transcribe(context.Background(), tok, samples, opt)
	if err != nil {
		t.Fatal(err)
	}
	if again.Text != r.Text || len(again.Segments) != len(r.Segments) {
		t.Errorf("a second run gave %q, the first %q", again.Text, r.Text)
	}
	t.Logf("%d windows, %d segments: %q", len(r.Windows), len(r.Segments), r.Text)
}

// Decode at a temperature above 0 with best_of keeps the greedy path's
// start sequence and no_speech_prob and differs from greedy decoding.
func TestDecodeSampling(t *testing.T) {
	m := loadModel(t)
	tok := loadTokenizer(t)
	enc, err := m.Encode(mel30(t, m, "jfk"), m.AudioFrames())
	if err != nil {
		t.Fatal(err)
	}
	greedy, err := m.Decode(context.Background(), tok, enc, DecodeOptions{Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Decode(context.Background(), tok, enc, DecodeOptions{Language: "en", Temperature: 1, BestOf: 2})
	if err != nil {
		t.Fatal(err)
	}
	if s.Temperature != 1 || !slices.Equal(s.InitialTokens, greedy.InitialTokens) || math.Abs(s.NoSpeechProb-greedy.NoSpeechProb) > 1e-12 {
		t.Errorf("sampled: temperature %v, initial %v, no_speech_prob %v; greedy %v %v", s.Temperature, s.InitialTokens, s.NoSpeechProb, greedy.InitialTokens, greedy.NoSpeechProb)
	}
	if slices.Equal(s.Tokens, greedy.Tokens) {
		t.Errorf("sampling at temperature 1 gave the greedy tokens %v", s.Tokens)
	}
	if len(s.Tokens) == 0 || s.Tokens[0] < tok.TimestampBegin() {
		t.Errorf("sampled tokens %v do not start with a timestamp", s.Tokens)
	}
}
