package textindex

import (
	"errors"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want []Clause
	}{
		{"", nil},
		{"  cat   dog ", []Clause{{Kind: Term, Text: "cat"}, {Kind: Term, Text: "dog"}}},
		{`+cat -"bad dog" title:mouse`, []Clause{{Occur: Must, Kind: Term, Text: "cat"}, {Occur: MustNot, Kind: Phrase, Text: "bad dog"}, {Kind: Term, Field: "title", Text: "mouse"}}},
		{`run* walk~ talk~1 jump~0`, []Clause{{Kind: Prefix, Text: "run"}, {Kind: Fuzzy, Text: "walk", Fuzz: 2}, {Kind: Fuzzy, Text: "talk", Fuzz: 1}, {Kind: Term, Text: "jump"}}},
		{`text.caption:"a \"quoted\" word" c\:d e\*`, []Clause{{Kind: Phrase, Field: "text.caption", Text: `a "quoted" word`}, {Kind: Term, Text: "c:d"}, {Kind: Term, Text: "e*"}}},
		{`wi-fi e-mail 3.5`, []Clause{{Kind: Term, Text: "wi-fi"}, {Kind: Term, Text: "e-mail"}, {Kind: Term, Text: "3.5"}}},
		{`東京 "東京都"`, []Clause{{Kind: Term, Text: "東京"}, {Kind: Phrase, Text: "東京都"}}},
	}
	for _, c := range cases {
		q, err := Parse(c.in)
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if !reflect.DeepEqual(q.Clauses, c.want) {
			t.Fatalf("%q: %+v, want %+v", c.in, q.Clauses, c.want)
		}
		// String writes it back in a form that parses to the same query.
		q2, err := Parse(q.String())
		if err != nil || !reflect.DeepEqual(q2.Clauses, q.Clauses) {
			t.Fatalf("%q → %q → %+v %v", c.in, q.String(), q2, err)
		}
	}
	for _, bad := range []string{`"open`, `+`, `- cat`, `*`, `ca"t`, `"a"b`, `a~3`, `a~x`, `title: x`, "\xff", `+title:`} {
		if _, err := Parse(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: %v, want a syntax error", bad, err)
		}
	}
	long := ""
	for i := 0; i <= MaxClauses; i++ {
		long += "w "
	}
	if _, err := Parse(long); !errors.Is(err, ErrSyntax) {
		t.Errorf("%d clauses accepted", MaxClauses+1)
	}
	many := ""
	for i := 0; i <= MaxExpanding; i++ {
		many += "w* "
	}
	if _, err := Parse(many); !errors.Is(err, ErrSyntax) {
		t.Errorf("%d prefix clauses accepted", MaxExpanding+1)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`+cat -"bad dog" title:mouse`, `run* walk~1`, `a\"b`, `"x \" y"`, "東京"} {
		f.Add(s)
	}
	ix, _ := New(Config{})
	ix.Put(1, []Field{{"content", "the quick brown fox jumps over the lazy dog"}, {"metadata.title", "fox"}})
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		q2, err := Parse(q.String())
		if err != nil || !reflect.DeepEqual(q2.Clauses, q.Clauses) {
			t.Fatalf("%q → %q → %+v %v", s, q.String(), q2, err)
		}
		if _, err := ix.Search(q, Options{K: 3}); err != nil {
			t.Fatal(err)
		}
		ix.Snippets(1, q, []Field{{"content", "the quick brown fox"}}, 20)
		ix.Snippets(2, q, []Field{{"content", "the quick brown fox"}}, 20)
	})
}

func TestGallop(t *testing.T) {
	slots := []uint32{2, 3, 5, 8, 13, 21, 34, 55, 89}
	for c := 0; c <= len(slots); c++ {
		for target := uint32(0); target < 100; target++ {
			want := c
			for want < len(slots) && slots[want] < target {
				want++
			}
			if got := gallop(slots, c, target); got != want {
				t.Fatalf("gallop(c=%d, %d) = %d, want %d", c, target, got, want)
			}
		}
	}
}
