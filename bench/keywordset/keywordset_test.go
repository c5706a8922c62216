package keywordset

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadCorpus(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		docs     int
		err      error
	}{
		{"two docs", `{"key":"a","title":"t","text":"x y"}` + "\n\n" + `{"key":"b","title":"","text":"z"}` + "\n", 2, nil},
		{"no final newline", `{"key":"a","title":"t","text":"x"}`, 1, nil},
		{"empty", "\n", 0, ErrBadFile},
		{"not json", "{\"key\":\n", 0, ErrBadFile},
		{"no text", `{"key":"a","title":"t"}`, 0, ErrBadFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := ReadCorpus(strings.NewReader(tc.in), "c.jsonl")
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if len(docs) != tc.docs {
				t.Fatalf("%d docs, want %d", len(docs), tc.docs)
			}
		})
	}
}

func TestLoadQueries(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "q.json")
	os.WriteFile(good, []byte(`{"one":["a"],"two":["a b"],"three":["a b c"],"phrase":["\"a b\""]}`), 0o644)
	q, err := LoadQueries(good)
	if err != nil || q["phrase"][0] != `"a b"` {
		t.Fatalf("LoadQueries = %v, %v", q, err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"one":["a"],"two":["a b"],"three":[]}`), 0o644)
	if _, err := LoadQueries(bad); !errors.Is(err, ErrBadFile) {
		t.Fatalf("a missing class: err = %v", err)
	}
}

func TestSummarize(t *testing.T) {
	lat := make([]time.Duration, 200)
	for i := range lat {
		lat[i] = time.Duration(200-i) * time.Microsecond // 200 µs .. 1 µs
	}
	r := Summarize("one", lat, 150, 900)
	want := ClassResult{Class: "one", Queries: 200, P50us: 101, P99us: 199, MeanUs: 100.5, HitRate: 0.75, MeanHits: 4.5}
	if r != want {
		t.Fatalf("Summarize = %+v, want %+v", r, want)
	}
	if got := Summarize("x", nil, 0, 0); got.Queries != 0 || got.P99us != 0 {
		t.Fatalf("no latencies: %+v", got)
	}
}

func TestTimeQueries(t *testing.T) {
	qs := Queries{"one": {"a", "b"}, "two": {"a b"}, "three": {"a b c"}, "phrase": {`"a b"`}}
	calls := map[string]int{}
	res, err := TimeQueries(qs, 2, func(q string) (int, error) {
		calls[q]++
		return len(q) % 3, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(Classes) || res[0].Class != "one" || res[0].Queries != 4 || res[3].Class != "phrase" {
		t.Fatalf("results %+v", res)
	}
	if calls["a"] != 3 || calls[`"a b"`] != 3 { // one warm-up, two timed passes
		t.Fatalf("calls %v", calls)
	}
	boom := errors.New("boom")
	if _, err := TimeQueries(qs, 1, func(string) (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

func TestReportTableAndJSON(t *testing.T) {
	r := NewReport("rosetta", "dev", "bm25", "in memory", "c.jsonl", 10, 10, 1)
	r.Index = []IndexRun{NewIndexRun(1, 10, time.Second, 1000)}
	r.Index[0].SnapshotBytesPerDoc = 80
	r.Queries = []ClassResult{{Class: "one", Queries: 1, P50us: 3, P99us: 4, MeanUs: 3.5, HitRate: 1, MeanHits: 2}}
	var tb, jb bytes.Buffer
	if err := r.WriteTable(&tb); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"snapshot bytes/doc", "docs/s", "p99 µs", "100"} {
		if !strings.Contains(tb.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, tb.String())
		}
	}
	if err := r.WriteJSON(&jb); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"docs_per_sec": 10`, `"bytes_per_doc": 100`, `"snapshot_bytes_per_doc": 80`, `"p99_us": 4`} {
		if !strings.Contains(jb.String(), s) {
			t.Errorf("JSON lacks %q:\n%s", s, jb.String())
		}
	}
}
