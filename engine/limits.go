package engine

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"rosetta/encoders"
)

// Limits bound the work one request and the whole server may do on media.
// Over a per-request limit is ErrTooLarge (413); when the server-wide
// budget is full a request waits up to QueueWait for room, then gets
// ErrBusy (429 with Retry-After). Zero fields take the defaults of
// DefaultLimits.
type Limits struct {
	// MaxImagePixels bounds one image's declared width×height, checked
	// before any pixel buffer is allocated (default 50 Mpx: an 8064×6048
	// 48 MP phone photo passes, 8000×8000 does not).
	MaxImagePixels int64
	// DecodePixels is the server-wide budget of decoded image pixels in
	// memory at once (default 64 Mpx, about 0.3 GB at the ~4–5 bytes a
	// decoded pixel costs). An upsert's images are decoded and encoded in
	// chunks that fit it.
	DecodePixels int64
	// MaxAudioSeconds bounds the audio of one request, all clips together
	// (default encoders.MaxAudioSeconds, 600 s); AudioSeconds is the
	// server-wide budget of audio being encoded at once (default the same).
	MaxAudioSeconds float64
	AudioSeconds    float64
	// Encodes bounds the model forward passes running at once (default
	// GOMAXPROCS).
	Encodes int
	// QueueWait is how long a request waits for budget before ErrBusy
	// (default 5 s).
	QueueWait time.Duration
}

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits {
	return Limits{
		MaxImagePixels:  50_000_000,
		DecodePixels:    64_000_000,
		MaxAudioSeconds: encoders.MaxAudioSeconds,
		AudioSeconds:    encoders.MaxAudioSeconds,
		Encodes:         runtime.GOMAXPROCS(0),
		QueueWait:       5 * time.Second,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxImagePixels <= 0 {
		l.MaxImagePixels = d.MaxImagePixels
	}
	if l.DecodePixels <= 0 {
		l.DecodePixels = d.DecodePixels
	}
	if l.MaxAudioSeconds <= 0 {
		l.MaxAudioSeconds = d.MaxAudioSeconds
	}
	if l.AudioSeconds <= 0 {
		l.AudioSeconds = d.AudioSeconds
	}
	if l.Encodes <= 0 {
		l.Encodes = d.Encodes
	}
	if l.QueueWait <= 0 {
		l.QueueWait = d.QueueWait
	}
	// One image or clip at the per-request limit must always fit.
	l.DecodePixels = max(l.DecodePixels, l.MaxImagePixels)
	l.AudioSeconds = max(l.AudioSeconds, l.MaxAudioSeconds)
	return l
}

// budget is a weighted FIFO semaphore: acquire waits, in arrival order,
// until n units are free, the wait times out or ctx ends.
type budget struct {
	what string
	mu   sync.Mutex
	cap  int64
	used int64
	q    []*waiter // FIFO
}

type waiter struct {
	n     int64
	ready chan struct{} // closed when granted
}

func newBudget(what string, capacity int64) *budget {
	return &budget{what: what, cap: capacity}
}

// acquire takes n units (n ≤ cap) and returns the function that gives
// them back. It fails with ErrBusy after wait, or with ctx's error.
func (b *budget) acquire(ctx context.Context, n int64, wait time.Duration) (func(), error) {
	if n <= 0 {
		return func() {}, nil
	}
	n = min(n, b.cap)
	b.mu.Lock()
	if len(b.q) == 0 && b.used+n <= b.cap {
		b.used += n
		b.mu.Unlock()
		return b.releaser(n), nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	b.q = append(b.q, w)
	b.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	var err error
	select {
	case <-w.ready:
		return b.releaser(n), nil
	case <-t.C:
		err = fmt.Errorf("%w: the server's %s budget stayed full for %v; retry later", ErrBusy, b.what, wait)
	case <-ctx.Done():
		err = ctx.Err()
	}
	b.mu.Lock()
	select {
	case <-w.ready: // granted while we gave up: hand it back
		b.used -= n
	default:
		for i, x := range b.q {
			if x == w {
				b.q = append(b.q[:i], b.q[i+1:]...)
				break
			}
		}
	}
	b.grantLocked()
	b.mu.Unlock()
	return nil, err
}

func (b *budget) releaser(n int64) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.used -= n
			b.grantLocked()
			b.mu.Unlock()
		})
	}
}

// grantLocked wakes waiters in order while the head fits.
func (b *budget) grantLocked() {
	for len(b.q) > 0 && b.used+b.q[0].n <= b.cap {
		w := b.q[0]
		b.q = b.q[1:]
		b.used += w.n
		close(w.ready)
	}
}

// inUse reports the units taken (for tests and stats).
func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
