package models

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Progress is told about file transfers. One Pull calls it from one
// goroutine, per attempt: Start, any number of Advance, then Finish.
type Progress interface {
	// Start begins (or, after a retry, resumes) the transfer of file:
	// have bytes are already on disk, total is the full size or -1 when
	// unknown.
	Start(model, file string, have, total int64)
	// Advance reports n more bytes written.
	Advance(n int64)
	// Finish ends the attempt: err is nil when the file is complete;
	// otherwise another attempt may follow with a new Start.
	Finish(err error)
}

// errStalled cancels an attempt that received nothing for StallTimeout.
var errStalled = errors.New("transfer stalled")

// attemptError classifies a failed attempt.
type attemptError struct {
	err        error
	permanent  bool
	retryAfter time.Duration
	notFound   bool // 404/410: optional files are skipped
}

func (e *attemptError) Error() string { return e.err.Error() }

// classifyTransport sorts an error from Client.Do (no response at all)
// into one that another attempt cannot fix, returned at once with what to
// do, and one worth retrying. Permanent: a host name the resolver says
// does not exist (or answers with a definite, non-temporary failure), a
// certificate that does not verify, a TLS handshake with something that
// does not speak TLS, a malformed URL or redirect. Retried: timeouts
// (including DNS timeouts), refused or reset connections, temporary DNS
// failures, and anything unrecognised.
func classifyTransport(u string, err error) error {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && (dnsErr.IsNotFound || !dnsErr.IsTemporary && !dnsErr.IsTimeout) {
		return permanent(tag(ErrNetwork, "%s: cannot resolve host %q: %v (not retried: check the host name, and $%s if you use a mirror; check the network and DNS settings; without internet access, download the files by hand and register them with `rosetta models add NAME --from DIR`)",
			u, dnsErr.Name, dnsErr.Err, EnvHubURL))
	}
	var (
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		verifyErr  *tls.CertificateVerificationError
		recordErr  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &verifyErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		return permanent(tag(ErrNetwork, "%s: TLS certificate not accepted: %v (not retried: a proxy that intercepts TLS needs its CA in the system trust store or $SSL_CERT_FILE; also check the system clock and the host in $%s; or download the files by hand and use `rosetta models add`)",
			u, err, EnvHubURL))
	case errors.As(err, &recordErr):
		return permanent(tag(ErrNetwork, "%s: TLS handshake failed: %v (not retried: the server does not speak TLS; check the scheme and port in $%s)", u, err, EnvHubURL))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if msg := ue.Err.Error(); strings.Contains(msg, "unsupported protocol scheme") || strings.Contains(msg, "stopped after") {
			return permanent(tag(ErrNetwork, "%s: %v (not retried)", u, err))
		}
	}
	return retryable(err)
}
func (e *attemptError) Unwrap() error { return e.err }

func retryable(err error) error { return &attemptError{err: err} }
func permanent(err error) error { return &attemptError{err: err, permanent: true} }

// transfer downloads one file into dir/NAME.part and, once it is complete
// and matches what is known of it, renames it to dir/NAME.
//
// Invariant: h has hashed exactly the first have bytes of the part file.
type transfer struct {
	l      *Library
	model  string
	file   File
	url    string
	part   string
	dst    string
	f      *os.File
	h      hash.Hash
	have   int64
	got    int64 // bytes received by this call
	resume bool  // the part file had bytes when this call started
}

// fetch downloads file f of model from url into dir. It returns the
// file's record and the number of bytes received. On cancellation the
// part file stays for a later resume; on a checksum or size mismatch it is
// removed.
func (l *Library) fetch(ctx context.Context, model, url string, f File, dir string) (ManifestFile, *transfer, error) {
	t := &transfer{
		l: l, model: model, file: f, url: url,
		part: filepath.Join(dir, f.Name+partSuffix),
		dst:  filepath.Join(dir, f.Name),
		h:    sha256.New(),
	}
	var err error
	if t.f, err = os.OpenFile(t.part, os.O_RDWR|os.O_CREATE, 0o644); err != nil {
		return ManifestFile{}, t, err
	}
	defer func() {
		if t.f != nil {
			t.f.Close()
			if fi, err := os.Stat(t.part); err == nil && fi.Size() == 0 {
				os.Remove(t.part) // nothing worth resuming
			}
		}
	}()
	if err := t.hashExisting(ctx); err != nil {
		return ManifestFile{}, t, err
	}
	failures := 0
	for {
		progressed, err := t.attempt(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ManifestFile{}, t, fmt.Errorf("%w (the partial download %s is kept; pull again to resume)", context.Cause(ctx), t.part)
		}
		var ae *attemptError
		if errors.As(err, &ae) && ae.permanent {
			return ManifestFile{}, t, ae
		}
		if progressed {
			failures = 0
		}
		failures++
		if failures > l.opt.Retries {
			return ManifestFile{}, t, fmt.Errorf("giving up after %d failed attempts: %w", failures, err)
		}
		delay := l.backoff(failures)
		if ae != nil && ae.retryAfter > delay {
			delay = min(ae.retryAfter, l.opt.MaxBackoff)
		}
		l.opt.Logger.Warn("download failed; retrying", "model", model, "file", f.Name, "have", t.have,
			"attempt", failures, "of", l.opt.Retries+1, "in", delay, "err", err)
		select {
		case <-ctx.Done():
			return ManifestFile{}, t, fmt.Errorf("%w (the partial download %s is kept; pull again to resume)", context.Cause(ctx), t.part)
		case <-time.After(delay):
		}
	}
	rec, err := t.finish()
	return rec, t, err
}

func (l *Library) backoff(failures int) time.Duration {
	d := l.opt.Backoff
	for i := 1; i < failures && d < l.opt.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, l.opt.MaxBackoff)
}

// hashExisting brings h up to date with a part file left by an earlier,
// interrupted pull.
func (t *transfer) hashExisting(ctx context.Context) error {
	fi, err := t.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return nil
	}
	if t.file.Size > 0 && fi.Size() > t.file.Size {
		return t.restart("the partial file is larger than the file")
	}
	n, err := io.Copy(t.h, &ctxReader{ctx: ctx, r: io.NewSectionReader(t.f, 0, fi.Size())})
	if err != nil {
		return fmt.Errorf("read %s: %w", t.part, err)
	}
	t.have, t.resume = n, true
	return nil
}

// restart empties the part file.
func (t *transfer) restart(why string) error {
	if t.have > 0 {
		t.l.opt.Logger.Info("restarting download from zero", "model", t.model, "file", t.file.Name, "reason", why)
	}
	if err := t.f.Truncate(0); err != nil {
		return permanent(fmt.Errorf("truncate %s: %w", t.part, err))
	}
	t.h.Reset()
	t.have = 0
	return nil
}

// attempt makes one request and appends what it receives to the part
// file. It reports whether any bytes arrived.
func (t *transfer) attempt(ctx context.Context) (progressed bool, err error) {
	opt := &t.l.opt
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var stall *time.Timer
	if opt.StallTimeout > 0 {
		stall = time.AfterFunc(opt.StallTimeout, func() { cancel(errStalled) })
		defer stall.Stop()
	}
	req, err := http.NewRequestWithContext(actx, http.MethodGet, t.url, nil)
	if err != nil {
		return false, permanent(err)
	}
	// Identity encoding: byte ranges, sizes and digests are of the file as
	// stored, and Go's transport would otherwise ask for gzip.
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("User-Agent", "rosetta-models/1")
	if opt.Token != "" {
		req.Header.Set("Authorization", "Bearer "+opt.Token)
	}
	if t.have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", t.have))
	}
	resp, err := opt.Client.Do(req)
	if err != nil {
		if context.Cause(actx) == errStalled {
			return false, retryable(fmt.Errorf("no response in %v: %w", opt.StallTimeout, errStalled))
		}
		return false, classifyTransport(t.url, err)
	}
	defer resp.Body.Close()

	total := int64(-1)
	switch code := resp.StatusCode; {
	case code == http.StatusPartialContent:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != t.have {
			if err := t.restart("unexpected Content-Range"); err != nil {
				return false, err
			}
			return false, retryable(fmt.Errorf("asked for bytes=%d-, got Content-Range %q", t.have, resp.Header.Get("Content-Range")))
		}
		total = size
	case code == http.StatusOK:
		if t.have > 0 {
			if err := t.restart("the server ignored the Range request"); err != nil {
				return false, err
			}
		}
		total = resp.ContentLength
	case code == http.StatusRequestedRangeNotSatisfiable:
		// The part file may already hold the whole file (a pull stopped
		// between the last byte and the rename).
		_, size, _ := parseContentRange(resp.Header.Get("Content-Range"))
		if size < 0 {
			size = t.file.Size
		}
		if size > 0 && size == t.have {
			return false, nil
		}
		if err := t.restart("the server rejected the range"); err != nil {
			return false, err
		}
		return false, retryable(fmt.Errorf("%s: %s for bytes=%d-", t.url, resp.Status, t.have))
	case code == http.StatusNotFound || code == http.StatusGone:
		return false, &attemptError{err: tag(ErrHTTP, "%s: %s (not retried: check the model name and revision, and $%s if you use a mirror; or download the file by hand and use `rosetta models add`)",
			t.url, resp.Status, EnvHubURL), permanent: true, notFound: true}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return false, permanent(tag(ErrHTTP, "%s: %s (not retried: a gated repository needs an access token in $%s, and its licence accepted on the hub)", t.url, resp.Status, EnvToken))
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return false, &attemptError{err: fmt.Errorf("%s: %s", t.url, resp.Status), retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	default:
		return false, permanent(tag(ErrHTTP, "%s: %s (not retried: the server refuses the request; check the model name and $%s, or download the file by hand and use `rosetta models add`)", t.url, resp.Status, EnvHubURL))
	}
	if t.file.Size > 0 && total >= 0 && total != t.file.Size {
		t.restart("size differs from the catalogue")
		return false, permanent(tag(ErrSize, "size mismatch: %s sends %d bytes, the catalogue expects %d", t.url, total, t.file.Size))
	}

	if p := opt.Progress; p != nil {
		p.Start(t.model, t.file.Name, t.have, total)
		defer func() { p.Finish(err) }()
	}
	buf := make([]byte, 1<<20)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if stall != nil {
				stall.Reset(opt.StallTimeout)
			}
			if _, err := t.f.WriteAt(buf[:n], t.have); err != nil {
				// The part file may now hold bytes h has not seen: start
				// this file again on the next pull.
				t.restart("write failed")
				return progressed, permanent(fmt.Errorf("write %s: %w", t.part, err))
			}
			t.h.Write(buf[:n])
			t.have += int64(n)
			t.got += int64(n)
			progressed = true
			if p := opt.Progress; p != nil {
				p.Advance(int64(n))
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if context.Cause(actx) == errStalled {
				rerr = fmt.Errorf("no data for %v: %w", opt.StallTimeout, errStalled)
			}
			return progressed, retryable(fmt.Errorf("%s: after %d bytes: %w", t.url, t.have, rerr))
		}
	}
	if total >= 0 && t.have != total {
		return progressed, retryable(fmt.Errorf("%s: connection ended at %d of %d bytes: %w", t.url, t.have, total, io.ErrUnexpectedEOF))
	}
	return progressed, nil
}

// finish checks the complete part file against the catalogue, syncs it and
// renames it into place. A mismatch removes it.
func (t *transfer) finish() (ManifestFile, error) {
	sum := hex.EncodeToString(t.h.Sum(nil))
	rec := ManifestFile{Name: t.file.Name, Size: t.have, SHA256: sum}
	if t.file.Size > 0 && t.have != t.file.Size {
		t.discard()
		return rec, tag(ErrSize, "size mismatch: got %d bytes, the catalogue expects %d", t.have, t.file.Size)
	}
	if t.file.SHA256 != "" {
		if !strings.EqualFold(sum, t.file.SHA256) {
			t.discard()
			return rec, tag(ErrChecksum, "sha256 mismatch: expected %s, got %s (downloaded from %s; the file was deleted)", t.file.SHA256, sum, t.url)
		}
		rec.CatalogSHA256 = true
	}
	if err := t.f.Sync(); err != nil {
		return rec, err
	}
	if err := t.f.Close(); err != nil {
		t.f = nil
		return rec, err
	}
	t.f = nil
	if err := os.Rename(t.part, t.dst); err != nil {
		return rec, err
	}
	return rec, nil
}

func (t *transfer) discard() {
	t.f.Close()
	t.f = nil
	os.Remove(t.part)
}

// parseContentRange parses "bytes START-END/SIZE" and "bytes */SIZE";
// size is -1 when given as "*".
func parseContentRange(s string) (start, size int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return -1, -1, false
	}
	rng, sz, found := strings.Cut(rest, "/")
	if !found {
		return -1, -1, false
	}
	size = -1
	if sz != "*" {
		n, err := strconv.ParseInt(sz, 10, 64)
		if err != nil || n < 0 {
			return -1, -1, false
		}
		size = n
	}
	if rng == "*" {
		return -1, size, true
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return -1, size, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start || (size >= 0 && end >= size) {
		return -1, size, false
	}
	return start, size, true
}

// parseRetryAfter reads a Retry-After header (seconds or an HTTP date).
func parseRetryAfter(s string) time.Duration {
	if s == "" {
		return 0
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(s); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// ctxReader stops reading when ctx is done (hashing large files).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// hashFile returns the size and sha256 of the file at path (following
// symbolic links).
func hashFile(ctx context.Context, path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, &ctxReader{ctx: ctx, r: f}, make([]byte, 1<<20))
	if err != nil {
		return n, "", fmt.Errorf("read %s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
