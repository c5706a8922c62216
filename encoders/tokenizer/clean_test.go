package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Expected values below come from Python: whitespace_clean(basic_clean(s)).lower()
// with ftfy.fix_text as the identity, and open_clip's SimpleTokenizer.encode.
func TestCleanText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"   multiple   spaces\tand\ttabs\nnewline  ", "multiple spaces and tabs newline"},
		{"A Photo", "a photo"},
		{"&amp;lt;b&amp;gt; &#8212; &nGt; &#128512;&#0;&#1;&#x110000;", "<b> — \u226b\u20d2 😀\ufffd\ufffd"},
		{"&ampx &notin &noti; &AElig &#x80; &#150 &#xD800; &#65", "&x ¬in ¬i; æ € – \ufffd a"},
		{"&#x; &#; &; & &&amp;", "&#x; &#; &; & &&"},
		{"\x1c a\x1cb \x1d", "a\x1cb"}, // str.strip removes U+001C..U+001F, \s does not match them
		{"x\u00a0\u3000y\u2028z", "x y z"},
		{"ΟΔΟΣ ΣΑΣ Σ", "οδος σας σ"}, // Final_Sigma
		{"İstanbul", "i\u0307stanbul"},
		{"ÅNGSTRÖM", "ångström"},
		{"bad \xe6\x97 utf8 \xff", "bad \ufffd utf8 \ufffd"},
	}
	for _, c := range cases {
		if got := CleanText(c.in); got != c.want {
			t.Errorf("CleanText(%+q) = %+q, want %+q", c.in, got, c.want)
		}
	}
}

func TestEncodeEdgeCases(t *testing.T) {
	tok, _ := fixtureTokenizer(t)
	cases := []struct {
		in   string
		want []int
	}{
		// Special tokens in the text are recognised, case-insensitively.
		{"<|startoftext|>a photo<|ENDOFTEXT|>", []int{49406, 320, 1125, 49407}},
		// Contractions match case-insensitively, so 'ſ counts as 's.
		{"'ſ 'S don'T", []int{6, 129, 379, 568, 847, 713}},
		// U+0345 matches no branch of the pattern under IGNORECASE: dropped.
		{"a\u0345b", []int{320, 321}},
		{"ΟΔΟΣ ΣΑΣ", []int{138, 123, 138, 112, 138, 123, 139, 480, 139, 225, 138, 109, 139, 480}},
		{"İstanbul", []int{328, 16384, 11231}},
		{"&amp;lt;b&amp;gt; &#8212; &nGt; &#128512;&#0;&#1;&#x110000;", []int{283, 321, 285, 2005, 22684, 104, 2805, 496, 12832, 47356, 39802}},
		{"\x1c a\x1cb \x1d", []int{320, 472, 321}},
		{"   ", nil},
	}
	for _, c := range cases {
		if got := tok.Encode(c.in); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("Encode(%+q) = %v, want %v", c.in, got, c.want)
		}
	}
	// Decode turns an incomplete UTF-8 sequence into one U+FFFD, as
	// bytes.decode("utf-8", errors="replace") does.
	if got := tok.Decode([]int{163, 234}); got != "\ufffd" {
		t.Errorf("Decode([163 234]) = %+q, want U+FFFD", got)
	}
	if got := tok.Decode([]int{48, 4793}); got != "Qarm " {
		t.Errorf("Decode([48 4793]) = %q", got)
	}
	// Specials are dropped, the first EOT ends the text, unknown ids skipped.
	if got := tok.Decode([]int{49406, 320, -1, 99999, 1125, 49407, 320, 0, 0}); got != "a photo " {
		t.Errorf("Decode(row) = %q", got)
	}

	row := func(ctx int) []int { return tok.EncodeContext("a photo of a cat", ctx) }
	for ctx, want := range map[int][]int{
		-1: {}, 0: {}, 1: {49407}, 2: {49406, 49407}, 3: {49406, 320, 49407},
		9: {49406, 320, 1125, 539, 320, 2368, 49407, 0, 0},
	} {
		if got := row(ctx); !slices.Equal(got, want) {
			t.Errorf("EncodeContext(ctx=%d) = %v, want %v", ctx, got, want)
		}
	}
	if got := tok.EncodeContextHF("a cat", 5); !slices.Equal(got, []int{49406, 320, 2368, 49407, 49407}) {
		t.Errorf("EncodeContextHF = %v", got)
	}
	b := tok.EncodeBatch([]string{"a", "a cat"}, 4)
	if !slices.Equal(b[0], []int{49406, 320, 49407, 0}) || !slices.Equal(b[1], []int{49406, 320, 2368, 49407}) {
		t.Errorf("EncodeBatch = %v", b)
	}
}

// TestBPEHeapMatchesScan checks the O(n log n) merge loop used for long
// words against the reference-shaped linear one.
func TestBPEHeapMatchesScan(t *testing.T) {
	tok, _ := fixtureTokenizer(t)
	rng := rand.New(rand.NewPCG(1, 2))
	alphabets := []string{"abcdefghijklmnopqrstuvwxyz", "aab", "!?.-_", "猫犬日本語中文", "éàüß", "e"}
	for i := 0; i < 3000; i++ {
		alpha := []rune(alphabets[i%len(alphabets)])
		n := 1 + rng.IntN(120)
		var sb strings.Builder
		for k := 0; k < n; k++ {
			sb.WriteRune(alpha[rng.IntN(len(alpha))])
		}
		w := sb.String()
		init := func() []int32 {
			s := make([]int32, len(w))
			for k := 0; k < len(w)-1; k++ {
				s[k] = tok.byteSym[w[k]]
			}
			s[len(w)-1] = tok.byteEndSym[w[len(w)-1]]
			return s
		}
		a := tok.bpeScan(init())
		b := tok.bpeHeap(init())
		if !slices.Equal(a, b) {
			t.Fatalf("word %q: scan %v, heap %v", w, a, b)
		}
	}
}

// TestConcurrent encodes from many goroutines with a tiny cache, so that
// hits, misses and evictions race (run with -race).
func TestConcurrent(t *testing.T) {
	base, dir := fixtureTokenizer(t)
	tok := *base
	tok.cache = newWordCache(cacheShards * 2)
	cases := goldenCases(t, dir)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for it := 0; it < 30; it++ {
				c := cases[(g+it)%len(cases)]
				if got := tok.EncodeContext(c.Text, DefaultContextLength); !slices.Equal(got, c.Context77) {
					t.Errorf("goroutine %d: EncodeContext(%q) = %v", g, c.Text, got)
					return
				}
				if got := tok.Decode(c.BPEIDs); got != c.Decoded {
					t.Errorf("goroutine %d: Decode = %q", g, got)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if n := tok.cache.len(); n > cacheShards*2 {
		t.Errorf("cache holds %d words, bound is %d", n, cacheShards*2)
	}
}
