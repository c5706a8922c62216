// Package keywordset is the common ground of the keyword-search benchmark
// (issue 14): the corpus and query files that scripts/keyword-corpus.sh
// writes, the way queries are timed, and the report every engine prints and
// saves. `rosetta bench keyword` (package bench) and the peer programs
// (bench/keywordpeers/bleve; scripts/keyword-xapian.py mirrors it in Python)
// all use it, so that their figures mean the same thing:
//
//   - the corpus is read into memory before any clock starts;
//   - indexing time runs from the first document given to the engine until
//     the index is complete (for an on-disk engine, durable);
//   - every query of every class is run once untimed, then each class is
//     timed query by query, Passes times over;
//   - a percentile p of n sorted latencies is the one at index
//     min(n-1, ⌊p·n⌋), as in `rosetta bench http`.
package keywordset

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Doc is one line of corpus.jsonl.
type Doc struct {
	Key   string `json:"key"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

// Classes are the query classes of queries.json, in report order.
var Classes = []string{"one", "two", "three", "phrase"}

// Queries maps each of Classes to its queries.
type Queries map[string][]string

// ErrBadFile is returned for a corpus or query file that does not parse or
// lacks what the benchmark needs.
var ErrBadFile = errors.New("keywordset: bad input file")

// LoadCorpus reads a corpus.jsonl file: one JSON object a line with "key",
// "title" and "text". Empty lines are skipped; a document without text is an
// error, naming its line.
func LoadCorpus(path string) ([]Doc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keywordset: %w", err)
	}
	defer f.Close()
	return ReadCorpus(f, path)
}

// ReadCorpus is LoadCorpus on a reader; name is used in errors.
func ReadCorpus(r io.Reader, name string) ([]Doc, error) {
	var docs []Doc
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var d Doc
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %v", ErrBadFile, name, line, err)
		}
		if d.Text == "" {
			return nil, fmt.Errorf("%w: %s:%d: no \"text\"", ErrBadFile, name, line)
		}
		docs = append(docs, d)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("keywordset: read %s: %w", name, err)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%w: %s has no documents", ErrBadFile, name)
	}
	return docs, nil
}

// LoadQueries reads queries.json, {"one": [...], "two": [...], "three":
// [...], "phrase": [...]}; every class must be present and non-empty.
func LoadQueries(path string) (Queries, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keywordset: %w", err)
	}
	var q Queries
	if err := json.Unmarshal(b, &q); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadFile, path, err)
	}
	for _, c := range Classes {
		if len(q[c]) == 0 {
			return nil, fmt.Errorf("%w: %s has no %q queries", ErrBadFile, path, c)
		}
	}
	return q, nil
}

// DirSize is the total size of the regular files under dir.
func DirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("keywordset: %w", err)
	}
	return n, nil
}
