package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func gemmU8S8VNNI(kg int, a *uint8, b *int8, c *float32, ldc int, rs *float32, zp *int32, cs *int32, ws *float32, bias *float32)

//go:noescape
func quantRowU8AVX512(x *float32, n int, inv float32, zp int32, dst *uint8, stride int)

//go:noescape
func minMaxAVX512(x *float32, n int) (lo, hi, sum float32)

// hasVNNI gates the int8 GEMM's assembly (VPDPBUSD on zmm registers).
var hasVNNI = hasAVX512 && cpu.X86.HasAVX512VNNI

func init() { selectInt8(hasVNNI) }

// selectInt8 installs the VNNI int8 kernels, or the Go reference. Tests
// call it to force each path in turn.
func selectInt8(vnni bool) {
	if vnni {
		int8Impl = int8Kernel{name: "avx512vnni-12x32", fn: gemmU8S8VNNI, quant: quantRowU8AVX512, minMax: minMaxAVX512}
		return
	}
	int8Impl = int8Kernel{name: "generic", fn: gemmU8S8Generic}
}
