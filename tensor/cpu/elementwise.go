package cpu

import (
	"fmt"
	"math"

	"github.com/dash-go/dash/tensor"
)

// Copy copies a strided view into another.
func (be *Backend) Copy(dst tensor.Buffer, dstOff int, dstStrides []int, src tensor.Buffer, srcOff int, srcStrides []int, shape []int) {
	d, s := buf(dst), buf(src)
	r := len(shape)
	if len(dstStrides) != r || len(srcStrides) != r {
		panic(fmt.Sprintf("cpu.Copy: shape %v with strides %v/%v", shape, dstStrides, srcStrides))
	}
	n := tensor.Numel(shape)
	if n == 0 {
		return
	}
	if r == 0 {
		d[dstOff] = s[srcOff]
		return
	}
	last := shape[r-1]
	rows := n / last
	ds, ss := dstStrides[r-1], srcStrides[r-1]
	be.parallel(rows, max(1, 16384/max(last, 1)), func(lo, hi int) {
		idx := make([]int, r)
		for row := lo; row < hi; row++ {
			// decode row into the leading indices
			rem := row
			do, so := dstOff, srcOff
			for a := r - 2; a >= 0; a-- {
				idx[a] = rem % shape[a]
				rem /= shape[a]
				do += idx[a] * dstStrides[a]
				so += idx[a] * srcStrides[a]
			}
			switch {
			case ds == 1 && ss == 1:
				copy(d[do:do+last], s[so:so+last])
			case ss == 0:
				v := s[so]
				for j := 0; j < last; j++ {
					d[do+j*ds] = v
				}
			default:
				for j := 0; j < last; j++ {
					d[do+j*ds] = s[so+j*ss]
				}
			}
		}
	})
}

// Fill sets n elements at off to v.
func (be *Backend) Fill(dst tensor.Buffer, off, n int, v float32) {
	d := buf(dst)[off : off+n]
	be.parallel(n, 1<<16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d[i] = v
		}
	})
}

// FillInt32 sets n int32 elements at off to v.
func (be *Backend) FillInt32(dst tensor.Buffer, off, n int, v int32) {
	d := ibuf(dst)[off : off+n]
	for i := range d {
		d[i] = v
	}
}

const sqrt1_2 = 0.70710678118654752440

// UnaryScalar evaluates one unary op on one value: the reference semantics.
func UnaryScalar(op tensor.UnaryOp, x, a, b float32) float32 {
	switch op {
	case tensor.OpIdentity:
		return x
	case tensor.OpNeg:
		return -x
	case tensor.OpAbs:
		return float32(math.Abs(float64(x)))
	case tensor.OpExp:
		return float32(math.Exp(float64(x)))
	case tensor.OpLog:
		return float32(math.Log(float64(x)))
	case tensor.OpSqrt:
		return float32(math.Sqrt(float64(x)))
	case tensor.OpRsqrt:
		return float32(1 / math.Sqrt(float64(x)))
	case tensor.OpSquare:
		return x * x
	case tensor.OpRecip:
		return 1 / x
	case tensor.OpReLU:
		if x > 0 {
			return x
		}
		return 0
	case tensor.OpSigmoid:
		return float32(1 / (1 + math.Exp(-float64(x))))
	case tensor.OpTanh:
		return float32(math.Tanh(float64(x)))
	case tensor.OpGELU:
		return float32(0.5 * float64(x) * (1 + math.Erf(float64(x)*sqrt1_2)))
	case tensor.OpSoftplus:
		xf := float64(x)
		return float32(math.Max(xf, 0) + math.Log1p(math.Exp(-math.Abs(xf))))
	case tensor.OpSin:
		return float32(math.Sin(float64(x)))
	case tensor.OpCos:
		return float32(math.Cos(float64(x)))
	case tensor.OpAffine:
		return a*x + b
	case tensor.OpPowScalar:
		return float32(math.Pow(float64(x), float64(a)))
	case tensor.OpClampMin:
		if x < a {
			return a
		}
		return x
	case tensor.OpClampMax:
		if x > a {
			return a
		}
		return x
	case tensor.OpSign:
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return 0
	case tensor.OpThreshold:
		if x >= a {
			return b
		}
		return 0
	case tensor.OpLogSigmoid:
		xf := float64(x)
		return float32(math.Min(xf, 0) - math.Log1p(math.Exp(-math.Abs(xf))))
	}
	panic(fmt.Sprintf("cpu.Unary: unknown op %d", op))
}

// Unary applies op to n contiguous elements.
func (be *Backend) Unary(op tensor.UnaryOp, dst, src tensor.Buffer, n int, a, b float32) {
	d, s := buf(dst)[:n], buf(src)[:n]
	be.parallel(n, 1<<15, func(lo, hi int) {
		dd, ss := d[lo:hi], s[lo:hi]
		switch op {
		case tensor.OpAffine:
			for i, x := range ss {
				dd[i] = a*x + b
			}
		case tensor.OpReLU:
			for i, x := range ss {
				if x > 0 {
					dd[i] = x
				} else {
					dd[i] = 0
				}
			}
		case tensor.OpSquare:
			for i, x := range ss {
				dd[i] = x * x
			}
		case tensor.OpNeg:
			for i, x := range ss {
				dd[i] = -x
			}
		default:
			for i, x := range ss {
				dd[i] = UnaryScalar(op, x, a, b)
			}
		}
	})
}

// BinaryScalar evaluates one binary op: the reference semantics.
func BinaryScalar(op tensor.BinaryOp, x, y float32) float32 {
	switch op {
	case tensor.OpAdd:
		return x + y
	case tensor.OpSub:
		return x - y
	case tensor.OpMul:
		return x * y
	case tensor.OpDiv:
		return x / y
	case tensor.OpMax:
		if x >= y {
			return x
		}
		return y
	case tensor.OpMin:
		if x <= y {
			return x
		}
		return y
	case tensor.OpPow:
		return float32(math.Pow(float64(x), float64(y)))
	case tensor.OpGreater:
		if x > y {
			return 1
		}
		return 0
	case tensor.OpEqual:
		if x == y {
			return 1
		}
		return 0
	case tensor.OpReLUGrad:
		if y > 0 {
			return x
		}
		return 0
	case tensor.OpSigmoidGrad:
		return x * y * (1 - y)
	case tensor.OpTanhGrad:
		return x * (1 - y*y)
	case tensor.OpGELUGrad:
		yf := float64(y)
		cdf := 0.5 * (1 + math.Erf(yf*sqrt1_2))
		pdf := math.Exp(-0.5*yf*yf) / math.Sqrt(2*math.Pi)
		return x * float32(cdf+yf*pdf)
	case tensor.OpSoftplusGrad:
		return x * float32(1/(1+math.Exp(-float64(y))))
	case tensor.OpAddReLU:
		if r := x + y; r > 0 {
			return r
		}
		return 0
	}
	panic(fmt.Sprintf("cpu.Binary: unknown op %d", op))
}

// Binary computes a broadcasting elementwise op into contiguous dst.
func (be *Backend) Binary(op tensor.BinaryOp, dst tensor.Buffer, shape []int, a tensor.Buffer, aOff int, aStrides []int, b tensor.Buffer, bOff int, bStrides []int) {
	d, x, y := buf(dst), buf(a), buf(b)
	r := len(shape)
	n := tensor.Numel(shape)
	if n == 0 {
		return
	}
	if r == 0 {
		d[0] = BinaryScalar(op, x[aOff], y[bOff])
		return
	}
	last := shape[r-1]
	rows := n / last
	as, bs := aStrides[r-1], bStrides[r-1]
	be.parallel(rows, max(1, 16384/last), func(lo, hi int) {
		for row := lo; row < hi; row++ {
			rem := row
			ao, bo := aOff, bOff
			for ax := r - 2; ax >= 0; ax-- {
				i := rem % shape[ax]
				rem /= shape[ax]
				ao += i * aStrides[ax]
				bo += i * bStrides[ax]
			}
			out := d[row*last : row*last+last]
			binaryRow(op, out, x, ao, as, y, bo, bs)
		}
	})
}

func binaryRow(op tensor.BinaryOp, out, x []float32, ao, as int, y []float32, bo, bs int) {
	n := len(out)
	if as == 1 && bs == 1 {
		xs, ys := x[ao:ao+n], y[bo:bo+n]
		if haveAVX2 && n >= 16 {
			h := n &^ 15
			switch op {
			case tensor.OpAdd:
				addAVX2(&out[0], &xs[0], &ys[0], h)
			case tensor.OpAddReLU:
				addReLUAVX2(&out[0], &xs[0], &ys[0], h)
			case tensor.OpReLUGrad:
				reluGradAVX2(&out[0], &xs[0], &ys[0], h)
			default:
				h = 0
			}
			if h == n {
				return
			}
			out, xs, ys = out[h:], xs[h:], ys[h:]
		}
		switch op {
		case tensor.OpAdd:
			for i := range out {
				out[i] = xs[i] + ys[i]
			}
			return
		case tensor.OpSub:
			for i := range out {
				out[i] = xs[i] - ys[i]
			}
			return
		case tensor.OpMul:
			for i := range out {
				out[i] = xs[i] * ys[i]
			}
			return
		case tensor.OpReLUGrad:
			for i := range out {
				if ys[i] > 0 {
					out[i] = xs[i]
				} else {
					out[i] = 0
				}
			}
			return
		case tensor.OpAddReLU:
			for i := range out {
				r := xs[i] + ys[i]
				if r < 0 {
					r = 0
				}
				out[i] = r
			}
			return
		}
	}
	if as == 1 && bs == 0 {
		xs, v := x[ao:ao+n], y[bo]
		switch op {
		case tensor.OpAdd:
			for i := range out {
				out[i] = xs[i] + v
			}
			return
		case tensor.OpMul:
			for i := range out {
				out[i] = xs[i] * v
			}
			return
		case tensor.OpSub:
			for i := range out {
				out[i] = xs[i] - v
			}
			return
		}
	}
	for i := range out {
		out[i] = BinaryScalar(op, x[ao+i*as], y[bo+i*bs])
	}
}

// GatherCols writes dst[r] = src[r*cols+idx[r]].
func (be *Backend) GatherCols(dst, src, idx tensor.Buffer, rows, cols int) {
	d, s, ix := buf(dst), buf(src), ibuf(idx)
	for r := 0; r < rows; r++ {
		j := int(ix[r])
		if j < 0 || j >= cols {
			panic(fmt.Sprintf("cpu.GatherCols: index %d out of range [0,%d) at row %d", j, cols, r))
		}
		d[r] = s[r*cols+j]
	}
}

// ScatterAddCols adds src[r] into dst[r*cols+idx[r]].
func (be *Backend) ScatterAddCols(dst, src, idx tensor.Buffer, rows, cols int) {
	d, s, ix := buf(dst), buf(src), ibuf(idx)
	for r := 0; r < rows; r++ {
		j := int(ix[r])
		if j < 0 || j >= cols {
			panic(fmt.Sprintf("cpu.ScatterAddCols: index %d out of range [0,%d) at row %d", j, cols, r))
		}
		d[r*cols+j] += s[r]
	}
}
