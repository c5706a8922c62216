// Package hubert runs HuBERT and wav2vec 2.0 speech encoders (the
// transformers HubertModel / Wav2Vec2Model layouts) in pure Go.
//
// The network is a stack of strided 1-D convolutions over the raw 16 kHz
// waveform (group norm on the first layer, or layer norm on every layer),
// a feature projection (layer norm + linear) to the model width, a
// weight-normed grouped convolution that adds relative positional
// information, and a transformer encoder: post-LN for the "base" form,
// pre-LN with a final layer norm for the "stable layer norm" (large) form.
//
// Activations are channels-last: a sequence of T frames of width D is a
// [T*D] slice. Convolutions are im2col + GEMM through nn.Linear.
//
// Weight norm is folded at load time (w = g·v/‖v‖), from either the
// parametrizations.weight.original0/1 names current transformers writes
// or the weight_g/weight_v names of older checkpoints.
//
// A loaded Model is immutable and safe for concurrent use.
package hubert
