#include "textflag.h"

// func quantRowU8AVX512(x *float32, n int, inv float32, zp int32, dst *uint8, stride int)
// n is a multiple of 16. q = clamp(round(x·inv) + zp, 0, 255), rounding
// half to even (VCVTPS2DQ under the default MXCSR); each group of four
// consecutive values is one dword of dst, groups stride bytes apart (the
// int8 GEMM's A panel layout).
TEXT ·quantRowU8AVX512(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS inv+16(FP), Z0
	MOVL zp+20(FP), AX
	VPBROADCASTD AX, Z1
	MOVQ dst+24(FP), DI
	MOVQ stride+32(FP), R8
	LEAQ (R8)(R8*2), R9
	VPXORD Z2, Z2, Z2

qr_loop:
	CMPQ CX, $16
	JL   qr_done
	VMULPS (SI), Z0, Z4
	VCVTPS2DQ Z4, Z4
	VPADDD Z1, Z4, Z4
	VPMAXSD Z2, Z4, Z4
	VPMOVUSDB Z4, X4
	VMOVD X4, (DI)
	VPEXTRD $1, X4, (DI)(R8*1)
	VPEXTRD $2, X4, (DI)(R8*2)
	VPEXTRD $3, X4, (DI)(R9*1)
	LEAQ (DI)(R8*4), DI
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  qr_loop

qr_done:
	VZEROUPPER
	RET

// func minMaxAVX512(x *float32, n int) (lo, hi, sum float32)
// n is a positive multiple of 16. sum (lane-wise, then reduced) is only
// used to see a NaN, which min and max may skip.
TEXT ·minMaxAVX512(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS (SI), Z0
	VMOVAPS Z0, Z1
	VMOVAPS Z0, Z2
	ADDQ $64, SI
	SUBQ $16, CX

mm_loop:
	TESTQ CX, CX
	JZ    mm_reduce
	VMOVUPS (SI), Z3
	VMINPS Z3, Z0, Z0
	VMAXPS Z3, Z1, Z1
	VADDPS Z3, Z2, Z2
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  mm_loop

mm_reduce:
	VEXTRACTF64X4 $1, Z0, Y3
	VMINPS Y3, Y0, Y0
	VEXTRACTF128 $1, Y0, X3
	VMINPS X3, X0, X0
	VPERMILPS $0x4E, X0, X3
	VMINPS X3, X0, X0
	VPERMILPS $0xB1, X0, X3
	VMINPS X3, X0, X0
	MOVSS X0, lo+16(FP)

	VEXTRACTF64X4 $1, Z1, Y3
	VMAXPS Y3, Y1, Y1
	VEXTRACTF128 $1, Y1, X3
	VMAXPS X3, X1, X1
	VPERMILPS $0x4E, X1, X3
	VMAXPS X3, X1, X1
	VPERMILPS $0xB1, X1, X3
	VMAXPS X3, X1, X1
	MOVSS X1, hi+20(FP)

	VEXTRACTF64X4 $1, Z2, Y3
	VADDPS Y3, Y2, Y2
	VEXTRACTF128 $1, Y2, X3
	VADDPS X3, X2, X2
	VPERMILPS $0x4E, X2, X3
	VADDPS X3, X2, X2
	VPERMILPS $0xB1, X2, X3
	VADDPS X3, X2, X2
	MOVSS X2, sum+24(FP)
	VZEROUPPER
	RET
