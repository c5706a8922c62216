package textindex

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The keyword benchmark corpus (scripts/keyword-corpus.sh OUTDIR), named
// by ROSETTA_KEYWORD_CORPUS=OUTDIR; the benchmarks skip without it.
func benchCorpus(b *testing.B) (*Index, map[string][]string) {
	dir := os.Getenv("ROSETTA_KEYWORD_CORPUS")
	if dir == "" {
		b.Skip("set ROSETTA_KEYWORD_CORPUS to a directory made by scripts/keyword-corpus.sh")
	}
	f, err := os.Open(filepath.Join(dir, "corpus.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	ix, _ := New(Config{})
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	id := uint64(0)
	for sc.Scan() {
		var d struct{ Title, Text string }
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			b.Fatal(err)
		}
		id++
		ix.Put(id, []Field{{"content", d.Text}, {"metadata.title", d.Title}})
	}
	qb, err := os.ReadFile(filepath.Join(dir, "queries.json"))
	if err != nil {
		b.Fatal(err)
	}
	var qs map[string][]string
	if err := json.Unmarshal(qb, &qs); err != nil {
		b.Fatal(err)
	}
	return ix, qs
}

func BenchmarkKeywordQueries(b *testing.B) {
	ix, qs := benchCorpus(b)
	for _, class := range []string{"one", "two", "three", "phrase"} {
		var parsed []*Query
		for _, s := range qs[class] {
			q, err := Parse(s)
			if err != nil {
				b.Fatal(err)
			}
			parsed = append(parsed, q)
		}
		b.Run(class, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := ix.Search(parsed[i%len(parsed)], Options{K: 10}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
