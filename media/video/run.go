package video

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Errors of this package.
var (
	// ErrNoFFmpeg: the ffmpeg or ffprobe executable was not found or does
	// not run. Its message says what to install.
	ErrNoFFmpeg = errors.New("video: FFmpeg not found")
	// ErrTooMuchOutput: a process wrote more than its bound and was killed.
	ErrTooMuchOutput = errors.New("video: FFmpeg wrote more than its output bound")
	// ErrDecode: FFmpeg could not read the file (corrupt, truncated, not a
	// video, or a codec it lacks); the error carries FFmpeg's own words.
	ErrDecode = errors.New("video: cannot decode")
)

// InstallHint is what to do when FFmpeg is missing.
const InstallHint = "install FFmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg)"

// StderrTail bounds how much of a process's stderr (its warnings and
// errors) is kept for the error of a failed run: the last bytes.
const StderrTail = 4 << 10

// Limits bound each FFmpeg process. Zero fields take the defaults.
type Limits struct {
	// Timeout is a process's wall-clock limit; 0 means 10 minutes plus
	// four times the video's duration (a frame reader waits for its
	// consumer, so it lives as long as the encoding of the video).
	Timeout time.Duration
	// MaxDuration is the duration assumed for a file whose duration
	// ffprobe does not know, to bound its processes' time and output
	// (default 24 h).
	MaxDuration time.Duration
}

func (l Limits) timeout(duration float64) time.Duration {
	if l.Timeout > 0 {
		return l.Timeout
	}
	return 10*time.Minute + time.Duration(4*l.duration(duration)*float64(time.Second))
}

// duration is the probed duration, or MaxDuration when unknown.
func (l Limits) duration(d float64) float64 {
	if d > 0 {
		return d
	}
	if l.MaxDuration > 0 {
		return l.MaxDuration.Seconds()
	}
	return 24 * 3600
}

// FFmpeg is the pair of tools, found by Find. It is safe for concurrent
// use: every call starts its own processes.
type FFmpeg struct {
	FFmpeg, FFprobe string // executables
	Version         string // the first line of ffmpeg -version
	Limits          Limits
}

// Find locates ffmpeg and ffprobe: ffmpeg is the given executable, or
// "ffmpeg" on PATH when it is ""; ffprobe is the one beside it (same
// folder, "ffmpeg" in its name replaced by "ffprobe"), else the one on
// PATH. Both must run (ffmpeg -version is tried). The error wraps
// ErrNoFFmpeg and says what to install.
func Find(ffmpeg string) (*FFmpeg, error) {
	var err error
	if ffmpeg == "" {
		ffmpeg, err = exec.LookPath("ffmpeg")
	} else {
		ffmpeg, err = exec.LookPath(ffmpeg)
	}
	if err != nil {
		return nil, fmt.Errorf("%w (%v): %s", ErrNoFFmpeg, err, InstallHint)
	}
	probe := ""
	if base := filepath.Base(ffmpeg); strings.Contains(base, "ffmpeg") {
		p := filepath.Join(filepath.Dir(ffmpeg), strings.Replace(base, "ffmpeg", "ffprobe", 1))
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			probe = p
		}
	}
	if probe == "" {
		if probe, err = exec.LookPath("ffprobe"); err != nil {
			return nil, fmt.Errorf("%w: no ffprobe beside %s or on PATH: %s", ErrNoFFmpeg, ffmpeg, InstallHint)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-version").Output()
	if err != nil {
		return nil, fmt.Errorf("%w: %s -version: %v: %s", ErrNoFFmpeg, ffmpeg, err, InstallHint)
	}
	version, _, _ := strings.Cut(string(out), "\n")
	return &FFmpeg{FFmpeg: ffmpeg, FFprobe: probe, Version: strings.TrimSpace(version)}, nil
}

// inputArgs are the arguments that open path: no stdin, only the file
// protocol, and the path as a file: URL, so that no part of it is read as
// an option or another protocol.
func inputArgs(path string) ([]string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return []string{"-nostdin", "-hide_banner", "-nostats", "-protocol_whitelist", "file", "-i", "file:" + abs}, nil
}

// proc is a running FFmpeg process whose stdout is read through a bound.
type proc struct {
	name   string
	cmd    *exec.Cmd
	cancel context.CancelFunc
	ctx    context.Context
	out    *boundedReader
	errs   *tail
	done   chan struct{} // closed when stderr is read to its end
	limit  time.Duration
}

// start runs bin with args under a time limit, its stdout bounded to
// maxOut bytes; each stderr line goes to onLine first (when it returns
// true the line is consumed), else to the error tail.
func start(ctx context.Context, name, bin string, args []string, limit time.Duration, maxOut int64, onLine func(string) bool) (*proc, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = nil
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("%w: starting %s: %v: %s", ErrNoFFmpeg, bin, err, InstallHint)
	}
	p := &proc{name: name, cmd: cmd, cancel: cancel, ctx: ctx, errs: &tail{}, done: make(chan struct{}), limit: limit}
	p.out = &boundedReader{r: stdout, left: maxOut, kill: cancel}
	go func() {
		defer close(p.done)
		br := bufio.NewReaderSize(stderr, 64<<10)
		for {
			line, err := readLine(br)
			if line != "" && (onLine == nil || !onLine(line)) {
				p.errs.add(line)
			}
			if err != nil {
				return
			}
		}
	}()
	return p, nil
}

// readLine reads one line (\n or \r ended), truncated to 4 KiB.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		c, err := br.ReadByte()
		if err != nil {
			return string(b), err
		}
		if c == '\n' || c == '\r' {
			if len(b) > 0 {
				return string(b), nil
			}
			continue
		}
		if len(b) < 4<<10 {
			b = append(b, c)
		}
	}
}

// wait ends the process (killing it if it still runs: the caller has read
// what it wanted), waits for it and its stderr, and words its failure.
// kill says whether the caller stopped early on purpose, in which case an
// exit by the kill is no error.
func (p *proc) wait(kill bool) error {
	if kill {
		p.cancel()
	}
	err := p.cmd.Wait()
	<-p.done
	defer p.cancel()
	switch {
	case p.out.over:
		return fmt.Errorf("%w (%s)", ErrTooMuchOutput, p.name)
	case kill:
		return nil
	case errors.Is(p.ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("video: %s ran past its %v time limit", p.name, p.limit)
	case p.ctx.Err() != nil:
		return p.ctx.Err()
	case err != nil:
		return fmt.Errorf("%w: %s: %v: %s", ErrDecode, p.name, err, p.errs.String())
	}
	return nil
}

// boundedReader reads at most left bytes; past that it kills the process.
type boundedReader struct {
	r    io.Reader
	left int64
	over bool
	kill func()
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Is there more? One byte says so.
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			b.over = true
			b.kill()
			return 0, ErrTooMuchOutput
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// tail keeps the last StderrTail bytes of the lines added, dropping
// FFmpeg's informational lines when it tags lines with their level.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) add(line string) {
	if strings.Contains(line, "[info] ") || strings.Contains(line, "[verbose] ") || strings.Contains(line, "[debug] ") {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, line...)
	t.buf = append(t.buf, '\n')
	if len(t.buf) > StderrTail {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-StderrTail:]...)
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(bytes.TrimSpace(t.buf))
	if s == "" {
		return "(no message)"
	}
	return strings.ReplaceAll(s, "\n", " | ")
}
