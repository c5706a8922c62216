package models

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Environment variables read for defaults.
const (
	// EnvModels names the models directory (the --models flag wins).
	EnvModels = "ROSETTA_MODELS"
	// EnvHubURL is the hub's base URL (tests and mirrors).
	EnvHubURL = "ROSETTA_HUB_URL"
	// EnvToken is a Hugging Face access token, sent for gated repos.
	EnvToken = "HF_TOKEN"
)

// DefaultHubURL is where files are fetched from by default.
const DefaultHubURL = "https://huggingface.co"

// Options configure a Library. The zero value is usable: Open fills every
// unset field with its default.
type Options struct {
	// BaseURL is the hub's base URL; a file is fetched from
	// BaseURL/{repo}/resolve/{revision}/{file}. Default $ROSETTA_HUB_URL,
	// else DefaultHubURL.
	BaseURL string
	// Token, when set, is sent as "Authorization: Bearer TOKEN" (needed for
	// gated repositories). Default $HF_TOKEN. Go's client drops it on
	// redirects to other hosts (the hub's CDN).
	Token string
	// Client makes the requests. Default: a client with connect, TLS and
	// response-header timeouts and no overall timeout (files are large;
	// StallTimeout catches transfers that hang).
	Client *http.Client
	// Catalog is the list of known checkpoints. Default Builtin().
	Catalog []Entry
	// Retries is how many consecutive failed attempts that made no
	// progress a file may have before the pull gives up. Default 5.
	// An attempt that received bytes resets the count (it resumes).
	Retries int
	// Backoff is the delay before the first retry; it doubles per retry up
	// to MaxBackoff. Defaults 1s and 30s. A server's Retry-After (429, 503)
	// is honoured up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// StallTimeout aborts (and retries) an attempt that receives no bytes
	// for this long. Default 60s.
	StallTimeout time.Duration
	// Progress, if set, is told about every file transfer.
	Progress Progress
	// Logger receives retries and other notable events. Default: discard.
	Logger *slog.Logger
}

// DefaultOptions returns the options Open uses for a nil *Options.
func DefaultOptions() Options {
	var o Options
	o.EnsureDefaults()
	return o
}

// EnsureDefaults fills unset fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.BaseURL == "" {
		o.BaseURL = os.Getenv(EnvHubURL)
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultHubURL
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.Token == "" {
		o.Token = os.Getenv(EnvToken)
	}
	if o.Client == nil {
		o.Client = defaultClient()
	}
	if o.Catalog == nil {
		o.Catalog = Builtin()
	}
	if o.Retries == 0 {
		o.Retries = 5
	}
	if o.Backoff == 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.StallTimeout == 0 {
		o.StallTimeout = 60 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every problem with the options at once.
func (o *Options) Validate() error {
	var errs []error
	if u, err := url.Parse(o.BaseURL); err != nil {
		errs = append(errs, fmt.Errorf("models: base URL: %w", err))
	} else if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("models: base URL %q must be http(s)://host[/path]", o.BaseURL))
	}
	if o.Retries < 0 {
		errs = append(errs, fmt.Errorf("models: Retries %d < 0", o.Retries))
	}
	if o.Backoff < 0 || o.MaxBackoff < 0 || o.StallTimeout < 0 {
		errs = append(errs, errors.New("models: negative Backoff, MaxBackoff or StallTimeout"))
	}
	if err := validateCatalog(o.Catalog); err != nil {
		errs = append(errs, fmt.Errorf("models: %w", err))
	}
	return errors.Join(errs...)
}

func defaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 20 * time.Second
	t.ResponseHeaderTimeout = 60 * time.Second
	return &http.Client{Transport: t}
}

// DefaultDir returns the models directory used when none is given:
// $ROSETTA_MODELS, else os.UserCacheDir()/rosetta/models.
func DefaultDir() (string, error) {
	if d := os.Getenv(EnvModels); d != "" {
		return expandHome(d), nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("models: no models directory: set --models or $%s (%w)", EnvModels, err)
	}
	return filepath.Join(c, "rosetta", "models"), nil
}

// expandHome replaces a leading "~/" by the home directory (for values the
// shell did not expand, as in --models=~/models).
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~\`) {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, p[1:])
		}
	}
	return p
}
