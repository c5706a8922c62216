package wordpiece

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// each calls fn with every token of text and its id, in order.
func (t *Tokenizer) each(text string, fn func(tok string, id int)) {
	var buf []byte // scratch for "##" + piece lookups
	for len(text) > 0 {
		i, name := t.nextSpecial(text)
		t.eachPlain(text[:i], fn, &buf)
		if name == "" {
			return
		}
		fn(name, t.vocab[name])
		text = text[i+len(name):]
	}
}

// nextSpecial finds the first special token written in s, returning its
// byte offset and name, or len(s) and "" when there is none.
func (t *Tokenizer) nextSpecial(s string) (int, string) {
	off := 0
	for {
		j := strings.IndexByte(s[off:], '[')
		if j < 0 {
			return len(s), ""
		}
		at := off + j
		best := ""
		for _, name := range t.specials {
			if len(name) > len(best) && strings.HasPrefix(s[at:], name) {
				best = name
			}
		}
		if best != "" {
			return at, best
		}
		off = at + 1
	}
}

// eachPlain tokenizes text holding no special token.
func (t *Tokenizer) eachPlain(text string, fn func(string, int), buf *[]byte) {
	if text == "" {
		return
	}
	s := normalize(text)
	start := -1
	flush := func(end int) {
		if start >= 0 {
			t.wordPiece(s[start:end], fn, buf)
			start = -1
		}
	}
	for i, r := range s {
		switch {
		case unicode.Is(unicode.White_Space, r):
			flush(i)
		case isPunctuation(r):
			flush(i)
			t.wordPiece(s[i:i+utf8.RuneLen(r)], fn, buf)
		default:
			if start < 0 {
				start = i
			}
		}
	}
	flush(len(s))
}

// normalize is BertNormalizer with clean_text, handle_chinese_chars,
// strip_accents and lowercase all on.
func normalize(text string) string {
	var b strings.Builder
	b.Grow(len(text) + 8)
	for _, r := range text {
		switch {
		case r == 0 || r == utf8.RuneError || isControl(r):
			// dropped (invalid UTF-8 decodes as U+FFFD)
		case isWhitespace(r):
			b.WriteByte(' ')
		case isChinese(r):
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	s := b.String()
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	s = norm.NFD.String(s)
	b.Reset()
	b.Grow(len(s))
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func isWhitespace(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.White_Space, r)
}

// isControl is category C (Cc, Cf, Co, Cs) apart from tab, newline and
// carriage return, which count as white space.
func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.Is(unicode.C, r)
}

// isChinese reports whether r is a CJK ideograph, in the ranges the
// tokenizers library uses.
func isChinese(r rune) bool {
	switch {
	case r >= 0x4E00 && r <= 0x9FFF,
		r >= 0x3400 && r <= 0x4DBF,
		r >= 0x20000 && r <= 0x2A6DF,
		r >= 0x2A700 && r <= 0x2B73F,
		r >= 0x2B740 && r <= 0x2B81F,
		r >= 0x2B920 && r <= 0x2CEAF,
		r >= 0xF900 && r <= 0xFAFF,
		r >= 0x2F800 && r <= 0x2FA1F:
		return true
	}
	return false
}

// isPunctuation is ASCII punctuation (every printable non-alphanumeric
// ASCII character but space) or Unicode category P.
func isPunctuation(r rune) bool {
	if r < utf8.RuneSelf {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.Is(unicode.P, r)
}

// wordPiece splits one word greedily, longest vocabulary piece first.
func (t *Tokenizer) wordPiece(word string, fn func(string, int), buf *[]byte) {
	if utf8.RuneCountInString(word) > MaxInputCharsPerWord {
		fn(UnkToken, t.unk)
		return
	}
	if id, ok := t.vocab[word]; ok {
		fn(word, id)
		return
	}
	type piece struct {
		tok string
		id  int
	}
	var pieces []piece
	start := 0
	for start < len(word) {
		end := len(word)
		found := false
		for end > start {
			b := (*buf)[:0]
			if start > 0 {
				b = append(b, continuation...)
			}
			b = append(b, word[start:end]...)
			*buf = b
			if id, ok := t.vocab[string(b)]; ok {
				pieces = append(pieces, piece{string(b), id})
				found = true
				break
			}
			// step back one character
			_, size := utf8.DecodeLastRuneInString(word[start:end])
			end -= size
		}
		if !found {
			fn(UnkToken, t.unk)
			return
		}
		start = end
	}
	for _, p := range pieces {
		fn(p.tok, p.id)
	}
}
