package ingest

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"

	"rosetta/engine"
)

// transcriptKey separates a file's path from a transcript segment's time
// range in the segment's key (path#w=start,end).
const transcriptKey = "#w="

// Transcriber turns speech into text (cmd/rosetta adapts encoders/whisper).
// It must be safe for concurrent use: ingest's workers call it in
// parallel.
type Transcriber interface {
	// Transcribe transcribes a whole recording from its file's bytes
	// (WAV, FLAC, MP3 or Ogg Vorbis, recognised by content), which it
	// reads and must not change or keep. An hour-long file should be read
	// a range at a time (audio.OpenResampled), not decoded whole.
	Transcribe(ctx context.Context, data []byte) (Transcript, error)
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

// transcribe transcribes an audio file (its bytes, which the Transcriber
// decodes) into it.obj: the trimmed transcript as
// Text["transcript"] and its language as metadata transcript_language.
// It returns one item per segment with text, keyed path#w=start,end, each
// with its trimmed text as Text["transcript"] and no content, so no
// vector: they are found by keyword search (text.transcript) and fold into
// their file with group_by parent. A transcription error is reported and
// the file is stored without a transcript; ok is false only when ctx is
// done.
func (r *run) transcribe(ctx context.Context, it *item, data []byte) (segs []item, ok bool) {
	path := it.path
	tr, err := r.o.Transcriber.Transcribe(ctx, data)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false // the run is stopping: not this file's fault
		}
		r.warn(path, "transcribe: %v", err)
		return nil, true
	}
	md := it.obj.Metadata
	if text := strings.TrimSpace(tr.Text); text != "" {
		if it.obj.Text == nil {
			it.obj.Text = map[string]string{}
		}
		it.obj.Text["transcript"] = text
	}
	// Set even when "": it marks the file as transcribed (see
	// fileState.untranscribed).
	md["transcript_language"] = tr.Language
	at := map[string]int{} // key → index in segs
	for _, s := range tr.Segments {
		text := strings.TrimSpace(s.Text)
		if text == "" {
			continue
		}
		key := fmt.Sprintf("%s%s%.3f,%.3f", path, transcriptKey, s.Start, s.End)
		if i, dup := at[key]; dup {
			// Two segments with one time range (to the millisecond) share
			// their key: one object holds both texts.
			segs[i].obj.Text["transcript"] += " " + text
			continue
		}
		smd := map[string]any{"parent": path, "segment_start": s.Start, "segment_end": s.End, "segment_kind": "transcript",
			MetaName: md[MetaName], MetaDir: md[MetaDir]}
		o := engine.Object{Key: key, Source: path, Modality: "audio", Metadata: smd, Text: map[string]string{"transcript": text}}
		if prev, ok := r.prev[key]; ok {
			o.ID = prev.id
		}
		at[key] = len(segs)
		segs = append(segs, item{obj: o, path: path, segment: true, spoken: true})
	}
	return segs, true
}

// staleTranscript returns the ids of a file's stored transcript segments
// that segs does not rewrite (all of them when it is not transcribed
// again): a changed file keeps no transcript of its old content.
func (r *run) staleTranscript(path string, segs []item) []uint64 {
	var stale []uint64
	for _, key := range r.spoken[path] {
		if !slices.ContainsFunc(segs, func(it item) bool { return it.obj.Key == key }) {
			stale = append(stale, r.prev[key].id)
		}
	}
	return stale
}

// dropSegments deletes segment objects by id, MaxBatch at a time.
func (r *run) dropSegments(ctx context.Context, ids []uint64) error {
	for len(ids) > 0 {
		n := min(len(ids), engine.MaxBatch)
		if err := r.sink.Delete(ctx, r.coll, ids[:n]); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// concatSegments yields the items of a, then those of b.
func concatSegments(a iter.Seq[item], b []item) iter.Seq[item] {
	if len(b) == 0 {
		return a
	}
	return func(yield func(item) bool) {
		if a != nil {
			for it := range a {
				if !yield(it) {
					return
				}
			}
		}
		for _, it := range b {
			if !yield(it) {
				return
			}
		}
	}
}
