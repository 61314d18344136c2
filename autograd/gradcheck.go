package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/dash-go/dash/tensor"
)

// GradCheckOptions tunes GradCheck.
type GradCheckOptions struct {
	Eps       float64 // finite-difference step (default 1e-2)
	Tol       float64 // allowed |analytic - numeric| / max(1, |numeric|) (default 2e-2)
	MaxPerVar int     // elements probed per input (default 32, chosen at random)
	Seed      uint64
	Skip      []bool // inputs not to check (e.g. integer-valued ones)
}

// GradCheck compares the analytic gradients of f with central finite
// differences. f maps Vars made from inputs to any-shaped output; the check
// uses the scalar Σ out·r for a fixed random r, so every output element is
// exercised. It returns an error describing the first mismatch.
func GradCheck(f func(in []*Var) *Var, inputs []*tensor.Tensor, o GradCheckOptions) error {
	if o.Eps == 0 {
		o.Eps = 1e-2
	}
	if o.Tol == 0 {
		o.Tol = 2e-2
	}
	if o.MaxPerVar == 0 {
		o.MaxPerVar = 32
	}
	be := inputs[0].Backend()
	vars := make([]*Var, len(inputs))
	for i, t := range inputs {
		vars[i] = Leaf(t, i >= len(o.Skip) || !o.Skip[i])
	}
	out := f(vars)
	r := tensor.RandNormal(be, o.Seed+77, 0, 1, out.Value.Shape()...)
	loss := Sum(Mul(out, Const(r)), false)
	Backward(loss)
	analytic := make([][]float32, len(inputs))
	for i, v := range vars {
		if v.requires {
			if v.Grad == nil {
				analytic[i] = make([]float32, v.Value.Numel())
			} else {
				analytic[i] = v.Grad.Float32s()
			}
		}
	}
	rr := r.Float32s()
	Release(loss)
	eval := func(ins []*tensor.Tensor) float64 {
		var s float64
		NoGrad(func() {
			vs := make([]*Var, len(ins))
			for i, t := range ins {
				vs[i] = Const(t)
			}
			y := f(vs)
			yv := y.Value.Float32s()
			for j, v := range yv {
				s += float64(v) * float64(rr[j])
			}
			Release(y)
		})
		return s
	}
	rng := rand.New(rand.NewPCG(o.Seed, 1))
	for i, t := range inputs {
		if analytic[i] == nil {
			continue
		}
		base := t.Float32s()
		shape := t.Shape()
		n := len(base)
		probe := make([]int, 0, o.MaxPerVar)
		if n <= o.MaxPerVar {
			for j := range n {
				probe = append(probe, j)
			}
		} else {
			for range o.MaxPerVar {
				probe = append(probe, rng.IntN(n))
			}
		}
		for _, j := range probe {
			vals := append([]float32(nil), base...)
			at := func(delta float64) float64 {
				vals[j] = float32(float64(base[j]) + delta)
				ins := append([]*tensor.Tensor(nil), inputs...)
				ins[i] = tensor.FromFloat32(be, vals, shape...)
				v := eval(ins)
				ins[i].Release()
				return v
			}
			num := (at(o.Eps) - at(-o.Eps)) / (2 * o.Eps)
			an := float64(analytic[i][j])
			if math.Abs(an-num) > o.Tol*math.Max(1, math.Abs(num)) || math.IsNaN(an) {
				return fmt.Errorf("input %d (shape %v) element %d: analytic %.6g, numeric %.6g", i, shape, j, an, num)
			}
		}
	}
	return nil
}
