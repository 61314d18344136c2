package tensor

import (
	"errors"
	"fmt"
	"slices"
)

// padMode distinguishes explicit padding from the computed modes.
type padMode uint8

const (
	padExplicit padMode = iota
	padSame
	padCausal
)

// Padding says how a convolution pads its input along each spatial axis.
// The zero value pads nothing ("valid"). Explicit padding lists the zeros
// added before and after each spatial axis (one entry applies to every
// axis; nil means 0); PadSame and PadCausal compute the padding from the
// kernel size and dilation.
type Padding struct {
	// Before and After are the explicit zeros added before and after each
	// spatial axis. They are ignored by PadSame and PadCausal.
	Before, After []int
	mode          padMode
}

var (
	// PadSame is PyTorch's padding="same": each axis gets a total padding of
	// d·(k-1), left = total/2 before and the rest after, so that with stride
	// 1 the output has the input's size (even kernels pad one more after).
	PadSame = Padding{mode: padSame}
	// PadCausal puts all of the d·(k-1) padding before each axis (meant for
	// 1-D sequences): output t only sees inputs ≤ t.
	PadCausal = Padding{mode: padCausal}
)

// PadSym returns symmetric explicit padding: p[i] zeros before and after
// spatial axis i (a single value applies to every axis).
func PadSym(p ...int) Padding {
	return Padding{Before: slices.Clone(p), After: slices.Clone(p)}
}

// String describes the padding.
func (p Padding) String() string {
	switch p.mode {
	case padSame:
		return "same"
	case padCausal:
		return "causal"
	}
	return fmt.Sprintf("before %v after %v", p.Before, p.After)
}

// ConvOptions configures Conv1d and Conv2d. Stride and Dilation list one
// value per spatial axis (a single value applies to every axis; nil means
// 1). Groups 0 means 1.
type ConvOptions struct {
	Stride, Dilation []int
	Padding          Padding
	Groups           int
}

// perAxis expands a per-axis option: nil → def, one value → every axis.
func perAxis(name string, v []int, rank, def int) ([]int, error) {
	switch len(v) {
	case 0:
		out := make([]int, rank)
		for i := range out {
			out[i] = def
		}
		return out, nil
	case 1:
		out := make([]int, rank)
		for i := range out {
			out[i] = v[0]
		}
		return out, nil
	case rank:
		return slices.Clone(v), nil
	}
	return nil, fmt.Errorf("%s %v: want 1 or %d values", name, v, rank)
}

// ConvParamsFor validates a convolution of an input of shape xShape
// ([N,C,L] or [N,C,H,W]) with a kernel of shape wShape ([K,C/G,k] or
// [K,C/G,KH,KW]) and returns the backend parameters. Errors name the
// problem: a kernel larger than the padded input, a non-positive stride or
// dilation, channels not divisible by the groups, mismatched shapes.
func ConvParamsFor(xShape, wShape []int, o ConvOptions) (ConvParams, error) {
	var p ConvParams
	if len(xShape) != 3 && len(xShape) != 4 {
		return p, fmt.Errorf("conv: input shape %v: want [N,C,L] or [N,C,H,W]", xShape)
	}
	if len(wShape) != len(xShape) {
		return p, fmt.Errorf("conv: kernel shape %v does not match input shape %v (want rank %d)", wShape, xShape, len(xShape))
	}
	for _, s := range append(slices.Clone(xShape), wShape...) {
		if s < 0 {
			return p, fmt.Errorf("conv: negative dimension in input %v or kernel %v", xShape, wShape)
		}
	}
	rank := len(xShape) - 2
	stride, err := perAxis("conv: stride", o.Stride, rank, 1)
	if err != nil {
		return p, err
	}
	dil, err := perAxis("conv: dilation", o.Dilation, rank, 1)
	if err != nil {
		return p, err
	}
	for i := range rank {
		if stride[i] <= 0 {
			return p, fmt.Errorf("conv: non-positive stride %v", o.Stride)
		}
		if dil[i] <= 0 {
			return p, fmt.Errorf("conv: non-positive dilation %v", o.Dilation)
		}
	}
	g := o.Groups
	if g == 0 {
		g = 1
	}
	if g < 0 {
		return p, fmt.Errorf("conv: non-positive groups %d", o.Groups)
	}
	n, c, k := xShape[0], xShape[1], wShape[0]
	if c == 0 || k == 0 {
		return p, fmt.Errorf("conv: zero channels (input %v, kernel %v)", xShape, wShape)
	}
	if c%g != 0 {
		return p, fmt.Errorf("conv: input channels %d not divisible by groups %d", c, g)
	}
	if k%g != 0 {
		return p, fmt.Errorf("conv: output channels %d not divisible by groups %d", k, g)
	}
	if wShape[1] != c/g {
		return p, fmt.Errorf("conv: kernel shape %v has %d input channels, want C/groups = %d/%d = %d", wShape, wShape[1], c, g, c/g)
	}
	in, ks := xShape[2:], wShape[2:]
	before := make([]int, rank)
	after := make([]int, rank)
	switch o.Padding.mode {
	case padSame, padCausal:
		for i := range rank {
			total := dil[i] * (ks[i] - 1)
			if o.Padding.mode == padSame {
				before[i] = total / 2
			} else {
				before[i] = total
			}
			after[i] = total - before[i]
		}
	default:
		if before, err = perAxis("conv: padding before", o.Padding.Before, rank, 0); err != nil {
			return p, err
		}
		if after, err = perAxis("conv: padding after", o.Padding.After, rank, 0); err != nil {
			return p, err
		}
		for i := range rank {
			if before[i] < 0 || after[i] < 0 {
				return p, fmt.Errorf("conv: negative padding %v", o.Padding)
			}
		}
	}
	out := make([]int, rank)
	for i := range rank {
		if ks[i] <= 0 || in[i] <= 0 {
			return p, fmt.Errorf("conv: empty spatial axis in input %v or kernel %v", xShape, wShape)
		}
		span := dil[i]*(ks[i]-1) + 1
		padded := in[i] + before[i] + after[i]
		if span > padded {
			return p, fmt.Errorf("conv: kernel larger than padded input: dilated kernel size %d > padded input size %d (spatial axis %d of input %v, kernel %v)", span, padded, i, xShape, wShape)
		}
		out[i] = (padded-span)/stride[i] + 1
	}
	p = ConvParams{N: n, C: c, K: k, Groups: g, H: 1, KH: 1, SH: 1, DH: 1, OH: 1}
	if rank == 1 {
		p.W, p.KW, p.SW, p.DW, p.PW, p.OW = in[0], ks[0], stride[0], dil[0], before[0], out[0]
	} else {
		p.H, p.KH, p.SH, p.DH, p.PH, p.OH = in[0], ks[0], stride[0], dil[0], before[0], out[0]
		p.W, p.KW, p.SW, p.DW, p.PW, p.OW = in[1], ks[1], stride[1], dil[1], before[1], out[1]
	}
	return p, nil
}

// convOutShape is the output shape for the params and the input rank.
func convOutShape(p ConvParams, rank int) []int {
	if rank == 3 {
		return []int{p.N, p.K, p.OW}
	}
	return []int{p.N, p.K, p.OH, p.OW}
}

// dense returns t as a contiguous tensor starting at offset 0 (t itself when
// it already is) and whether the result is a temporary copy.
func dense(t *Tensor) (*Tensor, bool) {
	if t.IsContiguous() && t.offset == 0 {
		return t, false
	}
	return t.Clone(), true
}

func mustConvParams(op string, xShape, wShape []int, o ConvOptions) ConvParams {
	p, err := ConvParamsFor(xShape, wShape, o)
	if err != nil {
		panic(fmt.Sprintf("tensor.%s: %v", op, err))
	}
	return p
}

func wantRank(op string, t *Tensor, r int, what string) {
	if t.Rank() != r {
		panic(fmt.Sprintf("tensor.%s: %s has shape %v, want rank %d", op, what, t.shape, r))
	}
}

// Conv1d is the 1-D cross-correlation (PyTorch's conv1d without bias) of
// x [N,C,L] with w [K,C/G,k], giving [N,K,L']. Bad options panic with the
// message of ConvParamsFor.
func Conv1d(x, w *Tensor, o ConvOptions) *Tensor {
	wantRank("Conv1d", x, 3, "input")
	return conv("Conv1d", x, w, o)
}

// Conv2d is the 2-D cross-correlation (PyTorch's conv2d without bias) of
// x [N,C,H,W] with w [K,C/G,KH,KW], giving [N,K,H',W'].
func Conv2d(x, w *Tensor, o ConvOptions) *Tensor {
	wantRank("Conv2d", x, 4, "input")
	return conv("Conv2d", x, w, o)
}

func conv(op string, x, w *Tensor, o ConvOptions) *Tensor {
	be := sameBackend(op, x, w)
	wantFloat(op, x, w)
	p := mustConvParams(op, x.shape, w.shape, o)
	// the kernels overwrite every output element: no zero-fill needed.
	out := emptyUninit(be, Float32, convOutShape(p, x.Rank())...)
	if out.Numel() == 0 {
		return out
	}
	xc, xt := dense(x)
	wc, wt := dense(w)
	be.ConvForward(p, out.st.buf, xc.Buffer(), wc.Buffer())
	if xt {
		xc.Release()
	}
	if wt {
		wc.Release()
	}
	return out
}

// ConvBackwardData returns the gradient of a convolution with respect to its
// input of shape xShape, given the output gradient dy and the kernel w
// (1-D or 2-D as the ranks say).
func ConvBackwardData(dy, w *Tensor, xShape []int, o ConvOptions) *Tensor {
	be := sameBackend("ConvBackwardData", dy, w)
	wantFloat("ConvBackwardData", dy, w)
	p := mustConvParams("ConvBackwardData", xShape, w.shape, o)
	if want := convOutShape(p, len(xShape)); !SameShape(dy.shape, want) {
		panic(fmt.Sprintf("tensor.ConvBackwardData: dy has shape %v, want %v", dy.shape, want))
	}
	dx := emptyUninit(be, Float32, xShape...)
	if dx.Numel() == 0 {
		return dx
	}
	dc, dt := dense(dy)
	wc, wt := dense(w)
	be.ConvBackwardData(p, dx.st.buf, dc.Buffer(), wc.Buffer())
	if dt {
		dc.Release()
	}
	if wt {
		wc.Release()
	}
	return dx
}

// ConvBackwardFilter returns the gradient of a convolution with respect to
// its kernel of shape wShape, given the input x and the output gradient dy
// (summed over the batch).
func ConvBackwardFilter(x, dy *Tensor, wShape []int, o ConvOptions) *Tensor {
	be := sameBackend("ConvBackwardFilter", x, dy)
	wantFloat("ConvBackwardFilter", x, dy)
	p := mustConvParams("ConvBackwardFilter", x.shape, wShape, o)
	if want := convOutShape(p, x.Rank()); !SameShape(dy.shape, want) {
		panic(fmt.Sprintf("tensor.ConvBackwardFilter: dy has shape %v, want %v", dy.shape, want))
	}
	if Numel(wShape) == 0 || p.N == 0 {
		return Empty(be, Float32, wShape...) // zeros
	}
	dw := emptyUninit(be, Float32, wShape...)
	xc, xt := dense(x)
	dc, dt := dense(dy)
	be.ConvBackwardFilter(p, dw.st.buf, xc.Buffer(), dc.Buffer())
	if xt {
		xc.Release()
	}
	if dt {
		dc.Release()
	}
	return dw
}

// PoolOptions configures pooling: Kernel, Stride and Padding list one value
// per spatial axis (a single value applies to every axis). Stride nil (or
// 0) means the kernel size; Padding nil means 0, and is symmetric.
type PoolOptions struct {
	Kernel, Stride, Padding []int
}

// PoolParamsFor validates pooling of an input of shape xShape ([N,C,L] or
// [N,C,H,W]) and returns the backend parameters. The output size is
// floor((in + 2·pad - kernel)/stride) + 1 (PyTorch's ceil_mode=false);
// padding may be at most half the kernel.
func PoolParamsFor(xShape []int, o PoolOptions) (PoolParams, error) {
	var p PoolParams
	if len(xShape) != 3 && len(xShape) != 4 {
		return p, fmt.Errorf("pool: input shape %v: want [N,C,L] or [N,C,H,W]", xShape)
	}
	for _, s := range xShape {
		if s < 0 {
			return p, fmt.Errorf("pool: negative dimension in input %v", xShape)
		}
	}
	rank := len(xShape) - 2
	if len(o.Kernel) == 0 {
		return p, errors.New("pool: no kernel size")
	}
	k, err := perAxis("pool: kernel", o.Kernel, rank, 1)
	if err != nil {
		return p, err
	}
	s, err := perAxis("pool: stride", o.Stride, rank, 0)
	if err != nil {
		return p, err
	}
	pad, err := perAxis("pool: padding", o.Padding, rank, 0)
	if err != nil {
		return p, err
	}
	out := make([]int, rank)
	for i := range rank {
		if k[i] <= 0 {
			return p, fmt.Errorf("pool: non-positive kernel size %v", o.Kernel)
		}
		if s[i] == 0 {
			s[i] = k[i]
		}
		if s[i] < 0 {
			return p, fmt.Errorf("pool: negative stride %v", o.Stride)
		}
		if pad[i] < 0 || 2*pad[i] > k[i] {
			return p, fmt.Errorf("pool: padding %v must be between 0 and half the kernel size %v", o.Padding, o.Kernel)
		}
		in := xShape[2+i]
		if k[i] > in+2*pad[i] {
			return p, fmt.Errorf("pool: kernel larger than padded input: kernel %d > padded input size %d (spatial axis %d of input %v)", k[i], in+2*pad[i], i, xShape)
		}
		out[i] = (in+2*pad[i]-k[i])/s[i] + 1
	}
	if xShape[1] == 0 {
		return p, fmt.Errorf("pool: zero channels in input %v", xShape)
	}
	p = PoolParams{N: xShape[0], C: xShape[1], H: 1, KH: 1, SH: 1, OH: 1}
	if rank == 1 {
		p.W, p.KW, p.SW, p.PW, p.OW = xShape[2], k[0], s[0], pad[0], out[0]
	} else {
		p.H, p.KH, p.SH, p.PH, p.OH = xShape[2], k[0], s[0], pad[0], out[0]
		p.W, p.KW, p.SW, p.PW, p.OW = xShape[3], k[1], s[1], pad[1], out[1]
	}
	return p, nil
}

func mustPoolParams(op string, xShape []int, o PoolOptions) PoolParams {
	p, err := PoolParamsFor(xShape, o)
	if err != nil {
		panic(fmt.Sprintf("tensor.%s: %v", op, err))
	}
	return p
}

func poolOutShape(p PoolParams, rank int) []int {
	if rank == 3 {
		return []int{p.N, p.C, p.OW}
	}
	return []int{p.N, p.C, p.OH, p.OW}
}

// MaxPool takes the maximum of each window of x ([N,C,L] or [N,C,H,W]) and
// returns it with the int32 index of the maximum within its channel's
// spatial plane (flattened), which MaxPoolBackward uses.
func MaxPool(x *Tensor, o PoolOptions) (y, idx *Tensor) {
	wantFloat("MaxPool", x)
	p := mustPoolParams("MaxPool", x.shape, o)
	be := x.st.be
	shape := poolOutShape(p, x.Rank())
	y = emptyUninit(be, Float32, shape...)
	idx = emptyUninit(be, Int32, shape...)
	if y.Numel() == 0 {
		return y, idx
	}
	xc, xt := dense(x)
	be.MaxPool(p, y.st.buf, idx.st.buf, xc.Buffer())
	if xt {
		xc.Release()
	}
	return y, idx
}

// MaxPoolBackward routes dy to the maxima recorded by MaxPool, giving the
// gradient of the input of shape xShape.
func MaxPoolBackward(dy, idx *Tensor, xShape []int, o PoolOptions) *Tensor {
	be := sameBackend("MaxPoolBackward", dy, idx)
	p := mustPoolParams("MaxPoolBackward", xShape, o)
	want := poolOutShape(p, len(xShape))
	if !SameShape(dy.shape, want) || !SameShape(idx.shape, want) || idx.dtype != Int32 || dy.dtype != Float32 {
		panic(fmt.Sprintf("tensor.MaxPoolBackward: dy %v %v and idx %v %v, want float32 and int32 %v", dy.shape, dy.dtype, idx.shape, idx.dtype, want))
	}
	if Numel(xShape) == 0 || dy.Numel() == 0 {
		return Empty(be, Float32, xShape...)
	}
	dx := emptyUninit(be, Float32, xShape...)
	dc, dt := dense(dy)
	ic, it := dense(idx)
	be.MaxPoolBackward(p, dx.st.buf, dc.Buffer(), ic.Buffer())
	if dt {
		dc.Release()
	}
	if it {
		ic.Release()
	}
	return dx
}

// AvgPool averages each window of x; padding counts as zeros (PyTorch's
// count_include_pad=True).
func AvgPool(x *Tensor, o PoolOptions) *Tensor {
	wantFloat("AvgPool", x)
	p := mustPoolParams("AvgPool", x.shape, o)
	be := x.st.be
	y := emptyUninit(be, Float32, poolOutShape(p, x.Rank())...)
	if y.Numel() == 0 {
		return y
	}
	xc, xt := dense(x)
	be.AvgPool(p, y.st.buf, xc.Buffer())
	if xt {
		xc.Release()
	}
	return y
}

// AvgPoolBackward is the gradient of AvgPool for an input of shape xShape.
func AvgPoolBackward(dy *Tensor, xShape []int, o PoolOptions) *Tensor {
	wantFloat("AvgPoolBackward", dy)
	p := mustPoolParams("AvgPoolBackward", xShape, o)
	if want := poolOutShape(p, len(xShape)); !SameShape(dy.shape, want) {
		panic(fmt.Sprintf("tensor.AvgPoolBackward: dy has shape %v, want %v", dy.shape, want))
	}
	be := dy.st.be
	if Numel(xShape) == 0 || dy.Numel() == 0 {
		return Empty(be, Float32, xShape...)
	}
	dx := emptyUninit(be, Float32, xShape...)
	dc, dt := dense(dy)
	be.AvgPoolBackward(p, dx.st.buf, dc.Buffer())
	if dt {
		dc.Release()
	}
	return dx
}

func pool1(kernel, stride, padding int) PoolOptions {
	return PoolOptions{Kernel: []int{kernel}, Stride: []int{stride}, Padding: []int{padding}}
}

// MaxPool1d is MaxPool over [N,C,L] with the given kernel, stride (0: the
// kernel) and symmetric padding, returning only the maxima.
func MaxPool1d(x *Tensor, kernel, stride, padding int) *Tensor {
	wantRank("MaxPool1d", x, 3, "input")
	y, idx := MaxPool(x, pool1(kernel, stride, padding))
	idx.Release()
	return y
}

// MaxPool2d is MaxPool over [N,C,H,W] with a square kernel, stride (0: the
// kernel) and symmetric padding, returning only the maxima.
func MaxPool2d(x *Tensor, kernel, stride, padding int) *Tensor {
	wantRank("MaxPool2d", x, 4, "input")
	y, idx := MaxPool(x, pool1(kernel, stride, padding))
	idx.Release()
	return y
}

// AvgPool1d is AvgPool over [N,C,L] (stride 0: the kernel).
func AvgPool1d(x *Tensor, kernel, stride, padding int) *Tensor {
	wantRank("AvgPool1d", x, 3, "input")
	return AvgPool(x, pool1(kernel, stride, padding))
}

// AvgPool2d is AvgPool over [N,C,H,W] with a square window (stride 0: the
// kernel).
func AvgPool2d(x *Tensor, kernel, stride, padding int) *Tensor {
	wantRank("AvgPool2d", x, 4, "input")
	return AvgPool(x, pool1(kernel, stride, padding))
}

// GlobalAvgPool averages x [N,C,spatial...] over its spatial axes, giving
// [N,C].
func GlobalAvgPool(x *Tensor) *Tensor {
	if x.Rank() < 3 {
		panic(fmt.Sprintf("tensor.GlobalAvgPool: input shape %v: want [N,C,spatial...]", x.shape))
	}
	axes := make([]int, 0, x.Rank()-2)
	for a := 2; a < x.Rank(); a++ {
		axes = append(axes, a)
	}
	return Mean(x, false, axes...)
}
