package wordpiece

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"rosetta/internal/fixtures"
)

type goldenCase struct {
	Text          string   `json:"text"`
	Tokens        []string `json:"tokens"`
	InputIDs      []int    `json:"input_ids"`
	AttentionMask []int    `json:"attention_mask"`
	Decoded       string   `json:"decoded"`
}

const goldenMaxLen = 35

func loadBERT(t testing.TB) (*Tokenizer, string) {
	t.Helper()
	dir := fixtures.Dir(t, "tokenizer-bert")
	tok, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tok, dir
}

func goldenCases(t testing.TB, dir string) []goldenCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("golden.json has no cases")
	}
	return g.Cases
}

func TestGolden(t *testing.T) {
	tok, dir := loadBERT(t)
	for i, c := range goldenCases(t, dir) {
		got := tok.Tokenize(c.Text)
		if len(got) == 0 {
			got = []string{}
		}
		if !reflect.DeepEqual(got, c.Tokens) {
			t.Errorf("case %d %q: tokens\n got  %q\n want %q", i, c.Text, got, c.Tokens)
		}
		ids, mask := tok.Encode(c.Text, goldenMaxLen)
		if !reflect.DeepEqual(ids, c.InputIDs) {
			t.Errorf("case %d %q: ids\n got  %v\n want %v", i, c.Text, ids, c.InputIDs)
		}
		if !reflect.DeepEqual(mask, c.AttentionMask) {
			t.Errorf("case %d %q: mask\n got  %v\n want %v", i, c.Text, mask, c.AttentionMask)
		}
		n := 0
		for _, m := range c.AttentionMask {
			n += m
		}
		if np := tok.EncodeNoPad(c.Text, goldenMaxLen); !reflect.DeepEqual(np, c.InputIDs[:n]) {
			t.Errorf("case %d %q: EncodeNoPad\n got  %v\n want %v", i, c.Text, np, c.InputIDs[:n])
		}
		if d := tok.Decode(c.InputIDs); d != c.Decoded {
			t.Errorf("case %d %q: decoded\n got  %q\n want %q", i, c.Text, d, c.Decoded)
		}
	}
}

func TestSpecialIDs(t *testing.T) {
	tok, _ := loadBERT(t)
	if tok.VocabSize() != 30522 {
		t.Errorf("VocabSize = %d, want 30522", tok.VocabSize())
	}
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"PAD", tok.PAD(), 0}, {"UNK", tok.UNK(), 100}, {"CLS", tok.CLS(), 101},
		{"SEP", tok.SEP(), 102}, {"MASK", tok.MASK(), 103},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if id, ok := tok.ID("cat"); !ok || id != 4937 {
		t.Errorf(`ID("cat") = %d, %v; want 4937, true`, id, ok)
	}
	if _, ok := tok.ID("no-such-token"); ok {
		t.Error("ID found a token not in the vocabulary")
	}
	if s, ok := tok.Token(4937); !ok || s != "cat" {
		t.Errorf("Token(4937) = %q, %v", s, ok)
	}
	if _, ok := tok.Token(-1); ok {
		t.Error("Token(-1) found something")
	}
	if _, ok := tok.Token(tok.VocabSize()); ok {
		t.Error("Token(VocabSize) found something")
	}
}

func TestEdgeCases(t *testing.T) {
	tok, _ := loadBERT(t)
	long := strings.Repeat("a", MaxInputCharsPerWord+1)
	exact := strings.Repeat("a", MaxInputCharsPerWord)
	for _, c := range []struct {
		name, text string
		want       []string
	}{
		{"empty", "", nil},
		{"only spaces", " \t\n\r\u00a0\u3000 ", nil},
		{"only punctuation", "!?...,;", []string{"!", "?", ".", ".", ".", ",", ";"}},
		{"ascii symbols are punctuation", "a$b+c|d", []string{"a", "$", "b", "+", "c", "|", "d"}},
		{"unicode punctuation", "«hi»—ok…", []string{"«", "hi", "»", "—", "ok", "…"}},
		{"long word is unk", long, []string{UnkToken}},
		{"long word between others", "cat " + long + " dog", []string{"cat", UnkToken, "dog"}},
		{"100 chars is split", exact, nil}, // checked below: not [UNK]
		{"cjk split per ideograph", "中国人", []string{"中", "国", "人"}},
		{"cjk inside latin", "ab中cd", []string{"ab", "中", "cd"}},
		{"unknown ideograph", "猫", []string{UnkToken}},
		{"accents stripped", "Crème Brûlée ÅNGSTRÖM naïve", []string{"cr", "##eme", "br", "##ule", "##e", "ang", "##strom", "naive"}},
		{"decomposed accents", "cafe\u0301", []string{"cafe"}},
		{"control chars dropped", "ca\u0000t\u0007 d\u200bo\ufffdg\u0085", []string{"cat", "dog"}},
		{"invalid utf8 dropped", "ca\xfft", []string{"cat"}},
		{"whitespace kinds", "cat\u2028dog\u00a0cat\u3000dog", []string{"cat", "dog", "cat", "dog"}},
		{"upper case", "THE Cat", []string{"the", "cat"}},
		{"special tokens kept", "a [MASK] cat[SEP]", []string{"a", MaskToken, "cat", SepToken}},
		{"special tokens are case-sensitive", "[mask]", []string{"[", "mask", "]"}},
		{"unk written in text", "[UNK]", []string{UnkToken}},
		{"wordpiece continuation", "tabby", []string{"tab", "##by"}},
	} {
		got := tok.Tokenize(c.text)
		if c.name == "100 chars is split" {
			if len(got) == 0 || got[0] == UnkToken {
				t.Errorf("%s: got %q", c.name, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Tokenize(%q)\n got  %q\n want %q", c.name, c.text, got, c.want)
		}
		ids := tok.TokenIDs(c.text)
		if len(ids) != len(got) {
			t.Errorf("%s: %d ids for %d tokens", c.name, len(ids), len(got))
		}
		for i, id := range ids {
			if s, _ := tok.Token(id); s != got[i] {
				t.Errorf("%s: id %d is %q, token is %q", c.name, id, s, got[i])
			}
		}
	}
}

func TestEncodeLengths(t *testing.T) {
	tok, _ := loadBERT(t)
	ids, mask := tok.Encode("", 5)
	if want := []int{101, 102, 0, 0, 0}; !reflect.DeepEqual(ids, want) {
		t.Errorf("Encode empty = %v, want %v", ids, want)
	}
	if want := []int{1, 1, 0, 0, 0}; !reflect.DeepEqual(mask, want) {
		t.Errorf("mask = %v, want %v", mask, want)
	}
	ids, mask = tok.Encode("a cat", 0)
	if want := []int{101, 1037, 4937, 102}; !reflect.DeepEqual(ids, want) || len(mask) != 4 {
		t.Errorf("Encode(maxLen 0) = %v %v, want %v", ids, mask, want)
	}
	ids, _ = tok.Encode("a cat", 1)
	if want := []int{101, 102}; !reflect.DeepEqual(ids, want) {
		t.Errorf("Encode(maxLen 1) = %v, want %v", ids, want)
	}
	ids, _ = tok.Encode("a cat", 3)
	if want := []int{101, 1037, 102}; !reflect.DeepEqual(ids, want) {
		t.Errorf("Encode(maxLen 3) = %v, want %v", ids, want)
	}
	if got := tok.EncodeNoPad("a cat sat", 0); len(got) != 5 {
		t.Errorf("EncodeNoPad(maxLen 0) = %v", got)
	}
}

func TestDecode(t *testing.T) {
	tok, _ := loadBERT(t)
	enc := func(s string) []int { return tok.EncodeNoPad(s, 0) }
	for _, c := range []struct{ text, want string }{
		{"Hello, World! How are you?", "hello, world! how are you?"},
		{"tabby cat.", "tabby cat."},
		{"don't", "don ' t"},
		{"[MASK] cat", "cat"},
		{"", ""},
	} {
		if got := tok.Decode(enc(c.text)); got != c.want {
			t.Errorf("Decode(Encode(%q)) = %q, want %q", c.text, got, c.want)
		}
	}
	// Unknown ids are skipped; a leading continuation piece keeps its "##".
	by, _ := tok.ID("##by")
	if got := tok.Decode([]int{-5, by, 1 << 30, 4937}); got != "##by cat" {
		t.Errorf("Decode = %q", got)
	}
}

func TestCleanup(t *testing.T) {
	for in, want := range map[string]string{
		" .":       ".",
		" ' ":      "'",
		" do not":  " don't",
		"plain":    "plain",
		" n't":     "n't",
		" 're":     "'re",
		" x , y ?": " x, y?",
	} {
		if got := cleanup(in); got != want {
			t.Errorf("cleanup(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewAndLoad(t *testing.T) {
	if _, err := New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
	if _, err := New([]string{"[PAD]", "[UNK]", "[CLS]"}); err == nil {
		t.Error("New without [SEP] succeeded")
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.txt")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
	dir := t.TempDir()
	vocab := "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nun\r\n##aff\r\n##able\r\n,\r\n"
	if err := os.WriteFile(filepath.Join(dir, VocabFile), []byte(vocab), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 8 || tok.MASK() != -1 {
		t.Errorf("VocabSize %d MASK %d", tok.VocabSize(), tok.MASK())
	}
	got := tok.Tokenize("UNAFFABLE, unaffx")
	if want := []string{"un", "##aff", "##able", ",", UnkToken}; !reflect.DeepEqual(got, want) {
		t.Errorf("Tokenize = %q, want %q", got, want)
	}
	if d := tok.Decode(tok.EncodeNoPad("unaffable , un", 0)); d != "unaffable, un" {
		t.Errorf("Decode = %q", d)
	}
}

func TestConcurrent(t *testing.T) {
	tok, dir := loadBERT(t)
	cases := goldenCases(t, dir)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				c := cases[(g+i)%len(cases)]
				ids, _ := tok.Encode(c.Text, goldenMaxLen)
				if !reflect.DeepEqual(ids, c.InputIDs) {
					t.Errorf("concurrent Encode(%q) differs", c.Text)
					return
				}
				if d := tok.Decode(ids); d != c.Decoded {
					t.Errorf("concurrent Decode differs: %q", d)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkEncode(b *testing.B) {
	tok, _ := loadBERT(b)
	text := "naïve café—crème brûlée, 3.14 dollars & 10% off; a photo of a tabby cat on a launchpad"
	b.ReportAllocs()
	for b.Loop() {
		tok.Encode(text, goldenMaxLen)
	}
}
