package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"rosetta/encoders/audio"
	"rosetta/engine"
)

// writeNotes writes n text files of noteSize bytes each, all different
// (identical contents would be skipped as duplicates).
func writeNotes(t *testing.T, n int) string {
	t.Helper()
	root := t.TempDir()
	for i := range n {
		if err := os.WriteFile(filepath.Join(root, fmt.Sprintf("n%04d.txt", i)), fmt.Appendf(nil, "note %04d", i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const noteSize = len("note 0000")

// checkNoGoroutinesLeft fails when more goroutines run than before,
// allowing the runtime a moment to settle.
func checkNoGoroutinesLeft(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before Run:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunStopsOnFatalWriteError: a write error that is not about one
// object stops the walker and the workers, so that the rest of the folder
// is not read, and Run returns that error, not context.Canceled.
func TestRunStopsOnFatalWriteError(t *testing.T) {
	const files = 300
	root := writeNotes(t, files)
	errDisk := errors.New("disk on fire")
	sink := &fakeSink{upsert: func(context.Context, []engine.Object) ([]uint64, error) { return nil, errDisk }}
	before := runtime.NumGoroutine()
	s, err := Run(context.Background(), sink, []string{root}, Options{Collection: "c", Workers: 4, Batch: 8})
	if !errors.Is(err, errDisk) {
		t.Fatalf("Run: %v, want the write error", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v wraps context.Canceled", err)
	}
	checkNoGoroutinesLeft(t, before)
	// One batch was written; at most the batch, the items buffer (2×Batch)
	// and one file per worker were read before the pipeline stopped.
	read := int(s.Bytes) / noteSize
	if sink.calls() != 1 || read > 8+16+4+4 {
		t.Fatalf("%d Upserts, %d of %d files read (%+v)", sink.calls(), read, files, s.Progress)
	}
	if s.Added != 0 || s.Failed != 0 {
		t.Fatalf("nothing was written and no file failed: %+v", s.Progress)
	}
}

// TestRunErrInvalidIsNotFatal: an error about the objects of a batch
// fails those files only; the run goes on.
func TestRunErrInvalidIsNotFatal(t *testing.T) {
	root := writeNotes(t, 40)
	bad := filepath.Join(root, "n0007.txt")
	sink := &fakeSink{}
	sink.upsert = func(_ context.Context, objs []engine.Object) ([]uint64, error) {
		ids := make([]uint64, len(objs))
		for i, o := range objs {
			if o.Key == bad {
				return nil, fmt.Errorf("%w: object %q", engine.ErrInvalid, o.Key)
			}
			ids[i] = uint64(i + 1)
		}
		return ids, nil
	}
	s, err := Run(context.Background(), sink, []string{root}, Options{Collection: "c", Workers: 2, Batch: 8})
	if err != nil || s.Added != 39 || s.Failed != 1 || s.Done != 40 {
		t.Fatalf("%+v %v", s.Progress, err)
	}
}

// TestRunCallerCancel: the caller's cancellation returns ctx.Err()
// (context.Canceled), even when the caller gave a cause, and leaves no
// goroutine behind.
func TestRunCallerCancel(t *testing.T) {
	for _, withCause := range []bool{false, true} {
		t.Run(fmt.Sprintf("cause=%v", withCause), func(t *testing.T) {
			root := writeNotes(t, 300)
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			sink := &fakeSink{upsert: func(ctx context.Context, objs []engine.Object) ([]uint64, error) {
				if withCause {
					cancel(errors.New("user pressed ^C"))
				} else {
					cancel(nil)
				}
				return nil, ctx.Err() // as a sink that honours ctx would
			}}
			before := runtime.NumGoroutine()
			s, err := Run(ctx, sink, []string{root}, Options{Collection: "c", Workers: 4, Batch: 8})
			if err != context.Canceled {
				t.Fatalf("Run: %v, want context.Canceled", err)
			}
			checkNoGoroutinesLeft(t, before)
			if read := int(s.Bytes) / noteSize; read > 8+16+4+4 || s.Failed != 0 {
				t.Fatalf("%d files read after cancellation (%+v)", read, s.Progress)
			}
		})
	}
}

// countingRecording is a silent Recording that counts Range calls.
type countingRecording struct {
	frames, ranges int
}

func (c *countingRecording) Rate() int     { return audio.MinRate }
func (c *countingRecording) Channels() int { return 1 }
func (c *countingRecording) Frames() int   { return c.frames }
func (c *countingRecording) Range(start, end int) ([]float32, error) {
	c.ranges++
	return make([]float32, end-start), nil
}

// TestAudioSegmentsStopOnCancel: the segment generator decodes no window
// once the run's context is done.
func TestAudioSegmentsStopOnCancel(t *testing.T) {
	r := &run{o: Options{AudioWindow: time.Second}}
	src := &countingRecording{frames: 100 * audio.MinRate}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	for range r.audioSegments(ctx, "/x.wav", src, map[string]any{}) {
		if n++; n == 3 {
			cancel()
		}
	}
	if n != 3 || src.ranges != 3 {
		t.Fatalf("%d segments yielded, %d ranges decoded after cancelling at the 3rd of 100", n, src.ranges)
	}
}
