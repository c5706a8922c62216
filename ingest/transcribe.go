package ingest

import (
	"context"
	"iter"
	"slices"

	"rosetta/engine"
)

// transcribe transcribes an audio file into it.obj with
// engine.ApplyTranscript (text.transcript, metadata transcript_language;
// segments kept within the file's duration_s) and returns one item per
// segment with text (keyed path#w=start,end, its
// text as text.transcript, no content: the engine embeds it in the spaces
// of text models, and the keyword index finds it; segments fold into their
// file with group_by parent). A transcription error is reported and the
// file is stored without a transcript; ok is false only when ctx is done.
func (r *run) transcribe(ctx context.Context, it *item, data []byte) (segs []item, ok bool) {
	path := it.path
	tr, err := r.o.Transcriber.Transcribe(ctx, data, r.o.TranscribeLanguage)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false // the run is stopping: not this file's fault
		}
		r.warn(path, "transcribe: %v", err)
		return nil, true
	}
	dur, _ := it.obj.Metadata["duration_s"].(float64)
	for _, o := range engine.ApplyTranscript(&it.obj, tr, dur) {
		if prev, ok := r.prev[o.Key]; ok {
			o.ID = prev.id
		}
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
