package video

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rosetta/encoders/audio"
)

// tool finds FFmpeg for the tests: missing, they skip, unless CI is set
// (scripts/e2e-media.sh installs it) or ROSETTA_REQUIRE_FFMPEG=1.
func tool(t testing.TB) *FFmpeg {
	t.Helper()
	f, err := Find("")
	if err != nil {
		if os.Getenv("CI") != "" || os.Getenv("ROSETTA_REQUIRE_FFMPEG") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return f
}

// makeVideo runs ffmpeg with args (inputs, filters, output file last).
func makeVideo(t testing.TB, f *FFmpeg, args ...string) {
	t.Helper()
	cmd := exec.Command(f.FFmpeg, append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// scenes writes a 320×240, 25 fps video of three flat colours, 3 s each
// (cuts at 3 s and 6 s), with a 440 Hz tone as its audio.
func scenes(t testing.TB, f *FFmpeg, path string, extra ...string) {
	args := []string{"-f", "lavfi", "-i", "color=c=red:s=320x240:r=25:d=3",
		"-f", "lavfi", "-i", "color=c=green:s=320x240:r=25:d=3",
		"-f", "lavfi", "-i", "color=c=blue:s=320x240:r=25:d=3",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=9",
		"-filter_complex", "[0][1][2]concat=n=3:v=1:a=0,format=yuv420p[v]", "-map", "[v]", "-map", "3:a"}
	args = append(args, extra...)
	makeVideo(t, f, append(args, path)...)
}

func TestSniff(t *testing.T) {
	ts := make([]byte, 3*188)
	ts[0], ts[188], ts[376] = 0x47, 0x47, 0x47
	for _, c := range []struct {
		head []byte
		want string
	}{
		{[]byte("\x00\x00\x00\x20ftypisom\x00\x00\x02\x00"), "mp4"},
		{[]byte("\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00"), "mov"},
		{[]byte("\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00"), ""},
		{[]byte("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm"), "webm"},
		{[]byte("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska"), "matroska"},
		{[]byte("RIFF\x00\x00\x00\x00AVI LIST"), "avi"},
		{[]byte("RIFF\x00\x00\x00\x00WAVEfmt "), ""},
		{[]byte("\x00\x00\x01\xba\x44"), "mpeg"},
		{ts, "mpegts"},
		{[]byte("FLV\x01\x05"), "flv"},
		{[]byte("\x89PNG\r\n\x1a\n"), ""},
		{[]byte("OggS\x00\x02"), ""},
		{nil, ""},
	} {
		if got, _ := Sniff(c.head); got != c.want {
			t.Errorf("Sniff(%q) = %q, want %q", c.head, got, c.want)
		}
	}
}

func TestParseProbe(t *testing.T) {
	rotated := `{"streams":[{"codec_type":"video","codec_name":"h264","width":1920,"height":1080,"avg_frame_rate":"30000/1001",
	  "side_data_list":[{"side_data_type":"Display Matrix","displaymatrix":"...","rotation":-90}],"tags":{"creation_time":"2021-05-06T07:08:09.000000Z"}},
	  {"codec_type":"audio","codec_name":"aac","sample_rate":"48000"}],
	  "format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"12.345","bit_rate":"800000",
	  "tags":{"com.apple.quicktime.location.ISO6709":"+37.3318-122.0312+010.000/"}}}`
	info, err := parseProbe([]byte(rotated))
	if err != nil {
		t.Fatal(err)
	}
	if info.Codec != "h264" || info.Width != 1920 || info.Rotation != 90 || info.Duration != 12.345 || info.AudioCodec != "aac" || info.AudioRate != 48000 {
		t.Errorf("rotated: %+v", info)
	}
	if w, h := info.DisplaySize(); w != 1080 || h != 1920 {
		t.Errorf("display size %dx%d", w, h)
	}
	if fps := info.FPS; fps < 29.97 || fps > 29.98 {
		t.Errorf("fps %v", fps)
	}
	if !info.HasLocation || info.Lat != 37.3318 || info.Lon != -122.0312 {
		t.Errorf("location %+v", info)
	}
	if !info.Created.Equal(time.Date(2021, 5, 6, 7, 8, 9, 0, time.UTC)) {
		t.Errorf("created %v", info.Created)
	}
	// The older rotate tag; cover art before the real stream; an unset
	// MP4 time; no audio.
	old := `{"streams":[{"codec_type":"video","codec_name":"mjpeg","width":600,"height":600,"disposition":{"attached_pic":1}},
	  {"codec_type":"video","codec_name":"vp9","width":640,"height":480,"avg_frame_rate":"0/0","r_frame_rate":"25/1","duration":"3.5","tags":{"rotate":"270"}}],
	  "format":{"format_name":"matroska,webm","tags":{"creation_time":"1904-01-01T00:00:00.000000Z"}}}`
	info, err = parseProbe([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	if info.Codec != "vp9" || info.Rotation != 270 || info.FPS != 25 || info.Duration != 3.5 || info.HasAudio() || !info.Created.IsZero() || info.HasLocation {
		t.Errorf("old: %+v", info)
	}
	for _, bad := range []string{`{"streams":[{"codec_type":"audio","codec_name":"mp3"}],"format":{}}`, `not json`, `{"streams":[{"codec_type":"video","width":0,"height":0}]}`} {
		if _, err := parseProbe([]byte(bad)); err == nil {
			t.Errorf("parseProbe(%s): no error", bad)
		}
	}
}

func TestParseISO6709(t *testing.T) {
	for _, c := range []struct {
		in       string
		lat, lon float64
		ok       bool
	}{
		{"+48.8577+002.2950/", 48.8577, 2.295, true},
		{"-33.8688+151.2093+058.0/", -33.8688, 151.2093, true},
		{"+4851.462+00217.700/", 48 + 51.462/60, 2 + 17.7/60, true},
		{"+485127.7+0021742.0/", 48 + 51.0/60 + 27.7/3600, 2 + 17.0/60 + 42.0/3600, true},
		{"+91.0+000.0/", 0, 0, false},
		{"+48.8+2.2/", 0, 0, false}, // longitude needs three digits
		{"48.8577+002.2950", 0, 0, false},
		{"+4875.0+00217.7/", 0, 0, false}, // 75 minutes
		{"", 0, 0, false},
		{"+", 0, 0, false},
	} {
		lat, lon, ok := parseISO6709(c.in)
		if ok != c.ok || (ok && (abs(lat-c.lat) > 1e-9 || abs(lon-c.lon) > 1e-9)) {
			t.Errorf("parseISO6709(%q) = %v, %v, %v; want %v, %v, %v", c.in, lat, lon, ok, c.lat, c.lon, c.ok)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestParseShowinfo(t *testing.T) {
	for _, c := range []struct {
		line string
		n    int
		t    float64
		ok   bool
	}{
		{"[Parsed_showinfo_3 @ 0x5581d0c1e2c0] [info] n:   0 pts:      0 pts_time:0       duration:    512 duration_time:0.04    fmt:rgb24 sar:1/1 s:398x224", 0, 0, true},
		{"[Parsed_showinfo_3 @ 0x5581d0c1e2c0] [info] n:  12 pts: 102400 pts_time:8.33333 duration:512", 12, 8.33333, true},
		{"[Parsed_showinfo_2 @ 0x1] n:7 pts:1 pts_time:1.5", 7, 1.5, true},
		{"[Parsed_showinfo_3 @ 0x5581d0c1e2c0] [info]   color_range:tv color_space:unknown", 0, 0, false},
		{"[Parsed_showinfo_3 @ 0x1] [info] n: -1 pts: 0 pts_time:0", 0, 0, false},
		{"[Parsed_showinfo_3 @ 0x1] [info] n:   3 pts: 0 pts_time:nan duration:1", 0, 0, false},
		{"[Parsed_showinfo_3 @ 0x1] [info] n:   3 pts: 0", 0, 0, false},
	} {
		n, tm, ok := parseShowinfo(c.line)
		if ok != c.ok || (ok && (n != c.n || tm != c.t)) {
			t.Errorf("parseShowinfo(%q) = %d, %v, %v", c.line, n, tm, ok)
		}
	}
}

func FuzzParseShowinfo(f *testing.F) {
	f.Add("[Parsed_showinfo_3 @ 0x1] [info] n:  12 pts: 102400 pts_time:8.33333 duration:512")
	f.Add(" n: pts_time:")
	f.Fuzz(func(t *testing.T, line string) {
		n, tm, ok := parseShowinfo(line)
		if ok && (n < 0 || tm != tm) {
			t.Fatalf("%q: %d %v", line, n, tm)
		}
	})
}

func FuzzParseProbe(f *testing.F) {
	f.Add([]byte(`{"streams":[{"codec_type":"video","codec_name":"h264","width":2,"height":2,"side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]}],"format":{"duration":"1","tags":{"location":"+48.8577+002.2950/"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := parseProbe(b)
		if err != nil {
			return
		}
		if info.Width <= 0 || info.Height <= 0 || info.Rotation%90 != 0 || info.Rotation < 0 || info.Rotation >= 360 || info.Duration < 0 {
			t.Fatalf("%s: %+v", b, info)
		}
		if info.HasLocation && (info.Lat < -90 || info.Lat > 90 || info.Lon < -180 || info.Lon > 180) {
			t.Fatalf("%s: %+v", b, info)
		}
	})
}

func FuzzParseISO6709(f *testing.F) {
	f.Add("+48.8577+002.2950/")
	f.Add("+485127.7+0021742.0/")
	f.Fuzz(func(t *testing.T, s string) {
		lat, lon, ok := parseISO6709(s)
		if ok && (lat < -90 || lat > 90 || lon < -180 || lon > 180 || lat != lat || lon != lon) {
			t.Fatalf("%q: %v %v", s, lat, lon)
		}
	})
}

func TestSamplingDefaultsAndChecks(t *testing.T) {
	s, err := Sampling{}.WithDefaults()
	if err != nil || s != DefaultSampling() {
		t.Fatalf("%+v %v", s, err)
	}
	_, err = Sampling{Interval: time.Millisecond, SceneThreshold: 2, MaxPerMinute: -1, Side: 4}.WithDefaults()
	if err == nil || strings.Count(err.Error(), "\n") != 3 {
		t.Fatalf("want four problems, got %v", err)
	}
	// An interval shorter than the per-minute gap is lengthened to it.
	if e := (Sampling{Interval: time.Second, SceneThreshold: 0.4, MaxPerMinute: 20}).selectExpr(); e != "isnan(prev_selected_t)+gte(t-prev_selected_t,3)+gt(scene,0.4)*gte(t-prev_selected_t,3)" {
		t.Errorf("select %s", e)
	}
	for _, c := range []struct{ w, h, side, ww, wh int }{
		{1920, 1080, 224, 398, 224}, {1080, 1920, 224, 224, 398}, {160, 120, 224, 160, 120}, {10000, 100, 224, 896, 9},
	} {
		if w, h := frameSize(c.w, c.h, c.side); w != c.ww || h != c.wh {
			t.Errorf("frameSize(%d, %d, %d) = %d×%d, want %d×%d", c.w, c.h, c.side, w, h, c.ww, c.wh)
		}
	}
}

func TestFindMissing(t *testing.T) {
	_, err := Find(filepath.Join(t.TempDir(), "nonexistent-ffmpeg"))
	if !errors.Is(err, ErrNoFFmpeg) || !strings.Contains(err.Error(), "apt-get install ffmpeg") {
		t.Fatalf("Find of a missing binary: %v", err)
	}
}

// readFrames reads every frame of path.
func readFrames(t *testing.T, f *FFmpeg, path string, s Sampling) (Info, []Frame) {
	t.Helper()
	ctx := context.Background()
	info, err := f.Probe(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Frames(ctx, path, info, s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []Frame
	for {
		fr, err := r.Next()
		if err == io.EOF {
			return info, out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fr)
	}
}

func TestFramesScenesAndInterval(t *testing.T) {
	f := tool(t)
	// The file's name starts with a dash and the folder's looks like a
	// protocol: neither may be read as anything but a path.
	dir := filepath.Join(t.TempDir(), "concat:x")
	os.Mkdir(dir, 0o755)
	path := filepath.Join(dir, "-i.mkv")
	scenes(t, f, path, "-c:v", "libx264", "-g", "250", "-c:a", "flac")
	info, frames := readFrames(t, f, path, Sampling{})
	if info.Codec != "h264" || info.Width != 320 || info.Height != 240 || info.Duration < 8.9 || info.Duration > 9.2 || !info.HasAudio() {
		t.Fatalf("probe: %+v", info)
	}
	// The first frame, every 2 s, and the cuts at 3 s and 6 s: 0, 2, 3, 5, 6, 8.
	want := []float64{0, 2, 3, 5, 6, 8}
	var got []float64
	for _, fr := range frames {
		got = append(got, fr.Time)
		if w, h := fr.Image.W, fr.Image.H; w != 299 || h != 224 {
			t.Fatalf("frame size %d×%d, want 299×224", w, h)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("frames at %v, want %v", got, want)
	}
	for i := range want {
		if abs(got[i]-want[i]) > 0.001 {
			t.Fatalf("frames at %v, want %v", got, want)
		}
	}
	// The colours are the scenes': the frame at 3 s is green, at 6 s blue.
	for i, c := range map[int][3]int{0: {1, 0, 0}, 2: {0, 1, 0}, 4: {0, 0, 1}} {
		r, g, b := frames[i].Image.RGBAt(100, 100)
		px := [3]int{int(r), int(g), int(b)}
		for k := range 3 {
			if (c[k] == 1) != (px[k] > 100) {
				t.Errorf("frame %d at %.1f s: pixel %v, want channel pattern %v", i, frames[i].Time, px, c)
			}
		}
	}
	// At most 20 a minute: 3 s apart at least, scene changes included.
	_, frames = readFrames(t, f, path, Sampling{MaxPerMinute: 20})
	got = got[:0]
	for _, fr := range frames {
		got = append(got, fr.Time)
	}
	if len(got) != 3 || abs(got[1]-3) > 0.001 || abs(got[2]-6) > 0.001 {
		t.Fatalf("20 a minute: frames at %v, want 0, 3, 6", got)
	}
}

func TestFramesRotated(t *testing.T) {
	f := tool(t)
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.mp4")
	scenes(t, f, plain, "-c:v", "libx264", "-an")
	rotated := filepath.Join(dir, "rotated.mp4")
	makeVideo(t, f, "-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90", rotated)
	info, frames := readFrames(t, f, rotated, Sampling{})
	if (info.Rotation != 90 && info.Rotation != 270) || info.HasAudio() {
		t.Fatalf("probe: %+v", info)
	}
	if w, h := frames[0].Image.W, frames[0].Image.H; w != 224 || h != 299 {
		t.Fatalf("rotated frame %d×%d, want 224×299", w, h)
	}
}

func TestCorruptAndNotVideo(t *testing.T) {
	f := tool(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.mp4")
	scenes(t, f, good, "-c:v", "libx264", "-c:a", "aac")
	b, _ := os.ReadFile(good)
	cut := filepath.Join(dir, "cut.mp4")
	os.WriteFile(cut, b[:len(b)/2], 0o644)
	if _, err := f.Probe(context.Background(), cut); !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), "moov") {
		t.Fatalf("truncated MP4: %v", err)
	}
	text := filepath.Join(dir, "text.mp4")
	os.WriteFile(text, []byte("hello"), 0o644)
	if _, err := f.Probe(context.Background(), text); !errors.Is(err, ErrDecode) {
		t.Fatalf("not a video: %v", err)
	}
	wav := filepath.Join(dir, "tone.wav")
	makeVideo(t, f, "-f", "lavfi", "-i", "sine=duration=1", wav)
	if _, err := f.Probe(context.Background(), wav); !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), "no video stream") {
		t.Fatalf("audio only: %v", err)
	}
}

func TestAudioWindows(t *testing.T) {
	f := tool(t)
	path := filepath.Join(t.TempDir(), "v.webm")
	scenes(t, f, path, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libopus")
	info, err := f.Probe(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ win, ov time.Duration }{{4 * time.Second, time.Second}, {3 * time.Second, 0}, {20 * time.Second, 2 * time.Second}} {
		r, err := f.Audio(context.Background(), path, info, c.win, c.ov)
		if err != nil {
			t.Fatal(err)
		}
		var got []audio.Window
		total := 0
		for {
			w, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(w.Samples) != w.End-w.Start {
				t.Fatalf("window %+v has %d samples", w, len(w.Samples))
			}
			got = append(got, audio.Window{Start: w.Start, End: w.End})
			total = w.End
		}
		r.Close()
		if abs(float64(total)/AudioRate-9) > 0.1 {
			t.Fatalf("%v windows end at %d samples, want about 9 s", c, total)
		}
		want := audio.Windows(total, AudioRate, c.win, c.ov)
		if len(got) != len(want) {
			t.Fatalf("%v: windows %v, want %v", c, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%v: windows %v, want %v", c, got, want)
			}
		}
	}
}

func TestOutputBound(t *testing.T) {
	f := tool(t)
	path := filepath.Join(t.TempDir(), "v.mkv")
	scenes(t, f, path, "-c:v", "libx264", "-c:a", "aac")
	info, err := f.Probe(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	// A file that says it lasts 0.1 s but streams 9 s of audio is cut off.
	info.Duration = 0.1
	bounded := *f
	r, err := bounded.Audio(context.Background(), path, info, time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The bound is (0.1·1.25 + 60) s of samples: more than the file holds,
	// so this read ends normally; a tighter bound is tested below.
	n := 0
	for {
		if _, err := r.Next(); err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		n++
	}
	if n < 9 || n > 10 {
		t.Fatalf("%d one-second windows of about 9 s", n)
	}
	br := &boundedReader{r: strings.NewReader("0123456789"), left: 4, kill: func() {}}
	b, err := io.ReadAll(br)
	if !errors.Is(err, ErrTooMuchOutput) || string(b) != "0123" || !br.over {
		t.Fatalf("bounded read: %q %v", b, err)
	}
}

func TestTimeLimit(t *testing.T) {
	f := tool(t)
	path := filepath.Join(t.TempDir(), "v.mkv")
	scenes(t, f, path, "-c:v", "libx264", "-c:a", "aac")
	info, err := f.Probe(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	slow := *f
	slow.Limits.Timeout = 300 * time.Millisecond
	r, err := slow.Frames(context.Background(), path, info, Sampling{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Next()
	time.Sleep(time.Second) // the consumer stalls past the limit
	for {
		_, err := r.Next()
		if err == io.EOF {
			t.Fatal("the time limit did not stop ffmpeg")
		}
		if err != nil {
			if !strings.Contains(err.Error(), "time limit") {
				t.Fatalf("want a time-limit error, got %v", err)
			}
			return
		}
	}
}
