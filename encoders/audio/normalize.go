package audio

import "math"

// normEpsilon is Wav2Vec2FeatureExtractor's variance floor.
const normEpsilon = 1e-7

// Normalize returns (x-mean)/sqrt(var+1e-7) with the population variance,
// the zero-mean unit-variance step of transformers' Wav2Vec2FeatureExtractor
// (do_normalize=true). Statistics are accumulated in float64. An empty x
// gives an empty result; the result is a new slice.
func Normalize(x []float32) []float32 {
	out := make([]float32, len(x))
	if len(x) == 0 {
		return out
	}
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	mean := sum / float64(len(x))
	var ss float64
	for _, v := range x {
		d := float64(v) - mean
		ss += d * d
	}
	inv := 1 / math.Sqrt(ss/float64(len(x))+normEpsilon)
	for i, v := range x {
		out[i] = float32((float64(v) - mean) * inv)
	}
	return out
}
