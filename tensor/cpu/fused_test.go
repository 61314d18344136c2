package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dash-go/dash/internal/testenv"
	"github.com/dash-go/dash/tensor"
)

// TestFusedVectorLoops checks the AVX2 loops of the fused kernels against
// the Go loops on lengths around the 16-element vector step.
func TestFusedVectorLoops(t *testing.T) {
	if !haveAVX2 {
		testenv.Skip(t, "no AVX2+FMA on this CPU (the Go loops are the only path)")
	}
	be := New()
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) *Buf {
		b := &Buf{F: make([]float32, n)}
		for i := range b.F {
			b.F[i] = float32(rng.NormFloat64())
		}
		return b
	}
	for _, sh := range [][3]int{{3, 2, 15}, {2, 3, 16}, {4, 2, 17}, {2, 5, 49}, {5, 3, 100}} {
		for _, relu := range []bool{false, true} {
			for _, training := range []bool{true, false} {
				N, C, S := sh[0], sh[1], sh[2]
				n := N * C * S
				x, dy := fill(n), fill(n)
				bias, gamma, beta := fill(C), fill(C), fill(C)
				p := tensor.BatchNormParams{N: N, C: C, S: S, Eps: 1e-5, Momentum: 0.1, Training: training, ReLU: relu}
				type res struct{ y, st, dx, dg, db, dbi, rm, rv, ba, bab, badb, arl, rg []float32 }
				run := func(avx bool) res {
					old := haveAVX2
					haveAVX2 = avx
					defer func() { haveAVX2 = old }()
					r := res{y: make([]float32, n), st: make([]float32, 4*C), dx: make([]float32, n), dg: make([]float32, C),
						db: make([]float32, C), dbi: make([]float32, C), rm: make([]float32, C), rv: make([]float32, C),
						ba: make([]float32, n), bab: make([]float32, n), badb: make([]float32, C), arl: make([]float32, n), rg: make([]float32, n)}
					for i := range r.rv {
						r.rv[i] = 1
					}
					be.BatchNormForward(p, &Buf{F: r.y}, &Buf{F: r.st}, x, bias, gamma, beta, &Buf{F: r.rm}, &Buf{F: r.rv})
					be.BatchNormBackward(p, &Buf{F: r.dx}, &Buf{F: r.dg}, &Buf{F: r.db}, &Buf{F: r.dbi}, dy, x, &Buf{F: r.st})
					be.BiasAct(&Buf{F: r.ba}, x, bias, N, C, S, relu)
					be.BiasActBackward(&Buf{F: r.bab}, &Buf{F: r.badb}, dy, &Buf{F: r.ba}, N, C, S, relu)
					be.Binary(tensor.OpAddReLU, &Buf{F: r.arl}, []int{n}, x, 0, []int{1}, dy, 0, []int{1})
					be.Binary(tensor.OpReLUGrad, &Buf{F: r.rg}, []int{n}, dy, 0, []int{1}, x, 0, []int{1})
					return r
				}
				a, g := run(true), run(false)
				name := fmt.Sprintf("%v relu=%v training=%v", sh, relu, training)
				cmp := func(what string, u, v []float32) {
					for i := range u {
						if d := math.Abs(float64(u[i] - v[i])); d > 1e-4*math.Max(1, math.Abs(float64(v[i]))) {
							t.Fatalf("%s: %s[%d] = %v (AVX2), %v (Go)", name, what, i, u[i], v[i])
						}
					}
				}
				cmp("y", a.y, g.y)
				cmp("stats", a.st, g.st)
				cmp("dx", a.dx, g.dx)
				cmp("dgamma", a.dg, g.dg)
				cmp("dbeta", a.db, g.db)
				cmp("dbias", a.dbi, g.dbi)
				cmp("running mean", a.rm, g.rm)
				cmp("running var", a.rv, g.rv)
				cmp("bias-act", a.ba, g.ba)
				cmp("bias-act dx", a.bab, g.bab)
				cmp("bias-act dbias", a.badb, g.badb)
				cmp("add-relu", a.arl, g.arl)
				cmp("relu-grad", a.rg, g.rg)
			}
		}
	}
}
