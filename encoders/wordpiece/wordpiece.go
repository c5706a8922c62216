// Package wordpiece is BERT's WordPiece tokenizer (transformers'
// BertTokenizer with do_lower_case=True, as BLIP's processor uses it),
// reproducing its tokens, ids and decoded text exactly.
//
// Tokenizing follows the tokenizers-backed BertTokenizer that transformers 5
// builds (BertNormalizer, BertPreTokenizer, WordPiece model, WordPiece
// decoder):
//
//   - the special tokens [CLS], [SEP], [PAD], [UNK] and [MASK] written in
//     the raw text are kept as themselves (case-sensitively, before any
//     normalisation), as transformers' added-token matching does;
//   - the rest is cleaned (U+0000, U+FFFD, invalid UTF-8 and every
//     character of category C except tab, newline and carriage return are
//     dropped; every white-space character becomes a space), CJK ideographs
//     get spaces around them, the text is NFD-decomposed with non-spacing
//     marks (Mn) removed, and lower-cased character by character;
//   - it is split on white space, each punctuation character (Unicode P*
//     or ASCII punctuation such as $ + < = > ^ ` |) becoming a word of its
//     own;
//   - each word is split greedily, longest match first, into vocabulary
//     pieces, continuation pieces carrying the "##" prefix; a word longer
//     than 100 characters, or one that cannot be covered, becomes [UNK].
//
// Encode wraps the ids as [CLS] … [SEP], truncating the text's ids so the
// whole fits maxLen and padding with [PAD] (attention mask 0), as
// tokenizer(text, padding="max_length", max_length=maxLen, truncation=True)
// does. Decode is decode(ids, skip_special_tokens=True): special and
// out-of-range ids are dropped, continuation pieces are glued to the piece
// before them, other pieces are joined with a space, and each piece gets the
// WordPiece decoder's clean-up (" ." → ".", " ," → ",", " !" → "!",
// " ?" → "?", …) applied to it alone, so "don ' t" stays as it is.
//
// Fidelity notes. Character classes come from Go's Unicode tables, so code
// points assigned in a Unicode version other than the reference's may be
// classed differently. The CJK ranges are those of the tokenizers library
// (its extension-F range starts at U+2B920, where the older pure-Python
// BasicTokenizer starts at U+2B820). Vocabulary lines are read as
// transformers does (one token per line, the line number is the id); a
// trailing carriage return is also removed.
//
// A Tokenizer is immutable once made and is safe for concurrent use.
package wordpiece

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Names of BERT's special tokens.
const (
	ClsToken  = "[CLS]"
	SepToken  = "[SEP]"
	PadToken  = "[PAD]"
	UnkToken  = "[UNK]"
	MaskToken = "[MASK]"
)

// MaxInputCharsPerWord is the longest word, in characters, that WordPiece
// splits; longer words become [UNK].
const MaxInputCharsPerWord = 100

// continuation is the prefix of pieces that continue a word.
const continuation = "##"

// VocabFile is the vocabulary's file name in a model folder.
const VocabFile = "vocab.txt"

// Tokenizer is a loaded WordPiece vocabulary. Make one with Load, LoadDir
// or New.
type Tokenizer struct {
	vocab  map[string]int
	tokens []string

	cls, sep, pad, unk, mask int

	// specials are the special tokens found in the vocabulary, matched in
	// raw text and skipped when decoding.
	specials  []string
	specialID map[int]bool
}

// Load reads a vocab.txt file.
func Load(vocabPath string) (*Tokenizer, error) {
	data, err := os.ReadFile(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("wordpiece: %w", err)
	}
	t, err := New(splitLines(data))
	if err != nil {
		return nil, fmt.Errorf("wordpiece: %s: %w", vocabPath, err)
	}
	return t, nil
}

// LoadDir reads dir/vocab.txt.
func LoadDir(dir string) (*Tokenizer, error) {
	return Load(filepath.Join(dir, VocabFile))
}

func splitLines(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	for sc.Scan() {
		// bufio.ScanLines drops "\n" and a "\r" before it.
		out = append(out, sc.Text())
	}
	return out
}

// New makes a tokenizer from a vocabulary given in id order. It must hold
// [PAD], [UNK], [CLS] and [SEP]; [MASK] is optional. A token listed twice
// maps to its last id, as transformers' load_vocab does.
func New(vocab []string) (*Tokenizer, error) {
	if len(vocab) == 0 {
		return nil, errors.New("empty vocabulary")
	}
	t := &Tokenizer{
		vocab:     make(map[string]int, len(vocab)),
		tokens:    append([]string(nil), vocab...),
		specialID: make(map[int]bool),
		mask:      -1,
	}
	for i, tok := range t.tokens {
		t.vocab[tok] = i
	}
	for _, s := range []struct {
		name     string
		dst      *int
		required bool
	}{
		{PadToken, &t.pad, true},
		{UnkToken, &t.unk, true},
		{ClsToken, &t.cls, true},
		{SepToken, &t.sep, true},
		{MaskToken, &t.mask, false},
	} {
		id, ok := t.vocab[s.name]
		if !ok {
			if s.required {
				return nil, fmt.Errorf("vocabulary has no %s token", s.name)
			}
			continue
		}
		*s.dst = id
		t.specials = append(t.specials, s.name)
		t.specialID[id] = true
	}
	return t, nil
}

// CLS returns the id of [CLS].
func (t *Tokenizer) CLS() int { return t.cls }

// SEP returns the id of [SEP].
func (t *Tokenizer) SEP() int { return t.sep }

// PAD returns the id of [PAD].
func (t *Tokenizer) PAD() int { return t.pad }

// UNK returns the id of [UNK].
func (t *Tokenizer) UNK() int { return t.unk }

// MASK returns the id of [MASK], or -1 when the vocabulary has none.
func (t *Tokenizer) MASK() int { return t.mask }

// VocabSize returns the number of ids.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// ID returns a token's id.
func (t *Tokenizer) ID(token string) (int, bool) {
	id, ok := t.vocab[token]
	return id, ok
}

// Token returns the token with an id.
func (t *Tokenizer) Token(id int) (string, bool) {
	if id < 0 || id >= len(t.tokens) {
		return "", false
	}
	return t.tokens[id], true
}

// IsSpecial reports whether id is one of the special tokens ([CLS], [SEP],
// [PAD], [UNK], [MASK]).
func (t *Tokenizer) IsSpecial(id int) bool { return t.specialID[id] }

// Tokenize returns the WordPiece tokens of text, without [CLS] and [SEP].
func (t *Tokenizer) Tokenize(text string) []string {
	var out []string
	t.each(text, func(tok string, _ int) { out = append(out, tok) })
	return out
}

// TokenIDs returns the ids of Tokenize(text), without [CLS] and [SEP].
func (t *Tokenizer) TokenIDs(text string) []int {
	var out []int
	t.each(text, func(_ string, id int) { out = append(out, id) })
	return out
}

// Encode returns [CLS] + the text's ids + [SEP], the text's ids truncated so
// the whole is at most maxLen long, then padded with [PAD] to exactly
// maxLen, and the attention mask (1 for real tokens, 0 for padding). A
// maxLen below 2 is taken as 2; maxLen <= 0 means no truncation and no
// padding.
func (t *Tokenizer) Encode(text string, maxLen int) (ids []int, mask []int) {
	ids = t.EncodeNoPad(text, maxLen)
	n := len(ids)
	if maxLen > n {
		for len(ids) < maxLen {
			ids = append(ids, t.pad)
		}
	}
	mask = make([]int, len(ids))
	for i := range n {
		mask[i] = 1
	}
	return ids, mask
}

// EncodeNoPad returns [CLS] + the text's ids + [SEP], the text's ids
// truncated so the whole is at most maxLen long (at least [CLS] and [SEP]
// are kept); maxLen <= 0 means no truncation.
func (t *Tokenizer) EncodeNoPad(text string, maxLen int) []int {
	body := t.TokenIDs(text)
	if maxLen > 0 {
		if maxLen < 2 {
			maxLen = 2
		}
		if len(body) > maxLen-2 {
			body = body[:maxLen-2]
		}
	}
	capacity := len(body) + 2
	if maxLen > capacity {
		capacity = maxLen
	}
	ids := make([]int, 0, capacity)
	ids = append(ids, t.cls)
	ids = append(ids, body...)
	return append(ids, t.sep)
}

// Decode turns ids back into text as decode(ids, skip_special_tokens=True)
// does: special and unknown ids are skipped, "##" pieces are glued to the
// piece before them and the others joined with spaces, with the WordPiece
// decoder's per-piece clean-up.
func (t *Tokenizer) Decode(ids []int) string {
	var b strings.Builder
	first := true
	for _, id := range ids {
		if id < 0 || id >= len(t.tokens) || t.specialID[id] {
			continue
		}
		tok := t.tokens[id]
		if !first {
			if rest, ok := strings.CutPrefix(tok, continuation); ok {
				tok = rest
			} else {
				tok = " " + tok
			}
		}
		first = false
		b.WriteString(cleanup(tok))
	}
	return b.String()
}

// cleanupPairs are the WordPiece decoder's replacements, applied in order.
var cleanupPairs = [][2]string{
	{" .", "."},
	{" ?", "?"},
	{" !", "!"},
	{" ,", ","},
	{" ' ", "'"},
	{" n't", "n't"},
	{" 'm", "'m"},
	{" do not", " don't"},
	{" 's", "'s"},
	{" 've", "'ve"},
	{" 're", "'re"},
}

// cleanup applies the replacements one after another, each to the result
// of the one before (a strings.Replacer would apply them in one pass).
func cleanup(s string) string {
	if !strings.Contains(s, " ") {
		return s
	}
	for _, p := range cleanupPairs {
		s = strings.ReplaceAll(s, p[0], p[1])
	}
	return s
}
