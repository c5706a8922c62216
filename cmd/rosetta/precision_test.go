package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"rosetta/internal/embedcmp"
	"rosetta/internal/fixtures"
)

// TestEncodePrecision: encode --precision int8 prints embeddings within
// cosine 0.999 of float32's (and not float32's), and an unknown
// precision is refused.
func TestEncodePrecision(t *testing.T) {
	model := clipModelDir(t)
	img := filepath.Join(fixtures.Dir(t, "preprocess-image"), "chelsea.png")
	run := func(precision string) ([][]float32, error) {
		var out, errb bytes.Buffer
		cmd := newEncodeCmd()
		cmd.SetArgs([]string{"--model", model, "--text", "a cat", "--image", img, "--precision", precision})
		cmd.SetOut(&out)
		cmd.SetErr(&errb)
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			return nil, err
		}
		var embs [][]float32
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var l embeddingLine
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatal(err)
			}
			embs = append(embs, l.Embedding)
		}
		return embs, nil
	}
	f, err := run("float32")
	if err != nil {
		t.Fatal(err)
	}
	q, err := run("int8")
	if err != nil {
		t.Fatal(err)
	}
	if len(f) != 2 || len(q) != 2 {
		t.Fatalf("%d and %d lines", len(f), len(q))
	}
	for i := range f {
		if c := embedcmp.Cosine(f[i], q[i]); c < 0.999 || c == 1 {
			t.Errorf("line %d: int8 cosine to float32 %.6f, want in [0.999, 1)", i, c)
		}
	}
	if _, err := run("int4"); err == nil || !strings.Contains(err.Error(), "int4") {
		t.Errorf("--precision int4: %v", err)
	}
}
