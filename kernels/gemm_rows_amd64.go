package kernels

// The fewer-row variants of the SGEMM micro-kernels (gemm_amd64.s).

//go:noescape
func sgemmKernelAVX512R1(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX512R2(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX512R3(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX512R4(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX512R5(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX512R6(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX512R7(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX512R8(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX512R9(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX512R10(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX512R11(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX2R1(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX2R2(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX2R3(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX2R4(kc int, a, b, c *float32, ldc int)

//go:noescape
func sgemmKernelAVX2R5(kc int, a, b, c *float32, ldc int)

// avx512Rows and avx2Rows index the kernels by the rows they compute.
var avx512Rows = []func(kc int, a, b, c *float32, ldc int){nil,
	sgemmKernelAVX512R1,
	sgemmKernelAVX512R2,
	sgemmKernelAVX512R3,
	sgemmKernelAVX512R4,
	sgemmKernelAVX512R5,
	sgemmKernelAVX512R6,
	sgemmKernelAVX512R7,
	sgemmKernelAVX512R8,
	sgemmKernelAVX512R9,
	sgemmKernelAVX512R10,
	sgemmKernelAVX512R11,
	sgemmKernelAVX512}

var avx2Rows = []func(kc int, a, b, c *float32, ldc int){nil,
	sgemmKernelAVX2R1,
	sgemmKernelAVX2R2,
	sgemmKernelAVX2R3,
	sgemmKernelAVX2R4,
	sgemmKernelAVX2R5,
	sgemmKernelAVX2}
