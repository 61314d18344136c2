//go:build cgo

package vk

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/dash-go/dash/tensor"
)

func TestComplexContractConformance(t *testing.T) {
	// contract.comp tiles: 8 frequencies × 16×16 outputs, K steps of 8. The
	// sizes straddle every tile edge (M, N, K and F of 1, primes, one past a
	// tile, several tiles) and include the DASH shape (B32, C = O = 64).
	// Both variants: shared-memory tiles (GPUs) and registers only (CPUs).
	sizes := [][4]int{{1, 1, 1, 1}, {2, 3, 5, 7}, {4, 16, 8, 65}, {3, 1, 2, 70001}, {33, 19, 17, 13}, {17, 9, 41, 9}, {32, 64, 64, 37}}
	for _, mode := range []int{1, 0} {
		t.Run(fmt.Sprintf("tiled=%d", mode), func(t *testing.T) {
			gemmTiledMode = mode
			defer func() { gemmTiledMode = -1 }()
			testContract(t, sizes, tensor.ContractGradW)
		})
	}
	if !testing.Short() {
		// More than 65535 workgroups (65537 f-tiles): the register variant
		// only (the tiled one decodes the grid identically and needs ~10 s
		// on lavapipe, whose barriers are slow).
		gemmTiledMode = 0
		defer func() { gemmTiledMode = -1 }()
		testContract(t, [][4]int{{1, 1, 1, 8*65536 + 1}}, tensor.ContractForward)
	}
}

func testContract(t *testing.T, sizes [][4]int, lastMode tensor.ContractMode) {
	be := shared(t)
	r := rand.New(rand.NewSource(12))
	for _, sz := range sizes {
		B, I, O, F := sz[0], sz[1], sz[2], sz[3]
		for mode := tensor.ContractForward; mode <= lastMode; mode++ {
			var na, nb, nc int
			switch mode {
			case tensor.ContractForward:
				na, nb, nc = B*I, O*I, B*O
			case tensor.ContractGradX:
				na, nb, nc = B*O, O*I, B*I
			default:
				na, nb, nc = B*O, B*I, O*I
			}
			a := mkpair(be, randSlice(r, 2*na*F, -1, 1))
			b := mkpair(be, randSlice(r, 2*nb*F, -1, 1))
			d := mkpair(be, randSlice(r, 2*nc*F, -1, 1))
			be.ComplexContract(mode, d.g, a.g, b.g, B, I, O, F)
			ref.ComplexContract(mode, d.c, a.c, b.c, B, I, O, F)
			d.check(t, be, fmt.Sprintf("contract mode %d %v", mode, sz), 1e-5*math.Sqrt(float64(max(B, I, O))), 1e-5)
			for _, x := range []pair{a, b, d} {
				x.free(be)
			}
		}
	}
}

func TestComplexMulConformance(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(13))
	cases := []struct {
		shape      []int
		aSt, bSt   []int
		aOff, bOff int
	}{
		{[]int{1}, []int{1}, []int{1}, 0, 0},
		{[]int{5, 33}, []int{33, 1}, []int{0, 1}, 2, 4}, // depthwise broadcast
		{[]int{3, 4, 65}, []int{260, 65, 1}, []int{0, 65, 1}, 0, 0},
		{[]int{70001}, []int{1}, []int{1}, 1, 3}, // odd float offsets
	}
	for ci, cs := range cases {
		for _, conj := range []bool{false, true} {
			_, ha := viewSpan(0, cs.shape, cs.aSt)
			_, hb := viewSpan(0, cs.shape, cs.bSt)
			a := mkpair(be, randSlice(r, cs.aOff+2*ha+2, -1, 1))
			b := mkpair(be, randSlice(r, cs.bOff+2*hb+2, -1, 1))
			d := mkpair(be, make([]float32, 2*numel(cs.shape)))
			be.ComplexMul(d.g, cs.shape, a.g, cs.aOff, cs.aSt, b.g, cs.bOff, cs.bSt, conj)
			ref.ComplexMul(d.c, cs.shape, a.c, cs.aOff, cs.aSt, b.c, cs.bOff, cs.bSt, conj)
			d.check(t, be, fmt.Sprintf("complex mul case %d conj %v", ci, conj), 1e-6, 1e-6)
			for _, x := range []pair{a, b, d} {
				x.free(be)
			}
		}
	}
}

func TestKronConformance(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(14))
	cases := []struct {
		rows int
		k, d []int
	}{
		{1, []int{1}, []int{1}}, {3, []int{5}, []int{3}}, {7, []int{3, 3}, []int{2, 4}}, {64, []int{7, 5}, []int{1, 16}}, {70001, []int{3}, []int{2}},
	}
	for ci, cs := range cases {
		small, big := cs.rows, cs.rows
		for i := range cs.k {
			small *= cs.k[i]
			big *= cs.d[i]*(cs.k[i]-1) + 1
		}
		s := mkpair(be, randSlice(r, small, -1, 1))
		d := mkpair(be, randSlice(r, big, -1, 1))
		be.KronDilate(d.g, s.g, cs.rows, cs.k, cs.d)
		ref.KronDilate(d.c, s.c, cs.rows, cs.k, cs.d)
		d.check(t, be, fmt.Sprintf("kron dilate %d", ci), 0, 0)
		g := mkpair(be, make([]float32, small))
		be.KronGather(g.g, d.g, cs.rows, cs.k, cs.d)
		ref.KronGather(g.c, d.c, cs.rows, cs.k, cs.d)
		g.check(t, be, fmt.Sprintf("kron gather %d", ci), 0, 0)
		compare(t, "kron round trip", readG(be, g.g), readC(s.c), 0, 0)
		for _, x := range []pair{s, d, g} {
			x.free(be)
		}
	}
}
