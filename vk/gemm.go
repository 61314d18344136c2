//go:build cgo

package vk

// Kernel variant choices for the GEMM-type shaders (contract, matmul,
// convolutions).

// gemmTiledMode forces the shared-memory (1) or the register-only (0)
// variant of the GEMM-type kernels; -1 chooses by device (tests run both).
var gemmTiledMode = -1

// tiled reports whether the GEMM-type kernels stage tiles in shared memory.
// GPUs do: tiles loaded once, coalesced, reused by the whole workgroup. CPU
// devices (lavapipe) do not: their "shared memory" is ordinary memory and
// every barrier switches all the SIMD fibres of a workgroup, so the same
// register blocking straight from global memory (the CPU caches) is faster.
func (be *Backend) tiled() bool {
	if gemmTiledMode >= 0 {
		return gemmTiledMode == 1
	}
	return be.c.info.Type != TypeCPU
}

// tiledSpec is tiled() as a specialization constant.
func (be *Backend) tiledSpec() uint32 {
	if be.tiled() {
		return 1
	}
	return 0
}
