package engine

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"rosetta/store"
)

// Transcriber turns speech into text (cmd/rosetta adapts encoders/whisper).
// It must be safe for concurrent use.
type Transcriber interface {
	// Transcribe transcribes an encoded audio file (WAV, FLAC, MP3 or Ogg
	// Vorbis) spoken in language, a code such as "en"; "" detects it.
	Transcribe(ctx context.Context, audio []byte, language string) (Transcript, error)
	// CheckLanguage reports an error when the model cannot transcribe
	// language ("" is detection).
	CheckLanguage(language string) error
}

// Transcript is what a Transcriber heard in one recording.
type Transcript struct {
	Language string // a language code (en, de, …), "" when unknown
	Text     string // the whole transcript
	Segments []TranscriptSegment
}

// TranscriptSegment is a stretch of a transcript with its time range in
// seconds from the start of the recording.
type TranscriptSegment struct {
	Start, End float64
	Text       string
}

// Transcript segments: the derived text that holds what was said, and the
// segment_kind that marks a segment object as a stretch of its parent's
// transcript.
const (
	TranscriptText        = "transcript"
	SegmentKindTranscript = "transcript"
)

// TranscriptKeySep separates a transcript segment's parent key from its
// time range in its key (TranscriptKey).
const TranscriptKeySep = "#w="

// TranscriptKey is the key of the transcript segment of the object keyed
// parent that spans [start, end) seconds (to the millisecond).
func TranscriptKey(parent string, start, end float64) string {
	return fmt.Sprintf("%s%s%.3f,%.3f", parent, TranscriptKeySep, start, end)
}

// IsTranscriptSegment reports whether metadata is a transcript segment's.
func IsTranscriptSegment(md map[string]any) bool {
	return md["segment_kind"] == SegmentKindTranscript
}

// ApplyTranscript writes tr, the transcript of a recording of duration
// seconds (0: unknown), into o, which must have a key: its trimmed text as
// o.Text["transcript"] (when not empty) and its language as the metadata
// transcript_language (always, "" included: it marks o as transcribed).
// o's Text and Metadata maps are replaced, never changed in place.
//
// Whisper decodes 30 s windows padded with silence, and its timestamps can
// point into the padding, past the end of the recording. What is stored
// stays within the recording, so that a player can start at segment_start
// and the transcript holds only what was heard in it: a segment's end is
// cut at the recording's end (to the millisecond, rounded down), and a
// segment that starts at or after it is dropped, its text with it.
//
// It returns o's segment objects, one per segment with text: keyed
// TranscriptKey, modality audio, o's source, metadata parent (o's key),
// segment_start, segment_end (seconds), segment_kind "transcript" and o's
// file_name and file_dir, the segment's trimmed text as text.transcript,
// no content and no vector (Upsert embeds them in the spaces whose model
// has a text tower). Segments with one time range share one object
// holding both texts.
func ApplyTranscript(o *Object, tr Transcript, duration float64) []Object {
	end := math.Inf(1)
	if duration > 0 {
		end = math.Floor(duration*1000) / 1000
	}
	if slices.ContainsFunc(tr.Segments, func(s TranscriptSegment) bool { return s.Start >= end }) {
		var heard strings.Builder
		for _, s := range tr.Segments {
			if s.Start < end {
				heard.WriteString(s.Text)
			}
		}
		tr.Text = heard.String()
	}
	md := maps.Clone(o.Metadata)
	if md == nil {
		md = map[string]any{}
	}
	md["transcript_language"] = tr.Language
	o.Metadata = md
	if text := strings.TrimSpace(tr.Text); text != "" {
		t := maps.Clone(o.Text)
		if t == nil {
			t = map[string]string{}
		}
		t[TranscriptText] = text
		o.Text = t
	}
	var segs []Object
	at := map[string]int{} // key → index in segs
	for _, s := range tr.Segments {
		text := strings.TrimSpace(s.Text)
		if text == "" || s.Start >= end {
			continue
		}
		s.End = min(s.End, end)
		key := TranscriptKey(o.Key, s.Start, s.End)
		if i, dup := at[key]; dup {
			segs[i].Text[TranscriptText] += " " + text
			continue
		}
		smd := map[string]any{"parent": o.Key, "segment_start": s.Start, "segment_end": s.End, "segment_kind": SegmentKindTranscript}
		for _, k := range []string{"file_name", "file_dir"} {
			if v, ok := md[k]; ok {
				smd[k] = v
			}
		}
		at[key] = len(segs)
		segs = append(segs, Object{Key: key, Source: o.Source, Modality: "audio", Metadata: smd,
			Text: map[string]string{TranscriptText: text}})
	}
	return segs
}

// transcribeContent transcribes, when the collection names a transcriber,
// every audio object of objs written with its content, a key, no parent
// (it is not itself a segment) and no transcript of its own: ApplyTranscript
// with the collection's language. It returns the segment objects and the
// keys of the objects transcribed (whose older segments are then stale).
// Each transcription holds an encode slot and the audio's seconds of the
// server's audio budget.
func (e *Engine) transcribeContent(ctx context.Context, c *coll, objs []Object) (segs []Object, parents []string, err error) {
	spec := c.meta.Transcribe
	if spec.Model == "" {
		return nil, nil, nil
	}
	var t Transcriber
	for i := range objs {
		o := &objs[i]
		if o.Content == nil || o.Content.Audio == nil || o.Key == "" {
			continue
		}
		if _, isSegment := o.Metadata["parent"]; isSegment {
			continue
		}
		if _, given := o.Text[TranscriptText]; given {
			continue
		}
		if t == nil {
			if t, err = e.transcribers.get(ctx, spec.Model); err != nil {
				return nil, nil, err
			}
		}
		secs, err := audioSeconds(o.Content.Audio)
		if err != nil {
			return nil, nil, fmt.Errorf("objects[%d]: %w", i, err)
		}
		release, err := e.acquire(ctx, e.audioSecs, int64(secs*1000))
		if err != nil {
			return nil, nil, err
		}
		var tr Transcript
		_, err = e.embed(ctx, func() ([][]float32, error) {
			var err error
			tr, err = t.Transcribe(ctx, o.Content.Audio, transcribeLanguage(spec.Language))
			return nil, err
		})
		release()
		if err != nil {
			return nil, nil, fmt.Errorf("objects[%d]: %w", i, encodeErr(ctx, "audio", spec.Model, err))
		}
		segs = append(segs, ApplyTranscript(o, tr, secs)...)
		parents = append(parents, o.Key)
	}
	return segs, parents, nil
}

// transcribeLanguage is the language a Transcriber is asked for: "" (and
// "auto") detect it.
func transcribeLanguage(l string) string {
	if l == "auto" {
		return ""
	}
	return l
}

// checkTranscription loads a collection's transcriber (vetting the name of
// an untrusted caller first) and checks its language.
func (e *Engine) checkTranscription(ctx context.Context, spec Transcription) error {
	if spec.Model == "" {
		if spec.Language != "" {
			return fmt.Errorf("%w: a transcription language without a transcription model", ErrInvalid)
		}
		return nil
	}
	if err := e.checkModelName(ctx, spec.Model); err != nil {
		return err
	}
	t, err := e.transcribers.get(ctx, spec.Model)
	if err != nil {
		return err
	}
	if err := t.CheckLanguage(transcribeLanguage(spec.Language)); err != nil {
		return fmt.Errorf("%w: transcription language %s: %v", ErrInvalid, quote(spec.Language), err)
	}
	return nil
}

// embedTranscripts gives every transcript segment of objs without content
// a vector, in each space whose model has a text tower (a text window) and
// where it has none, from its text.transcript: a text query then finds
// what was said by meaning, not only by its words. Spaces of audio-only
// models are left alone.
func (e *Engine) embedTranscripts(ctx context.Context, c *coll, objs []Object) error {
	var idx []int
	for i := range objs {
		o := &objs[i]
		if o.Content == nil && IsTranscriptSegment(o.Metadata) && o.Text[TranscriptText] != "" {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	for _, s := range c.meta.Spaces {
		if s.Model == "" {
			continue
		}
		enc, err := e.spaceModel(ctx, s)
		if err != nil {
			return err
		}
		if _, text := enc.(TokenCounter); !text {
			continue
		}
		var todo []int
		for _, i := range idx {
			if _, given := objs[i].Vectors[s.Name]; !given {
				todo = append(todo, i)
			}
		}
		for len(todo) > 0 {
			n := min(len(todo), textChunk)
			chunk := todo[:n]
			todo = todo[n:]
			in := make([]string, n)
			for j, i := range chunk {
				in[j] = objs[i].Text[TranscriptText]
			}
			vecs, err := e.embedTexts(ctx, e.batchKey(s), enc, in)
			if err != nil {
				return encodeErr(ctx, "transcripts", s.Model, err)
			}
			if len(vecs) != n {
				return fmt.Errorf("engine: model %q returned %d embeddings for %d transcripts", s.Model, len(vecs), n)
			}
			for j, i := range chunk {
				if err := c.checkVector(s.Name, vecs[j]); err != nil {
					return fmt.Errorf("objects[%d]: the model's embedding of its transcript: %w", i, err)
				}
				setVector(&objs[i], s.Name, vecs[j])
			}
		}
	}
	return nil
}

// staleSegments returns the ids of the segment objects (isSegment) of the
// given parents whose keys keep does not hold: what a re-written parent no
// longer has.
func (e *Engine) staleSegments(coll string, parents []string, keep map[string]bool, isSegment func(store.Object) bool) ([]uint64, error) {
	var out []uint64
	for _, p := range parents {
		bm, err := e.db.Eval(coll, &store.Filter{Field: "parent", Eq: p})
		if err != nil {
			return nil, err
		}
		it := bm.Iterator()
		for it.HasNext() {
			id := it.Next()
			o, err := e.db.Get(coll, id)
			if err != nil {
				continue
			}
			if isSegment(o) && !keep[o.Key] {
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// dropStale deletes the segments a re-written parent no longer has (best
// effort: a failure leaves extra segments, never loses the parent).
func (e *Engine) dropStale(ctx context.Context, coll, what string, parents []string, segs []Object, isSegment func(store.Object) bool) {
	keep := make(map[string]bool, len(segs))
	for _, s := range segs {
		keep[s.Key] = true
	}
	stale, err := e.staleSegments(coll, parents, keep, isSegment)
	for err == nil && len(stale) > 0 {
		n := min(len(stale), MaxBatch)
		_, err = e.DeleteObjects(ctx, coll, stale[:n])
		stale = stale[n:]
	}
	if err != nil {
		e.log.Warn("removing the old "+what+" of a re-written object", "collection", coll, "err", err)
	}
}
