package ingest

import (
	"context"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"rosetta/engine"
	"rosetta/internal/testvideo"
	"rosetta/media/video"
)

// benchVideo returns a cached 1080p H.264 test video of the given length
// and frame rate (FFmpeg's testsrc2 pattern, made once under the temp
// folder: an hour is the one-minute clip concatenated by stream copy).
func benchVideo(b *testing.B, ff *video.FFmpeg, minutes, fps int) string {
	dir := filepath.Join(os.TempDir(), "rosetta-bench-video")
	os.MkdirAll(dir, 0o755)
	one := filepath.Join(dir, fmt.Sprintf("1080p-%dfps-1min.mp4", fps))
	if _, err := os.Stat(one); err != nil {
		testvideo.Run(b, ff, "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=1920x1080:rate=%d:duration=60", fps),
			"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", one+".tmp.mp4")
		os.Rename(one+".tmp.mp4", one)
	}
	if minutes == 1 {
		return one
	}
	long := filepath.Join(dir, fmt.Sprintf("1080p-%dfps-%dmin.mp4", fps, minutes))
	if _, err := os.Stat(long); err != nil {
		list := filepath.Join(dir, "list.txt")
		os.WriteFile(list, []byte(strings.Repeat("file '"+one+"'\n", minutes)), 0o644)
		testvideo.Run(b, ff, "-f", "concat", "-safe", "0", "-i", list, "-c", "copy", long+".tmp.mp4")
		os.Rename(long+".tmp.mp4", long)
	}
	return long
}

// decodeAll reads every sampled frame of path and drops it.
func decodeAll(b *testing.B, ff *video.FFmpeg, path string, keep bool) (video.Info, []image.Image) {
	info, err := ff.Probe(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	r, err := ff.Frames(context.Background(), path, info, video.Sampling{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var imgs []image.Image
	for {
		f, err := r.Next()
		if err == io.EOF {
			return info, imgs
		}
		if err != nil {
			b.Fatal(err)
		}
		if keep {
			imgs = append(imgs, f.Image)
		}
	}
}

// BenchmarkVideoIngest1080p ingests one minute of 1080p H.264 (30 fps)
// with full-size ViT-B/32 (random weights) and reports the frames sampled
// and the seconds per minute of video spent decoding and sampling
// (FFmpeg, frames to RGB), encoding those frames, and ingesting end to
// end (decode, encode, JPEG keyframes, store, index).
// go test -run XXX -bench VideoIngest1080p -benchtime 1x ./ingest
func BenchmarkVideoIngest1080p(b *testing.B) {
	ff := testvideo.FFmpeg(b)
	path := benchVideo(b, ff, 1, 30)
	enc := fullSizeEncoder(b)
	for b.Loop() {
		t0 := time.Now()
		_, frames := decodeAll(b, ff, path, true)
		decode := time.Since(t0).Seconds()
		t1 := time.Now()
		if _, err := enc.EmbedImages(context.Background(), frames); err != nil {
			b.Fatal(err)
		}
		encode := time.Since(t1).Seconds()

		root := b.TempDir()
		os.Symlink(path, filepath.Join(root, "v.mp4"))
		e, err := engine.Open(engine.Options{Dir: b.TempDir(), SnapshotEvery: -1, LoadModel: func(string) (engine.Encoder, error) { return enc, nil }})
		if err != nil {
			b.Fatal(err)
		}
		e.WaitReady(context.Background())
		t2 := time.Now()
		s, err := Run(context.Background(), EngineSink{e}, []string{root}, Options{Collection: "c", Model: "vit", FollowSymlinks: true})
		if err != nil || s.Added != 1 || s.Frames != len(frames) {
			b.Fatalf("%+v %v (decoded %d frames)", s.Progress, err, len(frames))
		}
		full := time.Since(t2).Seconds()
		e.Close()
		b.ReportMetric(float64(len(frames)), "frames/min")
		b.ReportMetric(decode, "decode-s/min")
		b.ReportMetric(encode, "encode-s/min")
		b.ReportMetric(full, "ingest-s/min")
	}
}

// BenchmarkVideoDecodeHour decodes and samples an hour of 1080p H.264
// (10 fps, to keep the run short; the memory does not depend on it) and
// reports the peak resident memory of this process and of the ffmpeg
// process, which stay flat however long the video: frames stream through
// the pipe one at a time.
// go test -run XXX -bench VideoDecodeHour -benchtime 1x ./ingest
func BenchmarkVideoDecodeHour(b *testing.B) {
	ff := testvideo.FFmpeg(b)
	path := benchVideo(b, ff, 60, 10)
	for b.Loop() {
		t0 := time.Now()
		info, _ := decodeAll(b, ff, path, false)
		secs := time.Since(t0).Seconds()
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
		b.ReportMetric(info.Duration/60, "video-min")
		b.ReportMetric(secs, "decode-s")
		b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MB")
		b.ReportMetric(float64(ru.Maxrss)/1024, "ffmpeg-peak-RSS-MB")
	}
}
