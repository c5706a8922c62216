package main

import "rosetta/encoders/clip"

// quantizeBenchModel turns every nn.Linear of m into per-output-channel
// int8 weights (clip.Model.QuantizeInt8), for `rosetta bench encoders
// --precision int8`: the model the bench times is the one ingest and serve
// run with `--precision int8`.
func quantizeBenchModel(m *clip.Model) error { return m.QuantizeInt8() }
