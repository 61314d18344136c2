//go:build cgo

package vk

import "github.com/dash-go/dash/tensor"

func (be *Backend) Reduce(op tensor.ReduceOp, dst, src tensor.Buffer, outer, n, inner int) { notYet("Reduce") }
func (be *Backend) Random(dst tensor.Buffer, off, n int, dist tensor.Distribution, seed uint64, a, b float32) { notYet("Random") }
func (be *Backend) MatMul(c, a, b tensor.Buffer, p tensor.MatMulParams) { notYet("MatMul") }
func (be *Backend) GatherCols(dst, src, idx tensor.Buffer, rows, cols int) { notYet("GatherCols") }
func (be *Backend) ScatterAddCols(dst, src, idx tensor.Buffer, rows, cols int) { notYet("ScatterAddCols") }
func (be *Backend) ConvForward(p tensor.ConvParams, y, x, w tensor.Buffer) { notYet("ConvForward") }
func (be *Backend) ConvBackwardData(p tensor.ConvParams, dx, dy, w tensor.Buffer) { notYet("ConvBackwardData") }
func (be *Backend) ConvBackwardFilter(p tensor.ConvParams, dw, x, dy tensor.Buffer) { notYet("ConvBackwardFilter") }
func (be *Backend) MaxPool(p tensor.PoolParams, y, idx, x tensor.Buffer) { notYet("MaxPool") }
func (be *Backend) MaxPoolBackward(p tensor.PoolParams, dx, dy, idx tensor.Buffer) { notYet("MaxPoolBackward") }
func (be *Backend) AvgPool(p tensor.PoolParams, y, x tensor.Buffer) { notYet("AvgPool") }
func (be *Backend) AvgPoolBackward(p tensor.PoolParams, dx, dy tensor.Buffer) { notYet("AvgPoolBackward") }
func (be *Backend) ComplexContract(mode tensor.ContractMode, dst, a, b tensor.Buffer, B, I, O, F int) { notYet("ComplexContract") }
func (be *Backend) ComplexMul(dst tensor.Buffer, shape []int, a tensor.Buffer, aOff int, aStrides []int, b tensor.Buffer, bOff int, bStrides []int, conjB bool) { notYet("ComplexMul") }
func (be *Backend) KronDilate(dst, src tensor.Buffer, rows int, k, d []int) { notYet("KronDilate") }
func (be *Backend) KronGather(dst, src tensor.Buffer, rows int, k, d []int) { notYet("KronGather") }
func (be *Backend) SGDStep(p, g, m tensor.Buffer, n int, o tensor.SGDParams) { notYet("SGDStep") }
func (be *Backend) AdamStep(p, g, m, v tensor.Buffer, n int, o tensor.AdamParams) { notYet("AdamStep") }
