package store

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/sys/unix"
)

// Errors of the write path. Check them with errors.Is.
var (
	// ErrDiskFull: the write was refused (nothing of it was written)
	// because the disk holding the store has less free space than
	// Options.DiskReserveBytes, or a write failed with ENOSPC. It wraps
	// the cause. Writes work again once space is freed.
	ErrDiskFull = errors.New("store: disk full")
	// ErrUnavailable: the store cannot accept or confirm writes now
	// (an I/O error, or a commit that did not finish within
	// Options.CommitTimeout). It wraps the cause. After a commit
	// timeout the write may still be applied later.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrCorrupt: a stored record could not be decoded.
	ErrCorrupt = errors.New("store: corrupt record")
)

// Defaults of Options.
const (
	// DefaultDiskReserveBytes is the free space below which writes are
	// refused with ErrDiskFull. Pebble needs room of its own after the
	// last accepted write: a WAL rotation preallocates 110 % of the
	// memtable size (4.4 MiB), up to two full memtables (2 × 4 MiB) wait
	// to be flushed to sstables of about their size, and compactions
	// write their outputs before deleting their inputs. 64 MiB covers
	// that with a wide margin; see doc.go for how it was measured.
	DefaultDiskReserveBytes = 64 << 20
	// DefaultCommitTimeout bounds how long a writer waits for its commit.
	DefaultCommitTimeout = 10 * time.Second
)

// Events counts what happened to the store since Open, for metrics.
type Events struct {
	BackgroundErrors uint64 // Pebble flush/compaction/cleanup errors (each retry counts)
	WriteStalls      uint64 // Pebble write stalls begun
	DiskSlow         uint64 // Pebble reports of slow disk operations
	DiskFullRefusals uint64 // write requests refused with ErrDiskFull
	CommitTimeouts   uint64 // writers answered ErrUnavailable after CommitTimeout
	CorruptRecords   uint64 // stored records that could not be decoded and were skipped
}

// monitor holds the health state shared by the committer, Pebble's event
// listener and Health. Every field is atomic or guarded by mu.
type monitor struct {
	dir     string
	reserve int64         // < 0: no free-space guard
	timeout time.Duration // commit timeout
	log     *slog.Logger

	bgErrors, stalls, diskSlow, refusals, timeouts, corrupt atomic.Uint64

	commitStart atomic.Int64 // unix nanos of the commit in flight, 0 when none
	stallStart  atomic.Int64 // unix nanos of the Pebble write stall in progress, 0 when none

	mu          sync.Mutex
	stallReason string
	lastErr     error     // last failed commit (not a refusal); nil after a success
	lastLog     time.Time // rate limit for repeated background errors
	suppressed  int
}

// freeBytes reports the free space available to us on m.dir's filesystem.
func (m *monitor) freeBytes() (int64, error) {
	var s unix.Statfs_t
	if err := unix.Statfs(m.dir, &s); err != nil {
		return 0, err
	}
	return int64(s.Bavail) * int64(s.Bsize), nil
}

// checkSpace refuses a write of need bytes when it would leave less than
// reserve bytes free. A failing statfs does not refuse the write.
func (m *monitor) checkSpace(need, reserve int64) error {
	if reserve < 0 {
		return nil
	}
	free, err := m.freeBytes()
	if err != nil {
		return nil
	}
	if free-need < reserve {
		return fmt.Errorf("%w: %d bytes free in %s, a %d-byte write would go below the %d-byte reserve (Options.DiskReserveBytes)",
			ErrDiskFull, free, m.dir, need, reserve)
	}
	return nil
}

// commitFailed classifies a commit error and records it for Health.
func (m *monitor) commitFailed(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		err = fmt.Errorf("%w: %w", ErrDiskFull, err)
	} else {
		err = fmt.Errorf("%w: commit: %w", ErrUnavailable, err)
	}
	m.mu.Lock()
	m.lastErr = err
	m.mu.Unlock()
	m.log.Error("store: commit failed", "err", err)
	return err
}

func (m *monitor) commitOK() {
	m.mu.Lock()
	m.lastErr = nil
	m.mu.Unlock()
}

// stalled returns ErrUnavailable while a commit, or a Pebble write stall,
// has lasted longer than the commit timeout.
func (m *monitor) stalled() error {
	now := time.Now().UnixNano()
	if s := m.commitStart.Load(); s != 0 && time.Duration(now-s) > m.timeout {
		return fmt.Errorf("%w: a commit has been in progress for %v", ErrUnavailable, time.Duration(now-s).Round(time.Millisecond))
	}
	if s := m.stallStart.Load(); s != 0 && time.Duration(now-s) > m.timeout {
		m.mu.Lock()
		reason := m.stallReason
		m.mu.Unlock()
		return fmt.Errorf("%w: pebble has stalled writes (%s) for %v", ErrUnavailable, reason, time.Duration(now-s).Round(time.Millisecond))
	}
	return nil
}

// listener forwards Pebble's background errors, stalls and slow-disk
// reports to the logger and the counters.
func (m *monitor) listener() *pebble.EventListener {
	return &pebble.EventListener{
		BackgroundError: func(err error) {
			m.bgErrors.Add(1)
			// Pebble retries a failed flush at once, so a full disk gives
			// hundreds of these a second: log the first, then a summary
			// at most every 10 s.
			m.mu.Lock()
			now := time.Now()
			if now.Sub(m.lastLog) < 10*time.Second {
				m.suppressed++
				m.mu.Unlock()
				return
			}
			n := m.suppressed
			m.lastLog, m.suppressed = now, 0
			m.mu.Unlock()
			m.log.Error("store: pebble background error", "err", err, "suppressed_since_last", n, "disk_full", errors.Is(err, syscall.ENOSPC))
		},
		WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
			m.stalls.Add(1)
			m.mu.Lock()
			m.stallReason = info.Reason
			m.mu.Unlock()
			m.stallStart.Store(time.Now().UnixNano())
			m.log.Warn("store: pebble write stall", "reason", info.Reason)
		},
		WriteStallEnd: func() {
			if s := m.stallStart.Swap(0); s != 0 {
				m.log.Info("store: pebble write stall ended", "after", time.Duration(time.Now().UnixNano()-s))
			}
		},
		DiskSlow: func(info pebble.DiskSlowInfo) {
			m.diskSlow.Add(1)
			m.log.Warn("store: slow disk", "info", info.String())
		},
	}
}

// Health returns nil while the store accepts writes, otherwise why not:
// ErrClosed, ErrDiskFull (free space below the reserve; it clears itself
// once space is freed), or ErrUnavailable (a commit or a Pebble write
// stall has lasted longer than Options.CommitTimeout, or the last commit
// failed). It is cheap (one statfs) and safe for concurrent use; a
// server's readiness probe can call it.
func (db *DB) Health() error {
	db.mu.RLock()
	closed := db.closed
	db.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	m := db.mon
	if err := m.stalled(); err != nil {
		return err
	}
	if err := m.checkSpace(0, m.reserve); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastErr
}

// Events returns the event counts since Open.
func (db *DB) Events() Events {
	m := db.mon
	return Events{
		BackgroundErrors: m.bgErrors.Load(),
		WriteStalls:      m.stalls.Load(),
		DiskSlow:         m.diskSlow.Load(),
		DiskFullRefusals: m.refusals.Load(),
		CommitTimeouts:   m.timeouts.Load(),
		CorruptRecords:   m.corrupt.Load(),
	}
}

// pebbleLogger sends Pebble's log to slog. Pebble calls Fatalf when its
// commit pipeline or MANIFEST cannot continue (for example a WAL write
// that fails with ENOSPC); it must not return, so it logs and panics,
// as Pebble's own logger exits the process.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug("pebble: " + fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error("pebble: " + fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error("pebble: fatal: " + msg)
	panic("pebble: " + msg)
}
