//go:build cgo

package vk

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/dash-go/dash/tensor"
)

// TestFusedKernels compares the fused batch-norm, bias+activation and
// add+ReLU kernels (forward and gradients) with the CPU backend on awkward
// shapes: one element, one channel, odd and prime sizes, channels beyond a
// workgroup, spatial sizes beyond a workgroup.
func TestFusedKernels(t *testing.T) {
	be := shared(t)
	r := rand.New(rand.NewSource(7))
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {2, 3, 257}, {4, 2, 1000}, {1, 300, 3}, {65, 1, 1}, {7, 13, 31}}
	if !testing.Short() {
		shapes = append(shapes, [3]int{16, 8, 4099})
	}
	for _, sh := range shapes {
		N, C, S := sh[0], sh[1], sh[2]
		n := N * C * S
		for _, relu := range []bool{false, true} {
			for _, training := range []bool{true, false} {
				for _, affine := range []bool{true, false} {
					name := fmt.Sprintf("bn-%v-relu=%v-training=%v-affine=%v", sh, relu, training, affine)
					t.Run(name, func(t *testing.T) {
						x := mkpair(be, randSlice(r, n, -2, 3))
						dy := mkpair(be, randSlice(r, n, -1, 1))
						rm := mkpair(be, randSlice(r, C, -0.5, 0.5))
						rv := mkpair(be, randSlice(r, C, 0.5, 2))
						y, st := mkpair(be, make([]float32, n)), mkpair(be, make([]float32, 4*C))
						dx := mkpair(be, make([]float32, n))
						dg, db, dbi := mkpair(be, make([]float32, C)), mkpair(be, make([]float32, C)), mkpair(be, make([]float32, C))
						var bias, gamma, beta pair
						bufs := func(p pair, gpu bool) tensor.Buffer {
							if p.g == nil {
								return nil
							}
							if gpu {
								return p.g
							}
							return p.c
						}
						all := []pair{x, dy, rm, rv, y, st, dx, dg, db, dbi}
						if affine {
							bias, gamma, beta = mkpair(be, randSlice(r, C, -1, 1)), mkpair(be, randSlice(r, C, 0.5, 1.5)), mkpair(be, randSlice(r, C, -1, 1))
							all = append(all, bias, gamma, beta)
						}
						defer func() {
							for _, p := range all {
								p.free(be)
							}
						}()
						p := tensor.BatchNormParams{N: N, C: C, S: S, Eps: 1e-5, Momentum: 0.1, Training: training, ReLU: relu}
						for _, gpu := range []bool{true, false} {
							var k tensor.Backend = ref
							if gpu {
								k = be
							}
							b := func(q pair) tensor.Buffer { return bufs(q, gpu) }
							k.BatchNormForward(p, b(y), b(st), b(x), b(bias), b(gamma), b(beta), b(rm), b(rv))
							k.BatchNormBackward(p, b(dx), b(dg), b(db), b(dbi), b(dy), b(x), b(st))
						}
						tol := 2e-4
						y.check(t, be, "y", tol, tol)
						st.check(t, be, "stats", tol, tol)
						rm.check(t, be, "running mean", tol, tol)
						rv.check(t, be, "running var", tol, tol)
						dx.check(t, be, "dx", tol*float64(max(1, S/100)), 1e-3)
						dg.check(t, be, "dgamma", 1e-3*float64(N*S)/10+1e-3, 1e-3)
						db.check(t, be, "dbeta", 1e-3*float64(N*S)/10+1e-3, 1e-3)
						dbi.check(t, be, "dbias", 1e-3*float64(N*S)/10+1e-3, 1e-3)
					})
				}
			}
			name := fmt.Sprintf("bias-act-%v-relu=%v", sh, relu)
			t.Run(name, func(t *testing.T) {
				x := mkpair(be, randSlice(r, n, -2, 2))
				x2 := mkpair(be, randSlice(r, n, -2, 2))
				dy := mkpair(be, randSlice(r, n, -1, 1))
				bias := mkpair(be, randSlice(r, C, -1, 1))
				y, dx, db := mkpair(be, make([]float32, n)), mkpair(be, make([]float32, n)), mkpair(be, make([]float32, C))
				ar, ip := mkpair(be, make([]float32, n)), mkpair(be, randSlice(r, n, -2, 2))
				defer func() {
					for _, p := range []pair{x, x2, dy, bias, y, dx, db, ar, ip} {
						p.free(be)
					}
				}()
				for _, gpu := range []bool{true, false} {
					var k tensor.Backend = ref
					pick := func(q pair) tensor.Buffer { return q.c }
					if gpu {
						k = be
						pick = func(q pair) tensor.Buffer { return q.g }
					}
					k.BiasAct(pick(y), pick(x), pick(bias), N, C, S, relu)
					k.BiasActBackward(pick(dx), pick(db), pick(dy), pick(y), N, C, S, relu)
					k.BiasAct(pick(ip), pick(ip), nil, N, C, S, relu) // in place, no bias
					k.Binary(tensor.OpAddReLU, pick(ar), []int{n}, pick(x), 0, []int{1}, pick(x2), 0, []int{1})
				}
				y.check(t, be, "y", 1e-6, 1e-6)
				ip.check(t, be, "in place", 1e-6, 1e-6)
				dx.check(t, be, "dx", 0, 0)
				db.check(t, be, "dbias", 1e-3*float64(N*S)/10+1e-4, 1e-4)
				ar.check(t, be, "add-relu", 1e-6, 1e-6)
			})
		}
	}
}
