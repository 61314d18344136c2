package cpu

import "github.com/dash-go/dash/tensor"

// TEMPORARY placeholders, replaced by the spectral implementation.

func (be *Backend) RFFT(dst, src tensor.Buffer, batch, n int)  { panic("cpu.RFFT: not implemented yet") }
func (be *Backend) IRFFT(dst, src tensor.Buffer, batch, n int) { panic("cpu.IRFFT: not implemented yet") }
func (be *Backend) RFFT2(dst, src tensor.Buffer, batch, h, w int) {
	panic("cpu.RFFT2: not implemented yet")
}
func (be *Backend) IRFFT2(dst, src tensor.Buffer, batch, h, w int) {
	panic("cpu.IRFFT2: not implemented yet")
}
func (be *Backend) ComplexContract(mode tensor.ContractMode, dst, a, b tensor.Buffer, B, I, O, F int) {
	panic("cpu.ComplexContract: not implemented yet")
}
func (be *Backend) ComplexMul(dst tensor.Buffer, shape []int, a tensor.Buffer, aOff int, aStrides []int, b tensor.Buffer, bOff int, bStrides []int, conjB bool) {
	panic("cpu.ComplexMul: not implemented yet")
}
func (be *Backend) KronDilate(dst, src tensor.Buffer, rows int, k, d []int) {
	panic("cpu.KronDilate: not implemented yet")
}
func (be *Backend) KronGather(dst, src tensor.Buffer, rows int, k, d []int) {
	panic("cpu.KronGather: not implemented yet")
}
