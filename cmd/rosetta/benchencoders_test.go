package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runBenchEncoders(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newBenchEncodersCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// contractLine is one --json line read as issue 18's outside check reads
// it: the six contract fields with their exact types and values, and the
// extra fields this command documents, nothing else.
func contractLine(t *testing.T, line string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("line %q: %v", line, err)
	}
	str := func(k string, allowed ...string) {
		s, ok := m[k].(string)
		if !ok {
			t.Errorf("line %s: %s = %#v, want a string", line, k, m[k])
			return
		}
		for _, a := range allowed {
			if s == a {
				return
			}
		}
		t.Errorf("line %s: %s = %q, want one of %v", line, k, s, allowed)
	}
	integer := func(k string) {
		n, ok := m[k].(json.Number)
		if v, err := n.Int64(); !ok || err != nil || v < 1 {
			t.Errorf("line %s: %s = %#v, want a positive integer", line, k, m[k])
		}
	}
	str("encoder", "image", "text")
	str("runtime", "rosetta", "ort")
	str("precision", "float32", "int8")
	integer("batch")
	integer("threads")
	if n, ok := m["ms_per_item"].(json.Number); !ok {
		t.Errorf("line %s: ms_per_item = %#v, want a number", line, m["ms_per_item"])
	} else if v, err := n.Float64(); err != nil || !(v > 0) || math.IsInf(v, 0) {
		t.Errorf("line %s: ms_per_item = %v, want > 0", line, n)
	}
	extra := map[string]bool{"rounds": true, "iters": true, "gflop_per_item": true, "gflops": true, "ratio": true}
	for k := range m {
		switch k {
		case "encoder", "runtime", "batch", "threads", "precision", "ms_per_item":
		default:
			if !extra[k] {
				t.Errorf("line %s: unexpected field %q", line, k)
			}
		}
	}
	return m
}

func num(t *testing.T, m map[string]any, k string) float64 {
	t.Helper()
	n, ok := m[k].(json.Number)
	if !ok {
		t.Fatalf("%s = %#v, want a number", k, m[k])
	}
	v, err := n.Float64()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// The full-size ViT-B/32 towers, one forward each: one contract line per
// encoder, in the order asked, with the model's FLOPs.
func TestBenchEncodersJSON(t *testing.T) {
	out, log, err := runBenchEncoders(t, "--baseline", "none", "--encoder", "image,text", "--batch", "1",
		"--threads", "1", "--iters", "1", "--rounds", "1", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	ls := lines(out)
	if len(ls) != 2 {
		t.Fatalf("%d lines, want 2 (image, text):\n%s", len(ls), out)
	}
	for i, want := range []struct {
		enc   string
		gflop float64
	}{{"image", 8.817623040}, {"text", 5.959540736}} {
		m := contractLine(t, ls[i])
		if m["encoder"] != want.enc || m["runtime"] != "rosetta" || m["precision"] != "float32" ||
			num(t, m, "batch") != 1 || num(t, m, "threads") != 1 || num(t, m, "rounds") != 1 || num(t, m, "iters") != 1 {
			t.Errorf("line %d: %s", i, ls[i])
		}
		if _, ok := m["ratio"]; ok {
			t.Errorf("line %d: a ratio without a baseline: %s", i, ls[i])
		}
		if g := num(t, m, "gflop_per_item"); math.Abs(g-want.gflop) > 1e-9 {
			t.Errorf("%s: gflop_per_item %v, want %v", want.enc, g, want.gflop)
		}
		if gf, msi := num(t, m, "gflops"), num(t, m, "ms_per_item"); math.Abs(gf-want.gflop/(msi/1000)) > 1e-6*gf {
			t.Errorf("%s: gflops %v is not %v GFLOP over %v ms", want.enc, gf, want.gflop, msi)
		}
	}
	if !strings.Contains(log, "round 1/1") {
		t.Errorf("no progress on stderr:\n%s", log)
	}
}

func TestBenchEncodersFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad baseline", []string{"--baseline", "onnx"}, `--baseline "onnx": want ort or none`},
		{"zero batch", []string{"--baseline", "none", "--batch", "1,0"}, `--batch: "0" is not a positive integer`},
		{"word batch", []string{"--baseline", "none", "--batch", "eight"}, `--batch: "eight"`},
		{"no batch", []string{"--baseline", "none", "--batch", ","}, "--batch and --threads"},
		{"bad threads", []string{"--baseline", "none", "--threads", "-2"}, `--threads: "-2"`},
		{"bad precision", []string{"--baseline", "none", "--precision", "float32,fp16"}, `--precision "fp16": want float32 or int8`},
		{"no precision", []string{"--baseline", "none", "--precision", ""}, "--precision: give at least one"},
		{"bad encoder", []string{"--baseline", "none", "--encoder", "audio"}, `--encoder "audio": want image or text`},
		{"zero rounds", []string{"--baseline", "none", "--rounds", "0"}, "--rounds and --iters must be positive"},
		{"zero iters", []string{"--baseline", "none", "--iters", "0"}, "--rounds and --iters must be positive"},
		{"argument", []string{"--baseline", "none", "image"}, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runBenchEncoders(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// fakeHarness is a bench/ort directory with the driver's and builder's
// names but nothing that runs, for the checks made before anything starts.
func fakeHarness(t *testing.T, installed bool) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"driver.js", "build_graphs.py"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("not run\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if installed {
		p := filepath.Join(dir, "node_modules", "onnxruntime-node")
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "package.json"), []byte(`{"version":"1.30.0"}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Every missing piece of the ORT harness is reported with what to run,
// before a model is built.
func TestBenchEncodersORTHarnessErrors(t *testing.T) {
	shell := "/bin/sh" // stands in for node: it is only looked up, never run here
	installed := fakeHarness(t, true)
	wrongShape := fakeHarness(t, true)
	graphs := filepath.Join(wrongShape, "graphs")
	if err := os.MkdirAll(graphs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"image_float32.onnx", "text_float32.onnx"} {
		if err := os.WriteFile(filepath.Join(graphs, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	man := `{"opset":17,"graphs":{"image/float32":{"file":"image_float32.onnx","gflop_per_item":8.817623040},` +
		`"text/float32":{"file":"text_float32.onnx","gflop_per_item":4.0}}}`
	if err := os.WriteFile(filepath.Join(graphs, "manifest.json"), []byte(man), 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{"--baseline", "ort", "--batch", "1", "--threads", "1", "--precision", "float32"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"not a harness", []string{"--ort-dir", t.TempDir(), "--node", shell}, "no driver.js and build_graphs.py"},
		{"no node", []string{"--ort-dir", installed, "--node", "/nonexistent/node"}, "install Node.js (apt-get install -y nodejs npm)"},
		{"not installed", []string{"--ort-dir", fakeHarness(t, false), "--node", shell}, "npm ci --ignore-scripts"},
		{"no python-onnx", []string{"--ort-dir", installed, "--node", shell, "--python", "/nonexistent/python3"},
			"run: apt-get install -y python3-onnx python3-numpy && /nonexistent/python3 " + filepath.Join(installed, "build_graphs.py") + " --encoder image,text --precision float32"},
		{"graphs of another shape", []string{"--ort-dir", wrongShape, "--node", shell, "--python", "/nonexistent/python3"},
			"the text/float32 graph does 4.0000 GFLOP per item, Rosetta's model 5.9595"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runBenchEncoders(t, append(common, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// ortDir is an installed bench/ort harness (npm ci done), or the test is
// skipped: ONNX Runtime is not part of the module.
func ortDir(t *testing.T) string {
	d := os.Getenv("ROSETTA_ORT_DIR")
	if d == "" {
		t.Skip("ROSETTA_ORT_DIR does not point at an installed bench/ort harness")
	}
	return d
}

// The side-by-side run: a rosetta and an ort line per encoder, the ratio
// on the rosetta line.
func TestBenchEncodersORT(t *testing.T) {
	dir := ortDir(t)
	out, log, err := runBenchEncoders(t, "--baseline", "ort", "--ort-dir", dir, "--encoder", "image,text",
		"--batch", "1", "--threads", "1", "--precision", "float32", "--iters", "1", "--rounds", "1", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	ls := lines(out)
	if len(ls) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(ls), out)
	}
	for i, want := range [][2]string{{"image", "rosetta"}, {"image", "ort"}, {"text", "rosetta"}, {"text", "ort"}} {
		m := contractLine(t, ls[i])
		if m["encoder"] != want[0] || m["runtime"] != want[1] {
			t.Errorf("line %d: %s, want %v", i, ls[i], want)
		}
		_, hasRatio := m["ratio"]
		if hasRatio != (want[1] == "rosetta") {
			t.Errorf("line %d: ratio present %v: %s", i, hasRatio, ls[i])
		}
	}
	for i := 0; i < 4; i += 2 {
		r, o := contractLine(t, ls[i]), contractLine(t, ls[i+1])
		if got, want := num(t, r, "ratio"), num(t, r, "ms_per_item")/num(t, o, "ms_per_item"); math.Abs(got-want) > 1e-9*want {
			t.Errorf("ratio %v, want %v", got, want)
		}
	}
}

// The driver itself at int8 (the rosetta side of int8 may be missing from
// this build): both graphs run at batch 2 and answer [2, 512]; a bad
// command is answered with an error and the driver goes on.
func TestORTDriverInt8(t *testing.T) {
	dir := ortDir(t)
	var log bytes.Buffer
	o := encoderBenchOptions{ORTDir: dir, Node: "node", Python: "/usr/bin/python3", Log: &log,
		Encoders: []string{"image", "text"}, Precisions: []string{"int8"}}
	h, err := prepareORT(context.Background(), o, map[string]float64{"image": 8.817623040, "text": 5.959540736})
	if err != nil {
		t.Fatal(err)
	}
	d, err := startORT(context.Background(), h, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	defer d.Close()
	if d.Version != "1.30.0" {
		t.Errorf("onnxruntime-node %q, want the pinned 1.30.0", d.Version)
	}
	if _, err := d.Time(ortRequest{Encoder: "image", Batch: 1, Threads: 1, Precision: "fp16", Iterations: 1}, 512); err == nil ||
		!strings.Contains(err.Error(), "want float32 or int8") {
		t.Errorf("bad precision: %v", err)
	}
	for _, enc := range []string{"image", "text"} {
		v, err := d.Time(ortRequest{Encoder: enc, Batch: 2, Threads: 1, Precision: "int8", Iterations: 1}, 512)
		if err != nil || !(v > 0) {
			t.Fatalf("%s int8: %v ms per item, %v\n%s", enc, v, err, log.String())
		}
		if err := d.Release(enc, "int8", 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Time(ortRequest{Encoder: "text", Batch: 1, Threads: 1, Precision: "int8", Iterations: 1}, 768); err == nil ||
		!strings.Contains(err.Error(), "want [1 768]") {
		t.Errorf("a wrong embedding width is not caught: %v", err)
	}
}
