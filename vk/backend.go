//go:build cgo

package vk

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/dash-go/dash/tensor"
)

// Backend implements tensor.Backend with Vulkan compute shaders. Kernels are
// recorded and submitted in batches; ReadFloat32/ReadInt32, Sync and Close
// are the only points where the host waits.
type Backend struct {
	c   *Context
	tw  map[int]*allocation // FFT twiddle tables by length (guarded by c.mu)
	fft map[int]*fftPlan    // FFT plans by complex length (guarded by c.mu)
	// directConv selects the direct convolution shaders instead of the
	// implicit-GEMM and depthwise kernels (tests compare both).
	directConv bool
}

var _ tensor.Backend = (*Backend)(nil)

// Buffer is a device buffer of 4-byte elements.
type Buffer struct {
	a  *allocation
	n  int
	be *Backend
}

// Len is the number of 4-byte elements.
func (b *Buffer) Len() int { return b.n }

// New opens device o.Device and returns a backend on it.
func New(o Options) (*Backend, error) {
	c, err := Open(o)
	if err != nil {
		return nil, err
	}
	return &Backend{c: c}, nil
}

// Context exposes the runtime (stats, profile, device info).
func (be *Backend) Context() *Context { return be.c }

// Name identifies the backend and device.
func (be *Backend) Name() string { return "vulkan " + be.c.Describe() }

// Close waits for pending work and releases every device resource.
func (be *Backend) Close() error { return be.c.Close() }

// Sync waits for all enqueued work and reports any device error.
func (be *Backend) Sync() error { return be.c.Sync() }

func (be *Backend) buf(op string, b tensor.Buffer) *Buffer {
	vb, ok := b.(*Buffer)
	if !ok || vb == nil {
		panic(fmt.Sprintf("vk.%s: buffer of type %T does not belong to the Vulkan backend", op, b))
	}
	if vb.be != be {
		panic(fmt.Sprintf("vk.%s: buffer belongs to another Vulkan backend", op))
	}
	if vb.a == nil {
		panic(fmt.Sprintf("vk.%s: use of a freed buffer", op))
	}
	return vb
}

// need panics unless elements [off, off+n) lie inside b.
func need(op string, b *Buffer, off, n int) {
	if off < 0 || n < 0 || off+n > b.n {
		panic(fmt.Sprintf("vk.%s: range [%d, %d) outside a buffer of %d elements", op, off, off+n, b.n))
	}
}

// Alloc returns a zero-filled buffer of n elements.
func (be *Backend) Alloc(n int) tensor.Buffer {
	if n < 0 {
		panic(fmt.Sprintf("vk.Alloc: negative size %d", n))
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	return &Buffer{a: be.c.alloc(uint64(n) * 4), n: n, be: be}
}

// AllocUninit returns a buffer of n elements without zero-filling it
// (tensor.UninitAllocator): for outputs that a kernel overwrites entirely.
func (be *Backend) AllocUninit(n int) tensor.Buffer {
	if n < 0 {
		panic(fmt.Sprintf("vk.AllocUninit: negative size %d", n))
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	return &Buffer{a: be.c.scratch(uint64(n) * 4), n: n, be: be}
}

var _ tensor.UninitAllocator = (*Backend)(nil)

// Free returns a buffer to the backend; its memory is reused once the
// device has finished with it.
func (be *Backend) Free(b tensor.Buffer) {
	vb := be.buf("Free", b)
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	if !be.c.closed {
		be.c.rec.free(vb.a)
	}
	vb.a = nil
}

// WriteFloat32 copies src into dst starting at element off.
func (be *Backend) WriteFloat32(dst tensor.Buffer, off int, src []float32) {
	d := be.buf("WriteFloat32", dst)
	need("WriteFloat32", d, off, len(src))
	if len(src) == 0 {
		return
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.c.upload(d.a, uint64(off)*4, unsafe.Pointer(&src[0]), uint64(len(src))*4)
}

// ReadFloat32 waits for the work writing src and copies len(dst) elements
// starting at off.
func (be *Backend) ReadFloat32(src tensor.Buffer, off int, dst []float32) {
	s := be.buf("ReadFloat32", src)
	need("ReadFloat32", s, off, len(dst))
	if len(dst) == 0 {
		return
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.c.download(s.a, uint64(off)*4, unsafe.Pointer(&dst[0]), uint64(len(dst))*4)
}

// WriteInt32 copies src into dst starting at element off.
func (be *Backend) WriteInt32(dst tensor.Buffer, off int, src []int32) {
	if len(src) == 0 {
		be.WriteFloat32(dst, off, nil)
		return
	}
	be.WriteFloat32(dst, off, unsafe.Slice((*float32)(unsafe.Pointer(&src[0])), len(src)))
}

// ReadInt32 copies len(dst) int32 elements starting at off.
func (be *Backend) ReadInt32(src tensor.Buffer, off int, dst []int32) {
	if len(dst) == 0 {
		be.ReadFloat32(src, off, nil)
		return
	}
	be.ReadFloat32(src, off, unsafe.Slice((*float32)(unsafe.Pointer(&dst[0])), len(dst)))
}

// ---- helpers ----

// pushBuf builds push constants from ints, int32s, uint32s, float32s and
// slices of ints (padded to the given width with padTo).
type pushBuf []uint32

func (p pushBuf) i(v ...int) pushBuf {
	for _, x := range v {
		if x > math.MaxInt32 || x < math.MinInt32 {
			panic(fmt.Sprintf("vk: value %d does not fit a 32-bit shader index", x))
		}
		p = append(p, uint32(int32(x)))
	}
	return p
}

func (p pushBuf) f(v ...float32) pushBuf {
	for _, x := range v {
		p = append(p, math.Float32bits(x))
	}
	return p
}

func (p pushBuf) u(v ...uint32) pushBuf { return append(p, v...) }

// arr appends v padded with zeros to width w.
func (p pushBuf) arr(v []int, w int) pushBuf {
	p = p.i(v...)
	for i := len(v); i < w; i++ {
		p = append(p, 0)
	}
	return p
}

func rd(b *Buffer) arg { return arg{a: b.a} }
func wr(b *Buffer) arg { return arg{a: b.a, write: true} }

// groups1D returns the grid for n threads in workgroups of wg.
func (be *Backend) groups1D(n, wg int) [3]uint32 {
	return be.c.grid(uint64((n + wg - 1) / wg))
}

// collapse drops unit axes and merges axes that are contiguous in every
// stride set, so that strided kernels loop over as few axes as possible.
func collapse(shape []int, strides ...[]int) ([]int, [][]int) {
	var sh []int
	st := make([][]int, len(strides))
	for ax, n := range shape {
		if n == 1 {
			continue
		}
		if k := len(sh) - 1; k >= 0 {
			merge := true
			for j := range strides {
				if st[j][k] != strides[j][ax]*n {
					merge = false
					break
				}
			}
			if merge {
				sh[k] *= n
				for j := range strides {
					st[j][k] = strides[j][ax]
				}
				continue
			}
		}
		sh = append(sh, n)
		for j := range strides {
			st[j] = append(st[j], strides[j][ax])
		}
	}
	return sh, st
}

func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		if s < 0 {
			panic(fmt.Sprintf("vk: negative dimension in shape %v", shape))
		}
		n *= s
	}
	return n
}

// span returns the lowest and highest element touched by a strided view.
func viewSpan(off int, shape, strides []int) (lo, hi int) {
	lo, hi = off, off
	for i, n := range shape {
		if n == 0 {
			return off, off - 1
		}
		d := (n - 1) * strides[i]
		if d < 0 {
			lo += d
		} else {
			hi += d
		}
	}
	return lo, hi
}

func checkView(op string, b *Buffer, off int, shape, strides []int) {
	if len(strides) != len(shape) {
		panic(fmt.Sprintf("vk.%s: shape %v with strides %v", op, shape, strides))
	}
	lo, hi := viewSpan(off, shape, strides)
	if hi < lo {
		return
	}
	if lo < 0 || hi >= b.n {
		panic(fmt.Sprintf("vk.%s: view (off %d, shape %v, strides %v) outside a buffer of %d elements", op, off, shape, strides, b.n))
	}
}

// ---- kernels: transfers and elementwise ----

// Copy copies a strided view into another (4-byte elements).
func (be *Backend) Copy(dst tensor.Buffer, dstOff int, dstStrides []int, src tensor.Buffer, srcOff int, srcStrides []int, shape []int) {
	d, s := be.buf("Copy", dst), be.buf("Copy", src)
	checkView("Copy", d, dstOff, shape, dstStrides)
	checkView("Copy", s, srcOff, shape, srcStrides)
	n := numel(shape)
	if n == 0 {
		return
	}
	sh, st := collapse(shape, dstStrides, srcStrides)
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	if len(sh) <= 1 {
		ds, ss := 1, 1
		if len(sh) == 1 {
			ds, ss = st[0][0], st[1][0]
		}
		if ds == 1 && ss == 1 {
			be.c.copyBytes(d.a, uint64(dstOff)*4, s.a, uint64(srcOff)*4, uint64(n)*4)
			return
		}
	}
	if len(sh) > tensor.MaxRank {
		panic(fmt.Sprintf("vk.Copy: rank %d after collapsing exceeds %d", len(sh), tensor.MaxRank))
	}
	push := pushBuf{}.i(n, len(sh), dstOff, srcOff).arr(sh, 8).arr(st[0], 8).arr(st[1], 8)
	be.c.dispatch("copy", nil, be.groups1D(n, 256), push, wr(d), rd(s))
}

// Fill sets n float32 elements starting at off to v.
func (be *Backend) Fill(dst tensor.Buffer, off, n int, v float32) {
	be.fillWord("Fill", dst, off, n, math.Float32bits(v))
}

// FillInt32 sets n int32 elements starting at off to v.
func (be *Backend) FillInt32(dst tensor.Buffer, off, n int, v int32) {
	be.fillWord("FillInt32", dst, off, n, uint32(v))
}

func (be *Backend) fillWord(op string, dst tensor.Buffer, off, n int, w uint32) {
	d := be.buf(op, dst)
	need(op, d, off, n)
	if n == 0 {
		return
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.c.check()
	be.c.fillBytes(d.a, uint64(off)*4, uint64(n)*4, w)
}

// Unary applies op to n contiguous elements.
func (be *Backend) Unary(op tensor.UnaryOp, dst, src tensor.Buffer, n int, a, b float32) {
	d, s := be.buf("Unary", dst), be.buf("Unary", src)
	need("Unary", d, 0, n)
	need("Unary", s, 0, n)
	if n == 0 {
		return
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	be.c.chunks(n, 1, func(lo, cnt int) {
		push := pushBuf{}.i(cnt, int(op), 0, 0).f(a, b)
		be.c.dispatch("unary", []uint32{uint32(op)}, be.groups1D(cnt, 256), push, sub(d, true, lo, cnt), sub(s, false, lo, cnt))
	})
}

// Binary computes op over a broadcast shape into contiguous dst.
func (be *Backend) Binary(op tensor.BinaryOp, dst tensor.Buffer, shape []int, a tensor.Buffer, aOff int, aStrides []int, b tensor.Buffer, bOff int, bStrides []int) {
	d, x, y := be.buf("Binary", dst), be.buf("Binary", a), be.buf("Binary", b)
	n := numel(shape)
	need("Binary", d, 0, n)
	checkView("Binary", x, aOff, shape, aStrides)
	checkView("Binary", y, bOff, shape, bStrides)
	if n == 0 {
		return
	}
	// dst is contiguous: collapse with its row-major strides too.
	ds := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		ds[i] = acc
		acc *= shape[i]
	}
	sh, st := collapse(shape, ds, aStrides, bStrides)
	if len(sh) > tensor.MaxRank {
		panic(fmt.Sprintf("vk.Binary: rank %d after collapsing exceeds %d", len(sh), tensor.MaxRank))
	}
	be.c.mu.Lock()
	defer be.c.mu.Unlock()
	layout := 0
	if len(sh) == 1 {
		switch {
		case st[1][0] == 1 && st[2][0] == 1:
			layout = 1
		case st[1][0] == 1 && st[2][0] == 0:
			layout = 2
		case st[1][0] == 0 && st[2][0] == 1:
			layout = 3
		}
	}
	if layout != 0 && (n*4 > int(be.c.mem.maxRange) || x.a.size > be.c.mem.maxRange || y.a.size > be.c.mem.maxRange) {
		// Contiguous operands larger than one binding: split into chunks
		// (a broadcast scalar is bound alone).
		be.c.chunks(n, 1, func(lo, cnt int) {
			xa, ya := sub(x, false, aOff+lo, cnt), sub(y, false, bOff+lo, cnt)
			if layout == 2 {
				ya = sub(y, false, bOff, 1)
			}
			if layout == 3 {
				xa = sub(x, false, aOff, 1)
			}
			// sub-range offsets must be aligned: fall back to element
			// offsets inside an aligned window when they are not.
			xa, ao := alignArg(be.c, xa)
			ya, bo := alignArg(be.c, ya)
			push := pushBuf{}.i(cnt, 1, ao, bo, int(op), 0).arr([]int{cnt}, 8).arr(nil, 8).arr(nil, 8)
			be.c.dispatch("binary", []uint32{uint32(op), uint32(layout)}, be.groups1D(cnt, 256), push, sub(d, true, lo, cnt), xa, ya)
		})
		return
	}
	push := pushBuf{}.i(n, len(sh), aOff, bOff, int(op), 0).arr(sh, 8).arr(st[1], 8).arr(st[2], 8)
	be.c.dispatch("binary", []uint32{uint32(op), uint32(layout)}, be.groups1D(n, 256), push, wr(d), rd(x), rd(y))
}

// notYet panics for kernels the Vulkan backend does not implement yet.
func notYet(op string) {
	panic("vk: " + op + " not implemented on Vulkan yet")
}

// alignArg moves the start of a sub-range binding down to the offset
// alignment and returns the element offset of the requested start inside it.
func alignArg(c *Context, g arg) (arg, int) {
	al := c.mem.align
	start := g.off &^ (al - 1)
	extra := g.off - start
	g.off = start
	g.size += extra
	return g, int(extra / 4)
}
