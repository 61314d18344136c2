package autograd

import (
	"fmt"

	"github.com/dash-go/dash/tensor"
)

// BatchNormAct is batch normalisation of x [N, C, ...] as one fused kernel
// each way (tensor.BatchNorm): bias (may be nil) is the preceding
// convolution's bias, added to x before normalising (in training it cancels
// in the output but moves the running mean, and its gradient is Σ dx);
// gamma and beta may be nil; relu applies max(·, 0) to the result. In
// training it uses batch statistics and updates runningMean/runningVar in
// place (may be nil); otherwise it normalises with them.
func BatchNormAct(x, bias, gamma, beta *Var, runningMean, runningVar *tensor.Tensor, training bool, momentum, eps float32, relu bool) *Var {
	if x.Value.Rank() < 2 {
		panic(fmt.Sprintf("autograd.BatchNormAct: input %v needs [N, C, ...]", x.Value.Shape()))
	}
	o := tensor.BatchNormOptions{Eps: eps, Momentum: momentum, Training: training, ReLU: relu}
	val := func(v *Var) *tensor.Tensor {
		if v == nil {
			return nil
		}
		return v.Value
	}
	y, stats := tensor.BatchNorm(x.Value, val(bias), val(gamma), val(beta), runningMean, runningVar, o)
	inputs := []*Var{x}
	idx := map[*Var]int{}
	for _, v := range []*Var{bias, gamma, beta} {
		if v != nil {
			idx[v] = len(inputs)
			inputs = append(inputs, v)
		}
	}
	inputs = append(inputs, Temp(stats))
	return NewOp(y, inputs, func(g *tensor.Tensor) []*tensor.Tensor {
		req := func(v *Var) bool { return v != nil && v.requires }
		gr := tensor.BatchNormBackward(g, x.Value, stats, o,
			tensor.BatchNormGrads{X: x.requires, Gamma: req(gamma), Beta: req(beta), Bias: req(bias)})
		out := make([]*tensor.Tensor, len(inputs))
		out[0] = gr.DX
		put := func(v *Var, t *tensor.Tensor) {
			if t != nil {
				out[idx[v]] = t.ReshapeOwned(v.Value.Shape()...)
			}
		}
		put(bias, gr.DBias)
		put(gamma, gr.DGamma)
		put(beta, gr.DBeta)
		return out
	})
}

// BiasAct returns act(x + bias) for x [N, C, ...] and bias [C] (nil: no
// bias) in one kernel each way; act is ReLU when relu, else the identity.
func BiasAct(x, bias *Var, relu bool) *Var {
	var bv *tensor.Tensor
	inputs := []*Var{x}
	if bias != nil {
		bv = bias.Value
		inputs = append(inputs, bias)
	}
	y := tensor.BiasAct(x.Value, bv, relu)
	return biasActOp(x, bias, y, relu, inputs)
}

// BiasActInPlace is BiasAct writing its result over x's value, for an x
// that no other op reads and whose own backward does not read its value (a
// convolution's raw output): it saves a buffer and a pass over memory.
// Other x fall back to BiasAct.
func BiasActInPlace(x, bias *Var, relu bool) *Var {
	if x.leaf || !x.Value.IsContiguous() || x.Value.Offset() != 0 {
		return BiasAct(x, bias, relu)
	}
	var bv *tensor.Tensor
	inputs := []*Var{x}
	if bias != nil {
		bv = bias.Value
		inputs = append(inputs, bias)
	}
	y := tensor.BiasActInPlace(x.Value, bv, relu)
	return biasActOp(x, bias, y, relu, inputs)
}

func biasActOp(x, bias *Var, y *tensor.Tensor, relu bool, inputs []*Var) *Var {
	return NewOp(y, inputs, func(g *tensor.Tensor) []*tensor.Tensor {
		wantB := bias != nil && bias.requires
		// without ReLU, dx = g: the gradient passes through
		pass := !relu && x.requires && g.IsContiguous() && g.Offset() == 0
		dx, db := tensor.BiasActBackward(g, y, relu, x.requires && !pass, wantB)
		if pass {
			dx = g
		}
		out := []*tensor.Tensor{dx}
		if bias != nil {
			if db != nil {
				db = db.ReshapeOwned(bias.Value.Shape()...)
			}
			out = append(out, db)
		}
		return out
	})
}

// AddReLU returns max(a + b, 0) in one kernel (the residual join of
// ResNets); the gradient g·(y > 0) is computed once and shared by both
// inputs. Different shapes fall back to ReLU(Add(a, b)).
func AddReLU(a, b *Var) *Var {
	if !tensor.SameShape(a.Value.Shape(), b.Value.Shape()) {
		return ReLU(Add(a, b))
	}
	y := tensor.AddReLU(a.Value, b.Value)
	return NewOp(y, []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		d := tensor.Binary(tensor.OpReLUGrad, g, y)
		var ga, gb *tensor.Tensor
		if a.requires {
			ga = d
		}
		if b.requires {
			gb = d
		}
		if ga == nil && gb == nil {
			d.Release()
		}
		return []*tensor.Tensor{ga, gb}
	})
}
