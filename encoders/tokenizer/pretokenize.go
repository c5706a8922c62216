package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Character classes of CLIP's pre-tokenizer pattern
//
//	<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//
// compiled by the regex module with IGNORECASE.
const (
	clsOther  uint8 = iota // [^\s\p{L}\p{N}]
	clsSpace               // \s: skipped between matches
	clsLetter              // \p{L}
	clsNumber              // \p{N}
	clsSkip                // matched by no branch, skipped like space
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range t {
		switch {
		case asciiSpace(byte(c)):
			t[c] = clsSpace
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			t[c] = clsLetter
		case '0' <= c && c <= '9':
			t[c] = clsNumber
		default:
			t[c] = clsOther
		}
	}
	return t
}()

// classify returns the pattern class of r. The regex module's \s is the
// White_Space property (unicode.IsSpace), \p{L} and \p{N} are the general
// categories (unicode.IsLetter, unicode.IsNumber). Under IGNORECASE one
// code point matches no branch at all: U+0345 COMBINING GREEK
// YPOGEGRAMMENI (Mn) is not a letter, but it case-folds to ι, so the
// negated class [^\s\p{L}\p{N}] rejects it too; findall skips it.
func classify(r rune) uint8 {
	if r < utf8.RuneSelf {
		return asciiClass[r]
	}
	switch {
	case unicode.IsSpace(r):
		return clsSpace
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	case r == 0x345:
		return clsSkip
	}
	return clsOther
}

// contractions are tried in the pattern's order after an apostrophe.
var contractions = [...]string{"s", "t", "re", "ve", "m", "ll", "d"}

// foldRuneEq reports whether r equals the ASCII letter or symbol c under
// simple case folding (so 'ſ' matches 's', as IGNORECASE does).
func foldRuneEq(r rune, c byte) bool {
	l := rune(c)
	if r == l {
		return true
	}
	for f := unicode.SimpleFold(l); f != l; f = unicode.SimpleFold(f) {
		if f == r {
			return true
		}
	}
	return false
}

// foldPrefix returns the byte length of the prefix of s that matches the
// ASCII literal lit case-insensitively, or -1.
func foldPrefix(s, lit string) int {
	i := 0
	for k := 0; k < len(lit); k++ {
		if i >= len(s) {
			return -1
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c != lit[k] && !foldRuneEq(rune(c), lit[k]) {
				return -1
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !foldRuneEq(r, lit[k]) {
			return -1
		}
		i += n
	}
	return i
}

// encodeClean splits cleaned text the way re.findall with CLIP's pattern
// does and appends the ids of each piece to dst. With limit >= 0 it stops
// once dst holds at least limit ids.
func (t *Tokenizer) encodeClean(s string, dst []int, limit int) []int {
	var buf [heapThreshold]int32
	for i := 0; i < len(s); {
		if limit >= 0 && len(dst) >= limit {
			break
		}
		c := s[i]
		var r rune
		var size int
		if c < utf8.RuneSelf {
			r, size = rune(c), 1
		} else {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if t.specialStart[c] {
			matched := false
			for _, sp := range t.specials {
				if n := foldPrefix(s[i:], sp.text); n > 0 {
					dst = append(dst, sp.id)
					i += n
					matched = true
					break
				}
			}
			if matched {
				continue
			}
		}
		if c == '\'' {
			n := -1
			for _, ct := range contractions {
				if n = foldPrefix(s[i+1:], ct); n > 0 {
					break
				}
			}
			if n > 0 {
				dst = t.appendWord(dst, s[i:i+1+n], buf[:0])
				i += 1 + n
				continue
			}
		}
		cls := classify(r)
		switch cls {
		case clsSpace, clsSkip:
			i += size
			continue
		case clsNumber:
			dst = t.appendWord(dst, s[i:i+size], buf[:0])
			i += size
			continue
		}
		// A run of letters, or of "other" characters.
		j := i + size
		for j < len(s) {
			c := s[j]
			if c < utf8.RuneSelf {
				if asciiClass[c] != cls {
					break
				}
				j++
				continue
			}
			r, n := utf8.DecodeRuneInString(s[j:])
			if classify(r) != cls {
				break
			}
			j += n
		}
		dst = t.appendWord(dst, s[i:j], buf[:0])
		i = j
	}
	return dst
}

// appendWord appends the ids of one pre-token, through the cache.
func (t *Tokenizer) appendWord(dst []int, word string, buf []int32) []int {
	if ids, ok := t.cache.get(word); ok {
		return append(dst, ids...)
	}
	syms := t.bpe(word, buf)
	ids := make([]int, len(syms))
	for k, sym := range syms {
		ids[k] = t.outputID(sym)
	}
	t.cache.put(word, ids)
	return append(dst, ids...)
}
