// Package embedcmp compares embeddings computed two ways (float32 and int8
// weights, say): row cosines and the rankings a set of queries gives. It
// is shared by the encoders' accuracy tests.
package embedcmp

import (
	"math"
	"sort"
)

// Cosines returns the cosine between each pair of rows of width d of a
// and b (which have the same shape).
func Cosines(a, b []float32, d int) []float64 {
	out := make([]float64, len(a)/d)
	for r := range out {
		out[r] = Cosine(a[r*d:(r+1)*d], b[r*d:(r+1)*d])
	}
	return out
}

// Cosine is a·b / (|a||b|) in float64 (NaN when either is zero).
func Cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot, na, nb = dot+x*y, na+x*x, nb+y*y
	}
	return dot / math.Sqrt(na*nb)
}

// Min is the smallest value of v (NaN counts as smallest).
func Min(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		if x < m || math.IsNaN(x) {
			m = x
		}
	}
	return m
}

// Rankings returns, for each query row of q (width d), the indices of the
// rows of docs in order of decreasing dot product.
func Rankings(q, docs []float32, d int) [][]int {
	nq, nd := len(q)/d, len(docs)/d
	out := make([][]int, nq)
	for i := range out {
		s := make([]float64, nd)
		idx := make([]int, nd)
		for j := range s {
			var dot float64
			for k := 0; k < d; k++ {
				dot += float64(q[i*d+k]) * float64(docs[j*d+k])
			}
			s[j], idx[j] = dot, j
		}
		sort.SliceStable(idx, func(a, b int) bool { return s[idx[a]] > s[idx[b]] })
		out[i] = idx
	}
	return out
}

// SameRankings reports whether two sets of rankings are identical.
func SameRankings(a, b [][]int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

// Swaps compares the rankings of docs by each query under two
// computations (q, docs and q2, docs2, same shapes, width d): it counts
// the pairs of docs whose order some query's ranking reverses, and
// returns the widest first-computation score gap among them and the
// largest change of any query-doc score.
func Swaps(q, docs, q2, docs2 []float32, d int) (n int, widestGap, maxChange float64) {
	nq, nd := len(q)/d, len(docs)/d
	score := func(q, docs []float32, i, j int) float64 {
		var s float64
		for k := 0; k < d; k++ {
			s += float64(q[i*d+k]) * float64(docs[j*d+k])
		}
		return s
	}
	for i := 0; i < nq; i++ {
		s1, s2 := make([]float64, nd), make([]float64, nd)
		for j := range s1 {
			s1[j], s2[j] = score(q, docs, i, j), score(q2, docs2, i, j)
			maxChange = max(maxChange, math.Abs(s2[j]-s1[j]))
		}
		for a := 0; a < nd; a++ {
			for b := a + 1; b < nd; b++ {
				if g1, g2 := s1[a]-s1[b], s2[a]-s2[b]; (g1 > 0 && g2 < 0) || (g1 < 0 && g2 > 0) {
					n++
					widestGap = max(widestGap, math.Abs(g1))
				}
			}
		}
	}
	return n, widestGap, maxChange
}
