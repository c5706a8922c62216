package models

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestClassifyTransport(t *testing.T) {
	wrap := func(err error) error {
		return &url.Error{Op: "Get", URL: "https://h/x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: err}}
	}
	for _, c := range []struct {
		name      string
		err       error
		permanent bool
		says      string
	}{
		{"no such host", wrap(&net.DNSError{Err: "no such host", Name: "h", IsNotFound: true}), true, "cannot resolve host"},
		{"definite DNS failure", wrap(&net.DNSError{Err: "server misbehaving", Name: "h"}), true, "cannot resolve host"},
		{"temporary DNS failure", wrap(&net.DNSError{Err: "server misbehaving", Name: "h", IsTemporary: true}), false, ""},
		{"DNS timeout", wrap(&net.DNSError{Err: "i/o timeout", Name: "h", IsTimeout: true}), false, ""},
		{"unknown CA", &url.Error{Op: "Get", URL: "https://h/x", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, true, "certificate"},
		{"wrong host", &url.Error{Op: "Get", URL: "https://h/x", Err: x509.HostnameError{Certificate: &x509.Certificate{}, Host: "h"}}, true, "certificate"},
		{"expired", &url.Error{Op: "Get", URL: "https://h/x", Err: x509.CertificateInvalidError{Reason: x509.Expired}}, true, "certificate"},
		{"not TLS", &url.Error{Op: "Get", URL: "https://h/x", Err: tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}}, true, "does not speak TLS"},
		{"redirect loop", &url.Error{Op: "Get", URL: "https://h/x", Err: errors.New("stopped after 10 redirects")}, true, "not retried"},
		{"refused", wrap(syscall.ECONNREFUSED), false, ""},
		{"reset", wrap(syscall.ECONNRESET), false, ""},
		{"EOF", &url.Error{Op: "Get", URL: "https://h/x", Err: io.EOF}, false, ""},
		{"timeout", &url.Error{Op: "Get", URL: "https://h/x", Err: context.DeadlineExceeded}, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := classifyTransport("https://h/x", c.err)
			var ae *attemptError
			if !errors.As(err, &ae) || ae.permanent != c.permanent {
				t.Fatalf("%v: permanent %v, want %v", err, ae != nil && ae.permanent, c.permanent)
			}
			if c.permanent && (!errors.Is(err, ErrNetwork) || !strings.Contains(err.Error(), c.says)) {
				t.Fatalf("%v: want ErrNetwork saying %q", err, c.says)
			}
		})
	}
}

// An unresolvable host (.invalid never resolves, RFC 6761) stops the pull
// at once instead of backing off for half a minute, with the library's
// default client and default retry settings.
func TestPullUnresolvableHost(t *testing.T) {
	l, err := Open(t.TempDir(), &Options{BaseURL: "http://nonexistent.invalid/"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err = l.Pull(ctx, "openai/clip-vit-base-patch32")
	took := time.Since(start)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsTimeout || ctx.Err() != nil {
		t.Skipf("the resolver here does not answer for .invalid (%v); TestPullDNSFailureHermetic covers the logic", err)
	}
	if !errors.Is(err, ErrNetwork) || !strings.Contains(err.Error(), `cannot resolve host "nonexistent.invalid"`) ||
		!strings.Contains(err.Error(), "rosetta models add") {
		t.Fatalf("err = %v", err)
	}
	if took > 2*time.Second {
		t.Fatalf("took %v, want an immediate failure", took)
	}
	if ents, _ := os.ReadDir(l.Dir()); len(ents) > 1 { // at most the staging directory
		t.Fatalf("left %v", ents)
	}
}

// The same with the resolver's answer faked in the dialer, for machines
// whose resolver does not answer: exactly one attempt.
func TestPullDNSFailureHermetic(t *testing.T) {
	fm := newFixtureModel(t)
	var dials atomic.Int32
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "hub.example", IsNotFound: true}}
	}}
	l := fm.library(t, "", func(o *Options) {
		o.Client = &http.Client{Transport: tr}
		o.Backoff, o.MaxBackoff, o.Retries = time.Second, 30*time.Second, 5
	})
	start := time.Now()
	_, err := l.Pull(context.Background(), testModel)
	if !errors.Is(err, ErrNetwork) || !strings.Contains(err.Error(), "cannot resolve host") {
		t.Fatalf("err = %v", err)
	}
	if n := dials.Load(); n != 1 || time.Since(start) > 2*time.Second {
		t.Fatalf("%d dials in %v, want 1 at once", n, time.Since(start))
	}
}

// A certificate the client does not trust stops at once: one handshake.
func TestPullTLSCertificateStopsAtOnce(t *testing.T) {
	var reqs atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reqs.Add(1) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(srv.Close)
	var dials atomic.Int32
	d := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return d.DialContext(ctx, network, addr)
	}}
	fm := newFixtureModel(t)
	l := fm.library(t, "", func(o *Options) {
		o.BaseURL, o.Client = srv.URL, &http.Client{Transport: tr}
		o.Backoff, o.MaxBackoff, o.Retries = time.Second, 30*time.Second, 5
	})
	_, err := l.Pull(context.Background(), testModel)
	if !errors.Is(err, ErrNetwork) || !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), "SSL_CERT_FILE") {
		t.Fatalf("err = %v", err)
	}
	if dials.Load() != 1 || reqs.Load() != 0 {
		t.Fatalf("%d connections, %d requests; want 1 and 0", dials.Load(), reqs.Load())
	}
}

// Permanent statuses stop after one request and say why; the pull is not
// retried.
func TestPullPermanentStatuses(t *testing.T) {
	for _, c := range []struct {
		code int
		says string
	}{
		{http.StatusNotFound, "check the model name"},
		{http.StatusGone, "check the model name"},
		{http.StatusUnauthorized, EnvToken},
		{http.StatusForbidden, EnvToken},
		{http.StatusBadRequest, "not retried"},
		{http.StatusMethodNotAllowed, "not retried"},
	} {
		t.Run(fmt.Sprint(c.code), func(t *testing.T) {
			fm := newFixtureModel(t)
			fm.hub.setHook(func(w http.ResponseWriter, r *http.Request, content []byte, n int) bool {
				if strings.HasSuffix(r.URL.Path, "/model.safetensors") {
					http.Error(w, "no", c.code)
					return true
				}
				return false
			})
			l := fm.library(t, "", func(o *Options) { o.Backoff, o.MaxBackoff = time.Second, 30*time.Second })
			start := time.Now()
			_, err := l.Pull(context.Background(), testModel)
			if !errors.Is(err, ErrHTTP) || !strings.Contains(err.Error(), fmt.Sprint(c.code)) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("err = %v", err)
			}
			if q := fm.hub.requests("/model.safetensors"); len(q) != 1 || time.Since(start) > 2*time.Second {
				t.Fatalf("%d requests in %v, want 1", len(q), time.Since(start))
			}
		})
	}
}

// 429 with Retry-After waits at least that long (within MaxBackoff), then
// succeeds; a dropped connection before any response is retried.
func TestPullRetriesTransientFailures(t *testing.T) {
	fm := newFixtureModel(t)
	var mu sync.Mutex
	var at []time.Time
	fm.hub.setHook(func(w http.ResponseWriter, r *http.Request, content []byte, n int) bool {
		if !strings.HasSuffix(r.URL.Path, "/config.json") {
			return false
		}
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		switch n {
		case 0:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return true
		case 1:
			panic(http.ErrAbortHandler) // connection closed before a response
		}
		return false
	})
	l := fm.library(t, "", func(o *Options) { o.Backoff, o.MaxBackoff = time.Millisecond, 5*time.Second })
	if _, err := l.Pull(context.Background(), testModel); err != nil {
		t.Fatal(err)
	}
	fm.checkInstalled(t, l)
	if len(at) != 3 {
		t.Fatalf("%d requests for config.json, want 3", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < 900*time.Millisecond {
		t.Fatalf("retried %v after a 429 with Retry-After: 1", gap)
	}
}
