//go:build cgo

package vk

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/dash-go/dash/tensor"
)

func TestReduceConformance(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(6))
	shapes := [][3]int{{1, 1, 1}, {1, 7, 1}, {3, 5, 2}, {1, 1000, 1}, {17, 129, 3}, {2, 3, 1000}, {5000, 3, 1}, {1, 100003, 1}, {3, 2, 70001}, {70001, 2, 1}}
	for op := tensor.ReduceSum; op <= tensor.ReduceArgMin; op++ {
		for _, sh := range shapes {
			outer, n, inner := sh[0], sh[1], sh[2]
			src := mkpair(be, randSlice(r, outer*n*inner, -1, 1))
			dst := mkpair(be, make([]float32, outer*inner))
			be.Reduce(op, dst.g, src.g, outer, n, inner)
			ref.Reduce(op, dst.c, src.c, outer, n, inner)
			what := fmt.Sprintf("reduce op %d %v", op, sh)
			if op >= tensor.ReduceArgMax {
				dst.checkInt(t, be, what)
			} else {
				dst.check(t, be, what, 1e-5*math.Sqrt(float64(n)), 1e-5)
			}
			src.free(be)
			dst.free(be)
		}
	}
	// ties: the first index wins
	src := mkpair(be, []float32{1, 3, 3, 0, 0, -2, -2})
	dst := mkpair(be, []float32{0, 0})
	be.Reduce(tensor.ReduceArgMax, dst.g, src.g, 1, 7, 1)
	ref.Reduce(tensor.ReduceArgMax, dst.c, src.c, 1, 7, 1)
	dst.checkInt(t, be, "argmax ties")
	be.Reduce(tensor.ReduceArgMin, dst.g, src.g, 1, 7, 1)
	ref.Reduce(tensor.ReduceArgMin, dst.c, src.c, 1, 7, 1)
	dst.checkInt(t, be, "argmin ties")
}

func TestRandomConformance(t *testing.T) {
	be := shared(t)
	for _, n := range []int{1, 7, 1000, 65537} {
		for _, dist := range []tensor.Distribution{tensor.Uniform, tensor.Normal} {
			for _, seed := range []uint64{0, 42, 0xdeadbeefcafe} {
				d := mkpair(be, make([]float32, n+5))
				be.Random(d.g, 3, n, dist, seed, -0.5, 2)
				ref.Random(d.c, 3, n, dist, seed, -0.5, 2)
				tol := 0.0
				if dist == tensor.Normal {
					tol = 3e-5 // float32 log/cos on the device vs float64 on the CPU
				}
				d.check(t, be, fmt.Sprintf("random n=%d dist=%d seed=%d", n, dist, seed), tol, tol)
				d.free(be)
			}
		}
	}
}

func TestMatMulConformance(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(7))
	type mc struct{ batch, m, k, n int }
	cases := []mc{{1, 1, 1, 1}, {1, 3, 5, 7}, {2, 17, 31, 13}, {1, 64, 64, 64}, {3, 65, 129, 67}, {1, 1, 300, 1}, {1, 200, 1, 300}, {5, 2, 3, 4}}
	if !testing.Short() {
		cases = append(cases, mc{1, 257, 511, 130}, mc{70000, 2, 2, 2})
	}
	for _, cs := range cases {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, beta := range []float32{0, 0.5} {
					if cs.batch > 65535 && (ta || tb || beta == 0) {
						continue // one combination covers the batch split
					}
					p := tensor.MatMulParams{Batch: cs.batch, M: cs.m, K: cs.k, N: cs.n, TransA: ta, TransB: tb,
						AOff: 1, BOff: 2, COff: 3, StrideA: cs.m * cs.k, StrideB: cs.k * cs.n, StrideC: cs.m * cs.n, Alpha: 1.5, Beta: beta}
					if cs.batch == 2 {
						p.StrideB = 0 // shared B
					}
					a := mkpair(be, randSlice(r, 1+cs.batch*cs.m*cs.k, -1, 1))
					b := mkpair(be, randSlice(r, 2+cs.batch*cs.k*cs.n, -1, 1))
					c := mkpair(be, randSlice(r, 3+cs.batch*cs.m*cs.n, -1, 1))
					be.MatMul(c.g, a.g, b.g, p)
					ref.MatMul(c.c, a.c, b.c, p)
					c.check(t, be, fmt.Sprintf("matmul %+v ta=%v tb=%v beta=%g", cs, ta, tb, beta), 1e-5*math.Sqrt(float64(cs.k)), 1e-5)
					a.free(be)
					b.free(be)
					c.free(be)
				}
			}
		}
	}
}

func TestGatherScatterConformance(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(8))
	for _, sz := range [][2]int{{1, 1}, {7, 3}, {1000, 10}, {70001, 5}} {
		rows, cols := sz[0], sz[1]
		idx := make([]int32, rows)
		for i := range idx {
			idx[i] = int32(r.Intn(cols))
		}
		ix := mkpairI(be, idx)
		src := mkpair(be, randSlice(r, rows*cols, -1, 1))
		dst := mkpair(be, make([]float32, rows))
		be.GatherCols(dst.g, src.g, ix.g, rows, cols)
		ref.GatherCols(dst.c, src.c, ix.c, rows, cols)
		dst.check(t, be, fmt.Sprintf("gather %v", sz), 0, 0)
		be.ScatterAddCols(src.g, dst.g, ix.g, rows, cols)
		ref.ScatterAddCols(src.c, dst.c, ix.c, rows, cols)
		src.check(t, be, fmt.Sprintf("scatter %v", sz), 0, 0)
		ix.free(be)
		src.free(be)
		dst.free(be)
	}
}

func TestOptimizerConformance(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(9))
	for _, n := range []int{1, 257, 100003} {
		for _, o := range []tensor.SGDParams{{LR: 0.1}, {LR: 0.05, Momentum: 0.9, WeightDecay: 1e-3}, {LR: 0.05, Momentum: 0.9, Nesterov: true}} {
			p, g, m := mkpair(be, randSlice(r, n, -1, 1)), mkpair(be, randSlice(r, n, -1, 1)), mkpair(be, randSlice(r, n, -1, 1))
			for step := 0; step < 3; step++ {
				be.SGDStep(p.g, g.g, m.g, n, o)
				ref.SGDStep(p.c, g.c, m.c, n, o)
			}
			p.check(t, be, fmt.Sprintf("sgd n=%d %+v p", n, o), 1e-6, 1e-6)
			m.check(t, be, fmt.Sprintf("sgd n=%d %+v m", n, o), 1e-6, 1e-6)
			p.free(be)
			g.free(be)
			m.free(be)
		}
		for _, o := range []tensor.AdamParams{{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, {LR: 1e-2, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.1, Decoupled: true}, {LR: 1e-2, Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.1}} {
			p, g := mkpair(be, randSlice(r, n, -1, 1)), mkpair(be, randSlice(r, n, -1, 1))
			m, v := mkpair(be, make([]float32, n)), mkpair(be, make([]float32, n))
			for step := 1; step <= 3; step++ {
				o.Step = step
				be.AdamStep(p.g, g.g, m.g, v.g, n, o)
				ref.AdamStep(p.c, g.c, m.c, v.c, n, o)
			}
			p.check(t, be, fmt.Sprintf("adam n=%d %+v p", n, o), 1e-6, 1e-5)
			v.check(t, be, fmt.Sprintf("adam n=%d %+v v", n, o), 1e-7, 1e-5)
			for _, x := range []pair{p, g, m, v} {
				x.free(be)
			}
		}
	}
}
