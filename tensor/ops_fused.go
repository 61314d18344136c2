package tensor

import "fmt"

// Fused training ops: one kernel each where the unfused composition takes
// several passes over memory (batch norm with its statistics, affine
// transform, input bias and ReLU; bias plus ReLU; residual add plus ReLU).

// bufOf returns t's buffer as a dense offset-0 tensor's (nil for nil), and
// a release function for the temporary copy it may have made.
func bufOf(t *Tensor, tmps *[]*Tensor) Buffer {
	if t == nil {
		return nil
	}
	d, tmp := dense(t)
	if tmp {
		*tmps = append(*tmps, d)
	}
	return d.Buffer()
}

func releaseAll(ts []*Tensor) {
	for _, t := range ts {
		t.Release()
	}
}

// bnDims returns N, C and S (the product of the spatial sizes) of [N, C, ...].
func bnDims(op string, x *Tensor) (n, c, s int) {
	if x.Rank() < 2 {
		panic(fmt.Sprintf("tensor.%s: input %v needs [N, C, ...]", op, x.shape))
	}
	s = 1
	for _, v := range x.shape[2:] {
		s *= v
	}
	return x.shape[0], x.shape[1], s
}

func wantC(op, what string, t *Tensor, c int) {
	if t != nil && t.Numel() != c {
		panic(fmt.Sprintf("tensor.%s: %s has shape %v, want %d elements", op, what, t.shape, c))
	}
}

// BatchNormOptions configures BatchNorm.
type BatchNormOptions struct {
	Eps, Momentum float32
	Training      bool
	ReLU          bool
}

// BatchNorm is fused batch normalisation of x [N, C, ...] per channel
// (Backend.BatchNormForward): bias (the preceding conv's, may be nil) is
// added to x first, gamma and beta (may be nil) are the affine
// parameters, runMean and runVar (may be nil in training) are updated in
// place in training and normalise otherwise. It returns y and the saved
// per-channel statistics [4, C] (shift, 1/σ, scale, offset) for
// BatchNormBackward.
func BatchNorm(x, bias, gamma, beta, runMean, runVar *Tensor, o BatchNormOptions) (y, stats *Tensor) {
	const op = "BatchNorm"
	wantFloat(op, x)
	n, c, s := bnDims(op, x)
	for _, p := range []struct {
		name string
		t    *Tensor
	}{{"bias", bias}, {"gamma", gamma}, {"beta", beta}, {"running mean", runMean}, {"running var", runVar}} {
		wantC(op, p.name, p.t, c)
	}
	be := x.st.be
	y = emptyUninit(be, Float32, x.shape...)
	stats = emptyUninit(be, Float32, 4, c)
	if x.Numel() == 0 {
		return y, stats
	}
	var tmps []*Tensor
	defer func() { releaseAll(tmps) }()
	xb := bufOf(x, &tmps)
	var rm, rv Buffer
	if runMean != nil {
		if !runMean.IsContiguous() || runMean.offset != 0 || !runVar.IsContiguous() || runVar.offset != 0 {
			panic("tensor.BatchNorm: running statistics must be contiguous at offset 0 (they are updated in place)")
		}
		rm, rv = runMean.Buffer(), runVar.Buffer()
	}
	be.BatchNormForward(BatchNormParams{N: n, C: c, S: s, Eps: o.Eps, Momentum: o.Momentum, Training: o.Training, ReLU: o.ReLU},
		y.st.buf, stats.st.buf, xb, bufOf(bias, &tmps), bufOf(gamma, &tmps), bufOf(beta, &tmps), rm, rv)
	return y, stats
}

// BatchNormGrads selects and receives the gradients of BatchNormBackward.
type BatchNormGrads struct {
	X, Gamma, Beta, Bias bool    // which to compute
	DX                   *Tensor // [N, C, ...]
	DGamma, DBeta, DBias *Tensor // [C]
}

// BatchNormBackward computes the gradients of BatchNorm from dy, its input
// x and the statistics it saved.
func BatchNormBackward(dy, x, stats *Tensor, o BatchNormOptions, want BatchNormGrads) BatchNormGrads {
	const op = "BatchNormBackward"
	n, c, s := bnDims(op, x)
	if !SameShape(dy.shape, x.shape) {
		panic(fmt.Sprintf("tensor.%s: dy %v for x %v", op, dy.shape, x.shape))
	}
	be := x.st.be
	out := BatchNormGrads{X: want.X, Gamma: want.Gamma, Beta: want.Beta, Bias: want.Bias}
	var dx, dg, db, dbi Buffer
	if want.X {
		out.DX = emptyUninit(be, Float32, x.shape...)
		dx = out.DX.st.buf
	}
	if want.Gamma {
		out.DGamma = emptyUninit(be, Float32, c)
		dg = out.DGamma.st.buf
	}
	if want.Beta {
		out.DBeta = emptyUninit(be, Float32, c)
		db = out.DBeta.st.buf
	}
	if want.Bias {
		out.DBias = emptyUninit(be, Float32, c)
		dbi = out.DBias.st.buf
	}
	if x.Numel() == 0 {
		for _, t := range []*Tensor{out.DGamma, out.DBeta, out.DBias} {
			if t != nil {
				t.Fill(0)
			}
		}
		return out
	}
	var tmps []*Tensor
	defer func() { releaseAll(tmps) }()
	if stats.Numel() != 4*c {
		panic(fmt.Sprintf("tensor.%s: statistics %v for %d channels", op, stats.shape, c))
	}
	be.BatchNormBackward(BatchNormParams{N: n, C: c, S: s, Eps: o.Eps, Momentum: o.Momentum, Training: o.Training, ReLU: o.ReLU},
		dx, dg, db, dbi, bufOf(dy, &tmps), bufOf(x, &tmps), bufOf(stats, &tmps))
	return out
}

// BiasAct returns act(x + bias) for x [N, C, ...] and bias [C] (nil: no
// bias), act = ReLU when relu, else the identity.
func BiasAct(x, bias *Tensor, relu bool) *Tensor {
	const op = "BiasAct"
	wantFloat(op, x)
	n, c, s := bnDims(op, x)
	wantC(op, "bias", bias, c)
	y := emptyUninit(x.st.be, Float32, x.shape...)
	if y.Numel() == 0 {
		return y
	}
	var tmps []*Tensor
	defer func() { releaseAll(tmps) }()
	x.st.be.BiasAct(y.st.buf, bufOf(x, &tmps), bufOf(bias, &tmps), n, c, s, relu)
	return y
}

// BiasActInPlace overwrites x [N, C, ...] (contiguous at offset 0) with
// act(x + bias) and returns it: for a value nobody else reads (a
// convolution's raw output).
func BiasActInPlace(x, bias *Tensor, relu bool) *Tensor {
	const op = "BiasActInPlace"
	wantFloat(op, x)
	n, c, s := bnDims(op, x)
	wantC(op, "bias", bias, c)
	if !x.IsContiguous() || x.offset != 0 {
		panic(fmt.Sprintf("tensor.%s: input %v must be contiguous at offset 0", op, x.shape))
	}
	if x.Numel() == 0 {
		return x
	}
	var tmps []*Tensor
	defer func() { releaseAll(tmps) }()
	x.st.be.BiasAct(x.st.buf, x.st.buf, bufOf(bias, &tmps), n, c, s, relu)
	return x
}

// BiasActBackward returns dx = dy·(y > 0 when relu) (when wantX) and
// dbias = Σ_{n, spatial} dx [C] (when wantBias).
func BiasActBackward(dy, y *Tensor, relu, wantX, wantBias bool) (dx, dbias *Tensor) {
	const op = "BiasActBackward"
	n, c, s := bnDims(op, dy)
	be := dy.st.be
	var dxb, dbb Buffer
	if wantX {
		dx = emptyUninit(be, Float32, dy.shape...)
		dxb = dx.st.buf
	}
	if wantBias {
		dbias = emptyUninit(be, Float32, c)
		dbb = dbias.st.buf
	}
	if dy.Numel() == 0 {
		if dbias != nil {
			dbias.Fill(0)
		}
		return dx, dbias
	}
	var tmps []*Tensor
	defer func() { releaseAll(tmps) }()
	var yb Buffer
	if relu {
		yb = bufOf(y, &tmps)
	}
	be.BiasActBackward(dxb, dbb, bufOf(dy, &tmps), yb, n, c, s, relu)
	return dx, dbias
}

// AddReLU returns max(a + b, 0) (same shapes, or broadcasting).
func AddReLU(a, b *Tensor) *Tensor { return Binary(OpAddReLU, a, b) }

// AddInPlace adds src (broadcast to dst's shape) into dst, which must be
// contiguous at offset 0 and not read by anyone expecting the old values.
func AddInPlace(dst, src *Tensor) {
	be := sameBackend("AddInPlace", dst, src)
	wantFloat("AddInPlace", dst, src)
	if !dst.IsContiguous() || dst.offset != 0 {
		panic(fmt.Sprintf("tensor.AddInPlace: destination %v must be contiguous at offset 0", dst.shape))
	}
	if dst.Numel() == 0 {
		return
	}
	sb := src.BroadcastTo(dst.shape...)
	sh, ds, ss, _ := collapse3(dst.shape, dst.strides, sb.strides)
	be.Binary(OpAdd, dst.Buffer(), sh, dst.Buffer(), 0, ds, src.Buffer(), src.offset, ss)
}
