package video

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Info is what ffprobe says about a video file.
type Info struct {
	Container string  // ffprobe's format name (e.g. "mov,mp4,m4a,3gp,3g2,mj2")
	Duration  float64 // seconds (0 when unknown)
	// Width and Height are the video stream's stored size; Rotation is
	// how far it is turned for display, clockwise degrees (0, 90, 180 or
	// 270), from the display matrix or the older rotate tag.
	Width, Height int
	Rotation      int
	Codec         string  // the video codec (h264, vp9, …)
	FPS           float64 // average frame rate (0 when unknown)
	Bitrate       float64 // bits per second of the file (0 when unknown)
	AudioCodec    string  // "" when there is no audio stream
	AudioRate     int     // the audio stream's sample rate
	Created       time.Time
	// HasLocation says Lat and Lon are set (an ISO 6709 location tag, as
	// phones write).
	HasLocation bool
	Lat, Lon    float64
}

// HasAudio reports whether the file has an audio stream.
func (i Info) HasAudio() bool { return i.AudioCodec != "" }

// DisplaySize is the size frames are shown at: Width×Height, swapped for
// a quarter turn. FFmpeg rotates decoded frames to it.
func (i Info) DisplaySize() (w, h int) {
	if i.Rotation == 90 || i.Rotation == 270 {
		return i.Height, i.Width
	}
	return i.Width, i.Height
}

// maxProbeOutput bounds ffprobe's JSON.
const maxProbeOutput = 4 << 20

// Probe runs ffprobe on path. A file without a video stream, or one
// ffprobe cannot read, is ErrDecode with ffprobe's words.
func (f *FFmpeg) Probe(ctx context.Context, path string) (Info, error) {
	in, err := inputArgs(path)
	if err != nil {
		return Info{}, err
	}
	// ffprobe takes its input as the last argument, not after -i; the
	// file: URL keeps it from being read as an option.
	args := []string{"-v", "error", "-hide_banner", "-protocol_whitelist", "file", "-print_format", "json", "-show_format", "-show_streams", in[len(in)-1]}
	limit := f.Limits.Timeout
	if limit <= 0 {
		limit = 2 * time.Minute
	}
	p, err := start(ctx, "ffprobe", f.FFprobe, args, limit, maxProbeOutput, nil)
	if err != nil {
		return Info{}, err
	}
	out, rerr := io.ReadAll(p.out)
	if err := p.wait(false); err != nil {
		return Info{}, err
	}
	if rerr != nil {
		return Info{}, rerr
	}
	info, err := parseProbe(out)
	if err != nil {
		return Info{}, fmt.Errorf("%w: ffprobe: %v: %s", ErrDecode, err, p.errs.String())
	}
	return info, nil
}

// probeJSON is the part of ffprobe's JSON that Info needs.
type probeJSON struct {
	Streams []struct {
		CodecType    string            `json:"codec_type"`
		CodecName    string            `json:"codec_name"`
		Width        int               `json:"width"`
		Height       int               `json:"height"`
		AvgFrameRate string            `json:"avg_frame_rate"`
		RFrameRate   string            `json:"r_frame_rate"`
		Duration     string            `json:"duration"`
		SampleRate   string            `json:"sample_rate"`
		Tags         map[string]string `json:"tags"`
		Disposition  map[string]int    `json:"disposition"`
		SideData     []struct {
			Type     string  `json:"side_data_type"`
			Rotation float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		FormatName string            `json:"format_name"`
		Duration   string            `json:"duration"`
		BitRate    string            `json:"bit_rate"`
		Tags       map[string]string `json:"tags"`
	} `json:"format"`
}

// parseProbe reads ffprobe -print_format json -show_format -show_streams.
func parseProbe(b []byte) (Info, error) {
	var p probeJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return Info{}, fmt.Errorf("unreadable ffprobe output: %v", err)
	}
	var info Info
	info.Container = p.Format.FormatName
	found := false
	var created string
	for _, s := range p.Streams {
		switch s.CodecType {
		case "video":
			if found || s.Disposition["attached_pic"] == 1 || s.Width <= 0 || s.Height <= 0 {
				continue // cover art, or a second video stream
			}
			found = true
			info.Codec, info.Width, info.Height = s.CodecName, s.Width, s.Height
			info.FPS = parseRate(s.AvgFrameRate)
			if info.FPS == 0 {
				info.FPS = parseRate(s.RFrameRate)
			}
			rot := 0.0
			for _, sd := range s.SideData {
				if sd.Type == "Display Matrix" {
					rot = -sd.Rotation // the matrix's angle is counter-clockwise
				}
			}
			if r, err := strconv.ParseFloat(s.Tags["rotate"], 64); err == nil && rot == 0 {
				rot = r
			}
			info.Rotation = normRotation(rot)
			if d := parseSeconds(s.Duration); d > 0 {
				info.Duration = d
			}
			if created == "" {
				created = s.Tags["creation_time"]
			}
		case "audio":
			if info.AudioCodec == "" {
				info.AudioCodec = s.CodecName
				info.AudioRate, _ = strconv.Atoi(s.SampleRate)
			}
		}
	}
	if !found {
		return Info{}, fmt.Errorf("no video stream")
	}
	if d := parseSeconds(p.Format.Duration); d > 0 {
		info.Duration = d
	}
	info.Bitrate = parseSeconds(p.Format.BitRate)
	if c := p.Format.Tags["creation_time"]; c != "" {
		created = c
	}
	if t, err := time.Parse(time.RFC3339Nano, created); err == nil && t.Year() > 1904 {
		info.Created = t.UTC() // 1904 is MP4's epoch: an unset time
	}
	for _, k := range []string{"location", "com.apple.quicktime.location.ISO6709", "location-eng"} {
		if lat, lon, ok := parseISO6709(p.Format.Tags[k]); ok {
			info.Lat, info.Lon, info.HasLocation = lat, lon, true
			break
		}
	}
	return info, nil
}

// normRotation turns an angle into 0, 90, 180 or 270 (the nearest quarter
// turn, clockwise).
func normRotation(deg float64) int {
	if math.IsNaN(deg) || math.IsInf(deg, 0) {
		return 0
	}
	q := int(math.Round(deg/90)) % 4
	if q < 0 {
		q += 4
	}
	return 90 * q
}

// parseRate reads "30000/1001" or "25"; 0 when unknown or absurd.
func parseRate(s string) float64 {
	num, den, frac := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0
	}
	d := 1.0
	if frac {
		if d, err = strconv.ParseFloat(den, 64); err != nil || d == 0 {
			return 0
		}
	}
	r := n / d
	if !(r > 0 && r < 10000) {
		return 0
	}
	return r
}

// parseSeconds reads a non-negative finite number; 0 otherwise.
func parseSeconds(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v >= 0) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// parseISO6709 reads a point location such as "+48.8577+002.2950/" or
// "+37.3318-122.0312+010.000/" (decimal degrees), and the ±DDMM.M /
// ±DDMMSS.S forms of latitude (±DDDMM, ±DDDMMSS of longitude).
func parseISO6709(s string) (lat, lon float64, ok bool) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "/")
	if len(s) < 4 || (s[0] != '+' && s[0] != '-') {
		return 0, 0, false
	}
	var parts []string
	start := 0
	for i := 1; i <= len(s); i++ {
		if i == len(s) || s[i] == '+' || s[i] == '-' {
			parts = append(parts, s[start:i])
			start = i
		}
	}
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, false
	}
	lat, ok1 := parseAngle(parts[0], 2)
	lon, ok2 := parseAngle(parts[1], 3)
	if !ok1 || !ok2 || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return 0, 0, false
	}
	return lat, lon, true
}

// parseAngle reads ±D…[.d] where the integer part has degDigits digits
// (degrees), degDigits+2 (degrees, minutes) or degDigits+4 (degrees,
// minutes, seconds).
func parseAngle(s string, degDigits int) (float64, bool) {
	sign := 1.0
	if s[0] == '-' {
		sign = -1
	}
	s = s[1:]
	intPart, _, _ := strings.Cut(s, ".")
	if intPart == "" || strings.ContainsFunc(intPart, func(r rune) bool { return r < '0' || r > '9' }) {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	switch len(intPart) {
	case degDigits:
		return sign * v, true
	case degDigits + 2:
		d := math.Floor(v / 100)
		m := v - 100*d
		if m >= 60 {
			return 0, false
		}
		return sign * (d + m/60), true
	case degDigits + 4:
		d := math.Floor(v / 10000)
		m := math.Floor((v - 10000*d) / 100)
		sec := v - 10000*d - 100*m
		if m >= 60 || sec >= 60 {
			return 0, false
		}
		return sign * (d + m/60 + sec/3600), true
	}
	return 0, false
}
