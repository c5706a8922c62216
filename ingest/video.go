package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"image/jpeg"
	"io"
	"math"
	"os"
	"sync"
	"time"

	"rosetta/engine"
	"rosetta/media/video"
)

// Video files go through FFmpeg (package media/video): ffprobe's metadata
// becomes the video's filterable fields; each sampled frame becomes a
// frame segment (modality image, key FILE#t=START,END, metadata parent,
// segment_start, segment_end, segment_kind "frame"; its JPEG kept as its
// keyframe); the audio track is cut into windows as an audio file is
// (key FILE#t=START,END&track=audio) and, with a Transcriber, transcribed
// (FILE#w=START,END segments); then segments of an earlier version that
// were not rewritten are deleted, and last the video itself is written,
// with the mean of its segments' vectors. Because the video is written
// last, a run stopped part-way leaves it absent (or at its old version),
// so the next run does it again, rewriting the same deterministic segment
// keys in place; a finished video is skipped as unchanged.

// maxTranscribedTrack bounds the audio of a video held in memory for the
// Transcriber (16-bit samples at 16 kHz: 115 MB an hour); a longer track
// is transcribed up to it, with a warning.
const maxTranscribedTrack = 3600 * video.AudioRate

// keyframeQuality is the JPEG quality of stored keyframes (they are the
// size frames are sampled at, 224 pixels on the shorter side by default).
const keyframeQuality = 85

// ffmpegOnce finds FFmpeg the first time a video needs it.
type ffmpegOnce struct {
	once sync.Once
	ff   *video.FFmpeg
	err  error
}

func (r *run) ffmpeg() (*video.FFmpeg, error) {
	r.ff.once.Do(func() {
		r.ff.ff, r.ff.err = video.Find(r.o.FFmpeg)
		if r.ff.ff != nil {
			r.ff.ff.Limits = r.o.VideoLimits
		}
		if r.ff.err != nil {
			r.o.Log.Warn("ingest: video files are skipped", "err", r.ff.err)
		}
	})
	return r.ff.ff, r.ff.err
}

// readHead reads up to n bytes from the start of a file.
func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	m, err := io.ReadFull(f, b)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return b[:m], err
}

// hashFile is a file's SHA-256, read as a stream.
func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// prepareVideo probes a video file into its item: the video object (not
// sent until its segments are written) with ffprobe's metadata.
func (r *run) prepareVideo(ctx context.Context, path string, size, mtime int64, known bool, prev fileState, redo bool) (item, bool) {
	ff, err := r.ffmpeg()
	if err != nil {
		r.noFFmpeg.Add(1)
		r.skipped.Add(1)
		r.done.Add(1)
		if r.report != nil {
			r.repMu.Lock()
			r.report.Encode(Failure{Path: path, Reason: "video skipped: " + err.Error() + ", or name its ffmpeg with --ffmpeg"})
			r.repMu.Unlock()
		}
		return item{}, false
	}
	hash, err := hashFile(path)
	if err != nil {
		r.fail(path, "unreadable: %v", err)
		return item{}, false
	}
	r.bytes.Add(size)
	if r.skipByHash(path, hash, known, prev, redo) {
		return item{}, false
	}
	info, err := ff.Probe(ctx, path)
	if err != nil {
		if ctx.Err() != nil {
			return item{}, false
		}
		r.fail(path, "video: %v", err)
		return item{}, false
	}
	md := fileMetadata(path, size, mtime)
	addVideoInfo(md, info)
	obj := engine.Object{Key: path, Source: path, Hash: hash, Modality: "video", Metadata: md}
	if known {
		obj.ID = prev.id
	}
	return r.withSidecar(item{obj: obj, update: known, path: path, video: &info})
}

// addVideoInfo adds ffprobe's fields to a video's metadata: the display
// size as width and height, the creation time and location under the
// names photos' EXIF uses (captured, captured_unix, gps_lat, gps_lon), so
// one filter finds both.
func addVideoInfo(md map[string]any, info video.Info) {
	w, h := info.DisplaySize()
	md["width"], md["height"] = float64(w), float64(h)
	md["duration_s"] = info.Duration
	md["video_codec"] = info.Codec
	md["container"] = info.Container
	md["rotation"] = float64(info.Rotation)
	if info.FPS > 0 {
		md["fps"] = info.FPS
	}
	if info.Bitrate > 0 {
		md["bitrate"] = info.Bitrate
	}
	if info.HasAudio() {
		md["audio_codec"] = info.AudioCodec
	}
	if !info.Created.IsZero() {
		md["captured"] = info.Created.Format("2006-01-02T15:04:05")
		md["captured_unix"] = float64(info.Created.Unix())
	}
	if info.HasLocation {
		md["gps_lat"], md["gps_lon"] = info.Lat, info.Lon
	}
}

// sendVideo decodes a video and sends its items: frame segments, audio
// windows, transcript segments, the ids of stale segments to drop, and
// last the video itself (a pool item). A decoding failure is reported and
// sends nothing more, so the video is not written and a re-run does it
// again.
func (r *run) sendVideo(ctx context.Context, it item, send func(item) bool) {
	path, info := it.path, *it.video
	it.video = nil
	if r.o.DryRun {
		send(it)
		return
	}
	ff, _ := r.ffmpeg()
	written := map[string]bool{}
	name, dir := it.obj.Metadata[MetaName], it.obj.Metadata[MetaDir]
	segment := func(o engine.Object, frame bool) bool {
		if p, ok := r.prev[o.Key]; ok {
			o.ID = p.id
		}
		written[o.Key] = true
		return send(item{obj: o, path: path, segment: true, frame: frame, track: !frame})
	}

	// Frames: each stands for the span until the next one (the last, until
	// the end), so it is sent once the next has been read.
	fr, err := ff.Frames(ctx, path, info, r.o.Video)
	if err != nil {
		r.fail(path, "video frames: %v", err)
		return
	}
	var keys []string
	var held *video.Frame
	emit := func(f *video.Frame, end float64) bool {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, f.Image, &jpeg.Options{Quality: keyframeQuality}); err != nil {
			r.fail(path, "video keyframe: %v", err)
			return false
		}
		key := engine.SegmentKey(path, f.Time, end)
		keys = append(keys, key)
		smd := map[string]any{"parent": path, "segment_start": round3(f.Time), "segment_end": round3(end),
			"segment_kind": engine.SegmentKindFrame, MetaName: name, MetaDir: dir}
		return segment(engine.Object{Key: key, Source: path, Modality: "image", Metadata: smd,
			Content: &engine.Content{Image: buf.Bytes(), Decoded: f.Image, Keep: true}}, true)
	}
	for {
		f, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fr.Close()
			if ctx.Err() == nil {
				r.fail(path, "video frames: %v", err)
			}
			return
		}
		if held != nil && !emit(held, f.Time) {
			fr.Close()
			return
		}
		held = &f
	}
	if held == nil {
		r.fail(path, "video: no frame could be decoded")
		return
	}
	end := info.Duration
	if step := 1 / max(info.FPS, 1); end < held.Time+step {
		end = held.Time + step
	}
	if !emit(held, end) {
		return
	}
	it.obj.Metadata[engine.MetaKeyframe] = keys[len(keys)/2]

	// The audio track: windows as an audio file's, and the transcript.
	var spoken []item
	if info.HasAudio() && (r.o.AudioWindow > 0 && !r.noAudioModel.Load() || r.o.Transcriber != nil) {
		var ok bool
		if spoken, ok = r.videoAudio(ctx, ff, &it, info, segment); !ok {
			return
		}
	}
	for _, s := range spoken {
		if !send(s) {
			return
		}
	}

	// Segments of an earlier version of the file that were not rewritten.
	drop := r.staleTranscript(path, spoken)
	for _, key := range r.timed[path] {
		if !written[key] {
			drop = append(drop, r.prev[key].id)
		}
	}
	if len(drop) > 0 && !send(item{path: path, drop: drop}) {
		return
	}
	if ctx.Err() == nil {
		send(item{obj: it.obj, path: path, update: it.update, pool: true})
	}
}

// videoAudio sends the windows of a video's audio track (each through
// segment) and, with a Transcriber, transcribes the track; it returns the
// transcript's segment items. ok is false when the video failed (reported)
// or the run is stopping.
func (r *run) videoAudio(ctx context.Context, ff *video.FFmpeg, it *item, info video.Info, segment func(engine.Object, bool) bool) (spoken []item, ok bool) {
	path := it.path
	// Windows are sent while the collection may embed audio; with only a
	// Transcriber to feed, the track is read in 30 s pieces.
	windows := r.o.AudioWindow > 0 && !r.noAudioModel.Load()
	win, ov := r.o.AudioWindow, r.o.AudioOverlap
	if !windows {
		win, ov = 30*time.Second, 0
	}
	ar, err := ff.Audio(ctx, path, info, win, ov)
	if err != nil {
		r.fail(path, "video audio: %v", err)
		return nil, false
	}
	defer ar.Close()
	var track []int16 // for the Transcriber
	truncated := false
	name, dir := it.obj.Metadata[MetaName], it.obj.Metadata[MetaDir]
	prevEnd := 0
	for {
		w, err := ar.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if ctx.Err() == nil {
				r.fail(path, "video audio: %v", err)
			}
			return nil, false
		}
		if r.o.Transcriber != nil {
			for i := max(prevEnd, w.Start) - w.Start; i < len(w.Samples); i++ {
				if len(track) == maxTranscribedTrack {
					truncated = true
					break
				}
				track = append(track, int16(max(-32768, min(32767, w.Samples[i]*32768))))
			}
			prevEnd = w.End
		}
		if !windows || r.noAudioModel.Load() {
			continue
		}
		start, end := float64(w.Start)/video.AudioRate, float64(w.End)/video.AudioRate
		smd := map[string]any{"parent": path, "segment_start": start, "segment_end": end, MetaName: name, MetaDir: dir}
		o := engine.Object{Key: engine.AudioTrackKey(path, start, end), Source: path, Modality: "audio", Metadata: smd,
			Content: &engine.Content{Audio: floatWAV(w.Samples, video.AudioRate)}}
		if !segment(o, false) {
			return nil, false
		}
	}
	if r.o.Transcriber == nil || len(track) == 0 {
		return nil, true
	}
	if truncated {
		r.warn(path, "transcribe: the audio track is longer than %d s; only its start is transcribed", maxTranscribedTrack/video.AudioRate)
	}
	spoken, ok = r.transcribe(ctx, it, pcm16WAV(track, video.AudioRate))
	return spoken, ok
}

// pcm16WAV encodes mono 16-bit samples as a WAV file.
func pcm16WAV(x []int16, rate int) []byte {
	b := monoWAV(len(x), 2, 1, rate) // 1: PCM
	for i, v := range x {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	return b
}

// round3 rounds seconds to the millisecond, as segment keys do.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
