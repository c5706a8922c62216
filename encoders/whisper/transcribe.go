package whisper

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"rosetta/internal/czlib"
)

// TranscribeOptions configures Transcribe, as the reference's transcribe()
// keyword arguments. Start from DefaultTranscribeOptions.
type TranscribeOptions struct {
	// Language is a language code; "" detects it once from the first 30 s.
	Language string
	// Task is "transcribe" (default) or "translate".
	Task string
	// WithoutTimestamps decodes every window with <|notimestamps|>; each
	// window then gives one segment spanning the window.
	WithoutTimestamps bool
	// ConditionOnPreviousText passes the tokens of the previous windows as
	// the prompt of the next one.
	ConditionOnPreviousText bool
	// InitialPrompt is the reference's initial_prompt: text whose tokens
	// (those of " " + the prompt stripped as Python's str.strip does) come
	// before the first window's, so they are its prompt and, while the
	// prompt is not reset (ConditionOnPreviousText, no decode above 0.5),
	// the start of the next windows' prompts too. They are no segment's
	// and not in Transcript.Text. "" means none (the reference's None).
	InitialPrompt string
	// Temperatures is the fallback schedule (nil means [0]): each window
	// is decoded at the first; while the result is too repetitive
	// (compression ratio above CompressionRatioThreshold) or too
	// improbable (avg_logprob below LogprobThreshold), and not silence
	// (no_speech_prob above NoSpeechThreshold with a low avg_logprob), it
	// is decoded again at the next. 0 is greedy, above 0 sampling
	// (DecodeOptions.Temperature). Only [0] is golden-tested; the
	// compression ratio is C zlib's exactly (see Segment), so a text
	// falls back exactly when it would in the reference. After
	// a window decoded above 0.5 the next prompt is empty, as in the
	// reference.
	Temperatures []float64
	// BestOf is the number of samples per window at a temperature above 0
	// (the reference's best_of; 0 means 1, as transcribe() has it; its
	// command line passes 5).
	BestOf int
	// Rand drives the sampling; nil means a fixed-seed PCG.
	Rand *rand.Rand
	// CompressionRatioThreshold, LogprobThreshold and NoSpeechThreshold are
	// the reference's thresholds (2.4, −1, 0.6); NaN disables one. Besides
	// the fallback, a window whose no_speech_prob > NoSpeechThreshold and
	// whose avg_logprob is not above LogprobThreshold is skipped.
	CompressionRatioThreshold, LogprobThreshold, NoSpeechThreshold float64
}

// DefaultTranscribeOptions returns the reference's defaults but for the
// temperatures: language detection, transcribe, timestamps, conditioning
// on previous text, thresholds 2.4, −1 and 0.6, and Temperatures [0]
// (greedy, no fallback; the reference's default schedule is 0, 0.2, …, 1).
func DefaultTranscribeOptions() TranscribeOptions {
	return TranscribeOptions{
		ConditionOnPreviousText:   true,
		Temperatures:              []float64{0},
		CompressionRatioThreshold: 2.4,
		LogprobThreshold:          -1,
		NoSpeechThreshold:         0.6,
	}
}

// Segment is one entry of transcribe()'s "segments".
type Segment struct {
	ID int
	// Seek is the window's first mel frame.
	Seek int
	// Start and End are seconds from the start of the audio. They are
	// not clamped to the audio's length.
	Start, End float64
	// Text is the decoded text tokens (not stripped).
	Text string
	// Tokens are the segment's ids including its timestamp tokens; empty
	// (with Text "") when the segment is instantaneous or blank.
	Tokens []int
	// Temperature, AvgLogprob and NoSpeechProb are the window's decode's.
	Temperature, AvgLogprob, NoSpeechProb float64
	// CompressionRatio is len(text) / len(zlib.compress(text)) of the
	// window's text, with C zlib's compressed length: the reference's
	// value exactly.
	CompressionRatio float64
}

// DecodedWindow is one window's decode: where it started, the prompt it
// was given (the ids after <|startofprev|>) and the tokens it returned.
type DecodedWindow struct {
	Seek        int
	Prompt      []int
	Tokens      []int
	Temperature float64 // of the decode kept after any fallback
}

// Transcript is transcribe()'s result.
type Transcript struct {
	Text     string
	Language string
	Segments []Segment
	// Windows lists every window decode, skipped ones included.
	Windows []DecodedWindow
}

// Transcribe is TranscribeSamples over a slice of mono samples at the
// model's sampling rate (16 kHz).
func (m *Model) Transcribe(ctx context.Context, tok *Tokenizer, samples []float32, opt TranscribeOptions) (*Transcript, error) {
	return m.TranscribeSamples(ctx, tok, SliceSamples(samples, m.pre.SamplingRate), opt)
}

// TranscribeSamples is the reference's transcribe() over mono samples of
// any length at the model's sampling rate (16 kHz), read from src: the
// log-mel of the samples followed by 30 s of zeros, 30 s windows from a
// seek position (the last window cut at the end of the audio and padded
// with 0.0 to AudioFrames frames), Decode of each window (with the
// temperature fallback) with the previous windows' tokens as prompt, and
// segments cut at consecutive timestamp tokens. The seek moves by the
// last complete timestamp pair (2 mel frames per 20 ms step), or by the
// whole window when the window ends with a single timestamp or has no
// pair.
//
// Neither the samples nor the spectrogram are held whole: one pass over
// src finds the spectrogram's maximum (the clamp to maximum − 8 needs
// every frame), then each window's samples are read and its frames
// computed when it is decoded, with the same arithmetic as LogMel, so
// memory stays at a few windows however long the audio (frames are
// recomputed where windows overlap). Samples says in what order src is
// read. A source at another rate is ErrInput, as is a sample that is not
// finite; src's errors are returned wrapped. ctx is checked between
// decoder steps.
func (m *Model) TranscribeSamples(ctx context.Context, tok *Tokenizer, src Samples, opt TranscribeOptions) (*Transcript, error) {
	if r := src.Rate(); r != m.pre.SamplingRate {
		return nil, fmt.Errorf("%w: samples at %d Hz, the model takes %d Hz", ErrInput, r, m.pre.SamplingRate)
	}
	temps := opt.Temperatures
	if len(temps) == 0 {
		temps = []float64{0}
	}
	for _, t := range temps {
		if !(t >= 0) || math.IsInf(t, 0) {
			return nil, fmt.Errorf("%w: temperature %v", ErrInput, t)
		}
	}
	rng := opt.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(0, 0))
	}
	sp, err := tok.specials()
	if err != nil {
		return nil, err
	}
	// The spectrogram is computed a window at a time; only its maximum,
	// which the clamp needs, is found over every frame first.
	spec, err := m.front.newSourceSpectrum(src, m.pre.NSamples)
	if err != nil {
		return nil, err
	}
	top, err := spec.max()
	if err != nil {
		return nil, err
	}
	nFrames := m.AudioFrames()
	mels := m.cfg.NumMelBins
	if mels != m.front.Mels {
		return nil, fmt.Errorf("%w: num_mel_bins %d, feature_size %d", ErrConfig, mels, m.front.Mels)
	}
	content := max(spec.frames-m.front.Frames(m.pre.NSamples), 0)
	window := make([]float32, mels*nFrames)
	scratch := make([]float64, mels*nFrames)
	// fill sets window to frames [start, start+size) of the log-mel,
	// padded with 0.0 to nFrames.
	fill := func(start, size int) error {
		clear(window)
		part := scratch[:mels*size]
		if err := spec.log10Mel(part, start, start+size); err != nil {
			return err
		}
		for c := 0; c < mels; c++ {
			row := window[c*nFrames : c*nFrames+size]
			for j, v := range part[c*size : (c+1)*size] {
				row[j] = clampMel(v, top)
			}
		}
		return nil
	}
	hop, rate := m.pre.HopLength, m.pre.SamplingRate
	stride := nFrames / m.cfg.MaxSourcePositions
	precision := float64(stride*hop) / float64(rate)

	res := &Transcript{Language: opt.Language}
	if !m.Multilingual() {
		res.Language = "en"
	}
	if res.Language == "" {
		if err := fill(0, min(nFrames, spec.frames)); err != nil {
			return nil, err
		}
		feat, err := m.Encode(window, nFrames)
		if err != nil {
			return nil, err
		}
		l, _, err := m.DetectLanguage(tok, feat)
		if err != nil {
			return nil, err
		}
		res.Language = l.Code
	}

	// The reference's all_tokens starts with the initial prompt's tokens;
	// the returned text leaves them out.
	var allTokens []int
	if opt.InitialPrompt != "" {
		allTokens = tok.Encode(" " + pyStrip(opt.InitialPrompt))
	}
	initialTokens := len(allTokens)
	promptResetSince := 0
	for seek := 0; seek < content; {
		timeOffset := float64(seek*hop) / float64(rate)
		size := min(nFrames, content-seek)
		if err := fill(seek, size); err != nil {
			return nil, err
		}
		feat, err := m.Encode(window, nFrames)
		if err != nil {
			return nil, err
		}
		prompt := append([]int(nil), allTokens[promptResetSince:]...)
		r, err := m.decodeWithFallback(ctx, tok, feat, temps, &opt, DecodeOptions{
			Task:              opt.Task,
			Language:          res.Language,
			WithoutTimestamps: opt.WithoutTimestamps,
			Prompt:            prompt,
			BestOf:            opt.BestOf,
			Rand:              rng,
		})
		if err != nil {
			return nil, fmt.Errorf("window at frame %d: %w", seek, err)
		}
		res.Windows = append(res.Windows, DecodedWindow{Seek: seek, Prompt: prompt, Tokens: r.Tokens, Temperature: r.Temperature})
		ratio := compressionRatio(r.Text)

		if !math.IsNaN(opt.NoSpeechThreshold) {
			skip := r.NoSpeechProb > opt.NoSpeechThreshold
			if !math.IsNaN(opt.LogprobThreshold) && r.AvgLogprob > opt.LogprobThreshold {
				skip = false
			}
			if skip {
				seek += size
				continue
			}
		}

		seg := func(start, end float64, toks []int) Segment {
			var text []int
			for _, t := range toks {
				if t < sp.eot {
					text = append(text, t)
				}
			}
			return Segment{
				Seek: seek, Start: start, End: end,
				Text: tok.Decode(text), Tokens: append([]int(nil), toks...),
				Temperature: r.Temperature, AvgLogprob: r.AvgLogprob, NoSpeechProb: r.NoSpeechProb,
				CompressionRatio: ratio,
			}
		}
		// at converts a timestamp token to seconds. The explicit float64
		// conversion keeps the product rounded on its own (no fused
		// multiply-add), as Python computes it.
		at := func(t int) float64 { return timeOffset + float64(float64(t-sp.tsBegin)*precision) }

		cuts, whole := cutWindow(r.Tokens, sp.tsBegin)
		var current []Segment
		for _, c := range cuts {
			end := timeOffset + float64(size*hop)/float64(rate) // the window's duration
			if c.end >= 0 {
				end = at(sp.tsBegin + c.end)
			}
			current = append(current, seg(at(sp.tsBegin+c.start), end, c.tokens))
		}
		if whole {
			seek += size
		} else {
			seek += cuts[len(cuts)-1].end * stride
		}
		for i := range current {
			if current[i].Start == current[i].End || pyStrip(current[i].Text) == "" {
				current[i].Text = ""
				current[i].Tokens = []int{}
			}
		}
		for _, s := range current {
			s.ID = len(res.Segments)
			res.Segments = append(res.Segments, s)
			allTokens = append(allTokens, s.Tokens...)
		}
		if !opt.ConditionOnPreviousText || r.Temperature > 0.5 {
			promptResetSince = len(allTokens)
		}
	}
	res.Text = tok.Decode(allTokens[initialTokens:])
	return res, nil
}

// decodeWithFallback is the reference's decode_with_fallback: dec at each
// temperature in turn until a result needs no fallback; the last result
// is returned either way.
func (m *Model) decodeWithFallback(ctx context.Context, tok *Tokenizer, feat []float32, temps []float64, opt *TranscribeOptions, dec DecodeOptions) (*DecodeResult, error) {
	var r *DecodeResult
	for _, t := range temps {
		dec.Temperature = t
		var err error
		if r, err = m.Decode(ctx, tok, feat, dec); err != nil {
			return nil, err
		}
		lowLogprob := !math.IsNaN(opt.LogprobThreshold) && r.AvgLogprob < opt.LogprobThreshold
		fallback := !math.IsNaN(opt.CompressionRatioThreshold) && compressionRatio(r.Text) > opt.CompressionRatioThreshold || lowLogprob
		if !math.IsNaN(opt.NoSpeechThreshold) && r.NoSpeechProb > opt.NoSpeechThreshold && lowLogprob {
			fallback = false // silence
		}
		if !fallback {
			break
		}
	}
	return r, nil
}

// compressionRatio is the reference's get_compression_ratio: the UTF-8
// length over the length of its zlib stream as C zlib (Python's
// zlib.compress) writes it at the default level, exactly (internal/czlib).
// The empty text is 0, as 0/8 is in the reference.
func compressionRatio(text string) float64 {
	return float64(len(text)) / float64(czlib.CompressedLen([]byte(text)))
}

// windowCut is one segment of a window's tokens: start and end are
// timestamp positions (20 ms steps from the window's start); end −1 means
// the end of the window.
type windowCut struct {
	tokens     []int
	start, end int
}

// cutWindow splits one window's sampled tokens into segments as the
// reference's transcribe() does. With consecutive timestamp tokens, each
// segment runs from one pair to the next (and to the final timestamp when
// the tokens end with a single one); whole is then true only for that
// single-timestamp ending, and otherwise the seek advances to the last
// pair's position (the last segment's end) and the unfinished text after
// it is dropped. Without a pair, the tokens form one segment from the
// window's start to its last timestamp, or to the window's end when there
// is none (or it is <|0.00|>), and whole is true. The cuts alias tokens.
func cutWindow(tokens []int, tsBegin int) (cuts []windowCut, whole bool) {
	n := len(tokens)
	isTS := func(i int) bool { return tokens[i] >= tsBegin }
	singleEnding := n >= 2 && !isTS(n-2) && isTS(n-1)
	var bounds []int // the reference's "consecutive": i where tokens[i-1], tokens[i] are timestamps
	for i := 1; i < n; i++ {
		if isTS(i-1) && isTS(i) {
			bounds = append(bounds, i)
		}
	}
	if len(bounds) == 0 {
		end := -1
		for _, t := range tokens {
			if t >= tsBegin {
				end = t - tsBegin
			}
		}
		if end == 0 {
			end = -1
		}
		return []windowCut{{tokens: tokens, start: 0, end: end}}, true
	}
	if singleEnding {
		bounds = append(bounds, n)
	}
	last := 0
	for _, b := range bounds {
		s := tokens[last:b]
		cuts = append(cuts, windowCut{tokens: s, start: s[0] - tsBegin, end: s[len(s)-1] - tsBegin})
		last = b
	}
	return cuts, singleEnding
}
