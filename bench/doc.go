// Package bench measures Rosetta: `rosetta bench ann` (this package's ANN
// harness) sweeps the HNSW index against exact ground truth on synthetic or
// user-supplied vectors and reports recall@1/10/100, single- and
// multi-thread QPS, latency percentiles, distance evaluations per query,
// build rate and memory per vector, with brute force and coder/hnsw as
// baselines, as a terminal table, CSV, JSON and an SVG recall-vs-QPS plot.
//
// `rosetta bench keyword` (keyword.go) measures the BM25 keyword index
// (package textindex) on the Debian fortunes and man-page corpus of
// scripts/keyword-corpus.sh: documents/s on 1 and more goroutines, bytes per
// document, and p50/p99/mean search latency per query class. Its Xapian and
// bleve peers (scripts/keyword-xapian.py, keywordpeers/bleve) report the same
// figures in the same JSON (package keywordset); scripts/keyword-bench.sh
// runs the three interleaved and prints Rosetta's ratios to Xapian's.
//
// bench/ort is not Go: it is the ONNX Runtime peer of `rosetta bench
// encoders` (cmd/rosetta/benchencoders.go), a pinned onnxruntime-node
// (package.json), the builder of the ONNX graphs of CLIP ViT-B/32's towers
// (build_graphs.py) and a driver that times InferenceSession.run on
// commands from stdin (driver.js).
//
// Speed targets live here and in bench/RESULTS.md, never in unit tests.
package bench
