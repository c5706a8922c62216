// Package ingest turns folders of media into collection objects: discovery
// (walk, include/exclude globs, symlinks) → workers that stat, skip
// unchanged files (size + mtime, then SHA-256), read, sniff the type by
// content, decode images and collect metadata (sidecar JSON, EXIF) → a
// batcher that sends encoded batches to a Sink (the engine directly, or a
// server over HTTP), where each batch is one synced write. Channels are
// bounded, so memory stays bounded on any folder size; Ctrl-C (context
// cancellation) stops after the batch in flight, and everything committed
// so far is durable, so a re-run resumes. Every failed file is reported
// with its reason and never stops the run; a failed write that is not
// about its objects (the sink's disk, the connection) does: Run cancels
// its pipeline's context with that error as the cause, so the walker,
// workers and segment generators stop reading, waits for them, and
// returns the error.
//
// Video files are streamed through FFmpeg (video.go, package
// media/video): sampled frames become image segments with kept keyframes,
// the audio track windows and transcript segments, and the video itself,
// written last with the mean of its segments' vectors, is what makes a
// re-run skip it; without FFmpeg they are skipped and reported.
//
// Derived text comes from optional models: a Captioner describes images, a
// Transcriber transcribes audio (transcribe.go), whose segments become
// vectorless objects keyed path#w=start,end for the keyword index.
package ingest
