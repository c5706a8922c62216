package kernels

// Impl names the implementation selected at start-up for the distance
// kernels: "avx512", "avx2" or "generic". It is for reports and logs.
func Impl() string { return impl }

var impl = "generic"

// dotImpl and squaredL2Impl are the selected kernels. They require
// len(b) >= len(a) and read len(a) elements of each.
var (
	dotImpl       = dotGeneric
	squaredL2Impl = squaredL2Generic
)

var (
	dotF16Impl       = dotF16Generic
	squaredL2F16Impl = squaredL2F16Generic
	decodeF16Impl    = decodeF16Generic
)
