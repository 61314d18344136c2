package autograd

import (
	"fmt"

	"github.com/dash-go/dash/tensor"
)

// LogSoftmax over axis a.
func LogSoftmax(x *Var, a int) *Var {
	y := tensor.LogSoftmax(x.Value, a)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		// dx = g - softmax · Σ g
		sm := tensor.Exp(y)
		s := tensor.Sum(g, true, a)
		t := tensor.Mul(sm, s)
		sm.Release()
		s.Release()
		d := tensor.Sub(g, t)
		t.Release()
		return []*tensor.Tensor{d}
	})
}

// Softmax over axis a.
func Softmax(x *Var, a int) *Var {
	y := tensor.Softmax(x.Value, a)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		// dx = y · (g - Σ g·y)
		gy := tensor.Mul(g, y)
		s := tensor.Sum(gy, true, a)
		gy.Release()
		t := tensor.Sub(g, s)
		s.Release()
		d := tensor.Mul(y, t)
		t.Release()
		return []*tensor.Tensor{d}
	})
}

// CrossEntropy is the mean cross-entropy of logits [N, C] against int32
// labels [N] (a tensor, not differentiated).
func CrossEntropy(logits *Var, labels *tensor.Tensor) *Var {
	loss, logp := tensor.CrossEntropy(logits.Value, labels)
	n := logits.Value.Dim(0)
	cols := logits.Value.Dim(1)
	v := NewOp(loss, []*Var{logits}, func(g *tensor.Tensor) []*tensor.Tensor {
		// d logits = (softmax - onehot) · g / N
		sm := tensor.Exp(logp)
		ones := tensor.Full(sm.Backend(), -1, n)
		sm.Backend().ScatterAddCols(sm.Buffer(), ones.Buffer(), labels.Contiguous().Buffer(), n, cols)
		ones.Release()
		gs := tensor.Scale(g, 1/float32(max(n, 1)))
		d := tensor.Mul(sm, gs)
		sm.Release()
		gs.Release()
		return []*tensor.Tensor{d}
	})
	if v.backward == nil {
		logp.Release()
	} else {
		v.inputs = append(v.inputs, Temp(logp)) // freed with the graph
		bw := v.backward
		v.backward = func(g *tensor.Tensor) []*tensor.Tensor { return append(bw(g), nil) }
	}
	return v
}

// BCEWithLogits is the mean binary cross-entropy with logits x and targets y
// (a tensor), positives weighted by posWeight.
func BCEWithLogits(x *Var, y *tensor.Tensor, posWeight float32) *Var {
	loss := tensor.BCEWithLogits(x.Value, y, posWeight)
	n := float32(x.Value.Numel())
	return NewOp(loss, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		// d/dx = (1-y) - (1 + (pw-1)y)(1-σ(x)), averaged
		s := tensor.Sigmoid(x.Value)
		oms := tensor.Unary(tensor.OpAffine, s, -1, 1)
		s.Release()
		lw := tensor.Unary(tensor.OpAffine, y, posWeight-1, 1)
		t := tensor.Mul(lw, oms)
		lw.Release()
		oms.Release()
		omy := tensor.Unary(tensor.OpAffine, y, -1, 1)
		d := tensor.Sub(omy, t)
		omy.Release()
		t.Release()
		gs := tensor.Scale(g, 1/n)
		out := tensor.Mul(d, gs)
		d.Release()
		gs.Release()
		return []*tensor.Tensor{out}
	})
}

// MSE is the mean squared error between pred and a target tensor.
func MSE(pred *Var, target *tensor.Tensor) *Var {
	return Mean(Square(Sub(pred, Const(target))), false)
}

// RelativeL2 is the mean over samples (axis 0) of ‖pred−target‖/‖target‖.
func RelativeL2(pred *Var, target *tensor.Tensor) *Var {
	n := pred.Value.Dim(0)
	d := Reshape(Sub(pred, Const(target)), n, -1)
	num := Sqrt(Sum(Square(d), false, 1))
	den := tensor.RelativeL2Denominator(target)
	return Mean(Div(num, Temp(den)), false)
}

// BatchNorm normalises x [N, C, ...] per channel. In training it uses batch
// statistics and updates runningMean/runningVar in place (momentum as in
// PyTorch, unbiased variance for the running estimate); otherwise it uses
// the running statistics. gamma and beta are [C] (either may be nil).
func BatchNorm(x, gamma, beta *Var, runningMean, runningVar *tensor.Tensor, training bool, momentum, eps float32) *Var {
	shape := x.Value.Shape()
	if len(shape) < 2 {
		panic(fmt.Sprintf("autograd.BatchNorm: input %v needs [N, C, ...]", shape))
	}
	c := shape[1]
	bshape := make([]int, len(shape))
	for i := range bshape {
		bshape[i] = 1
	}
	bshape[1] = c
	axes := []int{0}
	for i := 2; i < len(shape); i++ {
		axes = append(axes, i)
	}
	if training {
		return batchNormTrain(x, gamma, beta, runningMean, runningVar, momentum, eps, axes, bshape)
	}
	m := Const(runningMean.Reshape(bshape...))
	vv := tensor.AddScalar(runningVar, eps)
	is := tensor.Unary(tensor.OpRsqrt, vv, 0, 0)
	vv.Release()
	y := Mul(Sub(x, m), Temp(is.ReshapeOwned(bshape...)))
	if gamma != nil {
		y = Mul(y, Reshape(gamma, bshape...))
	}
	if beta != nil {
		y = Add(y, Reshape(beta, bshape...))
	}
	return y
}

// batchNormTrain is batch normalisation with batch statistics as one graph
// node: the forward pass keeps x̂ and 1/σ, and the backward pass uses the
// closed form dx = γ/(σN)·(N·g − Σg − x̂·Σ(g·x̂)), a fraction of the
// kernels that differentiating the composition would take.
func batchNormTrain(x, gamma, beta *Var, runningMean, runningVar *tensor.Tensor, momentum, eps float32, axes, bshape []int) *Var {
	c := bshape[1]
	cnt := float32(x.Value.Numel() / c)
	mean := tensor.Mean(x.Value, true, axes...)
	xc := tensor.Sub(x.Value, mean)
	sq := tensor.Square(xc)
	variance := tensor.Mean(sq, true, axes...)
	sq.Release()
	ve := tensor.AddScalar(variance, eps)
	inv := tensor.Unary(tensor.OpRsqrt, ve, 0, 0)
	ve.Release()
	xhat := tensor.Mul(xc, inv)
	xc.Release()
	if runningMean != nil {
		unb := cnt / max(cnt-1, 1)
		update := func(r, stat *tensor.Tensor, scale float32) {
			s := tensor.Scale(stat.Reshape(c), momentum*scale)
			old := tensor.Scale(r, 1-momentum)
			nw := tensor.Add(old, s)
			r.CopyFrom(nw)
			s.Release()
			old.Release()
			nw.Release()
		}
		update(runningMean, mean, 1)
		update(runningVar, variance, unb)
	}
	mean.Release()
	variance.Release()
	var gv, bv *tensor.Tensor
	y := xhat
	if gamma != nil {
		gv = gamma.Value.Reshape(bshape...)
		y = tensor.Mul(xhat, gv)
	}
	if beta != nil {
		bv = beta.Value.Reshape(bshape...)
		y2 := tensor.Add(y, bv)
		if y != xhat {
			y.Release()
		}
		y = y2
	}
	if y == xhat {
		y = xhat.Clone()
	}
	inputs := []*Var{x, Temp(xhat), Temp(inv)}
	if gamma != nil {
		inputs = append(inputs, gamma)
	}
	if beta != nil {
		inputs = append(inputs, beta)
	}
	return NewOp(y, inputs, func(g *tensor.Tensor) []*tensor.Tensor {
		out := make([]*tensor.Tensor, len(inputs))
		sumG := tensor.Sum(g, true, axes...)
		gx := tensor.Mul(g, xhat)
		sumGX := tensor.Sum(gx, true, axes...)
		gx.Release()
		i := 3
		if gamma != nil {
			if gamma.requires {
				out[i] = sumGX.Clone().ReshapeOwned(c)
			}
			i++
		}
		if beta != nil && beta.requires {
			out[i] = sumG.Clone().ReshapeOwned(c)
		}
		if x.requires {
			// dx = (γ·inv/N)·(N·g − Σg − x̂·Σ(g·x̂))
			ng := tensor.Scale(g, cnt)
			t := tensor.Sub(ng, sumG)
			ng.Release()
			u := tensor.Mul(xhat, sumGX)
			t2 := tensor.Sub(t, u)
			t.Release()
			u.Release()
			coef := tensor.Scale(inv, 1/cnt)
			if gv != nil {
				c2 := tensor.Mul(coef, gv)
				coef.Release()
				coef = c2
			}
			out[0] = tensor.Mul(t2, coef)
			t2.Release()
			coef.Release()
		}
		sumG.Release()
		sumGX.Release()
		return out
	})
}

// Dropout zeroes elements with probability p and scales the rest by
// 1/(1-p) in training; it is the identity otherwise or when p == 0.
func Dropout(x *Var, p float32, seed uint64, training bool) *Var {
	if !training || p == 0 {
		return x
	}
	mask := tensor.DropoutMask(x.Value.Backend(), p, seed, x.Value.Shape()...)
	return Mul(x, Temp(mask))
}
