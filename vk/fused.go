//go:build cgo

package vk

import (
	"fmt"

	"github.com/dash-go/dash/tensor"
)

// Fused training kernels (tensor.Kernels): batch normalisation forward and
// backward with the optional input bias and ReLU (shaders/bn_fwd.comp,
// bn_bwd.comp), and bias + activation (bias_act.comp, bias_act_bwd.comp).
// Each is one dispatch; the batch-norm kernels run one workgroup per
// channel, which reduces and then normalises its channel.

// optBuf returns the Vulkan buffer of b, or nil for a nil buffer.
func (be *Backend) optBuf(op string, b tensor.Buffer, n int) *Buffer {
	if b == nil {
		return nil
	}
	vb := be.buf(op, b)
	need(op, vb, 0, n)
	return vb
}

// fusedArgs binds optional buffers: a nil buffer binds a stand-in (the
// shader ignores it, told by its flags): fallback for read-only bindings,
// a scratch allocation for writable ones (freed after the dispatch).
type fusedArgs struct {
	be      *Backend
	scratch *allocation
}

func (f *fusedArgs) read(b, fallback *Buffer) arg {
	if b == nil {
		return rd(fallback)
	}
	return rd(b)
}

func (f *fusedArgs) write(b *Buffer) arg {
	if b != nil {
		return wr(b)
	}
	if f.scratch == nil {
		f.scratch = f.be.c.scratch(256)
	}
	return arg{a: f.scratch, write: true}
}

func (f *fusedArgs) done() {
	if f.scratch != nil {
		f.be.c.rec.free(f.scratch)
	}
}

func checkBNParams(op string, p tensor.BatchNormParams) {
	if p.N <= 0 || p.C <= 0 || p.S <= 0 {
		panic(fmt.Sprintf("vk.%s: N=%d C=%d S=%d, want > 0", op, p.N, p.C, p.S))
	}
}

func bit(b bool, v int) int {
	if b {
		return v
	}
	return 0
}

// BatchNormForward is the fused batch normalisation (tensor.Kernels).
func (be *Backend) BatchNormForward(p tensor.BatchNormParams, y, stats, x, bias, gamma, beta, runMean, runVar tensor.Buffer) {
	const op = "BatchNormForward"
	checkBNParams(op, p)
	n := p.N * p.C * p.S
	yb, xb := be.buf(op, y), be.buf(op, x)
	need(op, yb, 0, n)
	need(op, xb, 0, n)
	sb := be.buf(op, stats)
	need(op, sb, 0, 4*p.C)
	bb, gb, tb := be.optBuf(op, bias, p.C), be.optBuf(op, gamma, p.C), be.optBuf(op, beta, p.C)
	rm, rv := be.optBuf(op, runMean, p.C), be.optBuf(op, runVar, p.C)
	if (rm == nil) != (rv == nil) || (!p.Training && rm == nil) {
		panic("vk.BatchNormForward: running mean and variance go together (and evaluation needs them)")
	}
	if yb == xb {
		panic("vk.BatchNormForward: y must not alias x on Vulkan")
	}
	flags := bit(p.Training, 1) | bit(p.ReLU, 2) | bit(bb != nil, 4) | bit(gb != nil, 8) | bit(tb != nil, 16) | bit(rm != nil, 32)
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	fa := &fusedArgs{be: be}
	defer fa.done()
	push := pushBuf{}.i(p.N, p.C, p.S, flags).f(p.Eps, p.Momentum)
	be.c.dispatch("bn_fwd", nil, be.c.grid(uint64(p.C)), push,
		wr(yb), wr(sb), rd(xb), fa.read(bb, xb), fa.read(gb, xb), fa.read(tb, xb), fa.write(rm), fa.write(rv))
}

// BatchNormBackward is the gradient of BatchNormForward (tensor.Kernels).
func (be *Backend) BatchNormBackward(p tensor.BatchNormParams, dx, dgamma, dbeta, dbias, dy, x, stats tensor.Buffer) {
	const op = "BatchNormBackward"
	checkBNParams(op, p)
	n := p.N * p.C * p.S
	dyb, xb := be.buf(op, dy), be.buf(op, x)
	need(op, dyb, 0, n)
	need(op, xb, 0, n)
	sb := be.buf(op, stats)
	need(op, sb, 0, 4*p.C)
	dxb := be.optBuf(op, dx, n)
	dg, db, dbi := be.optBuf(op, dgamma, p.C), be.optBuf(op, dbeta, p.C), be.optBuf(op, dbias, p.C)
	flags := bit(p.Training, 1) | bit(p.ReLU, 2) | bit(dxb != nil, 8) | bit(dg != nil, 16) | bit(db != nil, 32) | bit(dbi != nil, 64)
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	fa := &fusedArgs{be: be}
	defer fa.done()
	push := pushBuf{}.i(p.N, p.C, p.S, flags)
	be.c.dispatch("bn_bwd", nil, be.c.grid(uint64(p.C)), push,
		fa.write(dxb), fa.write(dg), fa.write(db), fa.write(dbi), rd(dyb), rd(xb), rd(sb))
}

// BiasAct writes y = act(x + bias[c]) over [n][c][s] (tensor.Kernels).
func (be *Backend) BiasAct(y, x, bias tensor.Buffer, n, c, s int, relu bool) {
	const op = "BiasAct"
	total := n * c * s
	yb, xb := be.buf(op, y), be.buf(op, x)
	need(op, yb, 0, total)
	need(op, xb, 0, total)
	bb := be.optBuf(op, bias, c)
	if total == 0 {
		return
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	push := pushBuf{}.i(total, c, s, bit(relu, 1), bit(bb != nil, 1), bit(yb == xb, 1))
	xa := rd(xb)
	if yb == xb {
		xa = rd(yb) // unused by the shader (inPlace); any read binding will do
	}
	ba := xa
	if bb != nil {
		ba = rd(bb)
	}
	if yb == xb {
		// bind y once as read-write; the other bindings must not alias a write
		ba2 := ba
		if bb == nil {
			ba2 = arg{a: yb.a}
		}
		be.c.dispatch("bias_act", nil, be.groups1D(total, 256), push, wr(yb), arg{a: yb.a}, ba2)
		return
	}
	be.c.dispatch("bias_act", nil, be.groups1D(total, 256), push, wr(yb), xa, ba)
}

// BiasActBackward writes dx = dy·(y > 0 when relu) and dbias = Σ dx
// (tensor.Kernels).
func (be *Backend) BiasActBackward(dx, dbias, dy, y tensor.Buffer, n, c, s int, relu bool) {
	const op = "BiasActBackward"
	total := n * c * s
	dyb := be.buf(op, dy)
	need(op, dyb, 0, total)
	var yb *Buffer
	if relu {
		yb = be.buf(op, y)
		need(op, yb, 0, total)
	}
	dxb := be.optBuf(op, dx, total)
	dbb := be.optBuf(op, dbias, c)
	if total == 0 {
		return
	}
	if dxb == dyb && dxb != nil {
		panic("vk.BiasActBackward: dx must not alias dy on Vulkan")
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	fa := &fusedArgs{be: be}
	defer fa.done()
	push := pushBuf{}.i(n, c, s, bit(dxb != nil, 1)|bit(dbb != nil, 2)|bit(relu, 4))
	be.c.dispatch("bias_act_bwd", nil, be.c.grid(uint64(c)), push, fa.write(dxb), fa.write(dbb), rd(dyb), fa.read(yb, dyb))
}
