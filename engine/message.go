package engine

import (
	"strings"

	"rosetta/store"
)

// sentinelPrefixes are the texts the engine's and the store's sentinel
// errors put before a message.
var sentinelPrefixes = func() []string {
	var out []string
	for _, e := range []error{ErrNotFound, ErrExists, ErrInvalid, ErrTooLarge, ErrUnsupported, ErrForbidden, ErrBusy,
		ErrNotReady, ErrUnavailable, ErrDiskFull, ErrClosed, store.ErrDiskFull, store.ErrUnavailable, store.ErrCorrupt, store.ErrFormatVersion} {
		out = append(out, e.Error()+": ")
	}
	return out
}()

// Message is err's text for a person: without the package prefixes of the
// sentinels it wraps ("store: not found: collection \"x\" not found"
// reads collection "x" not found). The HTTP API and the CLI print it.
func Message(err error) string {
	msg := err.Error()
	for _, p := range sentinelPrefixes {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return msg
}
