//go:build !amd64

package kernels

const hasVNNI = false

func selectInt8(vnni bool) {}
