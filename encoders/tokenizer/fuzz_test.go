package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzEncode checks that encoding never panics, that every id is in the
// vocabulary and rows have the asked length, and the round trip: decoding
// the ids gives back the cleaned text, up to the spaces that "</w>"
// becomes. The round trip holds whenever the cleaned text has no special
// token spelling ("<|" could start one), no literal "</w>", and no U+0345
// (which the pattern drops).
func FuzzEncode(f *testing.F) {
	tok, dir := fixtureTokenizer(f)
	for _, c := range goldenCases(f, dir) {
		f.Add(c.Text)
	}
	for _, s := range []string{"&amp;lt;", "'ſ 'S don'T", "a\u0345b", "ΟΔΟΣ", "İ", "\xe6\x97", "<|endoftext|>", strings.Repeat("abc", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		for _, id := range ids {
			if id < 0 || id >= tok.VocabSize() {
				t.Fatalf("Encode(%+q): id %d out of range", s, id)
			}
		}
		row := tok.EncodeContext(s, DefaultContextLength)
		if len(row) != DefaultContextLength || row[0] != tok.SOT() {
			t.Fatalf("EncodeContext(%+q) = %v", s, row)
		}
		n := min(len(ids), DefaultContextLength-2)
		for i := 0; i < n; i++ {
			if row[i+1] != ids[i] {
				t.Fatalf("EncodeContext(%+q) = %v does not start with Encode = %v", s, row, ids)
			}
		}
		if row[n+1] != tok.EOT() {
			t.Fatalf("EncodeContext(%+q) = %v: no EOT after %d ids", s, row, n)
		}
		dec := tok.Decode(ids)
		if !utf8.ValidString(dec) {
			t.Fatalf("Decode(Encode(%+q)) = %+q is not valid UTF-8", s, dec)
		}
		clean := CleanText(s)
		if strings.Contains(clean, "<|") || strings.Contains(clean, "</w>") || strings.ContainsRune(clean, 0x345) {
			return
		}
		noSpace := func(x string) string { return strings.ReplaceAll(x, " ", "") }
		if noSpace(dec) != noSpace(clean) {
			t.Fatalf("round trip of %+q: cleaned %+q, decoded %+q", s, clean, dec)
		}
		if len(ids) > 0 && !strings.HasSuffix(dec, " ") {
			t.Fatalf("Decode(Encode(%+q)) = %+q: want a trailing space", s, dec)
		}
	})
}
