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

// vec returns matmul.comp's VEC specialization constant: bit 0 when A's
// tiles can be loaded as vec4 along its contiguous axis (unit stride there,
// offsets, the other stride, the batch stride and that axis' extent all
// multiples of 4), bit 1 likewise for B.
func (g gemmArgs) vec() uint32 {
	al := func(v ...int) bool {
		for _, x := range v {
			if x%4 != 0 {
				return false
			}
		}
		return true
	}
	var v uint32
	if (g.acs == 1 && al(g.aOff, g.sA, g.ars, g.K)) || (g.acs != 1 && g.ars == 1 && al(g.aOff, g.sA, g.acs, g.M)) {
		v |= 1
	}
	if (g.bcs == 1 && al(g.bOff, g.sB, g.brs, g.N)) || (g.bcs != 1 && g.brs == 1 && al(g.bOff, g.sB, g.bcs, g.K)) {
		v |= 2
	}
	return v
}
