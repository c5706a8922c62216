package embedcmp

import (
	"math"
	"testing"
)

func TestCosinesAndRankings(t *testing.T) {
	a := []float32{1, 0, 0, 2}
	b := []float32{1, 1, 0, -3}
	c := Cosines(a, b, 2)
	if math.Abs(c[0]-1/math.Sqrt2) > 1e-12 || c[1] != -1 || Min(c) != -1 {
		t.Fatalf("cosines %v", c)
	}
	if !math.IsNaN(Min([]float64{1, math.NaN()})) {
		t.Fatal("NaN not reported as the minimum")
	}
	docs := []float32{0, 1, 1, 0, 0.5, 0.5}
	r := Rankings([]float32{1, 0, 0, 1}, docs, 2)
	want := [][]int{{1, 2, 0}, {0, 2, 1}}
	if !SameRankings(r, want) || SameRankings(r, [][]int{{1, 2, 0}, {0, 1, 2}}) || SameRankings(r, want[:1]) {
		t.Fatalf("rankings %v, want %v", r, want)
	}
	// The second query's scores 0, 1, 0.5 become 0.6, 0.4, 0.5: docs 0
	// and 1 swap (gap 1), 0 and 2 (gap 0.5), 1 and 2 (gap 0.5).
	n, gap, change := Swaps([]float32{1, 0, 0, 1}, docs, []float32{1, 0, 0.6, 0.4}, []float32{0, 1, 1, 0, 0.5, 0.5}, 2)
	if n != 3 || gap != 1 || math.Abs(change-0.6) > 1e-6 {
		t.Fatalf("Swaps: %d, widest gap %v, largest change %v", n, gap, change)
	}
	if n, _, _ := Swaps(docs, docs, docs, docs, 2); n != 0 {
		t.Fatalf("Swaps of identical computations: %d", n)
	}
}
