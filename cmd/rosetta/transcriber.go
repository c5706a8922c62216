package main

import (
	"context"
	"fmt"
	"slices"

	"rosetta/encoders/audio"
	"rosetta/encoders/whisper"
	"rosetta/engine"
)

// whisperTranscriber adapts a Whisper model to engine.Transcriber (ingest
// --transcribe, and collections with a transcription model):
// openai/whisper's transcribe() at temperature 0 (no fallback), with
// timestamps and conditioning on previous text.
type whisperTranscriber struct {
	m   *whisper.Model
	tok *whisper.Tokenizer
}

var _ engine.Transcriber = (*whisperTranscriber)(nil)

// openTranscriber loads a Whisper model directory.
func openTranscriber(dir string) (*whisperTranscriber, error) {
	m, err := whisper.Load(dir, nil)
	if err != nil {
		return nil, err
	}
	tok, err := whisper.LoadTokenizer(dir)
	if err != nil {
		return nil, err
	}
	return &whisperTranscriber{m: m, tok: tok}, nil
}

// CheckLanguage accepts "" (detection) and the model's language codes.
func (w *whisperTranscriber) CheckLanguage(language string) error {
	if language == "" {
		return nil
	}
	if !w.m.Multilingual() {
		if language != "en" {
			return fmt.Errorf("an English-only Whisper model transcribes en, not %q", language)
		}
		return nil
	}
	langs, err := w.m.Languages(w.tok)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(langs, func(l whisper.Language) bool { return l.Code == language }) {
		return fmt.Errorf("the model has no language %q", language)
	}
	return nil
}

// Transcribe reads the file a window at a time, mixed to mono and
// resampled to the model's rate per range (audio.OpenResampled), so an
// hour of audio is never decoded whole.
func (w *whisperTranscriber) Transcribe(ctx context.Context, data []byte, language string) (engine.Transcript, error) {
	src, err := audio.OpenResampled(data, w.m.Preprocessor().SamplingRate)
	if err != nil {
		return engine.Transcript{}, err
	}
	opt := whisper.DefaultTranscribeOptions()
	opt.Language = language
	r, err := w.m.TranscribeSamples(ctx, w.tok, src, opt)
	if err != nil {
		return engine.Transcript{}, err
	}
	t := engine.Transcript{Language: r.Language, Text: r.Text, Segments: make([]engine.TranscriptSegment, len(r.Segments))}
	for i, s := range r.Segments {
		t.Segments[i] = engine.TranscriptSegment{Start: s.Start, End: s.End, Text: s.Text}
	}
	return t, nil
}
