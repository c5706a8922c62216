package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"rosetta/internal/fixtures"
)

type goldenCase struct {
	Text       string `json:"text"`
	BPEIDs     []int  `json:"bpe_ids"`
	Context77  []int  `json:"context77"`
	HFInputIDs []int  `json:"hf_input_ids"`
	Decoded    string `json:"decoded"`
}

var (
	fixtureOnce sync.Once
	fixtureTok  *Tokenizer
	fixtureErr  error
)

// fixtureTokenizer loads the fixture vocabulary once per test binary.
func fixtureTokenizer(t testing.TB) (*Tokenizer, string) {
	t.Helper()
	dir := fixtures.Dir(t, "tokenizer-clip")
	fixtureOnce.Do(func() {
		fixtureTok, fixtureErr = Load(filepath.Join(dir, VocabFile), filepath.Join(dir, MergesFile))
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureTok, dir
}

func goldenCases(t testing.TB, dir string) []goldenCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("golden.json has no cases")
	}
	return g.Cases
}

func TestGolden(t *testing.T) {
	tok, dir := fixtureTokenizer(t)
	if tok.SOT() != 49406 || tok.EOT() != 49407 || tok.VocabSize() != 49408 {
		t.Fatalf("SOT/EOT/size = %d/%d/%d, want 49406/49407/49408", tok.SOT(), tok.EOT(), tok.VocabSize())
	}
	for _, c := range goldenCases(t, dir) {
		// Twice: the second pass is served from the word cache.
		for pass := 0; pass < 2; pass++ {
			if got := tok.Encode(c.Text); !slices.Equal(got, c.BPEIDs) && !(len(got) == 0 && len(c.BPEIDs) == 0) {
				t.Errorf("Encode(%q) pass %d\n got %v\nwant %v", c.Text, pass, got, c.BPEIDs)
			}
		}
		if got := tok.EncodeContext(c.Text, DefaultContextLength); !slices.Equal(got, c.Context77) {
			t.Errorf("EncodeContext(%q)\n got %v\nwant %v", c.Text, got, c.Context77)
		}
		if c.HFInputIDs != nil {
			if got := tok.EncodeContextHF(c.Text, DefaultContextLength); !slices.Equal(got, c.HFInputIDs) {
				t.Errorf("EncodeContextHF(%q)\n got %v\nwant %v", c.Text, got, c.HFInputIDs)
			}
		}
		if got := tok.Decode(c.BPEIDs); got != c.Decoded {
			t.Errorf("Decode(ids of %q) = %q, want %q", c.Text, got, c.Decoded)
		}
		if got := tok.Decode(c.Context77); got != c.Decoded && len(c.BPEIDs) <= DefaultContextLength-2 {
			t.Errorf("Decode(context77 of %q) = %q, want %q", c.Text, got, c.Decoded)
		}
	}
}
