package wordpiece

import (
	"testing"
	"unicode/utf8"

	"rosetta/internal/fixtures"
)

// smallVocab is a toy vocabulary for fuzzing without fixtures.
var smallVocab = []string{
	"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
	"a", "b", "c", "ab", "##a", "##b", "##c", "##bc", "中", ".", ",", "!", "e", "##é",
}

func fuzzTokenizers(f *testing.F) []*Tokenizer {
	small, err := New(smallVocab)
	if err != nil {
		f.Fatal(err)
	}
	out := []*Tokenizer{small}
	if fixtures.Root() != "" {
		if bert, err := LoadDir(fixtures.Dir(f, "tokenizer-bert")); err == nil {
			out = append(out, bert)
		} else {
			f.Fatal(err)
		}
	}
	return out
}

func FuzzTokenize(f *testing.F) {
	for _, s := range []string{
		"", "a cat", "naïve café—crème", "中文 猫", "[MASK][CLS]x[SEP", "\x00\xff\ufffd\u200b",
		"abcabc!!", "I'm sure it's", "   multiple   spaces\tand\ttabs\nnewline  ",
	} {
		f.Add(s, 35)
	}
	toks := fuzzTokenizers(f)
	f.Fuzz(func(t *testing.T, text string, maxLen int) {
		maxLen %= 600
		for _, tok := range toks {
			toks := tok.Tokenize(text)
			ids := tok.TokenIDs(text)
			if len(toks) != len(ids) {
				t.Fatalf("%d tokens, %d ids", len(toks), len(ids))
			}
			for i, id := range ids {
				if id < 0 || id >= tok.VocabSize() {
					t.Fatalf("id %d out of range", id)
				}
				if s, _ := tok.Token(id); s != toks[i] {
					t.Fatalf("id %d is %q, token %q", id, s, toks[i])
				}
				if !utf8.ValidString(toks[i]) || toks[i] == "" {
					t.Fatalf("bad token %q", toks[i])
				}
			}
			enc, mask := tok.Encode(text, maxLen)
			if len(enc) != len(mask) {
				t.Fatalf("%d ids, %d mask", len(enc), len(mask))
			}
			if maxLen >= 2 && len(enc) != maxLen {
				t.Fatalf("Encode length %d, want %d", len(enc), maxLen)
			}
			if enc[0] != tok.CLS() {
				t.Fatalf("first id %d", enc[0])
			}
			for _, id := range enc {
				if id < 0 || id >= tok.VocabSize() {
					t.Fatalf("id %d out of range", id)
				}
			}
			np := tok.EncodeNoPad(text, maxLen)
			for i, id := range np {
				if enc[i] != id || mask[i] != 1 {
					t.Fatalf("EncodeNoPad differs from Encode at %d", i)
				}
			}
			if d := tok.Decode(enc); !utf8.ValidString(d) {
				t.Fatalf("Decode gave invalid UTF-8 %q", d)
			}
		}
	})
}
