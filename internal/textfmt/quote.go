// Package textfmt formats client-supplied text for error messages.
package textfmt

import (
	"strconv"
	"unicode/utf8"
)

// MaxQuoted bounds how much of a client-supplied string an error message
// repeats.
const MaxQuoted = 80

// Quote quotes s for an error message, shortened (at a rune boundary)
// when it is longer than MaxQuoted bytes.
func Quote(s string) string {
	if len(s) <= MaxQuoted {
		return strconv.Quote(s)
	}
	cut := MaxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}
