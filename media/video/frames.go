package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"rosetta/encoders/imageproc"
)

// Sampling says which frames of a video are kept. Zero fields take the
// defaults of DefaultSampling.
type Sampling struct {
	// Interval: a frame is kept at least this often (default 2 s).
	Interval time.Duration
	// SceneThreshold: a frame whose scene score (0–1, FFmpeg's scene
	// detection) is above it starts a new scene and is kept (default 0.3).
	SceneThreshold float64
	// MaxPerMinute bounds the frames kept per minute: none is kept sooner
	// than 60/MaxPerMinute s after the previous one (default 60). An
	// Interval shorter than that gap is lengthened to it.
	MaxPerMinute int
	// Side is the shorter side, in pixels, frames are scaled to (never
	// enlarged) in FFmpeg before they are read (default 224, CLIP's input;
	// the longer side is capped at 4·Side).
	Side int
}

// DefaultSampling returns the defaults.
func DefaultSampling() Sampling {
	return Sampling{Interval: 2 * time.Second, SceneThreshold: 0.3, MaxPerMinute: 60, Side: 224}
}

// WithDefaults fills zero fields and checks the rest.
func (s Sampling) WithDefaults() (Sampling, error) {
	d := DefaultSampling()
	if s.Interval == 0 {
		s.Interval = d.Interval
	}
	if s.SceneThreshold == 0 {
		s.SceneThreshold = d.SceneThreshold
	}
	if s.MaxPerMinute == 0 {
		s.MaxPerMinute = d.MaxPerMinute
	}
	if s.Side == 0 {
		s.Side = d.Side
	}
	var errs []error
	if s.Interval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("video: sampling interval %v: want at least 10ms", s.Interval))
	}
	if !(s.SceneThreshold > 0 && s.SceneThreshold <= 1) {
		errs = append(errs, fmt.Errorf("video: scene threshold %v: want a score in (0, 1]", s.SceneThreshold))
	}
	if s.MaxPerMinute < 1 || s.MaxPerMinute > 6000 {
		errs = append(errs, fmt.Errorf("video: at most %d frames per minute: want 1 to 6000", s.MaxPerMinute))
	}
	if s.Side < 16 || s.Side > 2048 {
		errs = append(errs, fmt.Errorf("video: frame side %d: want 16 to 2048 pixels", s.Side))
	}
	return s, errors.Join(errs...)
}

// gap is the least time between two kept frames.
func (s Sampling) gap() float64 { return 60 / float64(s.MaxPerMinute) }

// selectExpr is the select filter's expression: the first frame, a frame
// after every interval, and a scene change, none sooner than the gap.
func (s Sampling) selectExpr() string {
	gap := s.gap()
	interval := max(s.Interval.Seconds(), gap)
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	return fmt.Sprintf("isnan(prev_selected_t)+gte(t-prev_selected_t,%s)+gt(scene,%s)*gte(t-prev_selected_t,%s)",
		num(interval), num(s.SceneThreshold), num(gap))
}

// frameSize is the size frames are scaled to: the display size with its
// shorter side at most side and its longer side at most 4·side.
func frameSize(w, h, side int) (int, int) {
	if w <= 0 || h <= 0 {
		return 0, 0
	}
	scale := math.Min(1, float64(side)/float64(min(w, h)))
	scale = math.Min(scale, float64(4*side)/float64(max(w, h)))
	sw := max(1, int(math.Round(float64(w)*scale)))
	sh := max(1, int(math.Round(float64(h)*scale)))
	return sw, sh
}

// Frame is one sampled frame. Image is the caller's to keep.
type Frame struct {
	Index int     // 0, 1, … in the order kept
	Time  float64 // seconds from the start of the video
	Image *imageproc.RGB
}

// FrameReader streams a video's sampled frames. Next is not safe for
// concurrent use; Close must be called.
type FrameReader struct {
	p      *proc
	w, h   int
	times  chan stamp
	next   int
	closed bool
}

// Frames starts decoding path's video stream (info from Probe) and
// returns a reader of its sampled frames.
func (f *FFmpeg) Frames(ctx context.Context, path string, info Info, s Sampling) (*FrameReader, error) {
	s, err := s.WithDefaults()
	if err != nil {
		return nil, err
	}
	dw, dh := info.DisplaySize()
	w, h := frameSize(dw, dh, s.Side)
	if w == 0 {
		return nil, fmt.Errorf("%w: the video stream has no size", ErrDecode)
	}
	in, err := inputArgs(path)
	if err != nil {
		return nil, err
	}
	// Scene scores are computed on the scaled RGB frames (FFmpeg 5.1's
	// scene detection reads 0 on yuv420p), which is cheaper than at full
	// size and what the model sees anyway.
	vf := fmt.Sprintf("scale=%d:%d:flags=bicubic,format=rgb24,select='%s',showinfo", w, h, s.selectExpr())
	args := append([]string{"-loglevel", "level+info"}, in...)
	args = append(args, "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", vf, "-fps_mode", "passthrough",
		"-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1")
	dur := f.Limits.duration(info.Duration)
	maxFrames := int64(math.Ceil((dur*1.25+60)/60*float64(s.MaxPerMinute))) + 2
	frameBytes := int64(3 * w * h)
	r := &FrameReader{w: w, h: h, times: make(chan stamp, 64)}
	onLine := func(line string) bool {
		if !strings.Contains(line, "Parsed_showinfo") {
			return false
		}
		if n, t, ok := parseShowinfo(line); ok {
			select {
			case r.times <- stamp{n, t}:
			case <-ctx.Done():
			}
		}
		return true
	}
	p, err := start(ctx, "ffmpeg (frames)", f.FFmpeg, args, f.Limits.timeout(info.Duration), maxFrames*frameBytes, onLine)
	if err != nil {
		return nil, err
	}
	r.p = p
	go func() { <-p.done; close(r.times) }()
	return r, nil
}

// Size is the size of the frames read.
func (r *FrameReader) Size() (w, h int) { return r.w, r.h }

// Next returns the next sampled frame, or io.EOF after the last one. A
// decoding failure (FFmpeg exiting with an error, its time limit or its
// output bound) is returned instead of io.EOF.
func (r *FrameReader) Next() (Frame, error) {
	if r.closed {
		return Frame{}, io.EOF
	}
	img := imageproc.NewRGB(r.w, r.h)
	_, err := io.ReadFull(r.p.out, img.Pix)
	if err != nil {
		r.closed = true
		go drainStamps(r.times)
		werr := r.p.wait(false)
		switch {
		case werr != nil:
			return Frame{}, werr
		case err == io.EOF:
			return Frame{}, io.EOF
		case err == io.ErrUnexpectedEOF:
			return Frame{}, fmt.Errorf("%w: ffmpeg ended inside a frame", ErrDecode)
		default:
			return Frame{}, err
		}
	}
	// showinfo printed the frame's time before ffmpeg wrote the frame.
	st, ok := <-r.times
	if !ok || st.n != r.next {
		r.closed = true
		go drainStamps(r.times)
		r.p.wait(true)
		return Frame{}, fmt.Errorf("%w: ffmpeg gave no time for frame %d", ErrDecode, r.next)
	}
	fr := Frame{Index: r.next, Time: max(st.t, 0), Image: img}
	r.next++
	return fr, nil
}

// Close stops the process if it still runs.
func (r *FrameReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	go drainStamps(r.times)
	return r.p.wait(true)
}

// stamp is a kept frame's number and time, from showinfo.
type stamp struct {
	n int
	t float64
}

func drainStamps(c <-chan stamp) {
	for range c {
	}
}

// parseShowinfo reads the frame number and time of a showinfo line such
// as "[Parsed_showinfo_3 @ 0x55d0] [info] n:   4 pts: 102400 pts_time:8
// duration: …". ok is false for showinfo's other lines (colour, side data).
func parseShowinfo(line string) (n int, t float64, ok bool) {
	i := strings.Index(line, " n:")
	if i < 0 {
		return 0, 0, false
	}
	rest := strings.TrimLeft(line[i+3:], " ")
	j := strings.IndexByte(rest, ' ')
	if j < 0 {
		return 0, 0, false
	}
	n, err := strconv.Atoi(rest[:j])
	if err != nil || n < 0 {
		return 0, 0, false
	}
	k := strings.Index(rest, "pts_time:")
	if k < 0 {
		return 0, 0, false
	}
	v := rest[k+len("pts_time:"):]
	if e := strings.IndexByte(v, ' '); e >= 0 {
		v = v[:e]
	}
	t, err = strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(t) || math.IsInf(t, 0) {
		return 0, 0, false
	}
	return n, t, true
}
