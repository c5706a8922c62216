package whisper

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

func goldenJSON(t *testing.T, dir string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

var (
	tokOnce sync.Once
	tokVal  *Tokenizer
	tokErr  error
)

func loadTokenizer(t *testing.T) *Tokenizer {
	t.Helper()
	dir, _ := golden(t)
	tokOnce.Do(func() { tokVal, tokErr = LoadTokenizer(dir) })
	if tokErr != nil {
		t.Fatal(tokErr)
	}
	return tokVal
}

func TestTokenizerGolden(t *testing.T) {
	tok := loadTokenizer(t)
	dir, _ := golden(t)
	var g struct {
		Special struct {
			EOT            int `json:"eot"`
			SOT            int `json:"sot"`
			NoTimestamps   int `json:"no_timestamps"`
			TimestampBegin int `json:"timestamp_begin"`
		} `json:"special_tokens"`
		Cases []struct {
			Text    string `json:"text"`
			IDs     []int  `json:"ids"`
			Decoded string `json:"decoded"`
		} `json:"tokenizer_cases"`
		DecodeCases []struct {
			IDs                  []int  `json:"ids"`
			Decode               string `json:"decode"`
			DecodeWithTimestamps string `json:"decode_with_timestamps"`
		} `json:"decode_cases"`
	}
	goldenJSON(t, dir, &g)
	if len(g.Cases) == 0 || len(g.DecodeCases) == 0 {
		t.Fatal("golden.json has no tokenizer cases")
	}
	if tok.EOT() != g.Special.EOT || tok.SOT() != g.Special.SOT || tok.NoTimestamps() != g.Special.NoTimestamps || tok.TimestampBegin() != g.Special.TimestampBegin {
		t.Errorf("specials eot %d sot %d notimestamps %d timestamp_begin %d, want %+v", tok.EOT(), tok.SOT(), tok.NoTimestamps(), tok.TimestampBegin(), g.Special)
	}
	for _, c := range g.Cases {
		if got := tok.Encode(c.Text); !slices.Equal(got, c.IDs) {
			t.Errorf("Encode(%q) = %v, want %v", c.Text, got, c.IDs)
		}
		if got := tok.Decode(c.IDs); got != c.Decoded {
			t.Errorf("Decode(%v) = %q, want %q", c.IDs, got, c.Decoded)
		}
	}
	for _, c := range g.DecodeCases {
		if got := tok.Decode(c.IDs); got != c.Decode {
			t.Errorf("Decode(%v) = %q, want %q", c.IDs, got, c.Decode)
		}
		if got := tok.DecodeWithTimestamps(c.IDs); got != c.DecodeWithTimestamps {
			t.Errorf("DecodeWithTimestamps(%v) = %q, want %q", c.IDs, got, c.DecodeWithTimestamps)
		}
	}
}

func TestPieces(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"it's we'll 'sx", []string{"it", "'s", " we", "'ll", " '", "sx"}},
		{"   three", []string{"  ", " three"}},
		{"a  \n\n b ", []string{"a", "  \n\n", " b", " "}},
		{"\ttabs", []string{"\t", "tabs"}},
		{"3.14 1,000", []string{"3", ".", "14", " 1", ",", "000"}},
		{"x <<♪♪>> [m]", []string{"x", " <<♪♪>>", " [", "m", "]"}},
		{"日本語です。", []string{"日本語です", "。"}},
		{"a\xffb", []string{"a", "\xff", "b"}},
	} {
		var got []string
		for s := c.in; len(s) > 0; {
			n := pieceLen(s)
			got = append(got, s[:n])
			s = s[n:]
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("pieces(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestUTF8Replace(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"abc", "abc"},
		{"\xe6\x97", "\ufffd"},                 // truncated 3-byte sequence: one U+FFFD
		{"\xe6\x97x", "\ufffdx"},               // ... followed by ASCII
		{"\xff\xfe", "\ufffd\ufffd"},           // bytes that start nothing
		{"\xed\xa0\x80", "\ufffd\ufffd\ufffd"}, // a surrogate: ED A0 is not well-formed
		{"\xf0\x9f\x98", "\ufffd"},
		{"\x80é", "\ufffdé"},
	} {
		if got := utf8Replace([]byte(c.in)); got != c.want {
			t.Errorf("utf8Replace(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzTokenizerRoundTrip(f *testing.F) {
	for _, s := range []string{"Hello world", "   x\n\n y ", "naïve 日本 🎉", "a\xffb\xe6\x97", "'s'S'll"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok := loadTokenizer(t)
		ids := tok.Encode(s)
		for _, id := range ids {
			if id < 0 || id >= tok.TimestampBegin() || tok.special[id] {
				t.Fatalf("Encode(%q) gave id %d", s, id)
			}
		}
		if got, want := tok.Decode(ids), utf8Replace([]byte(s)); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q, want %q", s, got, want)
		}
	})
}
