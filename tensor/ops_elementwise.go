package tensor

import "fmt"

func sameBackend(op string, ts ...*Tensor) Backend {
	be := ts[0].st.be
	for _, t := range ts[1:] {
		if t.st.be != be {
			panic(fmt.Sprintf("tensor.%s: tensors on different backends (%s, %s)", op, be.Name(), t.st.be.Name()))
		}
	}
	return be
}

func wantFloat(op string, ts ...*Tensor) {
	for _, t := range ts {
		if t.dtype != Float32 {
			panic(fmt.Sprintf("tensor.%s: want float32, got %v tensor of shape %v", op, t.dtype, t.shape))
		}
	}
}

// Unary applies op elementwise with scalar arguments a and b.
func Unary(op UnaryOp, x *Tensor, a, b float32) *Tensor {
	wantFloat("Unary", x)
	c := x.Contiguous()
	out := emptyUninit(x.st.be, Float32, x.shape...)
	if n := out.Numel(); n > 0 {
		if c.offset != 0 {
			c2 := c.Clone()
			defer c2.Release()
			c = c2
		}
		x.st.be.Unary(op, out.st.buf, c.Buffer(), n, a, b)
	}
	if c != x && c.owner {
		c.Release()
	}
	return out
}

// Binary applies op elementwise with NumPy broadcasting.
func Binary(op BinaryOp, a, b *Tensor) *Tensor {
	be := sameBackend("Binary", a, b)
	wantFloat("Binary", a, b)
	shape := BroadcastShapes("Binary", a.shape, b.shape)
	out := emptyUninit(be, Float32, shape...)
	if out.Numel() == 0 {
		return out
	}
	ab, bb := a.BroadcastTo(shape...), b.BroadcastTo(shape...)
	sh, as, bs, os := collapse3(shape, ab.strides, bb.strides)
	if len(sh) > MaxRank {
		panic(fmt.Sprintf("tensor.Binary: shapes %v and %v exceed MaxRank %d", a.shape, b.shape, MaxRank))
	}
	_ = os
	be.Binary(op, out.st.buf, sh, a.Buffer(), a.offset, as, b.Buffer(), b.offset, bs)
	return out
}

// collapse3 merges axes contiguous in both inputs and the contiguous output.
func collapse3(shape, s1, s2 []int) ([]int, []int, []int, []int) {
	so := ContiguousStrides(shape)
	var sh, a, b, o []int
	for i := range shape {
		if shape[i] == 1 {
			continue
		}
		n := len(sh)
		if n > 0 && a[n-1] == s1[i]*shape[i] && b[n-1] == s2[i]*shape[i] && o[n-1] == so[i]*shape[i] {
			sh[n-1] *= shape[i]
			a[n-1], b[n-1], o[n-1] = s1[i], s2[i], so[i]
			continue
		}
		sh = append(sh, shape[i])
		a = append(a, s1[i])
		b = append(b, s2[i])
		o = append(o, so[i])
	}
	if len(sh) == 0 {
		return []int{1}, []int{0}, []int{0}, []int{1}
	}
	return sh, a, b, o
}

// Add returns a + b (broadcasting).
func Add(a, b *Tensor) *Tensor { return Binary(OpAdd, a, b) }

// Sub returns a - b (broadcasting).
func Sub(a, b *Tensor) *Tensor { return Binary(OpSub, a, b) }

// Mul returns a · b (broadcasting).
func Mul(a, b *Tensor) *Tensor { return Binary(OpMul, a, b) }

// Div returns a / b (broadcasting).
func Div(a, b *Tensor) *Tensor { return Binary(OpDiv, a, b) }

// Maximum returns max(a, b) elementwise (broadcasting).
func Maximum(a, b *Tensor) *Tensor { return Binary(OpMax, a, b) }

// Minimum returns min(a, b) elementwise (broadcasting).
func Minimum(a, b *Tensor) *Tensor { return Binary(OpMin, a, b) }

// Scale returns s·x.
func Scale(x *Tensor, s float32) *Tensor { return Unary(OpAffine, x, s, 0) }

// AddScalar returns x + s.
func AddScalar(x *Tensor, s float32) *Tensor { return Unary(OpAffine, x, 1, s) }

// Neg returns -x.
func Neg(x *Tensor) *Tensor { return Unary(OpNeg, x, 0, 0) }

// Exp returns e^x.
func Exp(x *Tensor) *Tensor { return Unary(OpExp, x, 0, 0) }

// Log returns ln x.
func Log(x *Tensor) *Tensor { return Unary(OpLog, x, 0, 0) }

// Sqrt returns √x.
func Sqrt(x *Tensor) *Tensor { return Unary(OpSqrt, x, 0, 0) }

// Square returns x².
func Square(x *Tensor) *Tensor { return Unary(OpSquare, x, 0, 0) }

// Abs returns |x|.
func Abs(x *Tensor) *Tensor { return Unary(OpAbs, x, 0, 0) }

// ReLU returns max(x, 0).
func ReLU(x *Tensor) *Tensor { return Unary(OpReLU, x, 0, 0) }

// Sigmoid returns 1/(1+e^-x).
func Sigmoid(x *Tensor) *Tensor { return Unary(OpSigmoid, x, 0, 0) }

// Tanh returns tanh x.
func Tanh(x *Tensor) *Tensor { return Unary(OpTanh, x, 0, 0) }

// GELU returns x·Φ(x).
func GELU(x *Tensor) *Tensor { return Unary(OpGELU, x, 0, 0) }

// Softplus returns ln(1+e^x).
func Softplus(x *Tensor) *Tensor { return Unary(OpSoftplus, x, 0, 0) }

// Fill sets every element of the view t to v.
func (t *Tensor) Fill(v float32) {
	if t.IsContiguous() {
		if t.dtype == Int32 {
			t.st.be.FillInt32(t.Buffer(), t.offset, t.Numel(), int32(v))
		} else {
			t.st.be.Fill(t.Buffer(), t.offset, t.Numel(), v)
		}
		return
	}
	s := Full(t.st.be, v)
	defer s.Release()
	t.CopyFrom(s)
}

// Concat joins tensors along axis a.
func Concat(a int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor.Concat: no tensors")
	}
	be := sameBackend("Concat", ts...)
	a = ts[0].axis("Concat", a)
	shape := ts[0].Shape()
	total := 0
	for _, t := range ts {
		if len(t.shape) != len(shape) || t.dtype != ts[0].dtype {
			panic(fmt.Sprintf("tensor.Concat: %v %v vs %v %v", t.shape, t.dtype, ts[0].shape, ts[0].dtype))
		}
		for i := range shape {
			if i != a && t.shape[i] != shape[i] {
				panic(fmt.Sprintf("tensor.Concat: shapes %v and %v differ outside axis %d", ts[0].shape, t.shape, a))
			}
		}
		total += t.shape[a]
	}
	shape[a] = total
	out := emptyUninit(be, ts[0].dtype, shape...)
	pos := 0
	for _, t := range ts {
		if t.shape[a] > 0 {
			out.Slice(a, pos, pos+t.shape[a]).CopyFrom(t)
		}
		pos += t.shape[a]
	}
	return out
}

// Split cuts t along axis a into views of the given sizes.
func Split(t *Tensor, a int, sizes ...int) []*Tensor {
	a = t.axis("Split", a)
	sum := 0
	for _, s := range sizes {
		sum += s
	}
	if sum != t.shape[a] {
		panic(fmt.Sprintf("tensor.Split: sizes %v do not add up to axis %d of %v", sizes, a, t.shape))
	}
	out := make([]*Tensor, len(sizes))
	pos := 0
	for i, s := range sizes {
		out[i] = t.Slice(a, pos, pos+s)
		pos += s
	}
	return out
}

// Pad zero-pads each axis i by before[i] and after[i] elements.
func Pad(t *Tensor, before, after []int) *Tensor {
	if len(before) != len(t.shape) || len(after) != len(t.shape) {
		panic(fmt.Sprintf("tensor.Pad: padding %v/%v for shape %v", before, after, t.shape))
	}
	shape := t.Shape()
	for i := range shape {
		if before[i] < 0 || after[i] < 0 {
			panic(fmt.Sprintf("tensor.Pad: negative padding %v/%v", before, after))
		}
		shape[i] += before[i] + after[i]
	}
	out := Empty(t.st.be, t.dtype, shape...)
	if t.Numel() == 0 {
		return out
	}
	v := out
	for i := range shape {
		v = v.Slice(i, before[i], before[i]+t.shape[i])
	}
	v.CopyFrom(t)
	return out
}

// Crop returns a contiguous copy of the region [start[i], start[i]+size[i]).
func Crop(t *Tensor, start, size []int) *Tensor {
	v := t
	for i := range start {
		v = v.Slice(i, start[i], start[i]+size[i])
	}
	return v.Clone()
}
