package cpu

import (
	"fmt"

	"github.com/dash-go/dash/tensor"
)

// MatMul computes batched C = alpha·op(A)·op(B) + beta·C with the blocked
// AVX-512/AVX2 SGEMM (sgemm.go), parallel over rows, columns or the batch.
func (be *Backend) MatMul(c, a, b tensor.Buffer, p tensor.MatMulParams) {
	cs, as, bs := buf(c), buf(a), buf(b)
	if p.M < 0 || p.K < 0 || p.N < 0 || p.Batch < 0 {
		panic(fmt.Sprintf("cpu.MatMul: bad sizes %+v", p))
	}
	if p.Batch == 0 || p.M == 0 || p.N == 0 {
		return
	}
	gemm(p.TransA, p.TransB, p.Batch, p.M, p.N, p.K, p.Alpha,
		as, p.AOff, p.StrideA, bs, p.BOff, p.StrideB, p.Beta, cs, p.COff, p.StrideC, be.threads)
}

// gemm runs a batch of row-major GEMMs C = alpha·op(A)·op(B) + beta·C, the
// i-th reading A at aOff+i·sa, B at bOff+i·sb and C at cOff+i·sc (a stride of
// 0 shares the matrix). A beta of 0 ignores the old contents of C. It uses
// the blocked, packed GEMM of sgemm.go with the fastest micro-kernel the CPU
// supports; a single large GEMM is split over threads, a batch is spread
// over them.
func gemm(ta, tb bool, batch, m, n, k int, alpha float32, a []float32, aOff, sa int, b []float32, bOff, sb int, beta float32, c []float32, cOff, sc int, threads int) {
	gemmBatch(bestKernel, ta, tb, batch, m, n, k, alpha, a, aOff, sa, b, bOff, sb, beta, c, cOff, sc, threads)
}
