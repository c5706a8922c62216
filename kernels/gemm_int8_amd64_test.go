package kernels

import "testing"

// TestVNNIAssembles runs one VPDPBUSD group by hand: four unsigned bytes
// broadcast against 32 columns of four signed bytes, every sign and the
// extremes (255·−128 would not fit int16, as VPMADDUBSW's pairs must).
func TestVNNIAssembles(t *testing.T) {
	if !hasVNNI {
		t.Skip("no AVX-512 VNNI")
	}
	a := make([]uint8, 4*i8MR)
	b := make([]int8, 4*i8NR)
	for i := range a {
		a[i] = uint8(255 - 7*i)
	}
	for j := range b {
		b[j] = int8(j*37 - 128)
	}
	rs, zp := make([]float32, i8MR), make([]int32, i8MR)
	cs, ws := make([]int32, i8NR), make([]float32, i8NR)
	for i := range rs {
		rs[i] = 1
	}
	for j := range ws {
		ws[j] = 1
	}
	c := make([]float32, i8MR*i8NR)
	gemmU8S8VNNI(1, &a[0], &b[0], &c[0], i8NR, &rs[0], &zp[0], &cs[0], &ws[0], &zeroBias[0])
	for i := 0; i < i8MR; i++ {
		for j := 0; j < i8NR; j++ {
			var want int32
			for q := 0; q < 4; q++ {
				want += int32(a[4*i+q]) * int32(b[4*j+q])
			}
			if c[i*i8NR+j] != float32(want) {
				t.Fatalf("c[%d][%d] = %v, want %d", i, j, c[i*i8NR+j], want)
			}
		}
	}
}
