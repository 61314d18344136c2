//go:build cgo

package vk

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	vulkan "github.com/vulkan-go/vulkan"
)

// Matmul variants chosen by the device's features, with matmul.comp (the
// shared-memory / register-tiled kernel of gemm) as the portable fallback:
//
//   - matmul_sg.comp, when the device has subgroup arithmetic for compute
//     shaders: split-K within the workgroup reduced by subgroupAdd, for
//     shapes whose 64×64 tiles underfill the device (few output tiles and a
//     long K: the weight gradient of a linear layer, batch-1 GEMV, M or N
//     ≤ 4);
//   - matmul_f16cvt.comp + matmul_f16.comp, opt-in (Options.FP16MatMul,
//     Backend.SetFP16MatMul or DASH_VK_FP16=1) where the device has
//     storageBuffer16BitAccess: the operands are packed to float16 and
//     multiplied with fp32 accumulation. Inputs lose precision to fp16's
//     11-bit significand (relative error ≈ 3e-4 of Σ|a·b| on random data,
//     TestMatMulFP16Accuracy) and saturate beyond ±65504. Where the split-K
//     kernel suits the shape it is used instead (its fp32 loads fill its
//     workgroups; the fp16 kernel's 64×64 tiles would be as empty as
//     matmul.comp's).
//
// On lavapipe (BenchmarkMatMulVariant, 2 loaded cores): a 1×4096·4096×4096
// GEMV 50 ms split-K vs 1.25 s matmul.comp; 512³ 81 ms fp16 vs 144 ms
// (the packed K-contiguous operands suit the CPU's caches); the
// 64×4096·4096×64 weight gradient 15 vs 17 ms (one core per workgroup
// there; on a GPU the split-K kernel runs 256 workgroups where
// matmul.comp runs one).
//
// VK_KHR_cooperative_matrix is not used: the shader compiler of the build
// machine (glslang 11.13) does not know GL_KHR_cooperative_matrix and no
// device it was tested on offers it.

// matmulVariant names a matmul kernel.
type matmulVariant int

const (
	mmTiled    matmulVariant = iota // matmul.comp, the portable fallback
	mmSubgroup                      // matmul_sg.comp
	mmFP16                          // matmul_f16cvt.comp + matmul_f16.comp
	mmVariants
)

func (v matmulVariant) String() string {
	switch v {
	case mmTiled:
		return "tiled"
	case mmSubgroup:
		return "subgroup"
	case mmFP16:
		return "fp16"
	}
	return fmt.Sprintf("matmulVariant(%d)", int(v))
}

// parseMatmulVariant parses DASH_VK_MATMUL's value ("" or "auto": choose).
func parseMatmulVariant(s string) (v matmulVariant, forced bool, err error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return mmTiled, false, nil
	case "tiled":
		return mmTiled, true, nil
	case "subgroup":
		return mmSubgroup, true, nil
	case "fp16":
		return mmFP16, true, nil
	}
	return mmTiled, false, fmt.Errorf("vk: DASH_VK_MATMUL=%q: want auto, tiled, subgroup or fp16", s)
}

// matmulFeatures is what the device offers the matmul variants and what
// the user opted into. The zero value selects the fallback.
type matmulFeatures struct {
	subgroupArith bool // VK_SUBGROUP_FEATURE_ARITHMETIC_BIT for the compute stage
	storage16     bool // storageBuffer16BitAccess, enabled at device creation
	fp16          bool // fp16 operands opted into
	// force, when forced, overrides the shape heuristics (DASH_VK_MATMUL,
	// tests); a forced variant the device lacks still falls back.
	force  matmulVariant
	forced bool
	// limits the variants must respect
	maxRange uint64    // maxStorageBufferRange: each fp16 pack is one binding
	maxGroup [3]uint32 // maxComputeWorkGroupCount

	runs [mmVariants]int // GEMMs recorded per variant (tests)
}

// probeMatmulFeatures queries the device for the variants' features and
// reads the opt-ins (Options.FP16MatMul, DASH_VK_FP16, DASH_VK_MATMUL).
func probeMatmulFeatures(inst vulkan.Instance, phys vulkan.PhysicalDevice, info DeviceInfo, o Options) (matmulFeatures, error) {
	var p vulkan.PhysicalDeviceProperties
	vulkan.GetPhysicalDeviceProperties(phys, &p)
	p.Deref()
	stages, ops := subgroupCaps(inst, phys, p.ApiVersion)
	f := matmulFeatures{
		subgroupArith: stages&stageCompute != 0 && ops&subgroupArithmetic != 0 && info.SubgroupSize >= 1,
		storage16:     storage16Supported(inst, phys, p.ApiVersion),
		fp16:          o.FP16MatMul || envOn("DASH_VK_FP16"),
		maxRange:      info.MaxStorageBufferRange,
		maxGroup:      info.MaxComputeWorkGroupCount,
	}
	var err error
	f.force, f.forced, err = parseMatmulVariant(os.Getenv("DASH_VK_MATMUL"))
	if f.fp16 && !f.storage16 {
		slog.Warn("vk: fp16 matmul requested but the device lacks storageBuffer16BitAccess; using fp32", "device", info.Name)
	}
	return f, err
}

// matmulForce forces a variant in tests (-1: the device's choice). A forced
// variant the device lacks falls back to mmTiled.
var matmulForce matmulVariant = -1

// chooseMatmul picks the variant for g (pure: tests pass fake features).
func chooseMatmul(f matmulFeatures, g gemmArgs) matmulVariant {
	force, forced := f.force, f.forced
	if matmulForce >= 0 {
		force, forced = matmulForce, true
	}
	if forced {
		switch {
		case force == mmSubgroup && f.subgroupArith && g.K <= sgMaxK:
			return mmSubgroup
		case force == mmFP16 && f.storage16 && fp16Fits(f, g):
			return mmFP16
		}
		return mmTiled
	}
	// the split-K kernel first: where it suits, the fp16 kernel's 64×64
	// tiles would be as empty as matmul.comp's (20× slower for a GEMV on
	// lavapipe, BenchmarkMatMulVariant)
	if f.subgroupArith && subgroupSuits(g) && g.K <= sgMaxK {
		return mmSubgroup
	}
	if f.fp16 && f.storage16 && fp16Fits(f, g) {
		return mmFP16
	}
	return mmTiled
}

// sgMaxK bounds matmul_sg.comp's K: each lane loops K/512 times, and
// llvmpipe stops a shader after 65535 loop iterations.
const sgMaxK = 4 * 128 * 65535

// subgroupSuits reports a shape for matmul_sg.comp: a reduction long enough
// to split over 128 invocations, and an output the 64×64 tiles cover
// poorly — M or N ≤ 4 (at most 4 of a tile's 64 rows or columns used) or
// fewer than 64 tiles in all (a GPU has tens of compute units; lavapipe
// runs one workgroup per core at a time).
func subgroupSuits(g gemmArgs) bool {
	if g.K < 256 {
		return false
	}
	tiles := ((g.M + 63) / 64) * ((g.N + 63) / 64) * g.batch
	return min(g.M, g.N) <= 4 || tiles < 64
}

// fp16Shape returns the padded reduction length of the fp16 packs and the
// number of packed matrices of A and B (1 when an operand is shared by the
// batch).
func fp16Shape(g gemmArgs) (kp, nbA, nbB int) {
	kp = max(16, (g.K+15)&^15)
	nbA, nbB = g.batch, g.batch
	if g.sA == 0 {
		nbA = 1
	}
	if g.sB == 0 {
		nbB = 1
	}
	return kp, nbA, nbB
}

// fp16Fits reports whether each fp16 pack fits one binding and 32-bit
// shader indices, and the N tiles one grid row.
func fp16Fits(f matmulFeatures, g gemmArgs) bool {
	kp, nbA, nbB := fp16Shape(g)
	for _, n := range []int{nbA * g.M * kp, nbB * g.N * kp} {
		if n >= 1<<31-1 || uint64(n)*2 > f.maxRange {
			return false
		}
	}
	return (g.N+63)/64 <= int(min(f.maxGroup[0], 65535))
}

// SetFP16MatMul switches the fp16-operand matmul variant on or off (see
// Options.FP16MatMul). It fails on a device without
// storageBuffer16BitAccess.
func (be *Backend) SetFP16MatMul(on bool) error {
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	if on && !be.c.mm.storage16 {
		return fmt.Errorf("vk: fp16 matmul: %s lacks storageBuffer16BitAccess", be.c.info.Name)
	}
	be.c.mm.fp16 = on
	return nil
}

// gemmVariant records g with a feature-specific variant and reports true,
// or reports false for the fallback (gemm's matmul.comp). Caller holds c.mu.
func (be *Backend) gemmVariant(g gemmArgs) bool {
	v := chooseMatmul(be.c.mm, g)
	be.c.mm.runs[v]++
	switch v {
	case mmSubgroup:
		be.gemmSubgroup(g)
		return true
	case mmFP16:
		be.gemmFP16(g)
		return true
	}
	return false
}

// gridLimits returns the per-axis workgroup-count limits (≤ 65535).
func (be *Backend) gridLimits() (x, y, z int) {
	l := be.c.info.MaxComputeWorkGroupCount
	return int(min(l[0], 65535)), int(min(l[1], 65535)), int(min(l[2], 65535))
}

// gemmSubgroup records matmul_sg.comp: TM×TN blocks (4×4; 1×16 for M ≤ 2,
// 16×1 for N ≤ 2), split over dispatches along every grid axis past its
// limit. Caller holds c.mu.
func (be *Backend) gemmSubgroup(g gemmArgs) {
	tm := 4
	switch {
	case g.M <= 2 && g.N > 2:
		tm = 1
	case g.N <= 2 && g.M > 2:
		tm = 16
	}
	tn := 16 / tm
	xl, yl, zl := be.gridLimits()
	mt, nt := (g.M+tm-1)/tm, (g.N+tn-1)/tn
	spec := []uint32{uint32(tm)}
	for b0 := 0; b0 < g.batch; b0 += zl {
		nb := min(zl, g.batch-b0)
		for m0 := 0; m0 < mt; m0 += yl {
			nm := min(yl, mt-m0)
			for n0 := 0; n0 < nt; n0 += xl {
				nn := min(xl, nt-n0)
				push := pushBuf{}.i(g.M, g.N, g.K, g.aOff, g.bOff, g.cOff, g.sA, g.sB, g.sC, g.ars, g.acs, g.brs, g.bcs).
					f(g.alpha, g.beta).i(b0, m0*tm, n0*tn, g.crs)
				be.c.dispatch("matmul_sg", spec, [3]uint32{uint32(nn), uint32(nm), uint32(nb)}, push,
					arg{a: g.c, write: true}, arg{a: g.a}, arg{a: g.b})
			}
		}
	}
}

// gemmFP16 packs op(A) and op(B)ᵀ to float16 (matmul_f16cvt.comp) in
// scratch buffers and records matmul_f16.comp on them. Caller holds c.mu.
func (be *Backend) gemmFP16(g gemmArgs) {
	kp, nbA, nbB := fp16Shape(g)
	a16 := be.c.scratch(uint64(nbA*g.M*kp) * 2)
	defer be.c.rec.free(a16)
	b16 := be.c.scratch(uint64(nbB*g.N*kp) * 2)
	defer be.c.rec.free(b16)
	be.pack16(a16, g.a, nbA, g.M, g.K, kp, g.aOff, g.sA, g.ars, g.acs)
	be.pack16(b16, g.b, nbB, g.N, g.K, kp, g.bOff, g.sB, g.bcs, g.brs)
	sA, sB := g.M*kp, g.N*kp
	if nbA == 1 {
		sA = 0
	}
	if nbB == 1 {
		sB = 0
	}
	_, yl, zl := be.gridLimits()
	nt, mt := (g.N+63)/64, (g.M+63)/64
	spec := []uint32{be.tiledSpec()}
	for b0 := 0; b0 < g.batch; b0 += zl {
		nb := min(zl, g.batch-b0)
		for m0 := 0; m0 < mt; m0 += yl {
			nm := min(yl, mt-m0)
			push := pushBuf{}.i(g.M, g.N, kp, sA, sB, g.cOff, g.sC, g.crs).f(g.alpha, g.beta).i(b0, m0*64)
			be.c.dispatch("matmul_f16", spec, [3]uint32{uint32(nt), uint32(nm), uint32(nb)}, push,
				arg{a: g.c, write: true}, arg{a: a16}, arg{a: b16})
		}
	}
}

// pack16 records matmul_f16cvt.comp: dst[(b·rows + r)·kp + k] =
// f16(src[off + b·s + r·rs + k·ks]), zero for k ≥ K. Caller holds c.mu.
func (be *Backend) pack16(dst, src *allocation, nb, rows, k, kp, off, s, rs, ks int) {
	total := nb * rows * (kp / 4)
	push := pushBuf{}.i(total, rows, k, kp/4, off, s, rs, ks)
	be.c.dispatch("matmul_f16cvt", nil, be.groups1D(total, 256), push, arg{a: dst, write: true}, arg{a: src})
}
