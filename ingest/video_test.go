package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rosetta/encoders"
	"rosetta/engine"
	"rosetta/internal/testvideo"
)

// videoEngine opens an engine whose models are the fixture CLIP ("clip")
// and HuBERT ("hubert").
func videoEngine(t *testing.T) *engine.Engine {
	clipDir, hub := tinyModel(t), hubertDir(t)
	e, err := engine.Open(engine.Options{Dir: t.TempDir(), SnapshotEvery: -1,
		LoadModel: func(name string) (engine.Encoder, error) {
			if name == "hubert" {
				return encoders.Open(hub)
			}
			return encoders.Open(clipDir)
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	e.WaitReady(context.Background())
	return e
}

// allObjects lists a collection's objects by key.
func allObjects(t *testing.T, e *engine.Engine, coll string) map[string]engine.Object {
	out := map[string]engine.Object{}
	if err := e.ScanObjects(context.Background(), coll, func(o engine.Object) error {
		out[o.Key] = o
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIngestVideo is issue 19's test: slideshows made with FFmpeg from
// real photos (astronaut 0–4 s, coffee 4–8 s, rocket 8–12 s, a spoken
// sentence as the audio track) in MP4/H.264 and WebM/VP9, one rotated,
// one without audio, and a truncated one, ingested with the fixture CLIP
// and HuBERT into one collection of two spaces. The coffee photo as the
// query finds, first among each video's hits, a frame segment within the
// 4–8 s scene; the truncated file is reported and the run goes on; the
// video's vectors are its segments' means; a re-run ingests nothing new,
// and a video whose run stopped before its last write is finished without
// duplicating a segment.
func TestIngestVideo(t *testing.T) {
	ff := testvideo.FFmpeg(t)
	e := videoEngine(t)
	ctx := context.Background()
	if _, err := e.CreateCollection(engine.Trusted(ctx), engine.Collection{Name: "v",
		Spaces: []engine.Space{{Name: "image", Model: "clip"}, {Name: "audio", Model: "hubert"}}}); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	var videos []string
	for _, k := range testvideo.Kinds {
		videos = append(videos, testvideo.Slideshow(t, ff, root, k))
	}
	corrupt := testvideo.Truncated(t, ff, root, "truncated.mp4")
	photos := testvideo.Photos(t)
	copyFile(t, photos[0], filepath.Join(root, "astronaut"+filepath.Ext(photos[0])))

	var rep bytes.Buffer
	s, err := Run(ctx, EngineSink{e}, []string{root}, Options{Collection: "v", Report: &rep})
	if err != nil {
		t.Fatal(err)
	}
	if s.Added != len(videos)+1 || s.Failed != 1 || s.Frames < 6*len(videos) {
		t.Fatalf("%+v\n%s", s.Progress, rep.String())
	}
	var f Failure
	if err := json.Unmarshal(rep.Bytes(), &f); err != nil || f.Path != corrupt || !strings.Contains(f.Reason, "video") {
		t.Fatalf("report %q", rep.String())
	}
	objs := allObjects(t, e, "v")

	coffee, err := os.ReadFile(photos[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range videos {
		parent := objs[v]
		if parent.Modality != "video" || parent.Metadata["duration_s"].(float64) < 11.9 {
			t.Fatalf("%s: %+v", v, parent)
		}
		// The frames: image segments that each cover part of the video.
		var frames, windows int
		for k, o := range objs {
			if o.Metadata["parent"] != v {
				continue
			}
			start, end := o.Metadata["segment_start"].(float64), o.Metadata["segment_end"].(float64)
			switch {
			case engine.IsFrameSegment(o.Metadata):
				frames++
				if o.Modality != "image" || k != engine.SegmentKey(v, start, end) || o.Blob == "" || end-start > 4.1 || end <= start {
					t.Fatalf("%s: frame %s %+v", v, k, o)
				}
			case o.Modality == "audio":
				windows++
				if k != engine.AudioTrackKey(v, start, end) {
					t.Fatalf("%s: audio window %s", v, k)
				}
			}
		}
		hasAudio := !strings.HasPrefix(filepath.Base(v), "silent")
		if frames < 6 || (windows > 0) != hasAudio {
			t.Fatalf("%s: %d frames, %d audio windows", v, frames, windows)
		}
		full, err := e.GetObject(ctx, "v", parent.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := full.Vectors["image"]; !ok {
			t.Fatalf("%s: no pooled image vector", v)
		}
		if _, ok := full.Vectors["audio"]; ok != hasAudio {
			t.Fatalf("%s: pooled audio vector %v, want %v", v, ok, hasAudio)
		}
		if strings.HasPrefix(filepath.Base(v), "rotated") {
			if w, h := parent.Metadata["width"], parent.Metadata["height"]; w != 480.0 || h != 640.0 {
				t.Fatalf("rotated: %v×%v", w, h)
			}
		}
		// The coffee photo finds the coffee scene first.
		filter := fmt.Sprintf(`{"field": "parent", "eq": %q}`, v)
		hits, err := e.Search(ctx, "v", engine.SearchRequest{Space: "image", Query: engine.Query{Image: coffee}, K: 3,
			Filter: json.RawMessage(filter), Fields: []string{"key", "metadata"}})
		if err != nil {
			t.Fatal(err)
		}
		md := hits[0].Object.Metadata
		if !engine.IsFrameSegment(md) || md["segment_start"].(float64) < 3.95 || md["segment_end"].(float64) > 8.05 {
			t.Fatalf("%s: the coffee query's best hit is %s", v, hits[0].Object.Key)
		}
	}
	// Grouped by parent, the best video comes with its best frames.
	hits, err := e.Search(ctx, "v", engine.SearchRequest{Space: "image", Query: engine.Query{Image: coffee}, K: 5,
		GroupBy: "parent", Fields: []string{"key", "metadata", "modality"}})
	if err != nil || len(hits) == 0 {
		t.Fatal(hits, err)
	}
	if hits[0].Object.Modality != "video" || len(hits[0].Segments) == 0 {
		t.Fatalf("grouped: %+v", hits[0])
	}

	// Re-running ingests nothing new.
	s, err = Run(ctx, EngineSink{e}, []string{root}, Options{Collection: "v"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Added+s.Updated != 0 || s.Frames+s.Segments != 0 || s.Failed != 1 {
		t.Fatalf("re-run: %+v", s.Progress)
	}

	// A run stopped before a video's last write (the video itself) left
	// its segments: the next run finishes it in place.
	webm := videos[1]
	if err := e.DeleteObject(ctx, "v", objs[webm].ID); err != nil {
		t.Fatal(err)
	}
	s, err = Run(ctx, EngineSink{e}, []string{root}, Options{Collection: "v"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Added != 1 {
		t.Fatalf("resume: %+v", s.Progress)
	}
	after := allObjects(t, e, "v")
	if len(after) != len(objs) {
		t.Fatalf("resume: %d objects, had %d", len(after), len(objs))
	}
	for k, o := range objs {
		if k != webm && after[k].ID != o.ID {
			t.Fatalf("resume: %s moved from id %d to %d", k, o.ID, after[k].ID)
		}
	}
}

// TestIngestVideoWithoutFFmpeg: without FFmpeg, a video is skipped and
// reported with what to install, and a photo beside it still ingests.
func TestIngestVideoWithoutFFmpeg(t *testing.T) {
	ff := testvideo.FFmpeg(t)
	e := videoEngine(t)
	root := t.TempDir()
	v := testvideo.Slideshow(t, ff, root, testvideo.Kinds[3])
	photos := testvideo.Photos(t)
	copyFile(t, photos[1], filepath.Join(root, "coffee"+filepath.Ext(photos[1])))
	for i, o := range []Options{{FFmpeg: filepath.Join(t.TempDir(), "nonexistent")}, {FFmpeg: "ffmpeg"}} {
		var rep bytes.Buffer
		o.Collection, o.Model, o.Report = "p", "clip", &rep
		if o.FFmpeg == "ffmpeg" {
			t.Setenv("PATH", t.TempDir()) // a PATH without it
		}
		s, err := Run(engine.Trusted(context.Background()), EngineSink{e}, []string{root}, o)
		if err != nil {
			t.Fatal(err)
		}
		// The second run finds the photo unchanged.
		if s.NoFFmpeg != 1 || s.Skipped != 1+i || s.Added != 1-i || s.Failed != 0 {
			t.Fatalf("%+v", s.Progress)
		}
		var f Failure
		if err := json.Unmarshal(rep.Bytes(), &f); err != nil || f.Path != v || !strings.Contains(f.Reason, "apt-get install ffmpeg") {
			t.Fatalf("report %q", rep.String())
		}
	}
	if n := len(allObjects(t, e, "p")); n != 1 {
		t.Fatalf("%d objects, want the photo alone", n)
	}
}
