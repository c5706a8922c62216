package tokenizer

import (
	"strings"
	"testing"
)

const benchParagraph = `A tabby cat sits on the windowsill, watching the rain streak down the glass. ` +
	`Behind it, a cup of coffee cools on a saucer next to an open book; the pages flutter ` +
	`whenever the draught from the old window catches them. It's 3.14 in the afternoon, ` +
	`and the street below is empty except for a cyclist in a yellow jacket who's racing ` +
	`home before the storm gets worse. Naïve café-goers huddle under awnings & umbrellas!`

func benchTokens(b *testing.B, tok *Tokenizer, text string, fresh bool) {
	n := len(tok.Encode(text))
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if fresh {
			b.StopTimer()
			tok.cache = newWordCache(DefaultCacheSize)
			b.StartTimer()
		}
		tok.Encode(text)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkEncode: a paragraph with a warm word cache (the steady state).
func BenchmarkEncode(b *testing.B) {
	tok, _ := fixtureTokenizer(b)
	benchTokens(b, tok, benchParagraph, false)
}

// BenchmarkEncodeCold: every word goes through BPE (empty cache each time).
func BenchmarkEncodeCold(b *testing.B) {
	base, _ := fixtureTokenizer(b)
	tok := *base
	benchTokens(b, &tok, benchParagraph, true)
}

// BenchmarkEncodeContextLong: a long document truncated to 77 ids; encoding
// stops once the row is full.
func BenchmarkEncodeContextLong(b *testing.B) {
	tok, _ := fixtureTokenizer(b)
	text := strings.Repeat(benchParagraph+" ", 50)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		tok.EncodeContext(text, DefaultContextLength)
	}
}

// BenchmarkEncodeParallel: the shared cache under concurrent use.
func BenchmarkEncodeParallel(b *testing.B) {
	tok, _ := fixtureTokenizer(b)
	n := len(tok.Encode(benchParagraph))
	b.SetBytes(int64(len(benchParagraph)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok.Encode(benchParagraph)
		}
	})
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
