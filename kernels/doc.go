// Package kernels holds the numeric hot loops of Rosetta: float32 vector
// distances, batch scoring of one query against a contiguous block of
// vectors, and a bounded top-k selector.
//
// # Checked and unchecked entry points
//
// The exported functions Dot, SquaredL2, Cosine, Normalize and ScoreBlock
// validate their input (equal lengths, block shape) and return an error
// instead of panicking; they are what code outside the hot loops should call.
// The index validates dimensions once at insert/search time and then uses the
// unchecked DistanceFunc values, which only require len(a) == len(b).
//
// # Implementations
//
// CPU features are detected once at start-up (package init). On amd64 with
// AVX-512F the distance kernels are hand-written AVX-512 assembly that handles
// any length (the tail uses a masked load); with AVX2+FMA they are AVX2
// assembly for multiples of 8 plus a Go tail; everywhere else they are plain
// Go, unrolled by four. vek's AVX2 Dot is benchmarked beside ours
// (BenchmarkDot) and is slower than the AVX-512 path on this machine, and vek
// has no squared-L2 kernel, so vek is used only for element-wise scaling in
// Normalize. Every assembly path has a differential test against the plain
// Go path on lengths 0..1100.
package kernels
