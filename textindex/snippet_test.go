package textindex

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func marked(sn []Snippet) string {
	var b strings.Builder
	for _, s := range sn {
		fmt.Fprintf(&b, "%s:", s.Field)
		for _, p := range s.Parts {
			if p.Match {
				fmt.Fprintf(&b, "[%s]", p.Text)
			} else {
				b.WriteString(p.Text)
			}
		}
		b.WriteString("|")
	}
	return b.String()
}

// TestSnippetsFromOffsets: snippets built from the postings' byte offsets
// equal the ones built by analysing the texts again, for term queries
// over every licence paragraph (the two paths share only window).
func TestSnippetsFromOffsets(t *testing.T) {
	docs := licenseDocs(t)
	ix, _ := New(Config{})
	for i, d := range docs {
		ix.Put(uint64(i+1), d)
	}
	compared := 0
	for _, qs := range []string{"software", "warranty licensor", "distribute copies", "title:gpl", "patent license", "source"} {
		q, _ := Parse(qs)
		hits, _ := ix.Search(q, Options{K: 50})
		for _, h := range hits {
			fields := docs[h.ID-1]
			got := ix.Snippets(h.ID, q, fields, 120)
			want := ix.Snippets(1<<40, q, fields, 120) // not held: analysed
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s doc %d: from offsets %s\nanalysed %s", qs, h.ID, marked(got), marked(want))
			}
			if len(got) == 0 {
				t.Fatalf("%s doc %d: a hit without a snippet", qs, h.ID)
			}
			compared++
		}
	}
	t.Logf("%d snippets compared", compared)
}

func TestSnippets(t *testing.T) {
	ix, _ := New(Config{})
	tags := []Field{{"metadata.tags", "Red Wine"}, {"metadata.tags", ""}, {"metadata.tags", "white wines, cheese"}}
	long := strings.Repeat("filler words here ", 30) + "the exit status of the last command " + strings.Repeat("more filler ", 30)
	ix.Put(1, append([]Field{{"content", long}}, tags...))
	ix.Put(2, []Field{{"content", "東京都に住んでいます"}})
	cases := []struct {
		id    uint64
		q     string
		text  []Field
		want  string
		whole bool // the window is the whole text
	}{
		// A phrase is one highlight; its words elsewhere are not.
		{1, `"exit status"`, []Field{{"content", long}}, `content:…words here filler words here filler words here the [exit status] of the last command more filler more filler more filler more filler more filler more filler more filler…|`, false},
		// Offsets of a multi-valued field count every value, the empty one too.
		{1, "wine cheese", tags, "metadata.tags:Red [Wine]\n\nwhite [wines], [cheese]|", true},
		{1, "title:wine", tags, "", true},
		{1, "tags:wine", tags, "metadata.tags:Red [Wine]\n\nwhite [wines], cheese|", true},
		// Prefix and fuzzy clauses are matched by analysing.
		{1, "chee*", tags, "metadata.tags:Red Wine\n\nwhite wines, [cheese]|", true},
		{1, "wyne~1", tags, "metadata.tags:Red [Wine]\n\nwhite [wines], cheese|", true},
		// CJK bigrams.
		{2, "東京", []Field{{"content", "東京都に住んでいます"}}, "content:[東京]都に住んでいます|", true},
		{2, `"東京都"`, []Field{{"content", "東京都に住んでいます"}}, "content:[東京都]に住んでいます|", true},
		// A text changed since it was indexed: offsets do not fit it, so it is analysed.
		{1, "cheese", []Field{{"metadata.tags", "cheese"}}, "metadata.tags:[cheese]|", true},
	}
	for _, c := range cases {
		q, err := Parse(c.q)
		if err != nil {
			t.Fatal(err)
		}
		got := marked(ix.Snippets(c.id, q, c.text, 160))
		if got != c.want {
			t.Errorf("%s: %q\nwant %q", c.q, got, c.want)
		}
	}
}
