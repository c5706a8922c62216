package tokenizer

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CleanText applies CLIP's text clean-up, as the reference tokenizers do
// before splitting:
//
//	whitespace_clean(basic_clean(text)).lower()
//	basic_clean      = ftfy.fix_text, html.unescape twice, str.strip
//	whitespace_clean = re.sub(r"\s+", " ", text).strip()
//
// ftfy.fix_text is not applied (the golden fixtures were produced with
// fix_text as the identity, as on any machine without ftfy; it only changes
// mojibake and other damaged text). Every other step reproduces Python's
// exact semantics:
//
//   - html.unescape: HTML5 named references (with the legacy
//     semicolon-less forms and longest-prefix matching), numeric references
//     with the Windows-1252 remapping of 0x80–0x9F, U+FFFD for 0, surrogates
//     and values above U+10FFFF, and removal of the code points Python deems
//     invalid (controls, noncharacters);
//   - str.strip removes the characters for which str.isspace is true (the
//     Unicode White_Space set plus U+001C–U+001F);
//   - \s of the regex module is Unicode White_Space (unicode.IsSpace);
//   - str.lower is the full lower-case mapping: U+0130 becomes "i̇" and
//     capital sigma becomes final ς where Unicode's Final_Sigma rule says so.
//
// Input that is not valid UTF-8 is first decoded as Python's
// bytes.decode("utf-8", errors="replace") would (one U+FFFD per maximal
// ill-formed subsequence).
func CleanText(text string) string {
	if !utf8.ValidString(text) {
		text = decodeUTF8Replace([]byte(text))
	}
	text = unescapeHTML(unescapeHTML(text))
	text = collapseSpace(pyStrip(text))
	return pyLower(pyStrip(text))
}

// isPySpace reports whether Python's str.isspace is true for r.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// pyStrip is Python's str.strip() with no argument.
func pyStrip(s string) string {
	return strings.TrimFunc(s, isPySpace)
}

// collapseSpace replaces every run of White_Space characters by one space
// (re.sub(r"\s+", " ", s) with the regex module).
func collapseSpace(s string) string {
	// Fast path: nothing to do when no whitespace other than lone spaces.
	clean := true
	prevSpace := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			sp := asciiSpace(c)
			if sp && (c != ' ' || prevSpace) {
				clean = false
				break
			}
			prevSpace = sp
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			clean = false
			break
		}
		prevSpace = false
		i += n
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	inSpace := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			if !inSpace {
				b.WriteByte(' ')
				inSpace = true
			}
			continue
		}
		inSpace = false
		b.WriteRune(r)
	}
	return b.String()
}

func asciiSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// pyLower is Python's str.lower().
func pyLower(s string) string {
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
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i, r := range s {
		switch {
		case r < utf8.RuneSelf:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteByte(byte(r))
		case r == 0x130: // LATIN CAPITAL LETTER I WITH DOT ABOVE: SpecialCasing
			b.WriteString("i\u0307")
		case r == 0x3a3: // GREEK CAPITAL LETTER SIGMA
			if finalSigma(s[:i], s[i+len("\u03a3"):]) {
				b.WriteRune(0x3c2)
			} else {
				b.WriteRune(0x3c3)
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma reports whether a capital sigma between before and after is
// in the Final_Sigma context:
// \p{cased}\p{case-ignorable}* Σ !(\p{case-ignorable}*\p{cased}).
func finalSigma(before, after string) bool {
	for {
		r, n := utf8.DecodeLastRuneInString(before)
		if n == 0 {
			return false
		}
		before = before[:len(before)-n]
		if isCaseIgnorable(r) {
			continue
		}
		if !isCased(r) {
			return false
		}
		break
	}
	for _, r := range after {
		if !isCaseIgnorable(r) {
			return !isCased(r)
		}
	}
	return true
}

// isCased is the Unicode Cased property: Lowercase, Uppercase or Lt.
func isCased(r rune) bool {
	return unicode.In(r, unicode.Ll, unicode.Lu, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// isCaseIgnorable is the Unicode Case_Ignorable property: Mn, Me, Cf, Lm,
// Sk, or Word_Break MidLetter, MidNumLet or Single_Quote.
func isCaseIgnorable(r rune) bool {
	switch r {
	case 0x27, 0x2e, 0x3a, 0xb7, 0x387, 0x55f, 0x5f4, 0x2018, 0x2019, 0x2024,
		0x2027, 0xfe13, 0xfe52, 0xfe55, 0xff07, 0xff0e, 0xff1a:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// unescapeHTML is Python's html.unescape.
func unescapeHTML(s string) string {
	i := strings.IndexByte(s, '&')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for i < len(s) {
		if s[i] != '&' {
			j := strings.IndexByte(s[i:], '&')
			if j < 0 {
				b.WriteString(s[i:])
				break
			}
			b.WriteString(s[i : i+j])
			i += j
			continue
		}
		// s[i] == '&'
		if i+1 < len(s) && s[i+1] == '#' {
			n, end, ok := numericRef(s, i+2)
			if !ok {
				b.WriteByte('&')
				i++
				continue
			}
			if r, keep := charRefRune(n); keep {
				b.WriteRune(r)
			}
			i = end
			continue
		}
		// Named reference. Python's pattern takes up to 32 characters of
		// [^\t\n\f <&#;] plus an optional ';' and looks the name up (exactly,
		// then by its longest prefix) in the HTML5 table. Entity names are
		// ASCII alphanumerics, so only the alphanumeric run can ever match;
		// Go's html package holds the same WHATWG table and applies the same
		// exact-then-longest-legacy-prefix rule to "&"+run(+";"), except
		// that it omits "&nLt;" and "&nGt;".
		j := i + 1
		for j < len(s) && isAlnum(s[j]) {
			j++
		}
		if j == i+1 {
			b.WriteByte('&')
			i++
			continue
		}
		if j < len(s) && s[j] == ';' {
			j++
		}
		switch name := s[i+1 : j]; name {
		case "nLt;": // the two references Go's table leaves out
			b.WriteString("\u226a\u20d2")
		case "nGt;":
			b.WriteString("\u226b\u20d2")
		default:
			b.WriteString(html.UnescapeString(s[i:j]))
		}
		i = j
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// numericRef parses the digits of "&#…" starting at s[i] (just after "#"):
// "[0-9]+;?" or "[xX][0-9a-fA-F]+;?". Values above U+10FFFF saturate.
func numericRef(s string, i int) (n int, end int, ok bool) {
	const big = 0x110000
	if i < len(s) && (s[i] == 'x' || s[i] == 'X') && i+1 < len(s) && isHexDigit(s[i+1]) {
		i++
		for i < len(s) && isHexDigit(s[i]) {
			c := s[i]
			var d int
			switch {
			case c <= '9':
				d = int(c - '0')
			case c >= 'a':
				d = int(c-'a') + 10
			default:
				d = int(c-'A') + 10
			}
			if n < big {
				n = n*16 + d
			}
			i++
		}
	} else if i < len(s) && '0' <= s[i] && s[i] <= '9' {
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			if n < big {
				n = n*10 + int(s[i]-'0')
			}
			i++
		}
	} else {
		return 0, 0, false
	}
	if i < len(s) && s[i] == ';' {
		i++
	}
	return n, i, true
}

// cp1252 maps numeric references 0x80–0x9F as the HTML5 spec (and Python's
// _invalid_charrefs table) does; 0 marks the five that map to themselves.
var cp1252 = [32]rune{
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
}

// charRefRune maps a numeric character reference value to what Python's
// html.unescape produces: a rune, or nothing (keep == false).
func charRefRune(n int) (r rune, keep bool) {
	switch {
	case n == 0:
		return utf8.RuneError, true
	case n == 0x0d:
		return '\r', true
	case n >= 0x80 && n <= 0x9f:
		if m := cp1252[n-0x80]; m != 0 {
			return m, true
		}
		return rune(n), true
	case n >= 0xd800 && n <= 0xdfff, n > 0x10ffff:
		return utf8.RuneError, true
	case n >= 0x1 && n <= 0x8, n == 0xb, n >= 0xe && n <= 0x1f, n >= 0x7f && n <= 0x9f,
		n >= 0xfdd0 && n <= 0xfdef, n&0xfffe == 0xfffe:
		return 0, false
	}
	return rune(n), true
}

// decodeUTF8Replace decodes b as Python's bytes.decode("utf-8",
// errors="replace"): each maximal ill-formed subsequence becomes one U+FFFD.
func decodeUTF8Replace(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			sb.WriteByte(c)
			i++
			continue
		}
		var need int
		lo, hi := byte(0x80), byte(0xbf)
		switch {
		case c >= 0xc2 && c <= 0xdf:
			need = 1
		case c == 0xe0:
			need, lo = 2, 0xa0
		case c == 0xed:
			need, hi = 2, 0x9f
		case c >= 0xe1 && c <= 0xef:
			need = 2
		case c == 0xf0:
			need, lo = 3, 0x90
		case c == 0xf4:
			need, hi = 3, 0x8f
		case c >= 0xf1 && c <= 0xf3:
			need = 3
		default:
			sb.WriteRune(utf8.RuneError)
			i++
			continue
		}
		j := i + 1
		ok := true
		for k := 0; k < need; k++ {
			if j >= len(b) || b[j] < lo || b[j] > hi {
				ok = false
				break
			}
			lo, hi = 0x80, 0xbf
			j++
		}
		if ok {
			sb.Write(b[i:j])
		} else {
			sb.WriteRune(utf8.RuneError)
		}
		i = j
	}
	return sb.String()
}
