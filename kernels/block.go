package kernels

import (
	"fmt"
	"math"
)

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// ScoreBlock computes the distance under m from q to each row of block, a
// contiguous row-major slab of len(block)/len(q) vectors, writing them to
// out[0:rows]. It is the exact-scan hot loop. For MetricCosine the rows and
// q must already be normalised.
func ScoreBlock(m Metric, q, block, out []float32) error {
	if !m.Valid() {
		return fmt.Errorf("%w: invalid metric %d", ErrBadShape, m)
	}
	d := len(q)
	if d == 0 {
		if len(block) != 0 {
			return fmt.Errorf("%w: empty query against a non-empty block", ErrBadShape)
		}
		return nil
	}
	if len(block)%d != 0 {
		return fmt.Errorf("%w: block of %d floats is not a multiple of dimension %d", ErrBadShape, len(block), d)
	}
	rows := len(block) / d
	if len(out) < rows {
		return fmt.Errorf("%w: out has %d slots for %d rows", ErrBadShape, len(out), rows)
	}
	scoreBlock(m.Distance(), q, block, out[:rows])
	return nil
}

// scoreBlock is ScoreBlock without checks.
func scoreBlock(dist DistanceFunc, q, block, out []float32) {
	d := len(q)
	for i := range out {
		out[i] = dist(q, block[i*d:(i+1)*d])
	}
}
