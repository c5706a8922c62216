package kernels

import "testing"

func fmaPeakZ(n int)

// BenchmarkFMAPeak measures this core's float32 FMA ceiling (register-only
// 512-bit FMAs), to put the SGEMM figures in proportion.
func BenchmarkFMAPeak(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512")
	}
	for b.Loop() {
		fmaPeakZ(1000)
	}
	b.ReportMetric(12*32*1000*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
}

// BenchmarkMicroKernel runs the AVX-512 12×32 micro-kernel on L1-resident
// panels (kc = 256).
func BenchmarkMicroKernel(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512")
	}
	const kc = 256
	a := make([]float32, kc*12)
	bb := make([]float32, kc*32)
	c := make([]float32, 12*32)
	for i := range a {
		a[i] = 0.001
	}
	for i := range bb {
		bb[i] = 0.001
	}
	for b.Loop() {
		sgemmKernelAVX512(kc, &a[0], &bb[0], &c[0], 32)
	}
	b.ReportMetric(2*12*32*kc*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
}
