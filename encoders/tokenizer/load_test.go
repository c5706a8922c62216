package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readVocab(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]int
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func checkGolden(t *testing.T, tok *Tokenizer, dir string) {
	t.Helper()
	for _, c := range goldenCases(t, dir) {
		if got := tok.EncodeContext(c.Text, DefaultContextLength); !slices.Equal(got, c.Context77) {
			t.Errorf("EncodeContext(%q)\n got %v\nwant %v", c.Text, got, c.Context77)
		}
		if got := tok.Decode(c.BPEIDs); got != c.Decoded {
			t.Errorf("Decode(ids of %q) = %q, want %q", c.Text, got, c.Decoded)
		}
	}
}

func TestLoadDirVocabMerges(t *testing.T) {
	_, dir := fixtureTokenizer(t)
	tok, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, tok, dir)
	if id, ok := tok.ID("cat</w>"); !ok || id != 2368 {
		t.Errorf(`ID("cat</w>") = %d, %v; want 2368`, id, ok)
	}
	if s, ok := tok.Token(2368); !ok || s != "cat</w>" {
		t.Errorf("Token(2368) = %q, %v", s, ok)
	}
}

// TestOpenCLIPGzip builds bpe_simple_vocab_16e6.txt.gz from the fixture
// merges (its first line is a header that SimpleTokenizer skips, as the
// real file's is) and checks that the vocabulary built from it is vocab.json.
func TestOpenCLIPGzip(t *testing.T) {
	_, dir := fixtureTokenizer(t)
	merges, err := os.ReadFile(filepath.Join(dir, MergesFile))
	if err != nil {
		t.Fatal(err)
	}
	// The real file holds more merges than SimpleTokenizer keeps: append
	// junk lines past the cut to prove they are ignored.
	var raw bytes.Buffer
	raw.Write(merges)
	for i := 0; i < 100; i++ {
		raw.WriteString("q z\n")
	}
	tmp := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw.Bytes())
	zw.Close()
	if err := os.WriteFile(filepath.Join(tmp, OpenCLIPFile), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := LoadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	want := readVocab(t, filepath.Join(dir, VocabFile))
	got := tok.Vocab()
	if !maps.Equal(got, want) {
		n := 0
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				if n++; n < 10 {
					t.Errorf("vocab[%q] = %d (present %v), vocab.json has %d", k, g, ok, v)
				}
			}
		}
		t.Fatalf("vocabulary built from the gzip differs from vocab.json (%d entries vs %d, %d differ)", len(got), len(want), n)
	}
	checkGolden(t, tok, dir)
}

func TestLoadTokenizerJSON(t *testing.T) {
	_, dir := fixtureTokenizer(t)
	vocab := readVocab(t, filepath.Join(dir, VocabFile))
	mb, err := os.ReadFile(filepath.Join(dir, MergesFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(mb)), "\n")[1:]
	for _, form := range []string{"strings", "arrays"} {
		t.Run(form, func(t *testing.T) {
			merges := make([]any, len(lines))
			for i, l := range lines {
				if form == "strings" {
					merges[i] = l
				} else {
					merges[i] = strings.Fields(l)
				}
			}
			doc := map[string]any{
				"version": "1.0",
				"added_tokens": []map[string]any{
					{"id": 49406, "content": StartOfText, "special": true},
					{"id": 49407, "content": EndOfText, "special": true},
				},
				"model": map[string]any{
					"type": "BPE", "vocab": vocab, "merges": merges,
					"end_of_word_suffix": "</w>", "unk_token": EndOfText,
				},
			}
			b, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			if err := os.WriteFile(filepath.Join(tmp, HFFile), b, 0o644); err != nil {
				t.Fatal(err)
			}
			tok, err := LoadDir(tmp)
			if err != nil {
				t.Fatal(err)
			}
			if tok.VocabSize() != 49408 || tok.SOT() != 49406 || tok.EOT() != 49407 {
				t.Fatalf("size/SOT/EOT = %d/%d/%d", tok.VocabSize(), tok.SOT(), tok.EOT())
			}
			checkGolden(t, tok, dir)
		})
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadErrors(t *testing.T) {
	tmp := t.TempDir()
	goodVocab := writeFile(t, tmp, "good_vocab.json", `{"a": 0, "b": 1, "a</w>": 2, "b</w>": 3, "ab</w>": 4, "<|startoftext|>": 5, "<|endoftext|>": 6}`)
	goodMerges := writeFile(t, tmp, "good_merges.txt", "#version: 0.2\na b</w>\n")
	if tok, err := Load(goodVocab, goodMerges); err != nil {
		t.Fatalf("tiny vocabulary: %v", err)
	} else if got := tok.Encode("ab AB"); !slices.Equal(got, []int{4, 4}) {
		t.Errorf("tiny vocabulary: Encode = %v, want [4 4]", got)
	} else if got := tok.Encode("c"); !slices.Equal(got, []int{6}) {
		// A byte with no vocabulary entry becomes the unknown token (EOT).
		t.Errorf("tiny vocabulary: Encode(c) = %v, want [6]", got)
	}

	cases := []struct {
		name  string
		load  func() error
		wants []string
	}{
		{"missing vocab", func() error { _, err := Load(filepath.Join(tmp, "nope.json"), goodMerges); return err }, []string{"nope.json"}},
		{"missing merges", func() error { _, err := Load(goodVocab, filepath.Join(tmp, "nope.txt")); return err }, []string{"nope.txt"}},
		{"malformed vocab", func() error {
			_, err := Load(writeFile(t, tmp, "bad_vocab.json", `{"a": "x"}`), goodMerges)
			return err
		}, []string{"bad_vocab.json"}},
		{"malformed merges", func() error {
			_, err := Load(goodVocab, writeFile(t, tmp, "bad_merges.txt", "#version: 0.2\na b\nabc\n"))
			return err
		}, []string{"bad_merges.txt:3", "two symbols"}},
		{"empty merges", func() error {
			_, err := Load(goodVocab, writeFile(t, tmp, "empty_merges.txt", "#version: 0.2\n"))
			return err
		}, []string{"empty_merges.txt", "no merges"}},
		{"no specials", func() error {
			_, err := Load(writeFile(t, tmp, "nospec.json", `{"a": 0, "b": 1}`), goodMerges)
			return err
		}, []string{"nospec.json", StartOfText}},
		{"shared id", func() error {
			_, err := Load(writeFile(t, tmp, "dup.json", `{"a": 0, "b": 0, "<|startoftext|>": 1, "<|endoftext|>": 2}`), goodMerges)
			return err
		}, []string{"dup.json", "share id 0"}},
		{"tokenizer.json not json", func() error {
			_, err := LoadTokenizerJSON(writeFile(t, tmp, "t1.json", `{"model": [`))
			return err
		}, []string{"t1.json", "malformed"}},
		{"tokenizer.json wordpiece", func() error {
			_, err := LoadTokenizerJSON(writeFile(t, tmp, "t2.json", `{"model": {"type": "WordPiece", "vocab": {"a": 0}}}`))
			return err
		}, []string{"t2.json", "WordPiece"}},
		{"tokenizer.json bad merge", func() error {
			_, err := LoadTokenizerJSON(writeFile(t, tmp, "t3.json", `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b", 7]}}`))
			return err
		}, []string{"t3.json", "merges[1]"}},
		{"tokenizer.json suffix", func() error {
			_, err := LoadTokenizerJSON(writeFile(t, tmp, "t4.json", `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"], "end_of_word_suffix": ""}}`))
			return err
		}, []string{"t4.json", "end_of_word_suffix"}},
		{"gzip not gzip", func() error {
			_, err := LoadOpenCLIPBPE(writeFile(t, tmp, "x.txt.gz", "plain text"))
			return err
		}, []string{"x.txt.gz", "gzip"}},
		{"empty dir", func() error { _, err := LoadDir(t.TempDir()); return err }, []string{VocabFile, HFFile, OpenCLIPFile}},
		{"dir with vocab only", func() error {
			d := t.TempDir()
			writeFile(t, d, VocabFile, `{}`)
			_, err := LoadDir(d)
			return err
		}, []string{"no " + MergesFile}},
		{"not a dir", func() error { _, err := LoadDir(goodVocab); return err }, []string{"not a directory"}},
	}
	for _, c := range cases {
		err := c.load()
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
}
