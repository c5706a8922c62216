package kernels

// ExpInPlace replaces each x[i] with exp(x[i]) (Exp32 accuracy; AVX-512
// when available). Inputs beyond ±88 saturate to 0 or ~3.4e38.
func ExpInPlace(x []float32) { expImpl(x) }

// QuickGELUInPlace replaces each x[i] with x·σ(1.702x), CLIP's activation.
func QuickGELUInPlace(x []float32) { quickGELUImpl(x) }

var (
	expImpl       = expGeneric
	quickGELUImpl = quickGELUGeneric
)

func expGeneric(x []float32) {
	for i, v := range x {
		x[i] = Exp32(v)
	}
}

func quickGELUGeneric(x []float32) {
	for i, v := range x {
		x[i] = v / (1 + Exp32(-1.702*v))
	}
}

// Sigmoid32 is 1/(1+e^-x).
func Sigmoid32(x float32) float32 { return 1 / (1 + Exp32(-x)) }
