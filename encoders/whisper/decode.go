package whisper

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"unicode"

	"rosetta/kernels"
)

// DecodeOptions configures Decode, as the reference's DecodingOptions at
// temperature 0 (greedy, no beam search).
type DecodeOptions struct {
	// Task is "transcribe" (default) or "translate".
	Task string
	// Language is a language code ("en"); "" detects it from the audio.
	Language string
	// WithoutTimestamps starts with <|notimestamps|> and samples text only.
	WithoutTimestamps bool
	// SampleLen caps the sampled tokens; 0 means max_target_positions / 2.
	SampleLen int
	// MaxInitialTimestamp bounds the first timestamp, in seconds; 0 means
	// the reference's default 1.0, a negative value no bound.
	MaxInitialTimestamp float64
	// Prompt is previous-context text tokens (<|startofprev|> + the last
	// max_target_positions/2 − 1 of them precede the start sequence).
	Prompt []int
	// Prefix tokens follow the start sequence.
	Prefix []int
	// SuppressTokens replaces the config's suppress_tokens when non-nil;
	// <|transcribe|>, <|translate|>, <|startoftranscript|>,
	// <|startofprev|>, <|startoflm|> and <|nospeech|> are always
	// suppressed, as in the reference.
	SuppressTokens []int
	// KeepBlank turns off the suppression of " " and <|endoftext|> at the
	// first sampled position.
	KeepBlank bool
	// Temperature 0 decodes greedily. Above 0, each token is drawn from
	// softmax(logits / Temperature) and BestOf (default 1) sequences are
	// sampled, the one with the highest sum of log-probabilities over its
	// length kept, as the reference does. Sampling is not golden-tested:
	// the random draws cannot be the reference's.
	Temperature float64
	BestOf      int
	// Rand is the source of the draws at Temperature > 0; nil means a
	// fixed-seed PCG, so equal calls give equal results.
	Rand *rand.Rand
}

// DecodeResult is the reference's DecodingResult.
type DecodeResult struct {
	Language string
	// LanguageProbs is set when the language was detected.
	LanguageProbs map[string]float64
	// InitialTokens is the sequence the decoder started with.
	InitialTokens []int
	// Tokens are the sampled ids without the final <|endoftext|>.
	Tokens []int
	// Text is Decode(Tokens) with surrounding white space removed;
	// TextWithTimestamps is DecodeWithTimestamps(Tokens).
	Text, TextWithTimestamps string
	// AvgLogprob is the sum of the chosen tokens' log-probabilities over
	// len(Tokens) + 1.
	AvgLogprob float64
	// NoSpeechProb is the probability of <|nospeech|> at the
	// <|startoftranscript|> position.
	NoSpeechProb float64
	// Temperature is the options' temperature.
	Temperature float64
}

// Language is one language token.
type Language struct {
	Code string // "en"
	ID   int    // <|en|>'s id
}

// specials are the tokenizer ids decoding needs.
type specials struct {
	eot, sot, sotPrev, sotLM, noSpeech, noTimestamps, tsBegin, transcribe, translate int
}

func (t *Tokenizer) specials() (specials, error) {
	var s specials
	var missing []string
	get := func(names ...string) int {
		for _, n := range names {
			if id, ok := t.SpecialID(n); ok {
				return id
			}
		}
		missing = append(missing, names[0])
		return -1
	}
	s.eot, s.sot, s.tsBegin = t.eot, t.sot, t.timestampBegin
	s.sotPrev = get("<|startofprev|>")
	s.sotLM = get("<|startoflm|>")
	s.noSpeech = get("<|nospeech|>", "<|nocaptions|>")
	s.noTimestamps = get("<|notimestamps|>")
	s.transcribe = get("<|transcribe|>")
	s.translate = get("<|translate|>")
	if len(missing) > 0 {
		return s, fmt.Errorf("%w: the tokenizer lacks %s", ErrConfig, strings.Join(missing, ", "))
	}
	return s, nil
}

// Languages lists the language tokens in id order: generation_config.json's
// lang_to_id when the model folder has one, else the tokenizer's added
// tokens between <|startoftranscript|> and <|translate|>.
func (m *Model) Languages(tok *Tokenizer) ([]Language, error) {
	var out []Language
	if len(m.langToID) > 0 {
		for tokText, id := range m.langToID {
			out = append(out, Language{Code: strings.TrimSuffix(strings.TrimPrefix(tokText, "<|"), "|>"), ID: id})
		}
	} else {
		sp, err := tok.specials()
		if err != nil {
			return nil, err
		}
		for id := sp.sot + 1; id < sp.translate; id++ {
			if id < len(tok.tokens) && tok.special[id] {
				txt := string(tok.tokens[id])
				out = append(out, Language{Code: strings.TrimSuffix(strings.TrimPrefix(txt, "<|"), "|>"), ID: id})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no language tokens", ErrConfig)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// DetectLanguage is the reference's detect_language: the decoder's
// distribution after <|startoftranscript|> restricted to the language
// tokens. It returns the most probable language and every language's
// probability, in Languages order.
func (m *Model) DetectLanguage(tok *Tokenizer, features []float32) (Language, []float64, error) {
	if !m.Multilingual() {
		return Language{}, nil, fmt.Errorf("%w: an English-only model has no language to detect", ErrInput)
	}
	langs, err := m.Languages(tok)
	if err != nil {
		return Language{}, nil, err
	}
	s, err := m.NewDecoderState(features)
	if err != nil {
		return Language{}, nil, err
	}
	logits, err := s.Step([]int{tok.SOT()})
	if err != nil {
		return Language{}, nil, err
	}
	best := 0
	top := math.Inf(-1)
	for i, l := range langs {
		if l.ID >= len(logits) {
			return Language{}, nil, fmt.Errorf("%w: language token %d outside the vocabulary", ErrConfig, l.ID)
		}
		if v := float64(logits[l.ID]); v > top {
			top, best = v, i
		}
	}
	probs := make([]float64, len(langs))
	var sum float64
	for i, l := range langs {
		probs[i] = math.Exp(float64(logits[l.ID]) - top)
		sum += probs[i]
	}
	for i := range probs {
		probs[i] /= sum
	}
	return langs[best], probs, nil
}

// Decode is the reference's decode at temperature 0 for one window's
// audio features (Encode's output): the start sequence, greedy sampling
// with the suppression and timestamp rules through a kv-cached
// DecoderState, until <|endoftext|>, SampleLen tokens, or the text context
// is full. ctx is checked between steps.
func (m *Model) Decode(ctx context.Context, tok *Tokenizer, features []float32, opt DecodeOptions) (*DecodeResult, error) {
	sp, err := tok.specials()
	if err != nil {
		return nil, err
	}
	if tok.Size() > m.cfg.VocabSize {
		return nil, fmt.Errorf("%w: the tokenizer has %d ids, the model %d", ErrConfig, tok.Size(), m.cfg.VocabSize)
	}
	nCtx := m.cfg.MaxTargetPositions
	sampleLen := opt.SampleLen
	if sampleLen <= 0 {
		sampleLen = nCtx / 2
	}
	task := sp.transcribe
	switch opt.Task {
	case "", "transcribe":
	case "translate":
		task = sp.translate
	default:
		return nil, fmt.Errorf("%w: task %q", ErrInput, opt.Task)
	}
	langs, err := m.Languages(tok)
	if err != nil {
		return nil, err
	}
	if !m.Multilingual() {
		// The reference's English-only tokenizer has no language or task in
		// its start sequence, and transcribe sets the language to English.
		opt.Language, opt.Task = "en", ""
	}
	res := &DecodeResult{Language: opt.Language}
	code := opt.Language
	if code == "" {
		code = "en"
	}
	langID := -1
	for _, l := range langs {
		if l.Code == code {
			langID = l.ID
		}
	}
	if langID < 0 {
		return nil, fmt.Errorf("%w: unknown language %q", ErrInput, code)
	}

	// The start sequence, then prefix; a prompt goes before it.
	initial := []int{sp.sot, langID, task}
	if !m.Multilingual() {
		initial = []int{sp.sot}
	}
	if opt.WithoutTimestamps {
		initial = append(initial, sp.noTimestamps)
	}
	if len(opt.Prefix) > 0 {
		p := opt.Prefix
		if maxPrefix := nCtx/2 - sampleLen; len(p) > maxPrefix {
			p = p[len(p)-max(maxPrefix, 0):]
		}
		initial = append(initial, p...)
	}
	if len(opt.Prompt) > 0 {
		p := opt.Prompt
		if keep := nCtx/2 - 1; len(p) > keep {
			p = p[len(p)-keep:]
		}
		initial = append(append([]int{sp.sotPrev}, p...), initial...)
	}
	sotIndex := 0
	for i, t := range initial {
		if t == sp.sot {
			sotIndex = i
			break
		}
	}
	if opt.Language == "" {
		l, probs, err := m.DetectLanguage(tok, features)
		if err != nil {
			return nil, err
		}
		initial[sotIndex+1] = l.ID
		res.Language = l.Code
		res.LanguageProbs = make(map[string]float64, len(langs))
		for i, x := range langs {
			res.LanguageProbs[x.Code] = probs[i]
		}
	}
	res.InitialTokens = append([]int(nil), initial...)

	suppress := m.cfg.SuppressTokens
	if opt.SuppressTokens != nil {
		suppress = opt.SuppressTokens
	}
	// The reference always adds these to the list.
	suppress = append(slices.Clip(suppress), sp.transcribe, sp.translate, sp.sot, sp.sotPrev, sp.sotLM, sp.noSpeech)
	blank := append(tok.Encode(" "), sp.eot)
	maxInitial := -1
	if !opt.WithoutTimestamps {
		sec := opt.MaxInitialTimestamp
		if sec == 0 {
			sec = 1
		}
		if sec > 0 {
			precision := float64(m.pre.ChunkLength) / float64(m.cfg.MaxSourcePositions)
			maxInitial = int(math.RoundToEven(sec / precision))
		}
	}

	vocab := m.cfg.VocabSize
	sampleBegin := len(initial)
	ninf := float32(math.Inf(-1))
	// run samples one sequence with choose picking each token from the
	// masked logits; it returns the tokens without <|endoftext|> and the
	// sum of the chosen tokens' log-probabilities (<|endoftext|>'s
	// included).
	run := func(choose func(row []float32) int) ([]int, float64, error) {
		state, err := m.NewDecoderState(features)
		if err != nil {
			return nil, 0, err
		}
		tokens := append([]int(nil), initial...)
		var sumLogprob float64
		for i := 0; i < sampleLen; i++ {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
			feed := tokens[len(tokens)-1:]
			if i == 0 {
				feed = tokens
			}
			logits, err := state.Step(feed)
			if err != nil {
				return nil, 0, err
			}
			if i == 0 {
				row := logits[sotIndex*vocab : (sotIndex+1)*vocab]
				res.NoSpeechProb = math.Exp(logSoftmaxAt(row, sp.noSpeech))
			}
			row := logits[len(logits)-vocab:]
			// SuppressBlank, SuppressTokens, ApplyTimestampRules.
			if len(tokens) == sampleBegin && !opt.KeepBlank {
				for _, t := range blank {
					row[t] = ninf
				}
			}
			for _, t := range suppress {
				if t >= 0 && t < vocab {
					row[t] = ninf
				}
			}
			if !opt.WithoutTimestamps {
				applyTimestampRules(row, tokens, sampleBegin, maxInitial, sp)
			}
			next := choose(row)
			sumLogprob += logSoftmaxAt(row, next)
			tokens = append(tokens, next)
			if next == sp.eot || len(tokens) > nCtx {
				break
			}
		}
		out := tokens[sampleBegin:]
		for i, t := range out {
			if t == sp.eot {
				out = out[:i]
				break
			}
		}
		return out, sumLogprob, nil
	}

	var out []int
	var sumLogprob float64
	if opt.Temperature == 0 {
		if out, sumLogprob, err = run(kernels.Argmax); err != nil {
			return nil, err
		}
	} else {
		// best_of samples, ranked as the reference's
		// MaximumLikelihoodRanker: sum of log-probabilities over length.
		rng := opt.Rand
		if rng == nil {
			rng = rand.New(rand.NewPCG(0, 0))
		}
		probs := make([]float64, vocab)
		choose := func(row []float32) int { return sampleTempered(row, opt.Temperature, probs, rng) }
		bestScore := math.Inf(-1)
		for c := 0; c < max(opt.BestOf, 1); c++ {
			toks, sum, err := run(choose)
			if err != nil {
				return nil, err
			}
			score := sum / float64(len(toks))
			if c == 0 || score > bestScore {
				out, sumLogprob, bestScore = toks, sum, score
			}
		}
	}
	res.Temperature = opt.Temperature
	res.Tokens = append([]int(nil), out...)
	res.Text = pyStrip(tok.Decode(res.Tokens))
	res.TextWithTimestamps = tok.DecodeWithTimestamps(res.Tokens)
	res.AvgLogprob = sumLogprob / float64(len(res.Tokens)+1)
	return res, nil
}

// applyTimestampRules masks row as the reference's ApplyTimestampRules:
// timestamps come in pairs (except before <|endoftext|>), never decrease,
// the first sampled token is a timestamp no later than maxInitial steps
// (when ≥ 0), and text is ruled out when the timestamps' total
// probability beats every text token.
func applyTimestampRules(row []float32, tokens []int, sampleBegin, maxInitial int, sp specials) {
	ninf := float32(math.Inf(-1))
	fill := func(from, to int) {
		to = min(to, len(row))
		for i := max(from, 0); i < to; i++ {
			row[i] = ninf
		}
	}
	row[sp.noTimestamps] = ninf
	seq := tokens[sampleBegin:]
	last := len(seq) >= 1 && seq[len(seq)-1] >= sp.tsBegin
	penultimate := len(seq) < 2 || seq[len(seq)-2] >= sp.tsBegin
	if last {
		if penultimate {
			fill(sp.tsBegin, len(row))
		} else {
			fill(0, sp.eot)
		}
	}
	lastTS := -1
	for _, t := range seq {
		if t >= sp.tsBegin {
			lastTS = t
		}
	}
	if lastTS >= 0 {
		end := lastTS + 1
		if last && !penultimate {
			end = lastTS
		}
		fill(sp.tsBegin, end)
	}
	if len(tokens) == sampleBegin {
		fill(0, sp.tsBegin)
		if maxInitial >= 0 {
			fill(sp.tsBegin+maxInitial+1, len(row))
		}
	}
	// Compare the timestamps' log-probability mass with the best text token.
	lse := logSumExp(row)
	tsMass := logSumExp(row[sp.tsBegin:]) - lse
	bestText := math.Inf(-1)
	for _, v := range row[:sp.tsBegin] {
		bestText = math.Max(bestText, float64(v))
	}
	if tsMass > bestText-lse {
		fill(0, sp.tsBegin)
	}
}

// logSumExp is log Σ exp(v) in float64 (−Inf for an empty or fully masked
// slice).
func logSumExp(v []float32) float64 {
	top := math.Inf(-1)
	for _, x := range v {
		top = math.Max(top, float64(x))
	}
	if math.IsInf(top, -1) {
		return top
	}
	var s float64
	for _, x := range v {
		s += math.Exp(float64(x) - top)
	}
	return top + math.Log(s)
}

// logSoftmaxAt is log_softmax(row)[i].
func logSoftmaxAt(row []float32, i int) float64 { return float64(row[i]) - logSumExp(row) }

// sampleTempered draws an index from softmax(row / temperature), masked
// (−Inf) entries never; probs is scratch of len(row).
func sampleTempered(row []float32, temperature float64, probs []float64, rng *rand.Rand) int {
	top := math.Inf(-1)
	for _, x := range row {
		top = math.Max(top, float64(x))
	}
	var sum float64
	for i, x := range row {
		probs[i] = math.Exp((float64(x) - top) / temperature)
		sum += probs[i]
	}
	u := rng.Float64() * sum
	last := 0
	for i, p := range probs[:len(row)] {
		if p == 0 {
			continue
		}
		last = i
		if u < p {
			return i
		}
		u -= p
	}
	return last
}

// pyStrip is Python's str.strip(): Unicode white space and the ASCII
// separators U+001C–U+001F.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f })
}

// Multilingual reports whether the model has the multilingual vocabulary
// (the reference's is_multilingual: at least 51,865 ids); English-only
// (.en) models have 51,864.
func (m *Model) Multilingual() bool { return m.cfg.VocabSize >= 51865 }
