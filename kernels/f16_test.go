package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestF16Conversion checks every binary16 value round-trips through
// float32 and that encoding rounds to the nearest representable value.
func TestF16Conversion(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := f16ToF32(uint16(h))
		if math.IsNaN(float64(f)) {
			if g := f32ToF16(f); g&0x7c00 != 0x7c00 || g&0x3ff == 0 {
				t.Fatalf("NaN %04x encoded as %04x", h, g)
			}
			continue
		}
		if g := f32ToF16(f); g != uint16(h) {
			t.Fatalf("%04x -> %v -> %04x", h, f, g)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		x := float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(10)-6)))
		h := f32ToF16(x)
		got := float64(f16ToF32(h))
		// No other binary16 is closer to x than the one chosen.
		for _, nb := range []uint16{h - 1, h + 1} {
			alt := float64(f16ToF32(nb))
			if math.IsNaN(alt) || math.IsInf(alt, 0) || (nb^h)&0x8000 != 0 {
				continue
			}
			if math.Abs(alt-float64(x)) < math.Abs(got-float64(x)) {
				t.Fatalf("%v encoded as %v, but %v is closer", x, got, alt)
			}
		}
	}
	if f32ToF16(70000) != 0x7c00 || f32ToF16(-70000) != 0xfc00 {
		t.Fatal("overflow does not give infinity")
	}
	if err := CheckFloat16Range([]float32{1, 65504, -65504}); err != nil {
		t.Fatal(err)
	}
	if err := CheckFloat16Range([]float32{1, 65505}); err == nil {
		t.Fatal("65505 accepted")
	}
}

func TestF16KernelsDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			withImpl(t, im.avx512, im.avx2)
			for n := 0; n <= 1100; n++ {
				a, bf := randVec(r, n), randVec(r, n)
				b := make([]uint16, n)
				EncodeF16(b, bf)
				DecodeF16(bf, b) // bf now holds exactly the stored values
				for i, h := range b {
					if bf[i] != f16ToF32(h) {
						t.Fatalf("n=%d: DecodeF16[%d] = %v, want %v", n, i, bf[i], f16ToF32(h))
					}
				}
				scale := math.Sqrt(refDot(a, a)*refDot(bf, bf)) + 1
				if got, want := dotF16Impl(a, b), refDot(a, bf); !close32(got, want, scale) {
					t.Fatalf("n=%d dotF16 %v want %v", n, got, want)
				}
				if got, want := squaredL2F16Impl(a, b), refL2(a, bf); !close32(got, want, want+1) {
					t.Fatalf("n=%d l2F16 %v want %v", n, got, want)
				}
			}
		})
	}
}

var sinkF16 float32

func BenchmarkDotF16(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, d := range []int{128, 512, 768, 1024} {
		x := randVec(r, d)
		y := make([]uint16, d)
		EncodeF16(y, randVec(r, d))
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			for b.Loop() {
				sinkF16 += dotF16Impl(x, y)
			}
			b.ReportMetric(2*float64(d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

// TestDotU8Differential compares every DotU8 path with the float64
// reference on every length up to 1100 (each head/tail split of the
// vector loops) and on extreme codes.
func TestDotU8Differential(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			withImpl(t, im.avx512, im.avx2)
			for n := 0; n <= 1100; n++ {
				a := randVec(r, n)
				b := make([]uint8, n+int(r.IntN(3))) // a longer code reads len(a)
				for i := range b {
					switch r.IntN(4) {
					case 0:
						b[i] = 0
					case 1:
						b[i] = 255
					default:
						b[i] = uint8(r.IntN(256))
					}
				}
				bf := make([]float32, n)
				var scale float64
				for i := range bf {
					bf[i] = float32(b[i])
					scale += math.Abs(float64(a[i])) * float64(b[i])
				}
				if got, want := DotU8(a, b), refDot(a, bf); !close32(got, want, scale+1) {
					t.Fatalf("n=%d DotU8 %v want %v", n, got, want)
				}
			}
		})
	}
}

func TestDotU8ShortCode(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("DotU8 with a short code did not panic")
		}
	}()
	DotU8(make([]float32, 8), make([]uint8, 7))
}

func BenchmarkDotU8(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x := randVec(r, 512)
	y := make([]uint8, 512)
	for i := range y {
		y[i] = uint8(r.IntN(256))
	}
	b.SetBytes(512)
	for b.Loop() {
		sinkF16 += DotU8(x, y)
	}
}

// TestPopDot4: the bit kernels against a per-bit count on random lengths.
func TestPopDot4(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 3))
	for n := 0; n <= 40; n++ {
		code := make([]uint64, n)
		planes := make([]uint64, 4*n+r.IntN(3))
		other := make([]uint64, n)
		for i := range code {
			code[i], other[i] = r.Uint64(), r.Uint64()
		}
		for i := range planes {
			planes[i] = r.Uint64()
		}
		wantPop, wantW, wantH := 0, 0, 0
		for w := 0; w < n; w++ {
			for b := 0; b < 64; b++ {
				if code[w]>>b&1 == 1 {
					wantPop++
					for j := 0; j < 4; j++ {
						wantW += int(planes[4*w+j]>>b&1) << j
					}
				}
				if (code[w]^other[w])>>b&1 == 1 {
					wantH++
				}
			}
		}
		pop, wsum := PopDot4(code, planes)
		if pop != wantPop || wsum != wantW {
			t.Fatalf("n=%d: PopDot4 = %d, %d; want %d, %d", n, pop, wsum, wantPop, wantW)
		}
		if h := Hamming(code, other); h != wantH {
			t.Fatalf("n=%d: Hamming %d, want %d", n, h, wantH)
		}
	}
}
