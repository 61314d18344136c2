//go:build cgo

package vk

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/dash-go/dash/tensor"
)

// TestMatMulVariants runs matmul.comp's variants (shared-memory tiles with
// scalar or vec4 loads, registers only) against the CPU backend: every
// transposition, offsets aligned to 4 (vec4 loads where the extents allow)
// and not, extents that are and are not multiples of 4, a K past lavapipe's
// 65535-iteration loop limit, and batches with a shared B.
func TestMatMulVariants(t *testing.T) {
	type mc struct{ batch, m, k, n, off int }
	cases := []mc{
		{1, 64, 64, 64, 0}, {2, 68, 36, 132, 4}, {3, 65, 129, 67, 0}, {1, 4, 4, 4, 0},
		{2, 1, 8, 12, 0}, {1, 12, 1, 8, 0}, {2, 33, 20, 7, 8}, {1, 128, 48, 40, 1},
	}
	if !testing.Short() {
		cases = append(cases, mc{1, 5, 70004, 3, 0})
	}
	for _, mode := range []int{1, 0} {
		t.Run(fmt.Sprintf("tiled=%d", mode), func(t *testing.T) {
			be := shared(t)
			gemmTiledMode = mode
			matmulForce = mmTiled // matmul.comp itself, not a variant (matmul_variants_test.go)
			defer func() { gemmTiledMode, matmulForce = -1, -1 }()
			r := rand.New(rand.NewSource(17))
			for _, cs := range cases {
				for _, ta := range []bool{false, true} {
					for _, tb := range []bool{false, true} {
						beta := float32(0)
						if ta != tb {
							beta = 0.25
						}
						p := tensor.MatMulParams{Batch: cs.batch, M: cs.m, K: cs.k, N: cs.n, TransA: ta, TransB: tb,
							AOff: cs.off, BOff: 2 * cs.off, COff: 3 * cs.off, StrideA: cs.m * cs.k, StrideB: cs.k * cs.n, StrideC: cs.m * cs.n, Alpha: 1.25, Beta: beta}
						if cs.batch == 2 {
							p.StrideB = 0 // shared B
						}
						a := mkpair(be, randSlice(r, cs.off+cs.batch*cs.m*cs.k, -1, 1))
						b := mkpair(be, randSlice(r, 2*cs.off+cs.batch*cs.k*cs.n, -1, 1))
						c := mkpair(be, randSlice(r, 3*cs.off+cs.batch*cs.m*cs.n, -1, 1))
						be.MatMul(c.g, a.g, b.g, p)
						ref.MatMul(c.c, a.c, b.c, p)
						c.check(t, be, fmt.Sprintf("matmul %+v ta=%v tb=%v", cs, ta, tb), 1e-5*math.Sqrt(float64(cs.k)), 1e-5)
						a.free(be)
						b.free(be)
						c.free(be)
					}
				}
			}
		})
	}
}

func TestMatMulVec(t *testing.T) {
	// The vec4 choice: both layouts of each operand, and what disqualifies it.
	for _, c := range []struct {
		g    gemmArgs
		want uint32
	}{
		{gemmArgs{M: 8, N: 8, K: 8, ars: 8, acs: 1, brs: 8, bcs: 1}, 3},
		{gemmArgs{M: 8, N: 8, K: 8, ars: 1, acs: 8, brs: 1, bcs: 8}, 3},
		{gemmArgs{M: 8, N: 8, K: 8, ars: 8, acs: 1, brs: 8, bcs: 1, aOff: 1}, 2},
		{gemmArgs{M: 8, N: 6, K: 8, ars: 8, acs: 1, brs: 6, bcs: 1}, 1},
		{gemmArgs{M: 8, N: 8, K: 8, ars: 8, acs: 1, brs: 8, bcs: 1, sB: 2}, 1},
		{gemmArgs{M: 1, N: 8, K: 1, ars: 1, acs: 1, brs: 8, bcs: 1}, 2}, // unit strides both ways: k-fast, K = 1
	} {
		if got := c.g.vec(); got != c.want {
			t.Errorf("vec(%+v) = %d, want %d", c.g, got, c.want)
		}
	}
}
