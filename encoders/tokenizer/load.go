package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Standard file names inside a tokenizer folder.
const (
	VocabFile     = "vocab.json"
	MergesFile    = "merges.txt"
	HFFile        = "tokenizer.json"
	OpenCLIPFile  = "bpe_simple_vocab_16e6.txt.gz"
	openCLIPMerge = 49152 - 256 - 2 // merges SimpleTokenizer keeps: lines[1:48895]
)

// Load reads a transformers-style vocab.json (token → id) and merges.txt
// (one "a b" pair per line, ranked by line, after an optional
// "#version" header line).
func Load(vocabPath, mergesPath string) (*Tokenizer, error) {
	vb, err := os.ReadFile(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: vocabulary: %w", err)
	}
	var vocab map[string]int
	if err := json.Unmarshal(vb, &vocab); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: not a JSON object of token ids: %v", vocabPath, err)
	}
	mb, err := os.ReadFile(mergesPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: merges: %w", err)
	}
	merges, err := parseMerges(mb, mergesPath, -1)
	if err != nil {
		return nil, err
	}
	return newTokenizer(vocab, merges, vocabPath+" + "+mergesPath)
}

// parseMerges reads a merges file: the first line is skipped when it is a
// "#version" header (always, when limit >= 0: open_clip's lines[1:]), blank
// lines are ignored, and at most limit merges are kept when limit >= 0.
func parseMerges(data []byte, path string, limit int) ([][2]string, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("tokenizer: %s: not valid UTF-8", path)
	}
	lines := strings.Split(string(data), "\n")
	start := 0
	if limit >= 0 || (len(lines) > 0 && strings.HasPrefix(lines[0], "#version")) {
		start = 1
	}
	if start > len(lines) {
		start = len(lines)
	}
	var merges [][2]string
	for n, line := range lines[start:] {
		if limit >= 0 && n >= limit {
			break
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("tokenizer: %s:%d: a merge needs two symbols, found %d", path, start+n+1, len(f))
		}
		merges = append(merges, [2]string{f[0], f[1]})
	}
	if len(merges) == 0 {
		return nil, fmt.Errorf("tokenizer: %s: no merges", path)
	}
	return merges, nil
}

// LoadOpenCLIPBPE reads open_clip's (and OpenAI CLIP's)
// bpe_simple_vocab_16e6.txt.gz, a gzipped merges list, and builds the
// vocabulary as SimpleTokenizer does: the 256 bytes_to_unicode characters,
// the same with "</w>", the first 48894 merges joined, then the start and
// end tokens (49406, 49407; named <|startoftext|> and <|endoftext|> here,
// as in OpenAI CLIP and vocab.json).
func LoadOpenCLIPBPE(path string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: merges: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: not gzip data: %v", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %v", path, err)
	}
	merges, err := parseMerges(data, path, openCLIPMerge)
	if err != nil {
		return nil, err
	}
	return newTokenizer(openCLIPVocab(merges), merges, path)
}

// openCLIPVocab builds SimpleTokenizer's vocabulary from its merges (a
// repeated string keeps its last id, as dict(zip(vocab, range)) does).
func openCLIPVocab(merges [][2]string) map[string]int {
	list := make([]string, 0, 512+len(merges)+2)
	for _, b := range byteOrder {
		list = append(list, string(byteRunes[b]))
	}
	for _, b := range byteOrder {
		list = append(list, string(byteRunes[b])+endOfWord)
	}
	for _, m := range merges {
		list = append(list, m[0]+m[1])
	}
	list = append(list, StartOfText, EndOfText)
	vocab := make(map[string]int, len(list))
	for id, tok := range list {
		vocab[tok] = id
	}
	return vocab
}

// LoadTokenizerJSON reads a transformers tokenizer.json with a BPE model:
// model.vocab (token → id) and model.merges ("a b" strings or ["a", "b"]
// pairs). added_tokens missing from the vocabulary are added. Its
// normalizer and pre-tokenizer sections are not interpreted: the text is
// always cleaned and split as CLIP does.
func LoadTokenizerJSON(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var doc struct {
		Model struct {
			Type            string            `json:"type"`
			Vocab           map[string]int    `json:"vocab"`
			Merges          []json.RawMessage `json:"merges"`
			UnkToken        *string           `json:"unk_token"`
			EndOfWordSuffix *string           `json:"end_of_word_suffix"`
		} `json:"model"`
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
		} `json:"added_tokens"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: malformed tokenizer.json: %v", path, err)
	}
	m := doc.Model
	if m.Type != "" && m.Type != "BPE" {
		return nil, fmt.Errorf("tokenizer: %s: model.type is %q, want BPE", path, m.Type)
	}
	if len(m.Vocab) == 0 {
		return nil, fmt.Errorf("tokenizer: %s: no model.vocab", path)
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != endOfWord {
		return nil, fmt.Errorf("tokenizer: %s: model.end_of_word_suffix is %q, want %q (not a CLIP tokenizer)", path, *m.EndOfWordSuffix, endOfWord)
	}
	merges := make([][2]string, 0, len(m.Merges))
	for i, raw := range m.Merges {
		raw = bytes.TrimSpace(raw)
		var pair [2]string
		switch {
		case len(raw) > 0 && raw[0] == '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, fmt.Errorf("tokenizer: %s: model.merges[%d]: %v", path, i, err)
			}
			f := strings.Fields(s)
			if len(f) != 2 {
				return nil, fmt.Errorf("tokenizer: %s: model.merges[%d] = %q: want two symbols", path, i, s)
			}
			pair = [2]string{f[0], f[1]}
		case len(raw) > 0 && raw[0] == '[':
			var a []string
			if err := json.Unmarshal(raw, &a); err != nil || len(a) != 2 {
				return nil, fmt.Errorf("tokenizer: %s: model.merges[%d] = %s: want two strings", path, i, raw)
			}
			pair = [2]string{a[0], a[1]}
		default:
			return nil, fmt.Errorf("tokenizer: %s: model.merges[%d] = %s: want \"a b\" or [\"a\", \"b\"]", path, i, raw)
		}
		merges = append(merges, pair)
	}
	if len(merges) == 0 {
		return nil, fmt.Errorf("tokenizer: %s: no model.merges", path)
	}
	vocab := m.Vocab
	used := make(map[int]bool, len(vocab))
	for _, id := range vocab {
		used[id] = true
	}
	for _, at := range doc.AddedTokens {
		if _, ok := vocab[at.Content]; !ok && !used[at.ID] && at.ID >= 0 {
			vocab[at.Content] = at.ID
			used[at.ID] = true
		}
	}
	t, err := newTokenizer(vocab, merges, path)
	if err != nil {
		return nil, err
	}
	if m.UnkToken != nil {
		if id, ok := vocab[*m.UnkToken]; ok {
			t.unk = id
		}
	}
	return t, nil
}

// LoadDir loads the tokenizer files found in dir, in this order of
// preference: vocab.json + merges.txt, tokenizer.json, then open_clip's
// bpe_simple_vocab_16e6.txt.gz.
func LoadDir(dir string) (*Tokenizer, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("tokenizer: %s is not a directory", dir)
	}
	vocab := filepath.Join(dir, VocabFile)
	merges := filepath.Join(dir, MergesFile)
	hasVocab, hasMerges := exists(vocab), exists(merges)
	switch {
	case hasVocab && hasMerges:
		return Load(vocab, merges)
	case exists(filepath.Join(dir, HFFile)):
		return LoadTokenizerJSON(filepath.Join(dir, HFFile))
	case exists(filepath.Join(dir, OpenCLIPFile)):
		return LoadOpenCLIPBPE(filepath.Join(dir, OpenCLIPFile))
	case hasVocab:
		return nil, fmt.Errorf("tokenizer: %s has %s but no %s (nor %s or %s)", dir, VocabFile, MergesFile, HFFile, OpenCLIPFile)
	case hasMerges:
		return nil, fmt.Errorf("tokenizer: %s has %s but no %s (nor %s or %s)", dir, MergesFile, VocabFile, HFFile, OpenCLIPFile)
	}
	return nil, fmt.Errorf("tokenizer: %s: no tokenizer files (want %s + %s, %s, or %s)", dir, VocabFile, MergesFile, HFFile, OpenCLIPFile)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}
