// Package tokenizer is CLIP's byte-level BPE tokenizer (OpenAI CLIP's
// simple_tokenizer.py, open_clip's SimpleTokenizer, transformers'
// CLIPTokenizer), reproducing their token ids exactly.
//
// Encoding cleans the text (CleanText: HTML unescaping, whitespace
// collapsing, Python's lower-casing), splits it as re.findall does with
// CLIP's pattern
//
//	<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//
// (regex module, IGNORECASE; implemented as a hand-written scanner), maps
// each piece's UTF-8 bytes through the bytes_to_unicode table and applies
// the ranked BPE merges, the last symbol of every piece carrying the "</w>"
// end-of-word suffix. Every byte has a base token in a CLIP vocabulary, so
// any text encodes without unknown tokens, exactly as in the reference; with
// a vocabulary lacking some symbol, that symbol becomes the unknown token
// (<|endoftext|>, or tokenizer.json's model.unk_token), as transformers does.
//
// Fidelity notes. ftfy.fix_text is not applied (the golden ids were made
// without ftfy, which leaves well-formed text unchanged anyway). Character
// classes come from Go's Unicode 15.0 tables, so code points first assigned
// in a later Unicode version than the reference's may classify differently.
// transformers' tokenizers-backed CLIPTokenizer also NFC-normalises and does
// not unescape HTML, so it can differ from OpenAI/open_clip on decomposed
// accents or on "&amp;"-style text; EncodeContextHF reproduces its padding
// for text where the two agree (all the golden cases).
//
// A Tokenizer is immutable after loading apart from its bounded word cache,
// and is safe for concurrent use.
package tokenizer

import (
	"fmt"
	"strings"
)

// Names of the special tokens. OpenAI CLIP and transformers spell them
// <|startoftext|> and <|endoftext|>; open_clip's SimpleTokenizer uses
// <start_of_text> and <end_of_text> (same ids, 49406 and 49407).
const (
	StartOfText = "<|startoftext|>"
	EndOfText   = "<|endoftext|>"

	openCLIPStartOfText = "<start_of_text>"
	openCLIPEndOfText   = "<end_of_text>"
)

// DefaultContextLength is the text context of every CLIP model.
const DefaultContextLength = 77

// endOfWord is the suffix BPE fuses to the last symbol of each word.
const endOfWord = "</w>"

type special struct {
	text string
	id   int
}

// Tokenizer is a loaded CLIP BPE vocabulary. Use Load, LoadTokenizerJSON,
// LoadOpenCLIPBPE or LoadDir to make one.
type Tokenizer struct {
	vocab  map[string]int
	tokens []string // id -> token ("" where the id is unused)
	known  []bool   // id is a vocabulary entry
	size   int      // largest id + 1

	merges     map[uint64]mergeInfo
	byteSym    [256]int32
	byteEndSym [256]int32

	sot, eot, unk int
	specials      []special
	specialStart  [256]bool

	decodeBytes [][]byte // id -> raw bytes of the token
	cache       *wordCache
}

// newTokenizer builds a tokenizer from a vocabulary and ranked merges
// (merges[i] has rank i; a repeated pair keeps its last rank, as the
// reference's dict does). src names the files for error messages.
func newTokenizer(vocab map[string]int, merges [][2]string, src string) (*Tokenizer, error) {
	if len(vocab) == 0 {
		return nil, fmt.Errorf("tokenizer: %s: empty vocabulary", src)
	}
	t := &Tokenizer{vocab: vocab, cache: newWordCache(DefaultCacheSize)}
	for tok, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("tokenizer: %s: token %q has negative id %d", src, tok, id)
		}
		t.size = max(t.size, id+1)
	}
	if t.size > 1<<24 {
		return nil, fmt.Errorf("tokenizer: %s: id %d out of range", src, t.size-1)
	}
	t.tokens = make([]string, t.size)
	t.known = make([]bool, t.size)
	for tok, id := range vocab {
		if t.known[id] {
			a, b := t.tokens[id], tok
			if b < a {
				a, b = b, a
			}
			return nil, fmt.Errorf("tokenizer: %s: tokens %q and %q share id %d", src, a, b, id)
		}
		t.known[id] = true
		t.tokens[id] = tok
	}

	var ok bool
	if t.sot, ok = vocab[StartOfText]; !ok {
		if t.sot, ok = vocab[openCLIPStartOfText]; !ok {
			return nil, fmt.Errorf("tokenizer: %s: no start-of-text token %s in the vocabulary", src, StartOfText)
		}
	}
	if t.eot, ok = vocab[EndOfText]; !ok {
		if t.eot, ok = vocab[openCLIPEndOfText]; !ok {
			return nil, fmt.Errorf("tokenizer: %s: no end-of-text token %s in the vocabulary", src, EndOfText)
		}
	}
	t.unk = t.eot // CLIPTokenizer's unk_token is <|endoftext|>
	for _, id := range []int{t.sot, t.eot} {
		txt := t.tokens[id]
		if !isASCII(txt) || txt == "" {
			continue
		}
		t.specials = append(t.specials, special{text: txt, id: id})
		c := txt[0]
		t.specialStart[c] = true
		if 'a' <= c && c <= 'z' {
			t.specialStart[c-'a'+'A'] = true
		} else if 'A' <= c && c <= 'Z' {
			t.specialStart[c-'A'+'a'] = true
		}
	}

	// Symbols: vocabulary ids, plus ids past the vocabulary for strings that
	// byte symbols or merges produce but the vocabulary lacks (they become
	// the unknown token only if they survive into the output).
	extra := map[string]int32{}
	sym := func(s string) int32 {
		if id, ok := vocab[s]; ok {
			return int32(id)
		}
		if id, ok := extra[s]; ok {
			return id
		}
		id := int32(t.size + len(extra))
		extra[s] = id
		return id
	}
	for b := 0; b < 256; b++ {
		ch := string(byteRunes[b])
		t.byteSym[b] = sym(ch)
		t.byteEndSym[b] = sym(ch + endOfWord)
	}
	t.merges = make(map[uint64]mergeInfo, len(merges))
	for rank, m := range merges {
		a, b := sym(m[0]), sym(m[1])
		t.merges[pairKey(a, b)] = mergeInfo{rank: int32(rank), sym: sym(m[0] + m[1])}
	}

	t.decodeBytes = make([][]byte, t.size)
	for id, tok := range t.tokens {
		if t.known[id] {
			t.decodeBytes[id] = byteDecode(tok)
		}
	}
	return t, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// outputID maps a BPE symbol to the id emitted for it.
func (t *Tokenizer) outputID(sym int32) int {
	if int(sym) < t.size && t.known[sym] {
		return int(sym)
	}
	return t.unk
}

// SOT returns the id of the start-of-text token (49406 for CLIP).
func (t *Tokenizer) SOT() int { return t.sot }

// EOT returns the id of the end-of-text token (49407 for CLIP), which also
// serves as the unknown and (transformers) padding token.
func (t *Tokenizer) EOT() int { return t.eot }

// VocabSize returns the number of token ids (largest id + 1; 49408 for CLIP).
func (t *Tokenizer) VocabSize() int { return t.size }

// ID returns the id of a vocabulary token (in its bytes_to_unicode
// spelling, e.g. "cat</w>").
func (t *Tokenizer) ID(token string) (int, bool) {
	id, ok := t.vocab[token]
	return id, ok
}

// Token returns the vocabulary token of an id.
func (t *Tokenizer) Token(id int) (string, bool) {
	if id < 0 || id >= t.size || !t.known[id] {
		return "", false
	}
	return t.tokens[id], true
}

// Vocab returns a copy of the token → id map.
func (t *Tokenizer) Vocab() map[string]int {
	m := make(map[string]int, len(t.vocab))
	for k, v := range t.vocab {
		m[k] = v
	}
	return m
}

// Encode returns the BPE ids of text, without special tokens (the
// reference's encode(text)). The text "<|startoftext|>" / "<|endoftext|>"
// (matched case-insensitively, as the reference's pattern does) encodes to
// the special id itself.
func (t *Tokenizer) Encode(text string) []int {
	return t.encodeClean(CleanText(text), nil, -1)
}

// EncodeContext returns one row of model input as OpenAI CLIP and
// open_clip build it: SOT, the first ctx-2 ids of Encode(text), EOT, then
// zeros up to ctx. ctx == 1 gives [EOT]; ctx <= 0 gives an empty row.
func (t *Tokenizer) EncodeContext(text string, ctx int) []int {
	return t.EncodeContextPad(text, ctx, 0)
}

// EncodeContextHF is EncodeContext padded with EOT instead of zeros, which
// is what transformers' CLIPTokenizer gives with padding="max_length",
// max_length=ctx, truncation=True.
func (t *Tokenizer) EncodeContextHF(text string, ctx int) []int {
	return t.EncodeContextPad(text, ctx, t.eot)
}

// EncodeContextPad is EncodeContext with pad as the padding id. Encoding
// stops once ctx-2 ids are known, so long texts cost little.
func (t *Tokenizer) EncodeContextPad(text string, ctx, pad int) []int {
	if ctx <= 0 {
		return []int{}
	}
	if ctx == 1 {
		return []int{t.eot}
	}
	row := make([]int, 1, ctx+8)
	row[0] = t.sot
	row = t.encodeClean(CleanText(text), row, ctx-1)
	if len(row) > ctx-1 {
		row = row[:ctx-1]
	}
	row = append(row, t.eot)
	for len(row) < ctx {
		row = append(row, pad)
	}
	return row[:ctx:ctx]
}

// EncodeBatch returns EncodeContext of every text: a [len(texts)][ctx] batch.
func (t *Tokenizer) EncodeBatch(texts []string, ctx int) [][]int {
	out := make([][]int, len(texts))
	for i, s := range texts {
		out[i] = t.EncodeContext(s, ctx)
	}
	return out
}

// Decode turns ids back into text as the reference decode does: the
// tokens' bytes are joined, decoded as UTF-8 (each invalid sequence
// becoming U+FFFD) and every "</w>" becomes a space, so words come out
// separated and followed by a space ("a photo of a cat "); the result is
// not stripped. SOT is dropped, the first EOT ends the text (whatever
// follows is padding), and ids outside the vocabulary are skipped.
func (t *Tokenizer) Decode(ids []int) string {
	var buf []byte
	for _, id := range ids {
		if id == t.eot {
			break
		}
		if id == t.sot || id < 0 || id >= t.size || !t.known[id] {
			continue
		}
		buf = append(buf, t.decodeBytes[id]...)
	}
	return strings.ReplaceAll(decodeUTF8Replace(buf), endOfWord, " ")
}
