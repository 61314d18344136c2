package tensor

import "fmt"

// Softmax normalises exp(x) over axis a (numerically stable).
func Softmax(x *Tensor, a int) *Tensor {
	m := Max(x, true, a)
	z := Sub(x, m)
	m.Release()
	e := Exp(z)
	z.Release()
	s := Sum(e, true, a)
	y := Div(e, s)
	e.Release()
	s.Release()
	return y
}

// LogSoftmax is log(Softmax(x, a)), computed stably.
func LogSoftmax(x *Tensor, a int) *Tensor {
	m := Max(x, true, a)
	z := Sub(x, m)
	m.Release()
	e := Exp(z)
	s := Sum(e, true, a)
	e.Release()
	ls := Log(s)
	s.Release()
	y := Sub(z, ls)
	z.Release()
	ls.Release()
	return y
}

// GatherCols picks x[r, idx[r]] from a [rows, cols] tensor with int32 idx [rows].
func GatherCols(x, idx *Tensor) *Tensor {
	if x.Rank() != 2 || idx.Rank() != 1 || idx.Dim(0) != x.Dim(0) || idx.dtype != Int32 {
		panic(fmt.Sprintf("tensor.GatherCols: x %v, idx %v %v", x.shape, idx.shape, idx.dtype))
	}
	xc, ic := x.Contiguous(), idx.Contiguous()
	if xc.offset != 0 || ic.offset != 0 {
		panic("tensor.GatherCols: inputs must start at offset 0")
	}
	out := emptyUninit(x.st.be, Float32, x.Dim(0))
	x.st.be.GatherCols(out.st.buf, xc.Buffer(), ic.Buffer(), x.Dim(0), x.Dim(1))
	return out
}

// CrossEntropy is the mean cross-entropy of logits [N, C] against int32
// class labels [N]; it returns a scalar and the log-softmax (for backward).
func CrossEntropy(logits, labels *Tensor) (loss, logp *Tensor) {
	if logits.Rank() != 2 || labels.Rank() != 1 || labels.Dim(0) != logits.Dim(0) {
		panic(fmt.Sprintf("tensor.CrossEntropy: logits %v, labels %v", logits.shape, labels.shape))
	}
	logp = LogSoftmax(logits, 1)
	picked := GatherCols(logp, labels)
	s := Sum(picked, false)
	picked.Release()
	loss = Scale(s, -1/float32(max(logits.Dim(0), 1)))
	s.Release()
	return loss, logp
}

// BCEWithLogits is the mean binary cross-entropy of logits x against targets
// y in [0, 1], with positive examples weighted by posWeight (1 = unweighted):
// loss = (1-y)·x + (1 + (posWeight-1)·y)·softplus(-x).
func BCEWithLogits(x, y *Tensor, posWeight float32) *Tensor {
	if !SameShape(x.shape, y.shape) {
		panic(fmt.Sprintf("tensor.BCEWithLogits: logits %v, targets %v", x.shape, y.shape))
	}
	omy := Unary(OpAffine, y, -1, 1)
	t1 := Mul(omy, x)
	omy.Release()
	lw := Unary(OpAffine, y, posWeight-1, 1)
	nx := Neg(x)
	sp := Softplus(nx)
	nx.Release()
	t2 := Mul(lw, sp)
	lw.Release()
	sp.Release()
	l := Add(t1, t2)
	t1.Release()
	t2.Release()
	m := Mean(l, false)
	l.Release()
	return m
}

// MSE is the mean squared error.
func MSE(a, b *Tensor) *Tensor {
	d := Sub(a, b)
	s := Square(d)
	d.Release()
	m := Mean(s, false)
	s.Release()
	return m
}

// RelativeL2 is the mean over the first axis of ‖pred_i − target_i‖₂ / ‖target_i‖₂.
func RelativeL2(pred, target *Tensor) *Tensor {
	if !SameShape(pred.shape, target.shape) || pred.Rank() < 1 {
		panic(fmt.Sprintf("tensor.RelativeL2: pred %v, target %v", pred.shape, target.shape))
	}
	n := pred.Dim(0)
	d := Sub(pred, target)
	num := rowNorm(d.ReshapeOwned(n, -1))
	den := rowNorm(target.Reshape(n, -1))
	r := Div(num, den)
	num.Release()
	den.Release()
	m := Mean(r, false)
	r.Release()
	return m
}

func rowNorm(x *Tensor) *Tensor {
	s := Square(x)
	ss := Sum(s, false, 1)
	s.Release()
	r := Sqrt(ss)
	ss.Release()
	return r
}

// DropoutMask returns a mask of x's shape whose elements are 1/(1-p) with
// probability 1-p and 0 otherwise, from the counter-based generator.
func DropoutMask(be Backend, p float32, seed uint64, shape ...int) *Tensor {
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("tensor.DropoutMask: p = %v not in [0, 1)", p))
	}
	u := emptyUninit(be, Float32, shape...)
	if n := u.Numel(); n > 0 {
		be.Random(u.st.buf, 0, n, Uniform, seed, 0, 1)
		be.Unary(OpThreshold, u.st.buf, u.st.buf, n, p, 1/(1-p))
	}
	return u
}

// RandUniform returns a tensor of uniform values in [lo, hi).
func RandUniform(be Backend, seed uint64, lo, hi float32, shape ...int) *Tensor {
	u := emptyUninit(be, Float32, shape...)
	if n := u.Numel(); n > 0 {
		be.Random(u.st.buf, 0, n, Uniform, seed, lo, hi)
	}
	return u
}

// RandNormal returns a tensor of normal values with the given mean and std.
func RandNormal(be Backend, seed uint64, mean, std float32, shape ...int) *Tensor {
	u := emptyUninit(be, Float32, shape...)
	if n := u.Numel(); n > 0 {
		be.Random(u.st.buf, 0, n, Normal, seed, mean, std)
	}
	return u
}

// SGDStep updates parameter p in place from gradient g with momentum buffer
// m (may be nil when o.Momentum == 0).
func SGDStep(p, g, m *Tensor, o SGDParams) {
	be := p.st.be
	var mb Buffer
	if m != nil {
		mb = m.Buffer()
	} else if o.Momentum != 0 {
		panic("tensor.SGDStep: momentum without a momentum buffer")
	}
	if !p.IsContiguous() || !g.IsContiguous() || p.offset != 0 || g.offset != 0 || p.Numel() != g.Numel() {
		panic(fmt.Sprintf("tensor.SGDStep: parameter %v and gradient %v must be contiguous and equal in size", p.shape, g.shape))
	}
	be.SGDStep(p.Buffer(), g.Buffer(), mb, p.Numel(), o)
}

// AdamStep updates parameter p in place from gradient g with moment buffers m, v.
func AdamStep(p, g, m, v *Tensor, o AdamParams) {
	if !p.IsContiguous() || !g.IsContiguous() || p.offset != 0 || g.offset != 0 || p.Numel() != g.Numel() {
		panic(fmt.Sprintf("tensor.AdamStep: parameter %v and gradient %v must be contiguous and equal in size", p.shape, g.shape))
	}
	p.st.be.AdamStep(p.Buffer(), g.Buffer(), m.Buffer(), v.Buffer(), p.Numel(), o)
}

// RelativeL2Denominator returns ‖target_i‖₂ per sample (axis 0) as [N].
func RelativeL2Denominator(target *Tensor) *Tensor {
	return rowNorm(target.Reshape(target.Dim(0), -1))
}
