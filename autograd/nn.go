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
	var y *Var
	if training {
		mean := Mean(x, true, axes...)
		xc := Sub(x, mean)
		variance := Mean(Square(xc), true, axes...)
		inv := Recip(Sqrt(Affine(variance, 1, eps)))
		y = Mul(xc, inv)
		if runningMean != nil {
			cnt := float32(x.Value.Numel() / c)
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
			update(runningMean, mean.Value, 1)
			update(runningVar, variance.Value, unb)
		}
	} else {
		m := Const(runningMean.Reshape(bshape...))
		vv := tensor.AddScalar(runningVar, eps)
		is := tensor.Unary(tensor.OpRsqrt, vv, 0, 0)
		vv.Release()
		y = Mul(Sub(x, m), Temp(is.ReshapeOwned(bshape...)))
	}
	if gamma != nil {
		y = Mul(y, Reshape(gamma, bshape...))
	}
	if beta != nil {
		y = Add(y, Reshape(beta, bshape...))
	}
	return y
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
