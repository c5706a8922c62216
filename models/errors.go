package models

import (
	"errors"
	"fmt"
)

var (
	// ErrUnknownModel is returned for a name that is neither in the
	// catalogue nor installed (pulled or added) in the models directory.
	ErrUnknownModel = errors.New("models: unknown model")

	// ErrNotInstalled is returned by Resolve for a catalogue model that has
	// not been pulled yet; the error text says what to run or download.
	ErrNotInstalled = errors.New("models: model not installed")

	// ErrNoDirectory is returned by Resolve for a path that does not exist.
	ErrNoDirectory = errors.New("models: model directory not found")

	// ErrChecksum is returned when a file's sha256 differs from the one
	// the catalogue or manifest records.
	ErrChecksum = errors.New("models: sha256 mismatch")

	// ErrSize is returned when a file's size differs from the known size.
	ErrSize = errors.New("models: size mismatch")

	// ErrLayout is returned when a directory does not look like a model in
	// a known checkpoint layout.
	ErrLayout = errors.New("models: not a model directory")

	// ErrMismatch is returned by Add, and wrapped by Verify's error, for a
	// directory whose config files say it is not the checkpoint its
	// catalogue entry describes (another family, layout or embedding
	// dimension, or without the tokenizer files the entry lists).
	ErrMismatch = errors.New("models: model does not match its catalogue entry")

	// ErrExists is returned when a model is already installed.
	ErrExists = errors.New("models: model already installed")

	// ErrNoManifest is returned for a model directory without a manifest
	// (files put there by hand).
	ErrNoManifest = errors.New("models: no manifest")

	// ErrBusy is returned when another process is pulling the same model.
	ErrBusy = errors.New("models: another pull of this model is in progress")

	// ErrVerify is returned by Verify when at least one file fails.
	ErrVerify = errors.New("models: verification failed")

	// ErrNetwork is wrapped by errors for failures to reach the hub that
	// are not retried: a host name that does not resolve, a TLS
	// certificate that does not verify, a server that does not speak TLS.
	ErrNetwork = errors.New("models: cannot reach the hub")

	// ErrHTTP is wrapped by errors for HTTP responses that are not retried
	// (404, 410, 401, 403 and other 4xx but 408 and 429).
	ErrHTTP = errors.New("models: download failed")
)

// tagged is an error whose text is msg alone and that matches its
// sentinels with errors.Is: callers that add their own "models: pull NAME:
// FILE:" context then do not repeat the sentinels' text.
type tagged struct {
	sentinels []error
	msg       string
}

func (e *tagged) Error() string   { return e.msg }
func (e *tagged) Unwrap() []error { return e.sentinels }

// tag formats an error that matches sentinel (format must not use %w).
func tag(sentinel error, format string, args ...any) error {
	return &tagged{sentinels: []error{sentinel}, msg: fmt.Sprintf(format, args...)}
}

// tags formats an error that matches every one of sentinels.
func tags(sentinels []error, format string, args ...any) error {
	return &tagged{sentinels: sentinels, msg: fmt.Sprintf(format, args...)}
}
