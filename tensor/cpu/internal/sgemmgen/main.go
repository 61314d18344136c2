// Command sgemmgen writes tensor/cpu/sgemm_amd64.s: the SGEMM
// micro-kernels (fully unrolled AVX2 6×16 and AVX-512 8×48 register tiles)
// and the CPU feature probes they need. Run through `go generate
// ./tensor/cpu`; CI regenerates and diffs the committed file.
//
//	go run ./tensor/cpu/internal/sgemmgen -o tensor/cpu/sgemm_amd64.s
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
)

// kernel describes one micro-kernel: an MR×NR tile of C held in vector
// registers of the given width, k unrolled four times.
type kernel struct {
	name     string
	mr, nr   int
	vecBytes int    // 32 (ymm) or 64 (zmm)
	reg      string // "Y" or "Z"
	zero     string // zeroing instruction
	accBase  int    // first accumulator register
	bBase    int    // first register holding B vectors
	aRegs    [2]int // registers alternately holding broadcast A values
	comment  string
}

var kernels = []kernel{
	{name: "sgemmKernel6x16AVX2", mr: 6, nr: 16, vecBytes: 32, reg: "Y", zero: "VXORPS", accBase: 0, bBase: 12, aRegs: [2]int{14, 15},
		comment: "// func sgemmKernel6x16AVX2(k int, a, b, c *float32, ldc int, beta float32)"},
	{name: "sgemmKernel8x48AVX512", mr: 8, nr: 48, vecBytes: 64, reg: "Z", zero: "VPXORD", accBase: 0, bBase: 24, aRegs: [2]int{27, 28},
		comment: "// func sgemmKernel8x48AVX512(k int, a, b, c *float32, ldc int, beta float32)"},
}

func main() {
	out := flag.String("o", "sgemm_amd64.s", "output file")
	flag.Parse()
	var b bytes.Buffer
	b.WriteString(header)
	for i, k := range kernels {
		if i > 0 {
			b.WriteString("\n")
		}
		k.write(&b)
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

func (k kernel) r(i int) string { return fmt.Sprintf("%s%d", k.reg, i) }

func (k kernel) write(b *bytes.Buffer) {
	p := func(format string, a ...any) { fmt.Fprintf(b, format+"\n", a...) }
	nv := k.nr * 4 / k.vecBytes // B vectors per k step
	rowBytes := k.nr * 4
	p("%s", k.comment)
	p("TEXT ·%s(SB), NOSPLIT, $0-44", k.name)
	p("\tMOVQ k+0(FP), CX")
	p("\tMOVQ a+8(FP), SI")
	p("\tMOVQ b+16(FP), DI")
	p("\tMOVQ c+24(FP), DX")
	p("\tMOVQ ldc+32(FP), BX")
	p("\tSHLQ $2, BX")
	p("\tMOVQ DX, R8")
	// prefetch the C tile, one line per 64 bytes and the row's last byte
	for i := range k.mr {
		if i > 0 {
			p("\tADDQ BX, R8")
		}
		for off := 0; off < rowBytes-1; off += 64 {
			p("\tPREFETCHT0 %d(R8)", off)
		}
		p("\tPREFETCHT0 %d(R8)", rowBytes-1)
	}
	for i := range k.mr * nv {
		p("\t%s %s, %s, %s", k.zero, k.r(k.accBase+i), k.r(k.accBase+i), k.r(k.accBase+i))
	}
	step := func(u int) {
		for j := range nv {
			p("\tVMOVUPS %d(DI), %s", (u*nv+j)*k.vecBytes, k.r(k.bBase+j))
		}
		for i := range k.mr {
			a := k.r(k.aRegs[i%2])
			p("\tVBROADCASTSS %d(SI), %s", (u*k.mr+i)*4, a)
			for j := range nv {
				p("\tVFMADD231PS %s, %s, %s", k.r(k.bBase+j), a, k.r(k.accBase+i*nv+j))
			}
		}
	}
	p("\tCMPQ CX, $4")
	p("\tJLT %s_tail", k.name)
	p("%s_loop:", k.name)
	for u := range 4 {
		step(u)
	}
	p("\tADDQ $%d, SI", 4*k.mr*4)
	p("\tADDQ $%d, DI", 4*rowBytes)
	p("\tSUBQ $4, CX")
	p("\tCMPQ CX, $4")
	p("\tJGE %s_loop", k.name)
	p("%s_tail:", k.name)
	p("\tTESTQ CX, CX")
	p("\tJEQ %s_store", k.name)
	p("%s_tailloop:", k.name)
	step(0)
	p("\tADDQ $%d, SI", k.mr*4)
	p("\tADDQ $%d, DI", rowBytes)
	p("\tDECQ CX")
	p("\tJNE %s_tailloop", k.name)
	p("%s_store:", k.name)
	p("\tMOVL beta+40(FP), AX")
	p("\tTESTL AX, AX")
	p("\tJNE %s_beta", k.name)
	for i := range k.mr {
		if i > 0 {
			p("\tADDQ BX, DX")
		}
		for j := range nv {
			p("\tVMOVUPS %s, %d(DX)", k.r(k.accBase+i*nv+j), j*k.vecBytes)
		}
	}
	p("\tVZEROUPPER")
	p("\tRET")
	p("%s_beta:", k.name)
	p("\tVBROADCASTSS beta+40(FP), %s", k.r(k.aRegs[0]))
	for i := range k.mr {
		if i > 0 {
			p("\tADDQ BX, DX")
		}
		for j := range nv {
			acc := k.r(k.accBase + i*nv + j)
			p("\tVFMADD231PS %d(DX), %s, %s", j*k.vecBytes, k.r(k.aRegs[0]), acc)
			p("\tVMOVUPS %s, %d(DX)", acc, j*k.vecBytes)
		}
	}
	p("\tVZEROUPPER")
	p("\tRET")
}

// header is the file's start: build constraint, the description, and the
// hand-written helpers (CPUID, XGETBV, the 8×8 transpose used for packing).
const header = `//go:build amd64 && !purego

#include "textflag.h"

// SGEMM micro-kernels and CPU feature probes for sgemm_amd64.go.
//
// The micro-kernels are fully unrolled and were written out by a small
// generator program; each computes an MR×NR tile
//
//	C = Apanel·Bpanel + beta·C
//
// from packed panels (A: k steps of MR floats, B: k steps of NR floats),
// keeping the whole tile in vector registers. Per k step they load NR/lanes
// vectors of B, broadcast each of the MR values of A and issue one FMA per
// accumulator; the k loop is unrolled four times. C has a row stride of ldc
// elements; a beta whose bits are all zero stores the tile without reading
// C. All functions end with VZEROUPPER.

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// func transpose8x8AVX(dst *float32, ldd int, src *float32, lds int)
// dst[r*ldd+c] = src[c*lds+r] for r, c < 8.
TEXT ·transpose8x8AVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), BX
	SHLQ $2, DX
	SHLQ $2, BX
	LEAQ (BX)(BX*2), CX // 3*lds
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(BX*1), Y1
	VMOVUPS (SI)(BX*2), Y2
	VMOVUPS (SI)(CX*1), Y3
	LEAQ (SI)(BX*4), SI
	VMOVUPS (SI), Y4
	VMOVUPS (SI)(BX*1), Y5
	VMOVUPS (SI)(BX*2), Y6
	VMOVUPS (SI)(CX*1), Y7
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	LEAQ (DX)(DX*2), CX // 3*ldd
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, (DI)(DX*1)
	VMOVUPS Y10, (DI)(DX*2)
	VMOVUPS Y11, (DI)(CX*1)
	LEAQ (DI)(DX*4), DI
	VMOVUPS Y12, (DI)
	VMOVUPS Y13, (DI)(DX*1)
	VMOVUPS Y14, (DI)(DX*2)
	VMOVUPS Y15, (DI)(CX*1)
	VZEROUPPER
	RET

`
