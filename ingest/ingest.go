package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"iter"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"rosetta/encoders"
	"rosetta/encoders/audio"
	"rosetta/encoders/imageproc"
	"rosetta/engine"
	"rosetta/media/video"
)

// Options configure Run.
type Options struct {
	Collection string
	// Model creates the collection when it does not exist: one space
	// "embedding" filled by this model.
	Model string
	// RerankModel is a new collection's rerank_model (engine.Collection.
	// RerankModel): every image's tokens for it are cached as it is
	// written. "" caches none.
	RerankModel string
	// Precision is the new collection's space precision (float32, int8,
	// or "" for the engine's default; engine.Space.Precision).
	Precision string
	// Text is a new collection's keyword index schema (zero: the defaults).
	Text engine.TextSchema
	// Workers read, hash and decode files in parallel (default GOMAXPROCS).
	Workers int
	// Batch is how many objects one synced write carries (default 32).
	Batch int
	// Include and Exclude are globs matched against each file's base name
	// and its path relative to the root; with Include, a file must match
	// one; a file matching any Exclude is skipped silently.
	Include, Exclude []string
	Recursive        bool
	FollowSymlinks   bool
	DryRun           bool
	// Prune deletes objects ingested from under the given roots whose files
	// are gone.
	Prune        bool
	MaxFileBytes int64 // default 256 MiB
	MaxPixels    int64 // default the engine's per-image limit (engine.DefaultLimits)
	// Progress, when set, is called about once a second and at the end.
	Progress func(Progress)
	// Report receives one JSON line per failed file: {"path", "reason"}.
	Report io.Writer
	Log    *slog.Logger
	// Captioner, when set, describes every image; the caption is stored as
	// derived text (Object.Text["caption"]) and as the filterable metadata
	// field "caption", and comes back with search results.
	Captioner Captioner
	// Transcriber, when set, transcribes every audio file (see
	// transcribe.go): the whole text is stored as the file's
	// Object.Text["transcript"] (metadata transcript_language), and each
	// segment as its own object keyed path#w=start,end. An audio file
	// stored without a transcription (metadata transcript_language) is
	// not skipped as unchanged when Transcriber is set.
	Transcriber engine.Transcriber
	// TranscribeLanguage is the speech's language code for Transcriber;
	// "" detects it per file.
	TranscribeLanguage string
	// AudioWindow and AudioOverlap cut audio files longer than one window
	// into searchable segments (default 10 s and 2 s; a negative window
	// disables segments).
	AudioWindow, AudioOverlap time.Duration
	// AudioWholeMax: audio up to this long is also encoded whole for the
	// file's vector; longer files get the mean of their segments' vectors
	// (default encoders.MaxAudioSeconds).
	AudioWholeMax time.Duration
	// KeepOriginals asks the sink to keep each image and audio file's
	// bytes as the object's original (a server's blob store), so a server
	// that cannot read the files' paths can still serve their media.
	// ingest --server sets it unless --no-upload; local ingest records
	// media roots instead. Audio segments never keep theirs: they play
	// from their file's original. Video files are never uploaded (only
	// their frames' keyframes are kept): a server plays a video only when
	// its media roots cover the file's path.
	KeepOriginals bool
	// FFmpeg is the ffmpeg executable that decodes video files (see
	// video.go); "" looks for ffmpeg on PATH. When it cannot be found or
	// run, video files are skipped (Progress.NoFFmpeg) and reported with
	// what to install; every other file still ingests.
	FFmpeg string
	// Video says which frames of a video become frame segments (zero
	// fields: video.DefaultSampling(): a frame at every scene change and at
	// least every 2 s, at most 60 a minute).
	Video video.Sampling
	// VideoLimits bound each FFmpeg process (zero: video's defaults).
	VideoLimits video.Limits
}

// Captioner generates a description of an image (encoders/caption
// provides one for BLIP and CoCa).
type Captioner interface {
	Caption(ctx context.Context, img image.Image) (string, error)
}

// Progress is a snapshot of a run.
type Progress struct {
	Found, Done                             int // files discovered, files handled
	Added, Updated, Skipped, Failed, Pruned int
	// Duplicates counts files skipped because a file with the same content
	// (SHA-256) is already in the collection under another path.
	Duplicates int
	// Segments counts audio windows (of audio files and of videos' audio
	// tracks) and transcript segments stored (not files); Frames counts
	// video frame segments.
	Segments, Frames int
	// NoFFmpeg counts video files skipped because FFmpeg was not found
	// (also counted in Skipped; each has a line in Report).
	NoFFmpeg int
	// Warnings counts files stored without a derived text that failed
	// (a transcription error); each has a line in Report.
	Warnings int
	Bytes    int64
	Elapsed  time.Duration
	WalkDone bool
}

// Summary is the final Progress plus throughput.
type Summary struct {
	Progress
	FilesPerSec float64
}

// Failure is one file that could not be ingested.
type Failure struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// fileState is what a previous run stored about a file.
type fileState struct {
	id    uint64
	size  int64
	mtime int64
	hash  string
	// untranscribed: an audio file stored without a transcription
	// (metadata transcript_language), which a run with a Transcriber
	// does not skip.
	untranscribed bool
}

// Metadata keys ingest writes (all filterable).
const (
	MetaSize    = "file_size"
	MetaMTime   = "file_mtime_us"
	MetaName    = "file_name"
	MetaExt     = "file_ext"
	MetaDir     = "file_dir"
	textMaxSize = 1 << 20
)

type item struct {
	obj      engine.Object
	update   bool
	path     string
	segment  bool           // a window of an audio file: not counted as a file
	frame    bool           // with segment: a video frame (counted as a frame)
	track    bool           // with segment: a window of a video's audio track
	spoken   bool           // with segment: a transcript segment (no vector to pool)
	segments iter.Seq[item] // windows of a long audio file, sent after it
	// pool, on the item sent after a file's last segment, asks the batcher
	// to store the file with the mean of its segments' vectors (files too
	// long to encode whole); obj is the file object.
	pool bool
	// video, on a video file's item from prepare, carries what ffprobe
	// said; work sends its segments and then the video itself (pool).
	video *video.Info
	// drop, on an item sent after a re-ingested file's segments, lists
	// the ids of its old transcript segments that were not rewritten; the
	// batcher deletes them once what came before is written.
	drop []uint64
}

type run struct {
	sink   Sink
	o      Options
	coll   string
	prev   map[string]fileState
	spoken map[string][]string // file → keys of its stored transcript segments (from prev)
	timed  map[string][]string // file → keys of its stored #t= segments (audio windows, video frames)
	ff     ffmpegOnce
	seen   sync.Map // key → struct{}
	hashes sync.Map // content hash → key of the object that holds it
	report *json.Encoder
	repMu  sync.Mutex

	found, done, added, updated, skipped, failed, pruned, dups, segs, warns atomic.Int64
	frames, noFFmpeg                                                        atomic.Int64
	// noAudioModel: the collection has no model that embeds audio (an
	// audio-track window was refused as unsupported), so videos' audio
	// tracks are not cut into windows.
	noAudioModel atomic.Bool
	bytes        atomic.Int64
	walkDone     atomic.Bool
	start        time.Time
}

// Run ingests the files under roots into o.Collection.
//
// A fatal write error (a Sink.Upsert error other than engine.ErrInvalid or
// engine.ErrUnsupported, which fail only their file) stops the whole
// pipeline: the walker, the workers and the audio segment generators stop
// at their next step, and Run returns that error. When ctx is cancelled,
// Run returns ctx.Err(). Either way everything acknowledged before is
// durable, and no goroutine Run started is left running when it returns.
func Run(ctx context.Context, sink Sink, roots []string, o Options) (Summary, error) {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Batch <= 0 {
		o.Batch = 32
	}
	if o.Batch > engine.MaxBatch {
		return Summary{}, fmt.Errorf("ingest: batch %d exceeds %d", o.Batch, engine.MaxBatch)
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 256 << 20
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = engine.DefaultLimits().MaxImagePixels
	}
	if o.AudioWindow == 0 {
		o.AudioWindow, o.AudioOverlap = 10*time.Second, 2*time.Second
	}
	if o.AudioWholeMax <= 0 || o.AudioWholeMax > encoders.MaxAudioSeconds*time.Second {
		o.AudioWholeMax = encoders.MaxAudioSeconds * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if len(roots) == 0 {
		return Summary{}, errors.New("ingest: no folders or files given")
	}
	for _, g := range append(append([]string{}, o.Include...), o.Exclude...) {
		if _, err := filepath.Match(g, "x"); err != nil {
			return Summary{}, fmt.Errorf("ingest: bad glob %q: %w", g, err)
		}
	}
	var err error
	if o.Video, err = o.Video.WithDefaults(); err != nil {
		return Summary{}, fmt.Errorf("ingest: %w", err)
	}
	r := &run{sink: sink, o: o, coll: o.Collection, prev: map[string]fileState{}, spoken: map[string][]string{}, timed: map[string][]string{}, start: time.Now()}
	if o.Report != nil {
		r.report = json.NewEncoder(o.Report)
	}
	if err := r.ensureCollection(ctx); err != nil {
		return Summary{}, err
	}
	if err := r.loadPrevious(ctx); err != nil {
		return Summary{}, err
	}
	absRoots := make([]string, len(roots))
	for i, root := range roots {
		a, err := filepath.Abs(root)
		if err != nil {
			return Summary{}, err
		}
		// A root is a folder to walk, or one file to ingest (recorded as
		// a media root that covers that file alone).
		if fi, err := os.Stat(a); err != nil || (!fi.IsDir() && !fi.Mode().IsRegular()) {
			return Summary{}, fmt.Errorf("ingest: %s is not a folder or a file", root)
		}
		absRoots[i] = a
		if rec, ok := sink.(MediaRootRecorder); ok && !o.DryRun {
			if err := rec.AddMediaRoot(ctx, o.Collection, a); err != nil {
				return Summary{}, fmt.Errorf("ingest: record media root: %w", err)
			}
		}
	}

	// The pipeline runs under its own context, cancelled with the first
	// fatal error as its cause so that every stage stops promptly.
	parent := ctx
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)

	paths := make(chan string, 256)
	items := make(chan item, 2*o.Batch)
	var (
		walkErr error          // written by the walker before it closes paths
		stages  sync.WaitGroup // walker, workers' closer, progress ticker
		workers sync.WaitGroup
	)
	stages.Go(func() {
		defer close(paths)
		defer r.walkDone.Store(true)
		for _, root := range absRoots {
			if fi, err := os.Stat(root); err == nil && fi.Mode().IsRegular() {
				r.found.Add(1)
				select {
				case paths <- root:
				case <-ctx.Done():
				}
				continue
			}
			if err := r.walk(ctx, root, root, paths, map[string]bool{}); err != nil {
				walkErr = err
				cancel(err)
				return
			}
		}
	})
	for range o.Workers {
		workers.Go(func() { r.work(ctx, paths, items) })
	}
	stages.Go(func() { workers.Wait(); close(items) })

	stopTick := make(chan struct{})
	stages.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopTick:
				return
			case <-t.C:
				if o.Progress != nil {
					o.Progress(r.progress())
				}
			}
		}
	})
	batchErr := r.batcher(ctx, items)
	if batchErr != nil {
		cancel(batchErr)
	}
	// The workers see the cancellation (or the end of the walk) and stop;
	// drain what they had in flight so none stays blocked on a send.
	drain(items)
	close(stopTick)
	stages.Wait()
	if walkErr == nil && batchErr == nil && ctx.Err() == nil && o.Prune {
		batchErr = r.prune(ctx, absRoots)
	}
	s := Summary{Progress: r.progress()}
	if secs := s.Elapsed.Seconds(); secs > 0 {
		s.FilesPerSec = float64(s.Done) / secs
	}
	if o.Progress != nil {
		o.Progress(s.Progress)
	}
	switch cause := context.Cause(ctx); {
	case cause == nil:
		return s, batchErr
	case parent.Err() != nil && errors.Is(cause, context.Cause(parent)):
		// The caller's cancellation (or deadline) came first. (errors.Is,
		// unlike ==, cannot panic on an error type that is not comparable.)
		return s, parent.Err()
	default:
		return s, cause
	}
}

// work prepares the files sent on paths and sends their items (and a long
// recording's segments, generated one window at a time so that it never
// sits in memory decoded) to items, until paths is closed. Once ctx is
// done it prepares nothing more and only drains paths, so that the walker
// is never left blocked.
func (r *run) work(ctx context.Context, paths <-chan string, items chan<- item) {
	send := func(it item) bool {
		select {
		case items <- it:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for p := range paths {
		if ctx.Err() != nil {
			continue // drain
		}
		it, ok := r.prepare(ctx, p)
		if !ok {
			continue
		}
		if it.video != nil {
			r.sendVideo(ctx, it, send)
			continue
		}
		segs, drop := it.segments, it.drop
		it.segments, it.drop = nil, nil
		if !send(it) {
			continue
		}
		sent := true
		if segs != nil {
			for x := range segs {
				if sent = send(x); !sent {
					break
				}
			}
			if sent && it.obj.Content == nil && ctx.Err() == nil && !r.o.DryRun {
				sent = send(item{obj: it.obj, path: it.path, pool: true})
			}
		}
		if sent && drop != nil && ctx.Err() == nil && !r.o.DryRun {
			send(item{path: it.path, drop: drop})
		}
	}
}

func (r *run) progress() Progress {
	return Progress{Found: int(r.found.Load()), Done: int(r.done.Load()), Added: int(r.added.Load()), Updated: int(r.updated.Load()),
		Skipped: int(r.skipped.Load()), Failed: int(r.failed.Load()), Pruned: int(r.pruned.Load()), Duplicates: int(r.dups.Load()),
		Segments: int(r.segs.Load()), Frames: int(r.frames.Load()), NoFFmpeg: int(r.noFFmpeg.Load()), Warnings: int(r.warns.Load()), Bytes: r.bytes.Load(),
		Elapsed: time.Since(r.start), WalkDone: r.walkDone.Load()}
}

func (r *run) ensureCollection(ctx context.Context) error {
	c, err := r.sink.Collection(ctx, r.coll)
	if errors.Is(err, engine.ErrNotFound) {
		if r.o.Model == "" {
			return fmt.Errorf("ingest: collection %q does not exist; give --model to create it", r.coll)
		}
		if r.o.DryRun {
			return nil
		}
		_, err = r.sink.CreateCollection(ctx, engine.Collection{Name: r.coll, Spaces: []engine.Space{{Name: "embedding", Model: r.o.Model, Precision: r.o.Precision}}, Text: r.o.Text,
			RerankModel: r.o.RerankModel})
		return err
	}
	if err != nil {
		return err
	}
	for _, s := range c.Spaces {
		if s.Model != "" {
			return nil
		}
	}
	return fmt.Errorf("ingest: collection %q has no space filled by a model, so files cannot be encoded", r.coll)
}

func (r *run) loadPrevious(ctx context.Context) error {
	if _, err := r.sink.Collection(ctx, r.coll); err != nil {
		return nil // dry run of a collection that does not exist yet
	}
	return r.sink.Scan(ctx, r.coll, func(o engine.Object) error {
		if o.Key == "" {
			return nil
		}
		st := fileState{id: o.ID, hash: o.Hash}
		if v, ok := o.Metadata[MetaSize].(float64); ok {
			st.size = int64(v)
		}
		if v, ok := o.Metadata[MetaMTime].(float64); ok {
			st.mtime = int64(v)
		}
		_, hasAudio := o.Metadata["audio_codec"]
		if _, ok := o.Metadata["transcript_language"]; !ok && (o.Modality == "audio" || o.Modality == "video" && hasAudio) && o.Metadata["parent"] == nil {
			st.untranscribed = true
		}
		r.prev[o.Key] = st
		if file, _, ok := strings.Cut(o.Key, engine.TranscriptKeySep); ok {
			r.spoken[file] = append(r.spoken[file], o.Key)
		}
		if file, _, ok := strings.Cut(o.Key, "#t="); ok {
			r.timed[file] = append(r.timed[file], o.Key)
		}
		if o.Hash != "" {
			r.hashes.Store(o.Hash, o.Key)
		}
		return nil
	})
}

func (r *run) fail(path string, format string, args ...any) {
	r.failed.Add(1)
	r.done.Add(1)
	if r.report != nil {
		r.repMu.Lock()
		r.report.Encode(Failure{Path: path, Reason: fmt.Sprintf(format, args...)})
		r.repMu.Unlock()
	}
}

// warn reports a problem with a file that is stored all the same.
func (r *run) warn(path string, format string, args ...any) {
	r.warns.Add(1)
	if r.report != nil {
		r.repMu.Lock()
		r.report.Encode(Failure{Path: path, Reason: fmt.Sprintf(format, args...)})
		r.repMu.Unlock()
	}
}

func matchAny(globs []string, rel, base string) bool {
	for _, g := range globs {
		if ok, _ := filepath.Match(g, base); ok {
			return true
		}
		if ok, _ := filepath.Match(g, rel); ok {
			return true
		}
	}
	return false
}

// walk sends every candidate file under dir. visited guards symlink cycles.
func (r *run) walk(ctx context.Context, root, dir string, out chan<- string, visited map[string]bool) error {
	real, err := filepath.EvalSymlinks(dir)
	if err == nil {
		if visited[real] {
			return nil
		}
		visited[real] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		r.found.Add(1)
		r.fail(dir, "unreadable directory: %v", err)
		return nil
	}
	for _, e := range entries {
		if ctx.Err() != nil {
			return nil
		}
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		typ := e.Type()
		if typ&fs.ModeSymlink != 0 {
			if !r.o.FollowSymlinks {
				continue
			}
			fi, err := os.Stat(p)
			if err != nil {
				continue // dangling link
			}
			typ = fi.Mode().Type()
		}
		if typ.IsDir() {
			if r.o.Recursive {
				if err := r.walk(ctx, root, p, out, visited); err != nil {
					return err
				}
			}
			continue
		}
		if !typ.IsRegular() {
			continue
		}
		rel, _ := filepath.Rel(root, p)
		if strings.HasSuffix(strings.ToLower(name), ".json") {
			if _, err := os.Stat(strings.TrimSuffix(p, filepath.Ext(p))); err == nil {
				continue // a sidecar of another file
			}
		}
		if len(r.o.Include) > 0 && !matchAny(r.o.Include, rel, name) {
			continue
		}
		if matchAny(r.o.Exclude, rel, name) {
			continue
		}
		r.found.Add(1)
		select {
		case out <- p:
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

var textExts = map[string]bool{".txt": true, ".md": true, ".markdown": true, ".text": true}

// prepare reads and decodes one file into an object; ok is false when the
// file is skipped (unchanged) or failed (reported).
func (r *run) prepare(ctx context.Context, path string) (item, bool) {
	r.seen.Store(path, struct{}{})
	fi, err := os.Stat(path)
	if err != nil {
		r.fail(path, "unreadable: %v", err)
		return item{}, false
	}
	size, mtime := fi.Size(), fi.ModTime().UnixMicro()
	prev, known := r.prev[path]
	// A file stored before transcripts were asked for is not skipped.
	redo := known && r.o.Transcriber != nil && prev.untranscribed
	if known && prev.size == size && prev.mtime == mtime && !redo {
		r.skipped.Add(1)
		r.done.Add(1)
		return item{}, false
	}
	if size == 0 {
		r.fail(path, "empty file")
		return item{}, false
	}
	// A video is streamed through FFmpeg, never read whole: it is sniffed
	// by its first bytes before the size limit applies to other files.
	if head, err := readHead(path, 4096); err != nil {
		r.fail(path, "unreadable: %v", err)
		return item{}, false
	} else if c, _ := video.Sniff(head); c != "" {
		return r.prepareVideo(ctx, path, size, mtime, known, prev, redo)
	}
	if size > r.o.MaxFileBytes {
		r.fail(path, "file of %d bytes exceeds the %d-byte limit", size, r.o.MaxFileBytes)
		return item{}, false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		r.fail(path, "unreadable: %v", err)
		return item{}, false
	}
	r.bytes.Add(int64(len(data)))
	sum := sha256.Sum256(data)
	hash := "sha256:" + hex.EncodeToString(sum[:])
	if r.skipByHash(path, hash, known, prev, redo) {
		return item{}, false
	}
	md := fileMetadata(path, size, mtime)
	obj := engine.Object{Key: path, Source: path, Hash: hash}
	if known {
		obj.ID = prev.id
	}
	switch {
	case imageproc.Sniff(data) != "":
		img, _, err := imageproc.Options{MaxPixels: r.o.MaxPixels}.DecodeBytes(data)
		if err != nil {
			r.fail(path, "image: %v", err)
			return item{}, false
		}
		obj.Modality = "image"
		obj.Content = &engine.Content{Image: data, Decoded: img, Keep: r.o.KeepOriginals}
		b := img.Bounds()
		md["width"], md["height"] = float64(b.Dx()), float64(b.Dy())
		if r.o.Captioner != nil {
			text, err := r.o.Captioner.Caption(ctx, img)
			if err != nil {
				if ctx.Err() != nil {
					return item{}, false // the run is stopping: not this file's fault
				}
				r.fail(path, "caption: %v", err)
				return item{}, false
			}
			obj.Text = map[string]string{"caption": text}
			md["caption"] = text
		}
		if x, ok := imageproc.ReadEXIF(data); ok {
			addEXIF(md, x)
		}
	case isAudio(data):
		src, err := audio.Open(data)
		if err != nil {
			r.fail(path, "audio: %v", err)
			return item{}, false
		}
		if src.Frames() == 0 {
			r.fail(path, "audio: no samples")
			return item{}, false
		}
		dur := float64(src.Frames()) / float64(src.Rate())
		md["duration_s"], md["sample_rate"], md["channels"] = dur, float64(src.Rate()), float64(src.Channels())
		obj.Modality = "audio"
		if dur <= r.o.AudioWholeMax.Seconds() {
			obj.Content = &engine.Content{Audio: data, Keep: r.o.KeepOriginals}
		}
		obj.Metadata = md
		it := item{obj: obj, update: known, path: path, segments: r.audioSegments(ctx, path, src, md)}
		var spoken []item
		if r.o.Transcriber != nil {
			var ok bool
			if spoken, ok = r.transcribe(ctx, &it, data); !ok {
				return item{}, false
			}
		}
		it.segments = concatSegments(it.segments, spoken)
		it.drop = r.staleTranscript(path, spoken)
		return r.withSidecar(it)
	case textExts[strings.ToLower(filepath.Ext(path))]:
		if !utf8.Valid(data) || strings.IndexByte(string(data), 0) >= 0 {
			r.fail(path, "text file is not valid UTF-8")
			return item{}, false
		}
		if len(data) > textMaxSize {
			r.fail(path, "text file larger than %d bytes", textMaxSize)
			return item{}, false
		}
		obj.Modality = "text"
		obj.Content = &engine.Content{Text: string(data)}
	default:
		r.fail(path, "unsupported file type (not an image or audio by content, nor .txt/.md text)")
		return item{}, false
	}
	obj.Metadata = md
	return r.withSidecar(item{obj: obj, update: known, path: path})
}

// skipByHash skips a file whose content is what the collection holds:
// touched but unchanged (the stored mtime stays old, so the next run
// hashes it again; that is cheaper than rewriting the object), or the same
// bytes as another path that is still there (stored once: the first path
// keeps them).
func (r *run) skipByHash(path, hash string, known bool, prev fileState, redo bool) bool {
	if known && prev.hash == hash && !redo {
		r.skipped.Add(1)
		r.done.Add(1)
		return true
	}
	if other, loaded := r.hashes.LoadOrStore(hash, path); loaded && other.(string) != path {
		if _, err := os.Stat(other.(string)); err == nil {
			r.dups.Add(1)
			r.skipped.Add(1)
			r.done.Add(1)
			return true
		}
		r.hashes.Store(hash, path)
	}
	return false
}

// fileMetadata is the file fields every ingested file gets.
func fileMetadata(path string, size, mtime int64) map[string]any {
	return map[string]any{MetaSize: float64(size), MetaMTime: float64(mtime), MetaName: filepath.Base(path),
		MetaExt: strings.ToLower(filepath.Ext(path)), MetaDir: filepath.Dir(path)}
}

// withSidecar merges path.json (a JSON object) into the item's metadata.
func (r *run) withSidecar(it item) (item, bool) {
	b, err := os.ReadFile(it.path + ".json")
	if err != nil {
		return it, true
	}
	var side map[string]any
	if err := json.Unmarshal(b, &side); err != nil {
		r.fail(it.path, "sidecar %s.json: %v", filepath.Base(it.path), err)
		return item{}, false
	}
	for k, v := range side {
		it.obj.Metadata[k] = v
	}
	return it, true
}

// poolSegments stores a long file's object with, per space, the
// normalised mean of its segments' vectors: the one pooled vector of a
// recording too long to encode whole.
func (r *run) poolSegments(ctx context.Context, it item, ids []uint64) error {
	if len(ids) == 0 {
		if it.obj.Modality == "video" {
			return errors.New("none of its frames was stored")
		}
		return nil
	}
	var mean engine.VectorMean
	for _, id := range ids {
		o, err := r.sink.Get(ctx, r.coll, id)
		if err != nil {
			return err
		}
		mean.Add(o.Vectors)
	}
	obj := it.obj
	obj.Vectors = mean.Vectors()
	_, err := r.sink.Upsert(ctx, r.coll, []engine.Object{obj})
	return err
}

// audioSegments cuts an audio file longer than one window into windows
// (AudioWindow long, AudioOverlap apart), each its own object keyed
// path#t=start,end with its time range in metadata, so an audio query can
// point into a long recording. Shorter files get none. The windows are
// produced lazily, one at a time, and stop when ctx is done.
func (r *run) audioSegments(ctx context.Context, path string, src audio.Recording, md map[string]any) iter.Seq[item] {
	win, ov := r.o.AudioWindow, r.o.AudioOverlap
	rate := src.Rate()
	if win <= 0 || float64(src.Frames())/float64(rate) <= win.Seconds() {
		return nil
	}
	wins := audio.Windows(src.Frames(), rate, win, ov)
	name, dir := md[MetaName], md[MetaDir]
	return func(yield func(item) bool) {
		for _, w := range wins {
			if ctx.Err() != nil {
				return
			}
			start, end := float64(w.Start)/float64(rate), float64(w.End)/float64(rate)
			smd := map[string]any{"parent": path, "segment_start": start, "segment_end": end, MetaName: name, MetaDir: dir}
			samples, err := src.Range(w.Start, w.End)
			if err != nil {
				r.fail(path, "audio segment %.3f–%.3f s: %v", start, end, err)
				return
			}
			o := engine.Object{Key: engine.SegmentKey(path, start, end), Source: path, Modality: "audio", Metadata: smd,
				Content: &engine.Content{Audio: floatWAV(samples, rate)}}
			if prev, ok := r.prev[o.Key]; ok {
				o.ID = prev.id
			}
			if !yield(item{obj: o, path: path, segment: true}) {
				return
			}
		}
	}
}

// floatWAV encodes mono samples as a 32-bit float WAV.
func floatWAV(x []float32, rate int) []byte {
	b := monoWAV(len(x), 4, 3, rate) // 3: IEEE float
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[44+4*i:], math.Float32bits(v))
	}
	return b
}

// monoWAV returns a mono WAV file of n samples of size bytes each, in
// format (1 PCM, 3 IEEE float), with its 44-byte header written and the
// samples left for the caller to fill from b[44:].
func monoWAV(n, size, format, rate int) []byte {
	b := make([]byte, 44+size*n)
	le := binary.LittleEndian
	copy(b, "RIFF")
	le.PutUint32(b[4:], uint32(36+size*n))
	copy(b[8:], "WAVEfmt ")
	le.PutUint32(b[16:], 16)
	le.PutUint16(b[20:], uint16(format))
	le.PutUint16(b[22:], 1)
	le.PutUint32(b[24:], uint32(rate))
	le.PutUint32(b[28:], uint32(size*rate))
	le.PutUint16(b[32:], uint16(size))
	le.PutUint16(b[34:], uint16(8*size))
	copy(b[36:], "data")
	le.PutUint32(b[40:], uint32(size*n))
	return b
}

func addEXIF(md map[string]any, x imageproc.EXIF) {
	if x.Make != "" {
		md["camera_make"] = x.Make
	}
	if x.Model != "" {
		md["camera_model"] = x.Model
	}
	if x.Orientation != 0 {
		md["orientation"] = float64(x.Orientation)
	}
	if !x.Captured.IsZero() {
		md["captured"] = x.Captured.Format("2006-01-02T15:04:05")
		md["captured_unix"] = float64(x.Captured.Unix())
	}
	if x.HasGPS {
		md["gps_lat"], md["gps_lon"] = x.Lat, x.Lon
	}
}

// batcher sends full batches; a failing batch is retried object by object
// so one bad file cannot sink its neighbours. It returns at the end of
// items, or at the first fatal error without reading items further: Run
// then cancels the pipeline and drains items.
func (r *run) batcher(ctx context.Context, items <-chan item) error {
	var pending []item
	segIDs := map[string][]uint64{} // file → ids of its stored segments
	record := func(batch []item, ids []uint64) {
		for i, it := range batch {
			if it.segment && !it.spoken && i < len(ids) {
				segIDs[it.path] = append(segIDs[it.path], ids[i])
			}
		}
	}
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		batch := pending
		pending = nil
		if r.o.DryRun {
			r.count(batch)
			return nil
		}
		objs := make([]engine.Object, len(batch))
		for i, it := range batch {
			objs[i] = it.obj
		}
		if ids, err := r.sink.Upsert(ctx, r.coll, objs); err == nil {
			record(batch, ids)
			r.count(batch)
			return nil
		} else if ctx.Err() != nil {
			return ctx.Err()
		} else if !errors.Is(err, engine.ErrInvalid) && !errors.Is(err, engine.ErrUnsupported) {
			return fmt.Errorf("ingest: write failed: %w", err)
		}
		for _, it := range batch {
			ids, err := r.sink.Upsert(ctx, r.coll, []engine.Object{it.obj})
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if it.track && errors.Is(err, engine.ErrUnsupported) {
					// A video's audio track is extra: a collection
					// without an audio model just goes without it.
					if !r.noAudioModel.Swap(true) {
						r.o.Log.Info("ingest: the collection has no audio model; videos' audio tracks are not embedded", "err", err)
					}
					continue
				}
				r.fail(it.path, "%v", err)
				continue
			}
			record([]item{it}, ids)
			r.count([]item{it})
		}
		return nil
	}
	for it := range items {
		if it.pool {
			if err := flush(); err != nil {
				return err
			}
			if err := r.poolSegments(ctx, it, segIDs[it.path]); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r.fail(it.path, "pooled vector: %v", err)
			} else if it.obj.Modality == "video" {
				// A video is written last, after its segments: now it counts.
				r.count([]item{{update: it.update, path: it.path}})
			}
			delete(segIDs, it.path)
			continue
		}
		if it.drop != nil {
			if err := flush(); err != nil {
				return err
			}
			if err := r.dropSegments(ctx, it.drop); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r.warn(it.path, "removing old transcript segments: %v", err)
			}
			continue
		}
		pending = append(pending, it)
		if len(pending) >= r.o.Batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return flush()
}

// drain discards items until the channel is closed.
func drain(items <-chan item) {
	for range items {
	}
}

func (r *run) count(batch []item) {
	for _, it := range batch {
		if it.frame {
			r.frames.Add(1)
			continue
		}
		if it.segment {
			r.segs.Add(1)
			continue
		}
		if it.update {
			r.updated.Add(1)
		} else {
			r.added.Add(1)
		}
		r.done.Add(1)
	}
}

// prune deletes objects whose files (under the given roots) were not seen.
func (r *run) prune(ctx context.Context, roots []string) error {
	var gone []uint64
	for key, st := range r.prev {
		file, _, _ := strings.Cut(key, "#t=")                   // an audio window
		file, _, _ = strings.Cut(file, engine.TranscriptKeySep) // a transcript segment
		file, _, _ = strings.Cut(file, "#c=")                   // a text chunk
		if _, ok := r.seen.Load(file); ok {
			continue
		}
		under := false
		for _, root := range roots {
			if strings.HasPrefix(key, root+string(filepath.Separator)) {
				under = true
			}
		}
		if !under {
			continue
		}
		if _, err := os.Stat(file); err == nil {
			continue // still there, only filtered out this time
		}
		gone = append(gone, st.id)
	}
	for len(gone) > 0 && !r.o.DryRun {
		n := min(len(gone), engine.MaxBatch)
		if err := r.sink.Delete(ctx, r.coll, gone[:n]); err != nil {
			return err
		}
		r.pruned.Add(int64(n))
		gone = gone[n:]
	}
	if r.o.DryRun {
		r.pruned.Add(int64(len(gone)))
	}
	return nil
}

// isAudio sniffs WAV, FLAC, Ogg and MP3 (ID3 tag or MPEG frame sync) by
// content; decoding and its errors are the model's.
func isAudio(b []byte) bool {
	switch {
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WAVE":
		return true
	case len(b) >= 4 && (string(b[:4]) == "fLaC" || string(b[:4]) == "OggS"):
		return true
	case len(b) >= 3 && string(b[:3]) == "ID3":
		return true
	case len(b) >= 2 && b[0] == 0xFF && b[1]&0xE0 == 0xE0 && b[1]&0x06 != 0:
		return true
	}
	return false
}
