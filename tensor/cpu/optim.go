package cpu

import (
	"math"

	"github.com/dash-go/dash/tensor"
)

// SGDStep applies one SGD update in place.
func (be *Backend) SGDStep(p, g, m tensor.Buffer, n int, o tensor.SGDParams) {
	ps, gs := buf(p)[:n], buf(g)[:n]
	var ms []float32
	if o.Momentum != 0 {
		ms = buf(m)[:n]
	}
	be.parallel(n, 1<<15, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			gi := gs[i] + o.WeightDecay*ps[i]
			if ms != nil {
				ms[i] = o.Momentum*ms[i] + gi
				if o.Nesterov {
					gi += o.Momentum * ms[i]
				} else {
					gi = ms[i]
				}
			}
			ps[i] -= o.LR * gi
		}
	})
}

// AdamStep applies one Adam/AdamW update in place.
func (be *Backend) AdamStep(p, g, m, v tensor.Buffer, n int, o tensor.AdamParams) {
	ps, gs, ms, vs := buf(p)[:n], buf(g)[:n], buf(m)[:n], buf(v)[:n]
	bc1 := float32(1 - math.Pow(float64(o.Beta1), float64(o.Step)))
	bc2 := float32(1 - math.Pow(float64(o.Beta2), float64(o.Step)))
	be.parallel(n, 1<<15, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			gi := gs[i]
			if o.Decoupled {
				ps[i] -= o.LR * o.WeightDecay * ps[i]
			} else {
				gi += o.WeightDecay * ps[i]
			}
			ms[i] = o.Beta1*ms[i] + (1-o.Beta1)*gi
			vs[i] = o.Beta2*vs[i] + (1-o.Beta2)*gi*gi
			mh := ms[i] / bc1
			vh := vs[i] / bc2
			ps[i] -= o.LR * mh / (float32(math.Sqrt(float64(vh))) + o.Eps)
		}
	})
}
