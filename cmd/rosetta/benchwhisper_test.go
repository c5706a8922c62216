package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"rosetta/internal/fixtures"
)

func runBenchWhisper(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newBenchWhisperCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// One quick run on the fixture checkpoint reports every figure, and the
// whole-file run decodes tokens.
func TestBenchWhisperFixture(t *testing.T) {
	dir := fixtures.Dir(t, "whisper")
	out, err := runBenchWhisper(t, "--model", dir, "--audio", filepath.Join(dir, "audio_tone.wav"),
		"--threads", "1", "--runs", "1", "--tokens", "3", "--warmup=false", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep whisperBenchReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(rep.Rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rep.Rows))
	}
	r := rep.Rows[0]
	if r.Threads != 1 || r.Tokens != 3 || r.Model != filepath.Base(dir) {
		t.Errorf("row %+v", r)
	}
	for name, v := range map[string]float64{"mel": r.MelMs, "encoder": r.EncoderMs, "cross-kv": r.CrossKVMs,
		"prompt": r.PromptMs, "decoder": r.DecoderMsPerToken, "file": r.FileSeconds, "rtf": r.RTF} {
		if !(v > 0) {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}
	if r.FileTokens < 1 || r.FileWindows < 1 || r.AudioSeconds < 2.9 || r.AudioSeconds > 3.1 {
		t.Errorf("whole file: %d tokens, %d windows, %.2f s of audio", r.FileTokens, r.FileWindows, r.AudioSeconds)
	}
	table := &bytes.Buffer{}
	if err := rep.writeTable(table); err != nil || !strings.Contains(table.String(), "dec ms/token") {
		t.Errorf("table: %v\n%s", err, table)
	}
}

func TestBenchWhisperFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown size", []string{"--size", "huge"}, `--size "huge"`},
		{"size and model", []string{"--size", "tiny", "--model", "/nonexistent"}, "exclude each other"},
		{"no threads", []string{"--size", "tiny", "--threads", ""}, "--threads"},
		{"bad runs", []string{"--size", "tiny", "--runs", "0"}, "positive"},
		{"too many tokens", []string{"--size", "test", "--tokens", "445", "--audio", "", "--tokenizer", ""}, "text context"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runBenchWhisper(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestWhisperSizeConfigs(t *testing.T) {
	for size, want := range map[string][3]int{"tiny": {384, 4, 6}, "base": {512, 6, 8}, "small": {768, 12, 12}} {
		c, err := whisperSizeConfig(size)
		if err != nil {
			t.Fatal(err)
		}
		got := [3]int{c.DModel, c.EncoderLayers, c.EncoderAttentionHeads}
		if got != want || c.DecoderLayers != want[1] || c.DecoderAttentionHeads != want[2] ||
			c.EncoderFFNDim != 4*want[0] || c.DecoderFFNDim != 4*want[0] || c.VocabSize != 51865 ||
			c.NumMelBins != 80 || c.MaxSourcePositions != 1500 || c.MaxTargetPositions != 448 {
			t.Errorf("%s: %+v", size, c)
		}
	}
}
