package textindex

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/registry"

	// The analyzers a collection can name: bleve's languages (each
	// registers itself), plus its standard (no stemming) and simple
	// (letters, lower-cased) analyzers.
	_ "github.com/blevesearch/bleve/v2/analysis/analyzer/simple"
	_ "github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/ar"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/ckb"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/da"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/de"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/en"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/es"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/fa"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/fi"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/fr"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/hi"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/hr"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/hu"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/it"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/nl"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/no"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/pl"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/pt"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/ro"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/ru"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/sv"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/tr"
)

// DefaultLanguage is the analysis a collection gets when it names none.
const DefaultLanguage = "en"

// languages are the analyzer names a collection may choose.
var languages = []string{"ar", "cjk", "ckb", "da", "de", "en", "es", "fa", "fi", "fr", "hi", "hr", "hu", "it", "nl", "no", "pl", "pt", "ro", "ru", "simple", "standard", "sv", "tr"}

// Languages lists the analysis choices, sorted.
func Languages() []string {
	out := append([]string(nil), languages...)
	sort.Strings(out)
	return out
}

// CheckLanguage reports whether lang names an analysis ("" is the default).
func CheckLanguage(lang string) error {
	if lang == "" {
		return nil
	}
	for _, l := range languages {
		if l == lang {
			return nil
		}
	}
	return fmt.Errorf("unknown language %q (want one of %s)", lang, strings.Join(Languages(), ", "))
}

// token is one analysed term of a text: its position (1-based, gaps
// where stop words were removed) and its byte range in the text.
type token struct {
	term       string
	pos        int
	start, end int
}

// analyzer turns text into terms: bleve's analyzer for the language, with
// CJK runs turned into overlapping bigrams (bleve's cjk_width and
// cjk_bigram filters) first, so that Chinese, Japanese and Korean text in
// any collection is searchable.
type analyzer struct {
	lang string
	a    analysis.Analyzer
}

var (
	cacheMu sync.Mutex
	cache   = registry.NewCache()
)

func newAnalyzer(lang string) (*analyzer, error) {
	if lang == "" {
		lang = DefaultLanguage
	}
	if err := CheckLanguage(lang); err != nil {
		return nil, err
	}
	cacheMu.Lock()
	defer cacheMu.Unlock()
	a, err := cache.AnalyzerNamed(lang)
	if err != nil {
		return nil, err
	}
	if lang != cjk.AnalyzerName {
		if d, ok := a.(*analysis.DefaultAnalyzer); ok {
			width, err := cache.TokenFilterNamed(cjk.WidthName)
			if err != nil {
				return nil, err
			}
			bigram, err := cache.TokenFilterNamed(cjk.BigramName)
			if err != nil {
				return nil, err
			}
			w := *d
			w.TokenFilters = append([]analysis.TokenFilter{width, bigram}, d.TokenFilters...)
			a = &w
		}
	}
	return &analyzer{lang: lang, a: a}, nil
}

// tokens analyses text.
func (a *analyzer) tokens(text string) []token {
	ts := a.a.Analyze([]byte(text))
	out := make([]token, 0, len(ts))
	for _, t := range ts {
		if len(t.Term) == 0 {
			continue
		}
		out = append(out, token{term: string(t.Term), pos: t.Position, start: t.Start, end: t.End})
	}
	return out
}

// terms analyses text and returns its terms alone.
func (a *analyzer) terms(text string) []string {
	ts := a.tokens(text)
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.term
	}
	return out
}
