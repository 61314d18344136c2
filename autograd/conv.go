package autograd

import (
	"fmt"

	"github.com/dash-go/dash/tensor"
)

// Conv1d is the 1-D cross-correlation of x [N,C,L] with w [K,C/G,k] (no
// bias), differentiable in both.
func Conv1d(x, w *Var, o tensor.ConvOptions) *Var {
	return convOp(tensor.Conv1d(x.Value, w.Value, o), x, w, o)
}

// Conv2d is the 2-D cross-correlation of x [N,C,H,W] with w [K,C/G,KH,KW]
// (no bias), differentiable in both.
func Conv2d(x, w *Var, o tensor.ConvOptions) *Var {
	return convOp(tensor.Conv2d(x.Value, w.Value, o), x, w, o)
}

func convOp(y *tensor.Tensor, x, w *Var, o tensor.ConvOptions) *Var {
	return NewOp(y, []*Var{x, w}, func(g *tensor.Tensor) []*tensor.Tensor {
		var dx, dw *tensor.Tensor
		if x.requires {
			dx = tensor.ConvBackwardData(g, w.Value, x.Value.Shape(), o)
		}
		if w.requires {
			dw = tensor.ConvBackwardFilter(x.Value, g, w.Value.Shape(), o)
		}
		return []*tensor.Tensor{dx, dw}
	})
}

func poolOpts(kernel, stride, padding int) tensor.PoolOptions {
	return tensor.PoolOptions{Kernel: []int{kernel}, Stride: []int{stride}, Padding: []int{padding}}
}

func wantRank(op string, x *Var, r int) {
	if x.Value.Rank() != r {
		panic(fmt.Sprintf("autograd.%s: input shape %v, want rank %d", op, x.Value.Shape(), r))
	}
}

// MaxPool takes the maximum of each window of x ([N,C,L] or [N,C,H,W]);
// the gradient flows to the (first) maximum of each window.
func MaxPool(x *Var, o tensor.PoolOptions) *Var {
	y, idx := tensor.MaxPool(x.Value, o)
	v := NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.MaxPoolBackward(g, idx, x.Value.Shape(), o)}
	})
	if v.backward == nil {
		idx.Release()
	}
	return v
}

// MaxPool1d is MaxPool over [N,C,L] with the given kernel, stride (0: the
// kernel) and symmetric padding.
func MaxPool1d(x *Var, kernel, stride, padding int) *Var {
	wantRank("MaxPool1d", x, 3)
	return MaxPool(x, poolOpts(kernel, stride, padding))
}

// MaxPool2d is MaxPool over [N,C,H,W] with a square window, stride (0: the
// kernel) and symmetric padding.
func MaxPool2d(x *Var, kernel, stride, padding int) *Var {
	wantRank("MaxPool2d", x, 4)
	return MaxPool(x, poolOpts(kernel, stride, padding))
}

// AvgPool averages each window of x, padding counting as zeros.
func AvgPool(x *Var, o tensor.PoolOptions) *Var {
	y := tensor.AvgPool(x.Value, o)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.AvgPoolBackward(g, x.Value.Shape(), o)}
	})
}

// AvgPool1d is AvgPool over [N,C,L] (stride 0: the kernel).
func AvgPool1d(x *Var, kernel, stride, padding int) *Var {
	wantRank("AvgPool1d", x, 3)
	return AvgPool(x, poolOpts(kernel, stride, padding))
}

// AvgPool2d is AvgPool over [N,C,H,W] with a square window (stride 0: the
// kernel).
func AvgPool2d(x *Var, kernel, stride, padding int) *Var {
	wantRank("AvgPool2d", x, 4)
	return AvgPool(x, poolOpts(kernel, stride, padding))
}

// GlobalAvgPool averages x [N,C,spatial...] over its spatial axes, giving
// [N,C].
func GlobalAvgPool(x *Var) *Var {
	y := tensor.GlobalAvgPool(x.Value)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		shape := x.Value.Shape()
		n := 1
		keep := []int{shape[0], shape[1]}
		for _, s := range shape[2:] {
			n *= s
			keep = append(keep, 1)
		}
		b := g.Reshape(keep...).BroadcastTo(shape...)
		return []*tensor.Tensor{tensor.Scale(b, 1/float32(max(n, 1)))}
	})
}
