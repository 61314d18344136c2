//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA inner loops of the fused training kernels (fused.go). Each
// processes n elements, n a multiple of 16 (two ymm vectors per step); the
// Go callers handle the tail. Sums are returned as float32 totals of the
// vector lanes. All functions end with VZEROUPPER.

// func bnStatsAVX2(x *float32, n int, k float32) (s, ss float32)
// s = Σ (x−k), ss = Σ (x−k)².
TEXT ·bnStatsAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS k+16(FP), Y15
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	SHRQ $4, CX
	JZ   statsdone
statsloop:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VSUBPS  Y15, Y4, Y4
	VSUBPS  Y15, Y5, Y5
	VADDPS  Y4, Y0, Y0
	VADDPS  Y5, Y1, Y1
	VFMADD231PS Y4, Y4, Y2
	VFMADD231PS Y5, Y5, Y3
	ADDQ $64, SI
	DECQ CX
	JNZ  statsloop
statsdone:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VEXTRACTF128 $1, Y0, X1
	VADDPS  X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS   X0, s+24(FP)
	VEXTRACTF128 $1, Y2, X3
	VADDPS  X3, X2, X2
	VHADDPS X2, X2, X2
	VHADDPS X2, X2, X2
	MOVSS   X2, ss+28(FP)
	VZEROUPPER
	RET

// func bnApplyAVX2(dst, src *float32, n int, scale, off float32, relu bool)
// dst = src·scale + off, then max(·, 0) when relu (NaN propagates).
TEXT ·bnApplyAVX2(SB), NOSPLIT, $0-33
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y14
	VBROADCASTSS off+28(FP), Y15
	VXORPS Y13, Y13, Y13
	MOVBLZX relu+32(FP), AX
	SHRQ $4, CX
	JZ   applydone
	TESTQ AX, AX
	JNZ  applyrelu
applyloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VFMADD213PS Y15, Y14, Y0
	VFMADD213PS Y15, Y14, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  applyloop
	JMP  applydone
applyrelu:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VFMADD213PS Y15, Y14, Y0
	VFMADD213PS Y15, Y14, Y1
	VMAXPS  Y0, Y13, Y0
	VMAXPS  Y1, Y13, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  applyrelu
applydone:
	VZEROUPPER
	RET

// func bnBwdSumsAVX2(dy, x *float32, n int, mean, scale, off float32, relu bool) (sg, sgx float32)
// With m = (x·scale + off > 0) when relu (else 1): sg = Σ g·m,
// sgx = Σ g·m·(x − mean).
TEXT ·bnBwdSumsAVX2(SB), NOSPLIT, $0-48
	MOVQ dy+0(FP), SI
	MOVQ x+8(FP), DX
	MOVQ n+16(FP), CX
	VBROADCASTSS mean+24(FP), Y12
	VBROADCASTSS scale+28(FP), Y14
	VBROADCASTSS off+32(FP), Y15
	VXORPS Y13, Y13, Y13
	MOVBLZX relu+36(FP), AX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	SHRQ $4, CX
	JZ   sumsdone
sumsloop:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS (DX), Y6
	VMOVUPS 32(DX), Y7
	TESTQ AX, AX
	JZ   sumsnomask
	VMOVAPS Y6, Y8
	VMOVAPS Y7, Y9
	VFMADD213PS Y15, Y14, Y8
	VFMADD213PS Y15, Y14, Y9
	VCMPPS  $0x1e, Y13, Y8, Y8
	VCMPPS  $0x1e, Y13, Y9, Y9
	VANDPS  Y8, Y4, Y4
	VANDPS  Y9, Y5, Y5
sumsnomask:
	VSUBPS  Y12, Y6, Y6
	VSUBPS  Y12, Y7, Y7
	VADDPS  Y4, Y0, Y0
	VADDPS  Y5, Y1, Y1
	VFMADD231PS Y6, Y4, Y2
	VFMADD231PS Y7, Y5, Y3
	ADDQ $64, SI
	ADDQ $64, DX
	DECQ CX
	JNZ  sumsloop
sumsdone:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VEXTRACTF128 $1, Y0, X1
	VADDPS  X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS   X0, sg+40(FP)
	VEXTRACTF128 $1, Y2, X3
	VADDPS  X3, X2, X2
	VHADDPS X2, X2, X2
	VHADDPS X2, X2, X2
	MOVSS   X2, sgx+44(FP)
	VZEROUPPER
	RET

// func bnBwdDxAVX2(out, dy, x *float32, n int, a, b, k, scale, off float32, relu bool) (sum float32)
// With m as in bnBwdSumsAVX2: out = a·g·m − b·x + k; sum = Σ out.
TEXT ·bnBwdDxAVX2(SB), NOSPLIT, $0-60
	MOVQ out+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS a+32(FP), Y10
	VBROADCASTSS b+36(FP), Y11
	VBROADCASTSS k+40(FP), Y12
	VBROADCASTSS scale+44(FP), Y14
	VBROADCASTSS off+48(FP), Y15
	VXORPS Y13, Y13, Y13
	VSUBPS Y11, Y13, Y11 // −b
	MOVBLZX relu+52(FP), AX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	SHRQ $4, CX
	JZ   dxdone
dxloop:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS (DX), Y6
	VMOVUPS 32(DX), Y7
	TESTQ AX, AX
	JZ   dxnomask
	VMOVAPS Y6, Y8
	VMOVAPS Y7, Y9
	VFMADD213PS Y15, Y14, Y8
	VFMADD213PS Y15, Y14, Y9
	VCMPPS  $0x1e, Y13, Y8, Y8
	VCMPPS  $0x1e, Y13, Y9, Y9
	VANDPS  Y8, Y4, Y4
	VANDPS  Y9, Y5, Y5
dxnomask:
	VFMADD213PS Y12, Y11, Y6 // −b·x + k
	VFMADD213PS Y12, Y11, Y7
	VFMADD231PS Y10, Y4, Y6 // + a·g
	VFMADD231PS Y10, Y5, Y7
	VMOVUPS Y6, (DI)
	VMOVUPS Y7, 32(DI)
	VADDPS  Y6, Y0, Y0
	VADDPS  Y7, Y1, Y1
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNZ  dxloop
dxdone:
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS  X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVSS   X0, sum+56(FP)
	VZEROUPPER
	RET

// func addReLUAVX2(dst, a, b *float32, n int)
// dst = max(a + b, 0) (NaN propagates).
TEXT ·addReLUAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	VXORPS Y13, Y13, Y13
	SHRQ $4, CX
	JZ   arldone
arlloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VADDPS  (DX), Y0, Y0
	VADDPS  32(DX), Y1, Y1
	VMAXPS  Y0, Y13, Y0
	VMAXPS  Y1, Y13, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNZ  arlloop
arldone:
	VZEROUPPER
	RET

// func reluGradAVX2(dst, dy, y *float32, n int)
// dst = y > 0 ? g : 0.
TEXT ·reluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
	VXORPS Y13, Y13, Y13
	SHRQ $4, CX
	JZ   rgdone
rgloop:
	VMOVUPS (DX), Y2
	VMOVUPS 32(DX), Y3
	VCMPPS  $0x1e, Y13, Y2, Y2
	VCMPPS  $0x1e, Y13, Y3, Y3
	VANDPS  (SI), Y2, Y0
	VANDPS  32(SI), Y3, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNZ  rgloop
rgdone:
	VZEROUPPER
	RET

// func addAVX2(dst, a, b *float32, n int)
// dst = a + b.
TEXT ·addAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $4, CX
	JZ   adddone
addloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VADDPS  (DX), Y0, Y0
	VADDPS  32(DX), Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNZ  addloop
adddone:
	VZEROUPPER
	RET
