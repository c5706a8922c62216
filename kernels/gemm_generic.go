package kernels

import "unsafe"

// sgemmKernelGeneric is the portable 4×8 micro-kernel.
func sgemmKernelGeneric(kc int, a, b, c *float32, ldc int) {
	const mr, nr = 4, 8
	as := unsafe.Slice(a, kc*mr)
	bs := unsafe.Slice(b, kc*nr)
	var acc [mr][nr]float32
	for p := 0; p < kc; p++ {
		bv := (*[nr]float32)(bs[p*nr : p*nr+nr])
		av := (*[mr]float32)(as[p*mr : p*mr+mr])
		for i := 0; i < mr; i++ {
			ai := av[i]
			row := &acc[i]
			for j := 0; j < nr; j++ {
				row[j] += ai * bv[j]
			}
		}
	}
	cs := unsafe.Slice(c, (mr-1)*ldc+nr)
	for i := 0; i < mr; i++ {
		row := cs[i*ldc : i*ldc+nr]
		for j := range row {
			row[j] += acc[i][j]
		}
	}
}
