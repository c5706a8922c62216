package kernels

import (
	"fmt"
	"math"
)

// AttnScratch holds one goroutine's buffers for AttentionHead; reuse it.
type AttnScratch struct {
	q, k, v, p, s, tile []float32
}

func growF32(b *[]float32, n int) []float32 {
	if cap(*b) < n {
		*b = make([]float32, n)
	}
	return (*b)[:n]
}

// AttentionFits says whether AttentionHead takes a sequence of t tokens
// with heads of hd values: short sequences (t, hd ≤ 256), as CLIP, BLIP
// and CoCa use, whose whole score matrix stays in L1/L2.
func AttentionFits(t, hd int) bool { return t >= 1 && hd >= 1 && t <= gemmKC && hd <= gemmKC }

// AttentionHead computes one head of scaled dot-product attention for a
// short sequence (AttentionFits), fused: out[i] = Σ_j P[i,j]·v[j], where
// P[i] = softmax_j(scale·q[i]·k[j]) over the keys query i may see (not
// j > i when causal; not j with keyValid[j] false when keyValid is set; a
// query that sees no key gets zeros). q, k and v are t rows of hd values
// with row stride ld; out has row stride ldo. The query is scaled before
// the products (as PyTorch scales it), the scores are computed into a
// buffer padded to whole micro-kernel tiles and never leave the cache,
// and each operand is packed once, with no thread hand-off: the call is
// for one goroutine, and callers run heads in parallel.
func AttentionHead(t, hd int, scale float32, q, k, v []float32, ld int, causal bool, keyValid []bool, out []float32, ldo int, sc *AttnScratch) error {
	if !AttentionFits(t, hd) {
		return fmt.Errorf("%w: attention head of %d tokens × %d values is not a short sequence", ErrBadShape, t, hd)
	}
	if ld < hd || len(q) < (t-1)*ld+hd || len(k) < (t-1)*ld+hd || len(v) < (t-1)*ld+hd {
		return fmt.Errorf("%w: attention q/k/v too small for %d×%d (stride %d)", ErrBadShape, t, hd, ld)
	}
	if ldo < hd || len(out) < (t-1)*ldo+hd {
		return fmt.Errorf("%w: attention output too small for %d×%d (stride %d)", ErrBadShape, t, hd, ldo)
	}
	if keyValid != nil && len(keyValid) < t {
		return fmt.Errorf("%w: attention key mask has %d values, want %d", ErrBadShape, len(keyValid), t)
	}
	kern := gemmKernel
	mr, nr := kern.mr, kern.nr
	tm, tn := roundUp(t, mr), roundUp(t, nr)
	tile := growF32(&sc.tile, mr*nr)
	// S = (scale·Q)·Kᵀ, t×t in a tm×tn buffer.
	qp := growF32(&sc.q, tm*hd)
	packA(qp, q, ld, false, 0, 0, t, hd, mr, scale)
	kp := growF32(&sc.k, tn*hd)
	packB(kp, k, ld, true, 0, 0, hd, t, nr)
	s := growF32(&sc.s, tm*tn)
	clear(s)
	for jr := 0; jr < t; jr += nr {
		for ir := 0; ir < t; ir += mr {
			kern.tileMul(hd, qp[ir*hd:], kp[jr*hd:], s[ir*tn+jr:], tn, min(mr, t-ir), min(nr, t-jr), tile)
		}
	}
	// Masked softmax of each row, in place.
	ninf := float32(math.Inf(-1))
	for i := 0; i < t; i++ {
		row := s[i*tn : i*tn+t]
		if causal {
			// The keys after i get weight 0: softmax over the rest and
			// zeros (the same values as -Inf scores give, in half the work).
			clear(row[i+1:])
			row = row[:i+1]
		}
		if keyValid != nil {
			for j, ok := range keyValid[:len(row)] {
				if !ok {
					row[j] = ninf
				}
			}
		}
		SoftmaxInPlace(row)
	}
	// out = P·V.
	pp := growF32(&sc.p, tm*t)
	packA(pp, s, tn, false, 0, 0, t, t, mr, 1)
	hn := roundUp(hd, nr)
	vp := growF32(&sc.v, t*hn)
	packB(vp, v, ld, false, 0, 0, t, hd, nr)
	for i := 0; i < t; i++ {
		clear(out[i*ldo : i*ldo+hd])
	}
	for jr := 0; jr < hd; jr += nr {
		for ir := 0; ir < t; ir += mr {
			kern.tileMul(t, pp[ir*t:], vp[jr*t:], out[ir*ldo+jr:], ldo, min(mr, t-ir), min(nr, hd-jr), tile)
		}
	}
	return nil
}

// SoftmaxInPlace is a numerically stable softmax of row in place; a row
// of -Inf only (a query that sees no key) becomes zeros.
func SoftmaxInPlace(row []float32) {
	m := float32(math.Inf(-1))
	for _, v := range row {
		if v > m {
			m = v
		}
	}
	if math.IsInf(float64(m), -1) {
		clear(row)
		return
	}
	for i := range row {
		row[i] -= m
	}
	ExpInPlace(row)
	var sum float32
	for _, v := range row {
		sum += v
	}
	inv := 1 / sum
	for i := range row {
		row[i] *= inv
	}
}
