// Package testvideo makes the videos of the video tests with FFmpeg from
// the real photos scripts/e2e-media.sh fetches ($ROSETTA_E2E_PHOTOS; the
// fixture photos without it) and an espeak-ng sentence.
package testvideo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"rosetta/internal/fixtures"
	"rosetta/media/video"
)

// FFmpeg finds FFmpeg for a test: missing, the test skips, unless CI is
// set (scripts/e2e-media.sh installs it) or ROSETTA_REQUIRE_FFMPEG=1,
// when it fails.
func FFmpeg(t testing.TB) *video.FFmpeg {
	t.Helper()
	f, err := video.Find("")
	if err != nil {
		if os.Getenv("CI") != "" || os.Getenv("ROSETTA_REQUIRE_FFMPEG") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return f
}

// Photos returns the three photos of the slideshow, in order: astronaut,
// coffee, rocket.
func Photos(t testing.TB) [3]string {
	t.Helper()
	if d := os.Getenv("ROSETTA_E2E_PHOTOS"); d != "" {
		return [3]string{filepath.Join(d, "astronaut.png"), filepath.Join(d, "coffee.png"), filepath.Join(d, "rocket.jpg")}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("ROSETTA_E2E_PHOTOS is not set: .ci/run fetches the photos with scripts/e2e-media.sh")
	}
	d := fixtures.Dir(t, "preprocess-image")
	return [3]string{filepath.Join(d, "astronaut.png"), filepath.Join(d, "coffee.png"), filepath.Join(d, "rocket.png")}
}

// Speech returns a spoken sentence (espeak-ng's, from e2e-media.sh, or made
// now) as a WAV file; "" when there is none, and then the slideshows get
// a tone instead.
func Speech(t testing.TB) string {
	if d := os.Getenv("ROSETTA_E2E_PHOTOS"); d != "" {
		if p := filepath.Join(d, "speech", "espeak-2.wav"); exists(p) {
			return p
		}
	}
	if espeak, err := exec.LookPath("espeak-ng"); err == nil {
		p := filepath.Join(t.TempDir(), "speech.wav")
		if exec.Command(espeak, "-w", p, "Rosetta searches images, text and audio in one database.").Run() == nil {
			return p
		}
	}
	return ""
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Run runs ffmpeg with args.
func Run(t testing.TB, f *video.FFmpeg, args ...string) {
	t.Helper()
	cmd := exec.Command(f.FFmpeg, append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Kind is one of the slideshow's encodings.
type Kind struct {
	Name    string // file name
	Video   []string
	Audio   []string // nil: no audio track
	Rotated bool     // rotation metadata of a quarter turn
}

// Kinds are the slideshows the tests make: MP4/H.264 with AAC speech,
// WebM/VP9 with Opus speech, a rotated MP4, and a WebM without audio.
var Kinds = []Kind{
	{Name: "slideshow.mp4", Video: []string{"-c:v", "libx264", "-preset", "veryfast"}, Audio: []string{"-c:a", "aac"}},
	{Name: "slideshow.webm", Video: []string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "500k"}, Audio: []string{"-c:a", "libopus"}},
	{Name: "rotated.mp4", Video: []string{"-c:v", "libx264", "-preset", "veryfast"}, Audio: []string{"-c:a", "aac"}, Rotated: true},
	{Name: "silent.webm", Video: []string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "500k"}},
}

// Slideshow writes dir/k.Name: 12 s at 25 fps, 640×480, the astronaut for
// 0–4 s, the coffee for 4–8 s and the rocket for 8–12 s (each scaled to
// fit and padded), with the speech (or a tone) as its audio track.
func Slideshow(t testing.TB, f *video.FFmpeg, dir string, k Kind) string {
	t.Helper()
	ph := Photos(t)
	out := filepath.Join(dir, k.Name)
	var args []string
	for _, p := range ph {
		args = append(args, "-loop", "1", "-framerate", "25", "-t", "4", "-i", p)
	}
	fit := "scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25,format=yuv420p"
	graph := "[0]" + fit + "[a];[1]" + fit + "[b];[2]" + fit + "[c];[a][b][c]concat=n=3:v=1:a=0[v]"
	maps := []string{"-map", "[v]"}
	if k.Audio != nil {
		if sp := Speech(t); sp != "" {
			args = append(args, "-i", sp)
		} else {
			args = append(args, "-f", "lavfi", "-i", "sine=frequency=330:duration=3")
		}
		graph += ";[3]aresample=48000,apad=whole_dur=12[s]"
		maps = append(maps, "-map", "[s]")
	}
	args = append(args, "-filter_complex", graph)
	args = append(args, maps...)
	args = append(args, k.Video...)
	args = append(args, k.Audio...)
	args = append(args, "-t", "12")
	if !k.Rotated {
		Run(t, f, append(args, out)...)
		return out
	}
	plain := filepath.Join(t.TempDir(), "plain-"+k.Name)
	Run(t, f, append(args, plain)...)
	Run(t, f, "-i", plain, "-map", "0", "-c", "copy", "-metadata:s:v:0", "rotate=90", out)
	return out
}

// Truncated writes dir/name: the first half of the MP4 slideshow, whose
// index (moov, written last) is then missing.
func Truncated(t testing.TB, f *video.FFmpeg, dir, name string) string {
	t.Helper()
	src := Slideshow(t, f, t.TempDir(), Kinds[0])
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	if err := os.WriteFile(out, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}
