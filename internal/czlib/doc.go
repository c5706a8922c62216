// Package czlib compresses bytes exactly as C zlib (1.2.11 through 1.3.1,
// the versions it has been checked against) does at its default settings: deflateInit(level 6), windowBits 15,
// memLevel 8, the default strategy, one deflate call that finishes the
// stream. This is what Python's zlib.compress(data) returns, byte for
// byte, and so what OpenAI Whisper's get_compression_ratio measures.
//
// Go's compress/zlib is a different deflate implementation: its output
// decompresses to the same bytes but has a different length, which moves
// a compression ratio across a threshold such as Whisper's 2.4. This
// package exists only to reproduce C zlib's output; for anything else
// use compress/zlib or compress/flate.
//
// # Design
//
// The compressor follows C zlib's own state machine, because every
// detail changes the output:
//
//   - Match finding (deflate.go): a 64 KiB window (two 32 KiB halves,
//     slid down by one half when the current position passes
//     32768+32506), a 32768-entry hash of three-byte prefixes with
//     chains through prev[], chains followed at most 128 links (32 once
//     the previous match is 8 or longer), a search that stops at a
//     128-byte match, lazy evaluation (a match is kept only if the next
//     position has no longer one, and the next position is not searched
//     once the current match is 16 or longer), three-byte matches
//     farther than 4096 dropped, and the bytes past the input's end
//     (zeroed, or left over from before a slide) that C zlib's search
//     compares before it caps the length at the lookahead.
//   - Blocks (trees.go): a block ends after 16383 symbols (literal or
//     length/distance pair) or at the end of the input. Each is sent
//     stored, with the fixed codes or with dynamic Huffman codes,
//     whichever of C zlib's byte estimates is smallest (ties go to
//     stored, then fixed). The dynamic codes come from C zlib's heap
//     with its depth tie-break, its 15-bit (7 for the code-length code)
//     overflow fix-up and its code-length run encoding, so the trees
//     and their sizes are the same.
//   - Framing: the two header bytes 0x78 0x9c and the Adler-32 of the
//     input, big-endian.
//
// Compress returns the bytes; CompressedLen counts them without keeping
// them. Both take any input size; neither keeps state between calls,
// and both are safe for concurrent use.
//
// The tests compare against expectations produced by CPython's zlib
// module linked with C zlib 1.2.13 (testdata/gen_expected.py) and, when
// a python3 with such a zlib is on PATH, against it directly.
package czlib
