package kernels

import "math"

// Exp32 is a float32 exp accurate to about 2 ulp over the whole float32
// range (Cephes' expf: range reduction by ln 2 in two parts, then a degree-6
// polynomial), several times faster than math.Exp in the activation loops.
// Results below the smallest normal float32 flush to 0; above 88.72 → +Inf.
func Exp32(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	if x > 88.72283 {
		return float32(math.Inf(1))
	}
	if x < -87.33654 {
		return 0
	}
	if x != x {
		return x
	}
	t := x*log2e + 0.5
	e := int32(t) // truncates toward zero: make it a floor
	if float32(e) > t {
		e--
	}
	fx := float32(e)
	x -= fx * c1
	x -= fx * c2
	z := x * x
	y := ((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x + 5.0000001201e-1
	y = y*z + x + 1
	if e > 127 { // 2^128 is not a float32; scale in two steps
		return y * 2 * math.Float32frombits(uint32(e-1+127)<<23)
	}
	return y * math.Float32frombits(uint32(e+127)<<23)
}
