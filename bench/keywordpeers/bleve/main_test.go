package main

import (
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2"

	"rosetta/bench/keywordset"
)

// The mapping scores with BM25, matches stemmed words in either field, and
// answers quoted phrases in order only.
func TestMapping(t *testing.T) {
	idx, err := bleve.New(t.TempDir()+"/index", indexMapping())
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	docs := []keywordset.Doc{
		{Title: "ls(1)", Text: "The exit status is zero when the files are listed."},
		{Title: "cats", Text: "Status of the cat."},
	}
	if err := indexAll(idx, docs, 2, 1); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{`"exit status"`, []string{"1"}},
		{`"status exit"`, nil},
		{`status exit`, []string{"1", "2"}},
		{`cat`, []string{"2"}},
		{`listing`, []string{"1"}},
	} {
		res, err := idx.Search(bleve.NewSearchRequestOptions(bleve.NewQueryStringQuery(tc.q), 10, 0, true))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range res.Hits {
			got = append(got, h.ID)
			if !strings.Contains(h.Expl.String(), "k1=") {
				t.Errorf("%s: hit %s is not scored by BM25: %s", tc.q, h.ID, h.Expl)
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: hits %v, want %v", tc.q, got, tc.want)
		}
	}
}
