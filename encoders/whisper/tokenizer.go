package whisper

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tokenizer is Whisper's byte-level BPE (GPT-2 style; the reference's
// tiktoken "gpt2" and "multilingual" encodings) loaded from a transformers
// folder: vocab.json, merges.txt and added_tokens.json (the special and
// timestamp tokens).
//
// Encode splits text with the GPT-2 pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// (a hand-written scanner), maps each piece's UTF-8 bytes to their base
// symbols and merges the lowest-ranked adjacent pair until none is left.
// Text is never parsed for special tokens (tiktoken's encode_ordinary; the
// reference's encode refuses such text). Character classes come from Go's
// Unicode tables.
//
// A Tokenizer is immutable and safe for concurrent use.
type Tokenizer struct {
	tokens  [][]byte // id -> bytes (specials: their text)
	special []bool   // id is an added token
	ids     map[string]int
	added   map[string]int // added token text -> id
	byteID  [256]int32
	merges  map[uint64]merge

	eot, sot, timestampBegin, noTimestamps int
}

type merge struct{ rank, id int32 }

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// byteRunes is GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for
// themselves, the other bytes for U+0100 onwards in byte order.
var byteRunes, runeBytes = func() ([256]rune, map[rune]byte) {
	var br [256]rune
	rb := make(map[rune]byte, 256)
	next := rune(256)
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !(b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF) {
			r = next
			next++
		}
		br[b] = r
		rb[r] = byte(b)
	}
	return br, rb
}()

// LoadTokenizer reads vocab.json, merges.txt and added_tokens.json from
// dir.
func LoadTokenizer(dir string) (*Tokenizer, error) {
	var vocab map[string]int
	if err := readJSON(filepath.Join(dir, "vocab.json"), &vocab); err != nil {
		return nil, err
	}
	added := map[string]int{}
	if p := filepath.Join(dir, "added_tokens.json"); fileExists(p) {
		if err := readJSON(p, &added); err != nil {
			return nil, err
		}
	}
	mf, err := os.ReadFile(filepath.Join(dir, "merges.txt"))
	if err != nil {
		return nil, fmt.Errorf("whisper: %w", err)
	}
	return newTokenizer(vocab, mf, added)
}

func newTokenizer(vocab map[string]int, mergesTxt []byte, added map[string]int) (*Tokenizer, error) {
	size := 0
	for _, id := range vocab {
		size = max(size, id+1)
	}
	for _, id := range added {
		size = max(size, id+1)
	}
	if size > 1<<24 {
		return nil, fmt.Errorf("whisper: tokenizer id %d out of range", size-1)
	}
	t := &Tokenizer{tokens: make([][]byte, size), special: make([]bool, size), ids: map[string]int{}, added: added, merges: map[uint64]merge{}}
	for tok, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("whisper: vocab.json: %q has id %d", tok, id)
		}
		b := make([]byte, 0, len(tok))
		for _, r := range tok {
			c, ok := runeBytes[r]
			if !ok {
				return nil, fmt.Errorf("whisper: vocab.json: %q is not a byte-level token", tok)
			}
			b = append(b, c)
		}
		t.tokens[id] = b
		t.ids[tok] = id
	}
	for tok, id := range added {
		if id < 0 {
			return nil, fmt.Errorf("whisper: added_tokens.json: %q has id %d", tok, id)
		}
		t.tokens[id] = []byte(tok)
		t.special[id] = true
	}
	for b, r := range byteRunes {
		id, ok := t.ids[string(r)]
		if !ok {
			return nil, fmt.Errorf("whisper: vocab.json lacks the base token for byte %#x", b)
		}
		t.byteID[b] = int32(id)
	}
	sc := bufio.NewScanner(bytes.NewReader(mergesTxt))
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	rank := int32(0)
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		if s == "" || line == 1 && strings.HasPrefix(s, "#version") {
			continue
		}
		a, b, ok := strings.Cut(s, " ")
		ia, oka := t.ids[a]
		ib, okb := t.ids[b]
		im, okm := t.ids[a+b]
		if !ok || !oka || !okb || !okm {
			return nil, fmt.Errorf("whisper: merges.txt line %d: %q is not a merge of two vocabulary tokens into one", line, s)
		}
		k := pairKey(int32(ia), int32(ib))
		if _, dup := t.merges[k]; !dup {
			t.merges[k] = merge{rank: rank, id: int32(im)}
		}
		rank++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("whisper: merges.txt: %w", err)
	}
	specialID := func(name string) int {
		if id, ok := added[name]; ok {
			return id
		}
		return -1
	}
	t.eot = specialID("<|endoftext|>")
	t.sot = specialID("<|startoftranscript|>")
	t.timestampBegin = specialID("<|0.00|>")
	t.noTimestamps = specialID("<|notimestamps|>")
	if t.eot < 0 || t.sot < 0 || t.timestampBegin < 0 {
		return nil, fmt.Errorf("whisper: added_tokens.json lacks <|endoftext|>, <|startoftranscript|> or <|0.00|>")
	}
	return t, nil
}

// Size is the largest id + 1.
func (t *Tokenizer) Size() int { return len(t.tokens) }

// EOT is <|endoftext|>'s id.
func (t *Tokenizer) EOT() int { return t.eot }

// SOT is <|startoftranscript|>'s id.
func (t *Tokenizer) SOT() int { return t.sot }

// TimestampBegin is <|0.00|>'s id; every id from it on is a timestamp.
func (t *Tokenizer) TimestampBegin() int { return t.timestampBegin }

// NoTimestamps is <|notimestamps|>'s id, or -1.
func (t *Tokenizer) NoTimestamps() int { return t.noTimestamps }

// SpecialID returns an added token's id ("<|en|>", "<|transcribe|>").
func (t *Tokenizer) SpecialID(text string) (int, bool) {
	id, ok := t.added[text]
	return id, ok
}

// Encode returns text's token ids.
func (t *Tokenizer) Encode(text string) []int {
	var out []int
	var syms []int32
	for len(text) > 0 {
		n := pieceLen(text)
		syms = syms[:0]
		for i := 0; i < n; i++ {
			syms = append(syms, t.byteID[text[i]])
		}
		for _, s := range t.bpe(syms) {
			out = append(out, int(s))
		}
		text = text[n:]
	}
	return out
}

// bpe merges the lowest-ranked adjacent pair (the leftmost on ties) until
// no pair merges.
func (t *Tokenizer) bpe(syms []int32) []int32 {
	for len(syms) > 1 {
		best, at := merge{rank: -1}, -1
		for i := 0; i+1 < len(syms); i++ {
			m, ok := t.merges[pairKey(syms[i], syms[i+1])]
			if ok && (at < 0 || m.rank < best.rank) {
				best, at = m, i
			}
		}
		if at < 0 {
			break
		}
		syms[at] = best.id
		syms = append(syms[:at+1], syms[at+2:]...)
	}
	return syms
}

// Character classes of the GPT-2 pattern.
const (
	classOther = iota
	classLetter
	classNumber
	classSpace
)

func classOf(r rune) int {
	switch {
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.IsSpace(r):
		return classSpace
	}
	return classOther
}

// decodeRune is utf8.DecodeRuneInString, classing an invalid byte as
// "other" (it is neither \s, \p{L} nor \p{N}).
func decodeRune(s string) (rune, int, int) {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && n <= 1 {
		return r, 1, classOther
	}
	return r, n, classOf(r)
}

// pieceLen is the byte length of the GPT-2 pattern's first match in s
// (len(s) > 0).
func pieceLen(s string) int {
	if s[0] == '\'' {
		for _, c := range [...]string{"s", "t", "re", "ve", "m", "ll", "d"} {
			if strings.HasPrefix(s[1:], c) {
				return 1 + len(c)
			}
		}
	}
	// " ?" then a run of letters, of numbers, or of other symbols.
	i := 0
	if s[0] == ' ' {
		i = 1
	}
	if i < len(s) {
		_, n, cl := decodeRune(s[i:])
		if cl != classSpace {
			j := i + n
			for j < len(s) {
				_, m, c := decodeRune(s[j:])
				if c != cl {
					break
				}
				j += m
			}
			return j
		}
	}
	// Whitespace: \s+(?!\S), else \s+.
	var last, j int
	for j < len(s) {
		_, m, c := decodeRune(s[j:])
		if c != classSpace {
			break
		}
		last = j
		j += m
	}
	if j == len(s) || last == 0 {
		return j
	}
	return last
}

// Decode returns the text of ids without the timestamp tokens (ids ≥
// TimestampBegin), as the reference's decode: special tokens appear as
// their text, and bytes that are not valid UTF-8 become U+FFFD (Python's
// errors="replace"). Unknown ids are skipped.
func (t *Tokenizer) Decode(ids []int) string { return t.decode(ids, false) }

// DecodeWithTimestamps is Decode keeping the timestamp tokens, rendered
// as <|1.00|>.
func (t *Tokenizer) DecodeWithTimestamps(ids []int) string { return t.decode(ids, true) }

func (t *Tokenizer) decode(ids []int, timestamps bool) string {
	var b []byte
	for _, id := range ids {
		if id < 0 || id >= len(t.tokens) || (!timestamps && id >= t.timestampBegin) {
			continue
		}
		b = append(b, t.tokens[id]...)
	}
	return utf8Replace(b)
}

// utf8Replace decodes b as Python's b.decode("utf-8", errors="replace"):
// every maximal prefix of a well-formed sequence that cannot be completed,
// and every byte that cannot start one, becomes one U+FFFD.
func utf8Replace(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r != utf8.RuneError || n > 1 {
			sb.Write(b[:n])
			b = b[n:]
			continue
		}
		sb.WriteRune(utf8.RuneError)
		b = b[invalidLen(b):]
	}
	return sb.String()
}

// invalidLen is the length of the ill-formed sequence at the start of b:
// the lead byte plus the continuation bytes that could still have been
// part of a well-formed sequence (the Unicode "maximal subpart").
func invalidLen(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF) // range of the second byte
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for ; n <= need && n < len(b); n++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return n
}
