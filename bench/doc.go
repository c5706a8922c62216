// Package bench measures Rosetta: `rosetta bench ann` (this package's ANN
// harness) sweeps the HNSW index against exact ground truth on synthetic or
// user-supplied vectors and reports recall@1/10/100, single- and
// multi-thread QPS, latency percentiles, distance evaluations per query,
// build rate and memory per vector, with brute force and coder/hnsw as
// baselines, as a terminal table, CSV, JSON and an SVG recall-vs-QPS plot.
//
// Speed targets live here and in bench/RESULTS.md, never in unit tests.
package bench
