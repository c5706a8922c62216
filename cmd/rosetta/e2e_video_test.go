package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/chromedp/chromedp"

	"rosetta/internal/testvideo"
)

// TestVideoCLIAndPage ingests the issue-19 slideshows (MP4/H.264 and
// WebM/VP9, made by FFmpeg from real photos) and a photo with `rosetta
// ingest` and the fixture CLIP, checks the report lines of a run without
// FFmpeg (--ffmpeg naming a missing binary: the videos skipped with what
// to install, the photo stored), serves the data, checks /media's range
// requests and the video's keyframe thumbnail, and in headless Chromium
// searches with the coffee photo: the best card is a video that plays
// from its hit's start, inside the coffee scene (4–8 s).
func TestVideoCLIAndPage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and drives a browser")
	}
	ff := testvideo.FFmpeg(t)
	chromiumPath(t)
	media := t.TempDir()
	for _, k := range testvideo.Kinds[:2] {
		testvideo.Slideshow(t, ff, media, k)
	}
	photos := testvideo.Photos(t)
	b, _ := os.ReadFile(photos[0])
	os.WriteFile(filepath.Join(media, "astronaut"+filepath.Ext(photos[0])), b, 0o644)
	bin := buildBinary(t)
	model := clipModelDir(t)

	// Without FFmpeg: the videos are skipped and reported, the photo stored.
	report := filepath.Join(t.TempDir(), "f.jsonl")
	out, err := exec.Command(bin, "ingest", media, "--collection", "nof", "--data", t.TempDir(), "--model", model,
		"--ffmpeg", "/nonexistent/ffmpeg", "--report", report).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "added 1,") || !strings.Contains(string(out), "videos skipped, FFmpeg not found: 2") {
		t.Fatalf("ingest without FFmpeg: %v\n%s", err, out)
	}
	if rep, _ := os.ReadFile(report); strings.Count(string(rep), "apt-get install ffmpeg") != 2 {
		t.Fatalf("report: %s", rep)
	}

	data := t.TempDir()
	args := []string{"ingest", media, "--collection", "videos", "--data", data, "--model", model, "--ffmpeg", ff.FFmpeg,
		"--video-interval", "2s", "--video-scene-threshold", "0.3", "--video-max-per-minute", "60", "--report", report}
	out, err = exec.Command(bin, args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "added 3,") || !strings.Contains(string(out), "failed 0") || !strings.Contains(string(out), "video frames stored: 12") {
		rep, _ := os.ReadFile(report)
		t.Fatalf("ingest: %v\n%s\nreport:\n%s", err, out, rep)
	}
	out, err = exec.Command(bin, args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "added 0, updated 0, skipped 3") || strings.Contains(string(out), "frames stored") {
		t.Fatalf("re-run: %v\n%s", err, out)
	}

	s := startServer(t, bin, data, freeAddr(t))
	defer func() { s.cmd.Process.Signal(syscall.SIGTERM); s.cmd.Wait() }()
	webm := filepath.Join(media, "slideshow.webm")
	var list struct {
		Objects []struct {
			ID       uint64 `json:"id"`
			Key      string `json:"key"`
			Modality string `json:"modality"`
		} `json:"objects"`
	}
	if code, err := s.do("GET", "/v1/collections/videos/objects?limit=100", nil, &list); err != nil || code != 200 {
		t.Fatalf("list: %d %v", code, err)
	}
	var vid uint64
	for _, o := range list.Objects {
		if o.Key == webm && o.Modality == "video" {
			vid = o.ID
		}
	}
	if vid == 0 {
		t.Fatalf("no video object for %s in %+v", webm, list.Objects)
	}
	// /media streams the video with range requests; its thumbnail is its keyframe.
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/collections/videos/objects/%d/media", s.base, vid), nil)
	req.Header.Set("Range", "bytes=100-199")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 206 || resp.Header.Get("Content-Type") != "video/webm" || resp.ContentLength != 100 {
		t.Fatalf("range request: %d %s %d", resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength)
	}
	resp, err = http.Get(fmt.Sprintf("%s/v1/collections/videos/objects/%d/thumbnail?size=64", s.base, vid))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("video thumbnail: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	ctx, cancel := newBrowser(t)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/?collection=videos"),
		waitJS(`document.querySelector('#overview b') !== null && document.getElementById('overview').textContent.includes('videos')`)); err != nil {
		t.Fatal(err)
	}
	cards := submitAndRead(t, ctx,
		chromedp.SetUploadFiles(chromedp.CSS(`#q-file`), []string{photos[1]}),
		waitJS(`document.getElementById('q-file-name').textContent.includes('coffee')`),
		into(chromedp.Evaluate[bool](`document.getElementById('group').checked = true`), new(bool)),
		chromedp.Click(chromedp.CSS(`#search-button`)),
	)
	if len(cards) == 0 || cards[0].Modality != "video" {
		t.Fatalf("coffee query, grouped: %+v", cards)
	}
	var start float64
	var src string
	if err := chromedp.Do(ctx,
		into(chromedp.Evaluate[float64](`Number(document.querySelector('#results .card video').dataset.start)`), &start),
		into(chromedp.Evaluate[string](`document.querySelector('#results .card video').src`), &src)); err != nil {
		t.Fatal(err)
	}
	if start < 3.95 || start >= 8 || !strings.Contains(src, fmt.Sprintf("/media#t=%v,", start)) {
		t.Fatalf("the best video card starts at %v s (%s), want within the coffee scene, 4–8 s", start, src)
	}
	// It loads, seeks to its start and plays on from there.
	if err := chromedp.Do(ctx,
		waitJS(`(v => v.readyState >= 1 && v.currentTime >= Number(v.dataset.start) - 0.05)(document.querySelector('#results .card video'))`),
		into(chromedp.Evaluate[bool](`document.querySelector('#results .card video').play(), true`), new(bool)),
		waitJS(`(v => !v.paused && v.currentTime > Number(v.dataset.start) + 0.2)(document.querySelector('#results .card video'))`)); err != nil {
		var state string
		chromedp.Do(ctx, into(chromedp.Evaluate[string](`(v => JSON.stringify({rs: v.readyState, t: v.currentTime, p: v.paused, e: v.error && v.error.message, src: v.currentSrc}))(document.querySelector('#results .card video'))`), &state))
		t.Fatalf("the video did not play from its start: %v (%s)", err, state)
	}
	screenshot(t, ctx, filepath.Join(artifactDir(t), "video.png"))
}
