package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rosetta/engine"
	"rosetta/internal/fixtures"
)

// TestIngestTranscribeFlag: ingest --transcribe stores audio_long.wav's
// transcript and its segments, and a keyword query for the word of one
// golden segment (" dam", 10.52–29.7 s) finds that segment.
func TestIngestTranscribeFlag(t *testing.T) {
	wdir := fixtures.Dir(t, "whisper")
	media := t.TempDir()
	b, err := os.ReadFile(filepath.Join(wdir, "audio_long.wav"))
	if err != nil {
		t.Fatal(err)
	}
	long := filepath.Join(media, "audio_long.wav")
	os.WriteFile(long, b, 0o644)
	data, modelsDir := t.TempDir(), t.TempDir()
	var out, errb bytes.Buffer
	cmd := newIngestCmd()
	cmd.SetArgs([]string{media, "--collection", "talks", "--data", data, "--models", modelsDir, "--model", hubertModelDir(t),
		"--transcribe", wdir, "--transcribe-language", "en", "--report", filepath.Join(t.TempDir(), "f.jsonl")})
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	if err := cmd.ExecuteContext(context.Background()); err != nil || !strings.Contains(out.String(), "failed 0") ||
		strings.Contains(out.String(), "without a transcript") {
		t.Fatalf("ingest: %v\n%s\n%s", err, out.String(), errb.String())
	}
	e, err := engine.Open(engine.Options{Dir: data, LoadModel: modelLoader(modelsDir)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	page, err := e.SearchPage(context.Background(), "talks", engine.SearchRequest{Mode: engine.ModeKeyword, Keyword: "dam", K: 10,
		Fields: []string{"key", "metadata", "text"}})
	if err != nil {
		t.Fatal(err)
	}
	var seg, file bool
	for _, h := range page.Hits {
		switch h.Object.Key {
		case long + "#w=10.520,29.700":
			md := h.Object.Metadata
			seg = md["segment_start"] == 10.52 && md["segment_end"] == 29.7 && md["parent"] == long && h.Object.Text["transcript"] == "dam"
		case long:
			file = strings.HasPrefix(h.Object.Text["transcript"], "ushima dam ") && h.Object.Metadata["transcript_language"] == "en"
		}
	}
	if !seg || !file {
		t.Fatalf("keyword dam: segment %v, file %v in %+v", seg, file, page.Hits)
	}
}
