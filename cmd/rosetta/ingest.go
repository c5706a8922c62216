package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"rosetta/cluster"
	"rosetta/encoders"
	"rosetta/encoders/caption"
	"rosetta/engine"
	"rosetta/ingest"
	"rosetta/media/video"
	"rosetta/models"
)

func newIngestCmd() *cobra.Command {
	o := ingest.Options{Recursive: true}
	var dataDir, modelsDir, server, apiKey, reportPath, captionModel, transcribeModel, transcribeLang string
	var maxFileMB int64
	var noUpload bool
	var cf clusterFlags
	cmd := &cobra.Command{
		Use:   "ingest (DIR|FILE)... --collection C (--data DIR | --server URL | --cluster NAME --nats-url URL)",
		Short: "Ingest folders (or single files) of images, audio, video and text into a collection",
		Long: `Walks the folders, sniffs each file by content (images: JPEG, PNG, GIF, BMP, WebP,
TIFF; audio: WAV, FLAC, MP3, Ogg Vorbis; text: .txt and .md), encodes it with the collection's model and stores it, one
synced batch at a time. A sidecar photo.jpg.json merges into the photo's metadata;
EXIF fields (camera_make, camera_model, orientation, captured, captured_unix, gps_lat,
gps_lon) and file fields (file_size, file_name, file_ext, file_dir, width, height)
become filterable metadata. Files already ingested unchanged (size and mtime, then
SHA-256) are skipped, so a re-run resumes an interrupted one; Ctrl-C stops with
everything committed so far durable. Bad files are reported (--report, JSON lines)
and never stop the run. Audio longer than --audio-window is also stored as overlapping
segments (key FILE#t=START,END; metadata parent, segment_start, segment_end in seconds), so
an audio query can point into a long recording. With --transcribe MODEL (a Whisper
model directory or a name under --models) each audio file is transcribed (greedy, as
rosetta transcribe does): the file gets its transcript as text.transcript (metadata
transcript_language), and every segment with text becomes an object FILE#w=START,END
(metadata parent, segment_start, segment_end, segment_kind "transcript"; within the
recording's duration) holding its
text as text.transcript and no vector, found by keyword search. A changed file's old
transcript segments are replaced (deleted, in a run without --transcribe). A file whose
transcription fails is stored without a transcript and listed in --report; audio stored
without a transcript (before --transcribe, or after a failure) is not skipped as
unchanged by a run with --transcribe.

Video files (MP4/MOV, WebM/Matroska, AVI, MPEG-TS/PS, FLV, ASF; sniffed by content) are
decoded with FFmpeg (ffmpeg and ffprobe on PATH, or --ffmpeg; Debian/Ubuntu: apt-get
install ffmpeg); without it they are skipped and listed in --report, and everything else
still ingests. A frame is sampled at every scene change (--video-scene-threshold) and at
least every --video-interval, at most --video-max-per-minute; each becomes a segment
FILE#t=START,END (modality image; metadata parent, segment_start, segment_end in seconds,
segment_kind "frame") with its image vector and a JPEG keyframe (its thumbnail). The audio
track is cut into --audio-window segments FILE#t=START,END&track=audio (and transcribed
with --transcribe). The video itself (modality video; metadata duration_s, width, height,
video_codec, fps, rotation, container, audio_codec, captured, gps_lat, gps_lon) is written
last with the normalised mean of its segments' vectors, so a video an interrupted run left
unfinished is finished by the next, its segments rewritten in place. Videos are streamed,
never read whole: --max-file-mb does not apply to them.

The collection is created with one space "embedding" filled by --model when it does not
exist. One process owns a data directory: with a server running, ingest through it
with --server (encoding then happens in the server). Through a server, each image and
audio file is also kept on the server as the object's original (stored once per distinct
content, under DATA/blobs; it costs the files' size in disk), so the page can show and play
it; --no-upload skips that.

With --cluster NAME --nats-url URL the files are not encoded here: each batch's files go
to the cluster's blob bucket and a work item naming them to its work queue, and the
cluster's encoder workers (rosetta serve --role encoder) encode and write them; the
collection must exist (create it through a node's REST API). Objects get their ids from
their keys, so a re-run or a redelivered item rewrites the same objects.`,
		Example: `  rosetta ingest ~/Pictures --collection photos --data ./data --model openai/clip-vit-base-patch32
  rosetta ingest ./docs --collection notes --server http://127.0.0.1:7700 --include '*.md'
  rosetta ingest /srv/photos --collection photos --cluster prod --nats-url nats://10.0.0.1:4222 --nats-monitor http://10.0.0.1:8222`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := encoders.CheckPrecision(o.Precision); err != nil {
				return fmt.Errorf("--precision: %w", err)
			}
			var sink ingest.Sink
			switch {
			case cf.name != "" && (server != "" || dataDir != ""):
				return errors.New("give one of --data, --server and --cluster")
			case cf.name != "":
				log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
				cc, err := cf.connect(cmd.Context(), "", false, log)
				if err != nil {
					return err
				}
				defer cc.close()
				ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
				node, err := cluster.Open(ctx, cluster.Config{Name: cf.name, Node: fmt.Sprintf("ingest-%d", os.Getpid()), Role: cluster.RoleClient,
					Conn: cc.nc, Logger: log, RequestTimeout: cf.requestTimeout})
				cancel()
				if err != nil {
					return err
				}
				defer node.Close()
				sink = clusterSink{node}
				o.KeepOriginals = !noUpload
			case server != "" && dataDir != "":
				return errors.New("give --data or --server, not both")
			case server != "":
				sink = ingest.NewHTTPSink(server, apiKey)
				o.KeepOriginals = !noUpload
			case dataDir != "":
				log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
				e, err := engine.Open(engine.Options{Dir: dataDir, Logger: log, LoadModel: modelLoader(modelsDir), LoadTranscriber: transcriberLoader(modelsDir),
					DefaultPrecision: o.Precision})
				if err != nil {
					return fmt.Errorf("%w (if `rosetta serve` owns this directory, use --server)", err)
				}
				defer e.Close()
				if err := e.WaitReady(cmd.Context()); err != nil {
					return err
				}
				sink = ingest.EngineSink{E: e}
			default:
				return errors.New("give --data DIR or --server URL")
			}
			if captionModel != "" {
				dir, err := models.Resolve(modelsDir, captionModel)
				if err != nil {
					return err
				}
				c, err := caption.Open(dir)
				if err != nil {
					return err
				}
				o.Captioner = greedyCaptioner{c}
			}
			if transcribeModel != "" {
				t, err := transcriberLoader(modelsDir)(transcribeModel)
				if err != nil {
					return err
				}
				if transcribeLang == "auto" {
					transcribeLang = ""
				}
				if err := t.CheckLanguage(transcribeLang); err != nil {
					return fmt.Errorf("--transcribe-language: %w", err)
				}
				o.Transcriber, o.TranscribeLanguage = t, transcribeLang
			}
			if maxFileMB < 1 {
				return errors.New("--max-file-mb must be at least 1")
			}
			o.MaxFileBytes = maxFileMB << 20
			var report *os.File
			var reportBuf strings.Builder
			o.Report = &reportBuf
			o.Progress = progressPrinter(cmd.ErrOrStderr())
			// A local run is the user's own tool: its model names may be paths.
			s, runErr := ingest.Run(engine.Trusted(cmd.Context()), sink, args, o)
			fmt.Fprintln(cmd.ErrOrStderr())
			if reportBuf.Len() > 0 {
				var err error
				if report, err = os.Create(reportPath); err == nil {
					io.WriteString(report, reportBuf.String())
					report.Close()
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added %d, updated %d, skipped %d (unchanged, %d duplicate content), failed %d, pruned %d; %d files in %.1fs (%.1f files/s, %.1f MB read)\n",
				s.Added, s.Updated, s.Skipped, s.Duplicates, s.Failed, s.Pruned, s.Done, s.Elapsed.Seconds(), s.FilesPerSec, float64(s.Bytes)/1e6)
			if s.Segments > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "audio segments stored: %d\n", s.Segments)
			}
			if s.Frames > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "video frames stored: %d\n", s.Frames)
			}
			if s.NoFFmpeg > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "videos skipped, FFmpeg not found: %d (%s, or give --ffmpeg)\n", s.NoFFmpeg, video.InstallHint)
			}
			if s.Warnings > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "stored without a transcript: %d\n", s.Warnings)
			}
			if s.Failed+s.Warnings+s.NoFFmpeg > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "failures: %s\n", reportPath)
			}
			if o.DryRun {
				fmt.Fprintln(cmd.OutOrStdout(), "dry run: nothing was written")
			}
			return runErr
		},
	}
	f := cmd.Flags()
	cf.addClient(cmd)
	f.StringVar(&o.Collection, "collection", "", "collection (required)")
	f.StringVar(&dataDir, "data", "", "data directory (when no server owns it)")
	f.StringVar(&server, "server", "", "send to a running server instead")
	f.StringVar(&apiKey, "api-key", os.Getenv("ROSETTA_API_KEY"), "bearer token for --server")
	f.StringVar(&o.Model, "model", "", "model for a new collection: a directory, or a name under --models")
	f.StringVar(&o.RerankModel, "rerank-model", "", "a new collection's rerank model (a BLIP retrieval checkpoint): every image's tokens for it are cached, 0.9 MB each, so text searches re-ranked with it run fast")
	f.StringVar(&o.Precision, "precision", "", "the model's weights: float32 (the default) or int8, for a new collection's space and, with --data, for spaces that do not say (see the README)")
	f.StringVar(&o.Text.Language, "language", "", "a new collection's keyword analysis language (default en; see the README)")
	f.StringSliceVar(&o.Text.Fields, "text-fields", nil, "metadata fields a new collection's keyword index holds (default title,description,caption,tags)")
	f.BoolVar(&o.Text.Disabled, "no-keyword-index", false, "create the collection without a keyword index")
	f.StringVar(&modelsDir, "models", defaultModelsDir(), "models directory (with --data)")
	f.IntVar(&o.Workers, "workers", 0, "files read and decoded in parallel (default: CPUs)")
	f.IntVar(&o.Batch, "batch", 32, "objects per synced write")
	f.StringSliceVar(&o.Include, "include", nil, "only files matching these globs (base name or path relative to the folder)")
	f.StringSliceVar(&o.Exclude, "exclude", nil, "skip files matching these globs")
	f.BoolVar(&o.Recursive, "recursive", true, "walk subfolders")
	f.BoolVar(&o.FollowSymlinks, "follow-symlinks", false, "follow symbolic links")
	f.BoolVar(&o.DryRun, "dry-run", false, "report what would be ingested, write nothing")
	f.BoolVar(&o.Prune, "prune", false, "delete objects whose files under these folders are gone")
	f.StringVar(&reportPath, "report", "ingest-failures.jsonl", "where to write the failed files (JSON lines)")
	f.Int64Var(&maxFileMB, "max-file-mb", 256, "report and skip files larger than this many MiB (a file is read whole; long audio is then streamed)")
	f.DurationVar(&o.AudioWindow, "audio-window", 10*time.Second, "cut longer audio files into segments of this length (negative: no segments)")
	f.DurationVar(&o.AudioOverlap, "audio-overlap", 2*time.Second, "overlap between audio segments")
	f.DurationVar(&o.AudioWholeMax, "audio-whole-max", 10*time.Minute, "encode audio up to this long whole for the file's vector; longer files get the mean of their segments")
	f.BoolVar(&noUpload, "no-upload", false, "with --server: send files for encoding but do not keep them on the server (its --media-root must then cover their paths for media and thumbnails)")
	f.StringVar(&captionModel, "caption", "", "caption every image with this BLIP or CoCa model (stored as text.caption and metadata caption)")
	f.StringVar(&transcribeModel, "transcribe", "", "transcribe every audio file with this Whisper model (stored as text.transcript, and each segment as an object FILE#w=START,END)")
	f.StringVar(&transcribeLang, "transcribe-language", "auto", "with --transcribe: the speech's language code (en, de, …), or auto to detect it per file")
	f.StringVar(&o.FFmpeg, "ffmpeg", "", "the ffmpeg executable for video files (default: ffmpeg on PATH; ffprobe is looked for beside it)")
	f.DurationVar(&o.Video.Interval, "video-interval", 2*time.Second, "sample a video frame at least this often")
	f.Float64Var(&o.Video.SceneThreshold, "video-scene-threshold", 0.3, "sample a video frame where FFmpeg's scene score (0–1) exceeds this")
	f.IntVar(&o.Video.MaxPerMinute, "video-max-per-minute", 60, "sample at most this many frames per minute of video")
	cmd.MarkFlagRequired("collection")
	return cmd
}

// progressPrinter draws a one-line progress display on a terminal and a
// log line every 10 s otherwise.
func progressPrinter(w io.Writer) func(ingest.Progress) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	var last time.Time
	return func(p ingest.Progress) {
		rate := float64(p.Done) / max(p.Elapsed.Seconds(), 1e-9)
		eta := "?"
		if p.WalkDone && rate > 0 {
			eta = (time.Duration(float64(p.Found-p.Done)/rate) * time.Second).Round(time.Second).String()
		}
		line := fmt.Sprintf("%d/%d files  %.1f files/s  ETA %s  added %d  updated %d  skipped %d  failed %d",
			p.Done, p.Found, rate, eta, p.Added, p.Updated, p.Skipped, p.Failed)
		if tty {
			fmt.Fprintf(w, "\r\033[K%s", line)
			return
		}
		if time.Since(last) >= 10*time.Second {
			fmt.Fprintln(w, line)
			last = time.Now()
		}
	}
}

// greedyCaptioner adapts a caption.Captioner to ingest: greedy, 20 tokens.
type greedyCaptioner struct{ c *caption.Captioner }

func (g greedyCaptioner) Caption(ctx context.Context, img image.Image) (string, error) {
	r, err := g.c.Caption(ctx, img, 1, 20)
	return r.Text, err
}
