package czlib

// bitWriter writes deflate's least-significant-bit-first stream. With
// keep false it only counts the bytes.
type bitWriter struct {
	keep bool
	out  []byte
	size int // bytes written (kept or not)
	acc  uint64
	n    int // bits in acc
}

func (w *bitWriter) byte(c byte) {
	if w.keep {
		w.out = append(w.out, c)
	}
	w.size++
}

// bits writes the low n (at most 32) bits of v.
func (w *bitWriter) bits(v, n int) {
	w.acc |= uint64(v) & (1<<n - 1) << w.n
	w.n += n
	for w.n >= 8 {
		w.byte(byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

// align pads with zero bits to a byte boundary.
func (w *bitWriter) align() {
	if w.n > 0 {
		w.byte(byte(w.acc))
	}
	w.acc, w.n = 0, 0
}

// bytes writes p at a byte boundary (the caller aligns first).
func (w *bitWriter) bytes(p []byte) {
	if w.keep {
		w.out = append(w.out, p...)
	}
	w.size += len(p)
}
