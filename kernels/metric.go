package kernels

import (
	"fmt"
	"strings"
)

// Metric is a vector comparison. Each metric has a distance where smaller
// means closer, so that one search loop serves all of them.
type Metric uint8

const (
	// MetricCosine compares directions. Vectors must be normalised before
	// they reach a DistanceFunc; distance = 1 - dot.
	MetricCosine Metric = iota + 1
	// MetricDot is the inner product; distance = -dot.
	MetricDot
	// MetricL2 is Euclidean; distance = squared L2 (monotone in L2).
	MetricL2
)

// String returns "cosine", "dot" or "l2".
func (m Metric) String() string {
	switch m {
	case MetricCosine:
		return "cosine"
	case MetricDot:
		return "dot"
	case MetricL2:
		return "l2"
	}
	return fmt.Sprintf("Metric(%d)", uint8(m))
}

// ParseMetric accepts "cosine", "dot" (or "ip"), "l2" (or "euclidean").
func ParseMetric(s string) (Metric, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "cosine", "cos":
		return MetricCosine, nil
	case "dot", "ip", "inner":
		return MetricDot, nil
	case "l2", "euclidean":
		return MetricL2, nil
	}
	return 0, fmt.Errorf("kernels: unknown metric %q (want cosine, dot or l2)", s)
}

// Valid reports whether m is one of the defined metrics.
func (m Metric) Valid() bool { return m >= MetricCosine && m <= MetricL2 }

// DistanceFunc computes a distance for a metric. It does not check its
// input: len(b) must be >= len(a) (a shorter b panics with an index error).
// Callers validate dimensions once, before the hot loop.
type DistanceFunc func(a, b []float32) float32

// Distance returns the unchecked distance function for m.
func (m Metric) Distance() DistanceFunc {
	switch m {
	case MetricCosine:
		return cosineDistance
	case MetricDot:
		return negDot
	default:
		return squaredL2Dispatch
	}
}

func cosineDistance(a, b []float32) float32 { return 1 - dotImpl(a, b) }
func negDot(a, b []float32) float32         { return -dotImpl(a, b) }

// squaredL2Dispatch goes through the variable so that tests which switch
// implementations take effect.
func squaredL2Dispatch(a, b []float32) float32 { return squaredL2Impl(a, b) }

// Similarity converts a distance back into the score users see: cosine
// similarity, inner product, or Euclidean distance (for L2 the score is a
// distance, smaller is better).
func (m Metric) Similarity(dist float32) float32 {
	switch m {
	case MetricCosine:
		return 1 - dist
	case MetricDot:
		return -dist
	default:
		if dist < 0 {
			return 0
		}
		return sqrt32(dist)
	}
}
