package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// RunKeyword on a small corpus: every build holds every document, sizes are
// reported, and the hit rates are what the corpus implies.
func TestRunKeyword(t *testing.T) {
	dir := t.TempDir()
	var corpus strings.Builder
	for i := range 300 {
		text := fmt.Sprintf("document %d tells of the exit status of process %d", i, i%7)
		if i%3 == 0 {
			text = fmt.Sprintf("status report %d: the exit was clean", i)
		}
		json.NewEncoder(&corpus).Encode(map[string]string{"key": fmt.Sprint("k", i), "title": fmt.Sprint("title", i%5), "text": text})
	}
	cpath, qpath := filepath.Join(dir, "corpus.jsonl"), filepath.Join(dir, "queries.json")
	os.WriteFile(cpath, []byte(corpus.String()), 0o644)
	os.WriteFile(qpath, []byte(`{"one": ["status", "zebra"], "two": ["exit zebra"], "three": ["report clean zebra"],
		"phrase": ["\"exit status\"", "\"status exit\""]}`), 0o644)

	o := DefaultKeywordOptions()
	o.Corpus, o.Queries, o.Threads, o.Passes = cpath, qpath, []int{1, 2}, 2
	rep, err := RunKeyword(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Docs != 300 || len(rep.Index) != 2 || rep.Index[1].Threads != 2 {
		t.Fatalf("report %+v", rep)
	}
	for _, r := range rep.Index {
		if r.Docs != 300 || r.DocsPerSec <= 0 || r.BytesPerDoc <= 0 || r.SnapshotBytesPerDoc <= 0 {
			t.Errorf("index run %+v", r)
		}
	}
	// "zebra" and "status exit" find nothing; two timed passes each.
	want := map[string]struct {
		hitRate  float64
		searches int
	}{"one": {0.5, 4}, "two": {1, 2}, "three": {1, 2}, "phrase": {0.5, 4}}
	for _, c := range rep.Queries {
		if w := want[c.Class]; c.HitRate != w.hitRate || c.Queries != w.searches || c.MeanHits > 10 {
			t.Errorf("class %s: %+v, want hit rate %v over %d searches", c.Class, c, w.hitRate, w.searches)
		}
	}
	if _, err := RunKeyword(context.Background(), KeywordOptions{Corpus: cpath, Queries: qpath, K: 10, Passes: 1, Threads: []int{0}}); err == nil {
		t.Error("thread count 0 accepted")
	}
}
