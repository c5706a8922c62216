package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The ONNX Runtime side of `rosetta bench encoders --baseline ort` lives in
// bench/ort: package.json pins onnxruntime-node and onnxruntime-common,
// build_graphs.py writes the ONNX graphs of the ViT-B/32 towers (and
// graphs/manifest.json with their FLOP counts), driver.js times
// InferenceSession.run. This file finds and checks that harness and talks
// to the driver.

// ortHarness is a checked bench/ort directory.
type ortHarness struct {
	dir    string // the harness directory (absolute)
	graphs string // dir/graphs
	node   string // the node executable
}

// ortManifest is graphs/manifest.json as build_graphs.py writes it.
type ortManifest struct {
	Opset  int `json:"opset"`
	Graphs map[string]struct {
		File         string  `json:"file"`
		GFLOPPerItem float64 `json:"gflop_per_item"`
		EmbedDim     int     `json:"embed_dim"`
	} `json:"graphs"`
}

// defaultORTDir is $ROSETTA_ORT_DIR, or bench/ort of the checkout the
// command runs in.
func defaultORTDir() string {
	if d := os.Getenv("ROSETTA_ORT_DIR"); d != "" {
		return d
	}
	return filepath.Join("bench", "ort")
}

// prepareORT checks that the harness in o.ORTDir is installed and has the
// graphs for every (encoder, precision) of o, building missing graphs with
// o.Python when it can import onnx, and that the graphs' FLOPs are the
// model's (want: encoder → GFLOP per item). Every failure says what to run.
func prepareORT(ctx context.Context, o encoderBenchOptions, want map[string]float64) (*ortHarness, error) {
	dir, err := filepath.Abs(o.ORTDir)
	if err != nil {
		return nil, err
	}
	h := &ortHarness{dir: dir, graphs: filepath.Join(dir, "graphs")}
	if !fileExists(filepath.Join(dir, "driver.js")) || !fileExists(filepath.Join(dir, "build_graphs.py")) {
		return nil, fmt.Errorf("--ort-dir %s: no driver.js and build_graphs.py there; point --ort-dir (or ROSETTA_ORT_DIR) at the repository's bench/ort", o.ORTDir)
	}
	if h.node, err = exec.LookPath(o.Node); err != nil {
		return nil, fmt.Errorf("--node %s: %v; install Node.js (apt-get install -y nodejs npm) or give its path", o.Node, err)
	}
	if !fileExists(filepath.Join(dir, "node_modules", "onnxruntime-node", "package.json")) {
		return nil, fmt.Errorf("%s: onnxruntime-node is not installed; run: (cd %s && npm ci --ignore-scripts)", dir, dir)
	}
	var missing []string
	man, merr := readORTManifest(h.graphs)
	for _, enc := range o.Encoders {
		for _, prec := range o.Precisions {
			g, ok := man.Graphs[enc+"/"+prec]
			if merr != nil || !ok || !fileExists(filepath.Join(h.graphs, g.File)) {
				missing = append(missing, enc+"/"+prec)
			}
		}
	}
	if len(missing) > 0 {
		build := fmt.Sprintf("%s %s --encoder %s --precision %s", o.Python, filepath.Join(dir, "build_graphs.py"),
			strings.Join(o.Encoders, ","), strings.Join(o.Precisions, ","))
		if exec.CommandContext(ctx, o.Python, "-c", "import onnx, numpy").Run() != nil {
			return nil, fmt.Errorf("%s: no ONNX graphs for %s, and %s cannot import onnx and numpy to build them; run: apt-get install -y python3-onnx python3-numpy && %s",
				h.graphs, strings.Join(missing, ", "), o.Python, build)
		}
		fmt.Fprintf(o.Log, "ort: building the graphs for %s: %s\n", strings.Join(missing, ", "), build)
		cmd := exec.CommandContext(ctx, o.Python, filepath.Join(dir, "build_graphs.py"), "--out", h.graphs,
			"--encoder", strings.Join(o.Encoders, ","), "--precision", strings.Join(o.Precisions, ","))
		cmd.Stdout, cmd.Stderr = o.Log, o.Log
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("building the ONNX graphs (%s): %w", build, err)
		}
		if man, merr = readORTManifest(h.graphs); merr != nil {
			return nil, merr
		}
	}
	for _, enc := range o.Encoders {
		for _, prec := range o.Precisions {
			g, ok := man.Graphs[enc+"/"+prec]
			if !ok {
				return nil, fmt.Errorf("%s: manifest.json has no %s/%s graph after building", h.graphs, enc, prec)
			}
			if w := want[enc]; math.Abs(g.GFLOPPerItem-w) > 1e-6*w {
				return nil, fmt.Errorf("%s: the %s/%s graph does %.4f GFLOP per item, Rosetta's model %.4f: the graphs are of another shape; rebuild them with %s %s",
					h.graphs, enc, prec, g.GFLOPPerItem, w, o.Python, filepath.Join(dir, "build_graphs.py"))
			}
		}
	}
	return h, nil
}

func readORTManifest(graphs string) (ortManifest, error) {
	var m ortManifest
	b, err := os.ReadFile(filepath.Join(graphs, "manifest.json"))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %w", filepath.Join(graphs, "manifest.json"), err)
	}
	return m, nil
}

// ortDriver is a running driver.js. Its methods are not safe for
// concurrent use: one command is in flight at a time.
type ortDriver struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  *bufio.Scanner
	Version string // onnxruntime-node's version, from the ready line
}

// ortRequest is one timing command; see driver.js.
type ortRequest struct {
	Op         string `json:"op,omitempty"` // "" (time) or "close"
	Encoder    string `json:"encoder"`
	Batch      int    `json:"batch,omitempty"`
	Threads    int    `json:"threads"`
	Precision  string `json:"precision"`
	Iterations int    `json:"iterations,omitempty"`
}

// ortReply is the driver's answer to one command.
type ortReply struct {
	Error      string  `json:"error"`
	Ready      bool    `json:"ready"`
	ORT        string  `json:"ort"`
	Closed     bool    `json:"closed"`
	MsPerItem  float64 `json:"ms_per_item"`
	OutputDims []int   `json:"output_dims"`
}

// startORT starts driver.js of h; it ends with ctx or Close. The driver's
// stderr (session creation, ORT warnings) goes to log.
func startORT(ctx context.Context, h *ortHarness, log io.Writer) (*ortDriver, error) {
	cmd := exec.CommandContext(ctx, h.node, filepath.Join(h.dir, "driver.js"), "--graphs", h.graphs)
	cmd.Dir = h.dir
	cmd.Stderr = log
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the ORT driver (%s): %w", h.node, err)
	}
	d := &ortDriver{cmd: cmd, stdin: in, stdout: bufio.NewScanner(out)}
	d.stdout.Buffer(make([]byte, 64<<10), 1<<20)
	r, err := d.read()
	if err != nil {
		d.Close()
		return nil, err
	}
	if !r.Ready {
		d.Close()
		return nil, fmt.Errorf("ORT driver: unexpected first line (want the ready line)")
	}
	d.Version = r.ORT
	return d, nil
}

func (d *ortDriver) read() (ortReply, error) {
	var r ortReply
	if !d.stdout.Scan() {
		err := d.stdout.Err()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return r, fmt.Errorf("ORT driver stopped (its messages are above): %w", err)
	}
	if err := json.Unmarshal(d.stdout.Bytes(), &r); err != nil {
		return r, fmt.Errorf("ORT driver: %q: %w", d.stdout.Text(), err)
	}
	if r.Error != "" {
		return r, errors.New("ORT driver: " + r.Error)
	}
	return r, nil
}

func (d *ortDriver) do(req ortRequest) (ortReply, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return ortReply{}, err
	}
	if _, err := d.stdin.Write(append(b, '\n')); err != nil {
		return ortReply{}, fmt.Errorf("ORT driver: %w", err)
	}
	return d.read()
}

// Time runs req.Iterations timed runs (after the driver's warm-up on a
// session's first use at a batch size) and returns ms per item; the
// output must be [batch, embed].
func (d *ortDriver) Time(req ortRequest, embed int) (float64, error) {
	r, err := d.do(req)
	if err != nil {
		return 0, err
	}
	if len(r.OutputDims) != 2 || r.OutputDims[0] != req.Batch || r.OutputDims[1] != embed {
		return 0, fmt.Errorf("ORT %s/%s: output %v, want [%d %d] as Rosetta's", req.Encoder, req.Precision, r.OutputDims, req.Batch, embed)
	}
	if !(r.MsPerItem > 0) {
		return 0, fmt.Errorf("ORT %s/%s: %v ms per item", req.Encoder, req.Precision, r.MsPerItem)
	}
	return r.MsPerItem, nil
}

// Release drops the driver's session of (encoder, precision, threads).
func (d *ortDriver) Release(encoder, precision string, threads int) error {
	_, err := d.do(ortRequest{Op: "close", Encoder: encoder, Precision: precision, Threads: threads})
	return err
}

// Close ends the driver (closing its stdin lets it release its sessions
// and exit) and waits for it.
func (d *ortDriver) Close() error {
	d.stdin.Close()
	return d.cmd.Wait()
}
