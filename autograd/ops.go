package autograd

import (
	"slices"

	"github.com/dash-go/dash/tensor"
)

func unbroadcast(g *tensor.Tensor, shape []int) *tensor.Tensor {
	if tensor.SameShape(g.Shape(), shape) {
		return g.Clone()
	}
	return tensor.SumTo(g, shape...)
}

func binaryOp(op tensor.BinaryOp, a, b *Var) *Var {
	y := tensor.Binary(op, a.Value, b.Value)
	return NewOp(y, []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		var ga, gb *tensor.Tensor
		switch op {
		case tensor.OpAdd:
			// same shapes: the gradient passes through, shared by both
			// inputs (the engine counts its holders)
			if a.requires {
				if tensor.SameShape(g.Shape(), a.Value.Shape()) && g.IsContiguous() {
					ga = g
				} else {
					ga = unbroadcast(g, a.Value.Shape())
				}
			}
			if b.requires {
				if tensor.SameShape(g.Shape(), b.Value.Shape()) && g.IsContiguous() {
					gb = g
				} else {
					gb = unbroadcast(g, b.Value.Shape())
				}
			}
		case tensor.OpSub:
			if a.requires {
				ga = unbroadcast(g, a.Value.Shape())
			}
			if b.requires {
				n := tensor.Neg(g)
				gb = unbroadcast(n, b.Value.Shape())
				n.Release()
			}
		case tensor.OpMul:
			if a.requires {
				t := tensor.Mul(g, b.Value)
				ga = unbroadcast(t, a.Value.Shape())
				t.Release()
			}
			if b.requires {
				t := tensor.Mul(g, a.Value)
				gb = unbroadcast(t, b.Value.Shape())
				t.Release()
			}
		case tensor.OpDiv:
			if a.requires {
				t := tensor.Div(g, b.Value)
				ga = unbroadcast(t, a.Value.Shape())
				t.Release()
			}
			if b.requires {
				// d(a/b)/db = -y/b
				t := tensor.Mul(g, y)
				t2 := tensor.Div(t, b.Value)
				t.Release()
				t3 := tensor.Neg(t2)
				t2.Release()
				gb = unbroadcast(t3, b.Value.Shape())
				t3.Release()
			}
		case tensor.OpMax, tensor.OpMin:
			// the gradient goes to the selected input (a on ties)
			sel := tensor.Binary(tensor.OpEqual, y, a.Value) // 1 where a was chosen
			if a.requires {
				t := tensor.Mul(g, sel)
				ga = unbroadcast(t, a.Value.Shape())
				t.Release()
			}
			if b.requires {
				inv := tensor.Unary(tensor.OpAffine, sel, -1, 1)
				t := tensor.Mul(g, inv)
				inv.Release()
				gb = unbroadcast(t, b.Value.Shape())
				t.Release()
			}
			sel.Release()
		default:
			panic("autograd: no gradient for binary op")
		}
		return []*tensor.Tensor{ga, gb}
	})
}

// Add returns a + b with broadcasting.
func Add(a, b *Var) *Var { return binaryOp(tensor.OpAdd, a, b) }

// Sub returns a - b with broadcasting.
func Sub(a, b *Var) *Var { return binaryOp(tensor.OpSub, a, b) }

// Mul returns a · b with broadcasting.
func Mul(a, b *Var) *Var { return binaryOp(tensor.OpMul, a, b) }

// Div returns a / b with broadcasting.
func Div(a, b *Var) *Var { return binaryOp(tensor.OpDiv, a, b) }

// Maximum returns max(a, b) elementwise.
func Maximum(a, b *Var) *Var { return binaryOp(tensor.OpMax, a, b) }

// Minimum returns min(a, b) elementwise.
func Minimum(a, b *Var) *Var { return binaryOp(tensor.OpMin, a, b) }

func unaryOp(op tensor.UnaryOp, x *Var, a, b float32) *Var {
	y := tensor.Unary(op, x.Value, a, b)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		var d *tensor.Tensor
		switch op {
		case tensor.OpNeg:
			d = tensor.Neg(g)
		case tensor.OpAffine:
			d = tensor.Scale(g, a)
		case tensor.OpExp:
			d = tensor.Mul(g, y)
		case tensor.OpLog:
			d = tensor.Div(g, x.Value)
		case tensor.OpSqrt:
			t := tensor.Div(g, y)
			d = tensor.Scale(t, 0.5)
			t.Release()
		case tensor.OpSquare:
			t := tensor.Mul(g, x.Value)
			d = tensor.Scale(t, 2)
			t.Release()
		case tensor.OpAbs:
			s := tensor.Unary(tensor.OpSign, x.Value, 0, 0)
			d = tensor.Mul(g, s)
			s.Release()
		case tensor.OpReLU:
			d = tensor.Binary(tensor.OpReLUGrad, g, x.Value)
		case tensor.OpSigmoid:
			d = tensor.Binary(tensor.OpSigmoidGrad, g, y)
		case tensor.OpTanh:
			d = tensor.Binary(tensor.OpTanhGrad, g, y)
		case tensor.OpGELU:
			d = tensor.Binary(tensor.OpGELUGrad, g, x.Value)
		case tensor.OpSoftplus:
			d = tensor.Binary(tensor.OpSoftplusGrad, g, x.Value)
		case tensor.OpPowScalar:
			p := tensor.Unary(tensor.OpPowScalar, x.Value, a-1, 0)
			t := tensor.Mul(g, p)
			p.Release()
			d = tensor.Scale(t, a)
			t.Release()
		case tensor.OpRecip:
			// d(1/x) = -y²
			s := tensor.Square(y)
			t := tensor.Mul(g, s)
			s.Release()
			d = tensor.Neg(t)
			t.Release()
		case tensor.OpLogSigmoid:
			// d ln σ(x) = σ(-x)
			nx := tensor.Neg(x.Value)
			s := tensor.Sigmoid(nx)
			nx.Release()
			d = tensor.Mul(g, s)
			s.Release()
		default:
			panic("autograd: no gradient for unary op")
		}
		return []*tensor.Tensor{d}
	})
}

// Neg returns -x.
func Neg(x *Var) *Var { return unaryOp(tensor.OpNeg, x, 0, 0) }

// Scale returns s·x.
func Scale(x *Var, s float32) *Var { return unaryOp(tensor.OpAffine, x, s, 0) }

// Affine returns a·x + b.
func Affine(x *Var, a, b float32) *Var { return unaryOp(tensor.OpAffine, x, a, b) }

// Exp returns e^x.
func Exp(x *Var) *Var { return unaryOp(tensor.OpExp, x, 0, 0) }

// Log returns ln x.
func Log(x *Var) *Var { return unaryOp(tensor.OpLog, x, 0, 0) }

// Sqrt returns √x.
func Sqrt(x *Var) *Var { return unaryOp(tensor.OpSqrt, x, 0, 0) }

// Square returns x².
func Square(x *Var) *Var { return unaryOp(tensor.OpSquare, x, 0, 0) }

// Abs returns |x|.
func Abs(x *Var) *Var { return unaryOp(tensor.OpAbs, x, 0, 0) }

// Recip returns 1/x.
func Recip(x *Var) *Var { return unaryOp(tensor.OpRecip, x, 0, 0) }

// Pow returns x^p.
func Pow(x *Var, p float32) *Var { return unaryOp(tensor.OpPowScalar, x, p, 0) }

// ReLU returns max(x, 0).
func ReLU(x *Var) *Var { return unaryOp(tensor.OpReLU, x, 0, 0) }

// Sigmoid returns 1/(1+e^-x).
func Sigmoid(x *Var) *Var { return unaryOp(tensor.OpSigmoid, x, 0, 0) }

// Tanh returns tanh x.
func Tanh(x *Var) *Var { return unaryOp(tensor.OpTanh, x, 0, 0) }

// GELU returns x·Φ(x).
func GELU(x *Var) *Var { return unaryOp(tensor.OpGELU, x, 0, 0) }

// Softplus returns ln(1+e^x).
func Softplus(x *Var) *Var { return unaryOp(tensor.OpSoftplus, x, 0, 0) }

// LogSigmoid returns ln σ(x).
func LogSigmoid(x *Var) *Var { return unaryOp(tensor.OpLogSigmoid, x, 0, 0) }

// expandGrad broadcasts a reduced gradient (keep-dims shape) back to shape.
func expandGrad(g *tensor.Tensor, keepShape, shape []int) *tensor.Tensor {
	v := g.Reshape(keepShape...).BroadcastTo(shape...)
	return v.Clone()
}

func keepShape(shape []int, axes []int) []int {
	ks := slices.Clone(shape)
	if len(axes) == 0 {
		for i := range ks {
			ks[i] = 1
		}
		return ks
	}
	for _, a := range axes {
		if a < 0 {
			a += len(shape)
		}
		ks[a] = 1
	}
	return ks
}

// Sum sums over axes (all when none). keep keeps reduced axes as size 1.
func Sum(x *Var, keep bool, axes ...int) *Var {
	y := tensor.Sum(x.Value, keep, axes...)
	shape := x.Value.Shape()
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{expandGrad(g, keepShape(shape, axes), shape)}
	})
}

// Mean averages over axes (all when none).
func Mean(x *Var, keep bool, axes ...int) *Var {
	y := tensor.Mean(x.Value, keep, axes...)
	shape := x.Value.Shape()
	n := float32(x.Value.Numel()) / float32(max(y.Numel(), 1))
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		e := expandGrad(g, keepShape(shape, axes), shape)
		d := tensor.Scale(e, 1/n)
		e.Release()
		return []*tensor.Tensor{d}
	})
}

// MatMul multiplies the last two axes with broadcasting of leading axes.
func MatMul(a, b *Var) *Var {
	y := tensor.MatMul(a.Value, b.Value)
	return NewOp(y, []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		var ga, gb *tensor.Tensor
		if a.requires {
			t := tensor.MatMul(g, b.Value.Transpose(-1, -2))
			ga = unbroadcast(t, a.Value.Shape())
			t.Release()
		}
		if b.requires {
			t := tensor.MatMul(a.Value.Transpose(-1, -2), g)
			gb = unbroadcast(t, b.Value.Shape())
			t.Release()
		}
		return []*tensor.Tensor{ga, gb}
	})
}

// Linear computes x·wᵀ + bias for x [..., in], w [out, in], bias [out] (may be nil).
func Linear(x, w, bias *Var) *Var {
	y := MatMul(x, Transpose(w, 0, 1))
	if bias == nil {
		return y
	}
	return Add(y, bias)
}

// Reshape returns x with a new shape.
func Reshape(x *Var, shape ...int) *Var {
	in := x.Value.Shape()
	// a view of a contiguous x (releasing a view never frees x's storage)
	y := x.Value.Reshape(shape...)
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Clone().ReshapeOwned(in...)}
	})
}

// Permute reorders axes.
func Permute(x *Var, perm ...int) *Var {
	y := x.Value.Permute(perm...).Clone()
	inv := make([]int, len(perm))
	for i, p := range perm {
		if p < 0 {
			p += len(perm)
		}
		inv[p] = i
	}
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Permute(inv...).Clone()}
	})
}

// Transpose swaps two axes.
func Transpose(x *Var, a, b int) *Var {
	r := len(x.Value.Shape())
	perm := make([]int, r)
	for i := range perm {
		perm[i] = i
	}
	if a < 0 {
		a += r
	}
	if b < 0 {
		b += r
	}
	perm[a], perm[b] = b, a
	return Permute(x, perm...)
}

// Slice restricts axis a to [start, end).
func Slice(x *Var, a, start, end int) *Var {
	y := x.Value.Slice(a, start, end).Clone()
	shape := x.Value.Shape()
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		d := tensor.Zeros(g.Backend(), shape...)
		d.Slice(a, start, end).CopyFrom(g)
		return []*tensor.Tensor{d}
	})
}

// Concat joins Vars along axis a.
func Concat(a int, xs ...*Var) *Var {
	vals := make([]*tensor.Tensor, len(xs))
	sizes := make([]int, len(xs))
	for i, x := range xs {
		vals[i] = x.Value
		ax := a
		if ax < 0 {
			ax += x.Value.Rank()
		}
		sizes[i] = x.Value.Dim(ax)
	}
	y := tensor.Concat(a, vals...)
	return NewOp(y, xs, func(g *tensor.Tensor) []*tensor.Tensor {
		parts := tensor.Split(g, a, sizes...)
		out := make([]*tensor.Tensor, len(parts))
		for i, p := range parts {
			if xs[i].requires {
				out[i] = p.Clone()
			}
		}
		return out
	})
}

// Pad zero-pads each axis by before/after.
func Pad(x *Var, before, after []int) *Var {
	y := tensor.Pad(x.Value, before, after)
	shape := x.Value.Shape()
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Crop(g, before, shape)}
	})
}

// Crop keeps the region [start, start+size).
func Crop(x *Var, start, size []int) *Var {
	y := tensor.Crop(x.Value, start, size)
	shape := x.Value.Shape()
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		after := make([]int, len(shape))
		for i := range shape {
			after[i] = shape[i] - start[i] - size[i]
		}
		return []*tensor.Tensor{tensor.Pad(g, start, after)}
	})
}

// BroadcastTo expands x to shape.
func BroadcastTo(x *Var, shape ...int) *Var {
	y := x.Value.BroadcastTo(shape...).Clone()
	in := x.Value.Shape()
	return NewOp(y, []*Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.SumTo(g, in...)}
	})
}
