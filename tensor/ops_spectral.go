package tensor

import (
	"fmt"
	"slices"
)

// Spectral ops. Complex tensors are float32 tensors whose last axis has size
// 2 (interleaved real, imaginary). Transforms follow NumPy's conventions:
// forward transforms are unnormalised, inverse transforms are scaled by 1/n.
// Every kernel used here overwrites its whole output, so outputs are
// allocated without zero-filling.

// denseSpec returns t as a contiguous tensor starting at offset 0 (t itself when
// it already is); release frees the copy, if one was made.
func denseSpec(t *Tensor) (d *Tensor, release func()) {
	if t.IsContiguous() && t.offset == 0 {
		return t, func() {}
	}
	c := t.Clone()
	return c, c.Release
}

func wantComplex(op string, ts ...*Tensor) {
	for _, t := range ts {
		if t.dtype != Float32 || t.Rank() < 1 || t.shape[len(t.shape)-1] != 2 {
			panic(fmt.Sprintf("tensor.%s: want a complex tensor (float32, last axis 2), got %v %v", op, t.dtype, t.shape))
		}
	}
}

// RFFT is the real FFT over the last axis: x [..., n] → [..., n/2+1, 2],
// unnormalised (numpy.fft.rfft).
func RFFT(x *Tensor) *Tensor {
	wantFloat("RFFT", x)
	if x.Rank() < 1 || x.shape[x.Rank()-1] < 1 {
		panic(fmt.Sprintf("tensor.RFFT: need rank ≥ 1 and a non-empty last axis, got %v", x.shape))
	}
	n := x.shape[x.Rank()-1]
	batch := x.Numel() / n
	shape := append(slices.Clone(x.shape[:x.Rank()-1]), n/2+1, 2)
	out := emptyUninit(x.st.be, Float32, shape...)
	if batch == 0 {
		return out
	}
	xd, rel := denseSpec(x)
	defer rel()
	x.st.be.RFFT(out.st.buf, xd.Buffer(), batch, n)
	return out
}

// IRFFT is the inverse of RFFT for signals of length n: x [..., n/2+1, 2] →
// [..., n], normalised by 1/n (numpy.fft.irfft(x, n)); the imaginary parts of
// the DC and, for even n, Nyquist bins are ignored.
func IRFFT(x *Tensor, n int) *Tensor {
	wantComplex("IRFFT", x)
	if n < 1 || x.Rank() < 2 || x.shape[x.Rank()-2] != n/2+1 {
		panic(fmt.Sprintf("tensor.IRFFT: input %v does not hold %d/2+1 = %d frequencies", x.shape, n, n/2+1))
	}
	batch := x.Numel() / (2 * (n/2 + 1))
	shape := append(slices.Clone(x.shape[:x.Rank()-2]), n)
	out := emptyUninit(x.st.be, Float32, shape...)
	if batch == 0 {
		return out
	}
	xd, rel := denseSpec(x)
	defer rel()
	x.st.be.IRFFT(out.st.buf, xd.Buffer(), batch, n)
	return out
}

// RFFT2 is the 2-D real FFT over the last two axes: x [..., h, w] →
// [..., h, w/2+1, 2], unnormalised (numpy.fft.rfft2).
func RFFT2(x *Tensor) *Tensor {
	wantFloat("RFFT2", x)
	r := x.Rank()
	if r < 2 || x.shape[r-1] < 1 || x.shape[r-2] < 1 {
		panic(fmt.Sprintf("tensor.RFFT2: need rank ≥ 2 and non-empty last two axes, got %v", x.shape))
	}
	h, w := x.shape[r-2], x.shape[r-1]
	batch := x.Numel() / (h * w)
	shape := append(slices.Clone(x.shape[:r-1]), w/2+1, 2)
	out := emptyUninit(x.st.be, Float32, shape...)
	if batch == 0 {
		return out
	}
	xd, rel := denseSpec(x)
	defer rel()
	x.st.be.RFFT2(out.st.buf, xd.Buffer(), batch, h, w)
	return out
}

// IRFFT2 is the inverse of RFFT2 for signals of size h×w: x [..., h, w/2+1, 2]
// → [..., h, w], normalised by 1/(h·w) (numpy.fft.irfft2(x, s=(h, w))).
func IRFFT2(x *Tensor, h, w int) *Tensor {
	wantComplex("IRFFT2", x)
	r := x.Rank()
	if h < 1 || w < 1 || r < 3 || x.shape[r-3] != h || x.shape[r-2] != w/2+1 {
		panic(fmt.Sprintf("tensor.IRFFT2: input %v is not [..., %d, %d, 2] for size %d×%d", x.shape, h, w/2+1, h, w))
	}
	batch := x.Numel() / (2 * h * (w/2 + 1))
	shape := append(slices.Clone(x.shape[:r-3]), h, w)
	out := emptyUninit(x.st.be, Float32, shape...)
	if batch == 0 {
		return out
	}
	xd, rel := denseSpec(x)
	defer rel()
	x.st.be.IRFFT2(out.st.buf, xd.Buffer(), batch, h, w)
	return out
}

// ComplexContract contracts complex tensors over channels at every
// frequency. Operands are [N0, N1, F..., 2] where F... is one or more
// frequency axes (flattened internally, e.g. a 2-D grid [F1, F2]) that must
// agree between a and b:
//
//	ContractForward: a = X [B,I,F...,2], b = W [O,I,F...,2] → Y [B,O,F...,2],  Y = Σ_i X·W
//	ContractGradX:   a = dY [B,O,F...,2], b = W [O,I,F...,2] → dX [B,I,F...,2], dX = Σ_o dY·conj(W)
//	ContractGradW:   a = dY [B,O,F...,2], b = X [B,I,F...,2] → dW [O,I,F...,2], dW = Σ_b dY·conj(X)
func ComplexContract(mode ContractMode, a, b *Tensor) *Tensor {
	be := sameBackend("ComplexContract", a, b)
	wantComplex("ComplexContract", a, b)
	bad := a.Rank() < 3 || a.Rank() != b.Rank() || !slices.Equal(a.shape[2:], b.shape[2:])
	var B, I, O int
	var outLead []int
	if !bad {
		switch mode {
		case ContractForward:
			B, I, O = a.shape[0], a.shape[1], b.shape[0]
			bad = b.shape[1] != I
			outLead = []int{B, O}
		case ContractGradX:
			B, O, I = a.shape[0], a.shape[1], b.shape[1]
			bad = b.shape[0] != O
			outLead = []int{B, I}
		case ContractGradW:
			B, O, I = a.shape[0], a.shape[1], b.shape[1]
			bad = b.shape[0] != B
			outLead = []int{O, I}
		default:
			panic(fmt.Sprintf("tensor.ComplexContract: unknown mode %d", mode))
		}
	}
	if bad {
		panic(fmt.Sprintf("tensor.ComplexContract: mode %d with shapes %v and %v", mode, a.shape, b.shape))
	}
	F := Numel(a.shape[2 : a.Rank()-1])
	out := emptyUninit(be, Float32, append(outLead, a.shape[2:]...)...)
	if out.Numel() == 0 {
		return out
	}
	ad, ra := denseSpec(a)
	defer ra()
	bd, rb := denseSpec(b)
	defer rb()
	be.ComplexContract(mode, out.st.buf, ad.Buffer(), bd.Buffer(), B, I, O, F)
	return out
}

// complexView returns the complex-unit strides of the complex shape of t
// (last axis dropped), copying t first if its layout does not allow it.
func complexView(t *Tensor, shape []int) (v *Tensor, strides []int, release func()) {
	bt := t.BroadcastTo(append(slices.Clone(shape), 2)...)
	ok := bt.strides[len(shape)] == 1
	for _, s := range bt.strides[:len(shape)] {
		if s%2 != 0 {
			ok = false
		}
	}
	if !ok {
		c := t.Clone()
		bt = c.BroadcastTo(append(slices.Clone(shape), 2)...)
		release = c.Release
	} else {
		release = func() {}
	}
	strides = make([]int, len(shape))
	for i, s := range bt.strides[:len(shape)] {
		strides[i] = s / 2
	}
	return bt, strides, release
}

// ComplexMul multiplies complex tensors elementwise, a·b or a·conj(b) with
// conjB, with NumPy broadcasting over the complex shape (all axes but the
// last, which must be 2 in both).
func ComplexMul(a, b *Tensor, conjB bool) *Tensor {
	be := sameBackend("ComplexMul", a, b)
	wantComplex("ComplexMul", a, b)
	cshape := BroadcastShapes("ComplexMul", a.shape[:a.Rank()-1], b.shape[:b.Rank()-1])
	out := emptyUninit(be, Float32, append(slices.Clone(cshape), 2)...)
	if out.Numel() == 0 {
		return out
	}
	av, as, ra := complexView(a, cshape)
	defer ra()
	bv, bs, rb := complexView(b, cshape)
	defer rb()
	sh, as, bs := collapse(cshape, as, bs)
	if len(sh) > MaxRank {
		panic(fmt.Sprintf("tensor.ComplexMul: shapes %v and %v exceed MaxRank %d", a.shape, b.shape, MaxRank))
	}
	be.ComplexMul(out.st.buf, sh, av.Buffer(), av.offset, as, bv.Buffer(), bv.offset, bs, conjB)
	return out
}

func kronArgs(op string, w *Tensor, k, d []int) {
	if len(d) < 1 || len(d) > 2 || len(k) != len(d) || w.Rank() < len(d) {
		panic(fmt.Sprintf("tensor.%s: dilation %v for shape %v (1 or 2 trailing axes)", op, d, w.shape))
	}
	for i := range d {
		if d[i] < 1 || k[i] < 1 {
			panic(fmt.Sprintf("tensor.%s: bad kernel size %v or dilation %v for shape %v", op, k, d, w.shape))
		}
	}
}

// KronDilate dilates the kernels on the last len(d) axes (1 or 2) of w by
// inserting d-1 zeros between taps: [..., k] → [..., d(k-1)+1] and
// [..., kh, kw] → [..., dh(kh-1)+1, dw(kw-1)+1]. This is w ⊗ P with P the
// d-sized one-hot at the origin, trailing zeros cropped.
func KronDilate(w *Tensor, d ...int) *Tensor {
	wantFloat("KronDilate", w)
	r := w.Rank()
	if len(d) < 1 || len(d) > 2 || r < len(d) {
		panic(fmt.Sprintf("tensor.KronDilate: dilation %v for shape %v (1 or 2 trailing axes)", d, w.shape))
	}
	k := slices.Clone(w.shape[r-len(d):])
	kronArgs("KronDilate", w, k, d)
	shape := slices.Clone(w.shape)
	for i := range d {
		shape[r-len(d)+i] = d[i]*(k[i]-1) + 1
	}
	out := emptyUninit(w.st.be, Float32, shape...)
	rows := Numel(w.shape[:r-len(d)])
	if rows == 0 {
		return out
	}
	wd, rel := denseSpec(w)
	defer rel()
	w.st.be.KronDilate(out.st.buf, wd.Buffer(), rows, k, slices.Clone(d))
	return out
}

// KronGather is the adjoint of KronDilate: it takes the taps of dilated
// kernels on the last len(k) axes of w, [..., d(k-1)+1] → [..., k] (and the
// 2-D analogue). k and d have equal length 1 or 2.
func KronGather(w *Tensor, k, d []int) *Tensor {
	wantFloat("KronGather", w)
	kronArgs("KronGather", w, k, d)
	r := w.Rank()
	shape := slices.Clone(w.shape)
	for i := range d {
		if w.shape[r-len(d)+i] != d[i]*(k[i]-1)+1 {
			panic(fmt.Sprintf("tensor.KronGather: shape %v does not hold kernels %v dilated by %v", w.shape, k, d))
		}
		shape[r-len(d)+i] = k[i]
	}
	out := emptyUninit(w.st.be, Float32, shape...)
	rows := Numel(w.shape[:r-len(d)])
	if rows == 0 {
		return out
	}
	wd, rel := denseSpec(w)
	defer rel()
	w.st.be.KronGather(out.st.buf, wd.Buffer(), rows, slices.Clone(k), slices.Clone(d))
	return out
}
