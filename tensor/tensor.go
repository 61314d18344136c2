// Package tensor provides float32 (and int32) tensors with shapes, strides and
// views, the engine's op set, and the Backend interface that devices
// implement. Ops on tensors are programmer-facing: a shape mismatch or a bad
// axis panics with a message naming the op and the shapes. Errors that come
// from users (files, flags, data) are returned by higher packages.
package tensor

import (
	"fmt"
	"slices"
)

// DType is the element type of a tensor.
type DType uint8

// Element types. Complex tensors are Float32 tensors whose last dimension is 2
// (interleaved real, imaginary).
const (
	Float32 DType = iota
	Int32
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Int32:
		return "int32"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// storage is a buffer shared by a tensor and its views.
type storage struct {
	be       Backend
	buf      Buffer
	released bool
}

// Tensor is an n-dimensional view of a backend buffer. Views (Reshape of a
// contiguous tensor, Permute, Slice, Broadcast, ...) share storage with the
// tensor they come from. Tensors created by ops own their storage; Release
// frees it immediately (device memory cannot wait for the garbage collector).
type Tensor struct {
	shape   []int
	strides []int
	offset  int
	dtype   DType
	st      *storage
	owner   bool
}

// Shape returns a copy of the tensor's shape.
func (t *Tensor) Shape() []int { return slices.Clone(t.shape) }

// Strides returns a copy of the tensor's strides (in elements).
func (t *Tensor) Strides() []int { return slices.Clone(t.strides) }

// Offset returns the view's first element offset into its buffer.
func (t *Tensor) Offset() int { return t.offset }

// Dim returns the size of axis i (negative counts from the end).
func (t *Tensor) Dim(i int) int { return t.shape[t.axis("Dim", i)] }

// Rank is the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// DType is the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Backend is the device the tensor lives on.
func (t *Tensor) Backend() Backend { return t.st.be }

// Buffer is the underlying buffer (for backends and kernels).
func (t *Tensor) Buffer() Buffer {
	if t.st.released {
		panic("tensor: use of a released tensor")
	}
	return t.st.buf
}

// Numel is the number of elements.
func (t *Tensor) Numel() int { return Numel(t.shape) }

// Numel is the product of a shape.
func Numel(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// ContiguousStrides returns row-major strides for shape.
func ContiguousStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// IsContiguous reports whether the view is row-major and dense.
func (t *Tensor) IsContiguous() bool {
	s := 1
	for i := len(t.shape) - 1; i >= 0; i-- {
		if t.shape[i] != 1 && t.strides[i] != s {
			return false
		}
		s *= t.shape[i]
	}
	return true
}

func (t *Tensor) String() string {
	return fmt.Sprintf("Tensor(%v %v on %s)", t.shape, t.dtype, t.st.be.Name())
}

func checkShape(op string, shape []int) {
	for _, s := range shape {
		if s < 0 {
			panic(fmt.Sprintf("tensor.%s: negative dimension in shape %v", op, shape))
		}
	}
}

// Empty allocates a zero-filled contiguous tensor of the given shape.
func Empty(be Backend, dt DType, shape ...int) *Tensor {
	checkShape("Empty", shape)
	n := Numel(shape)
	return &Tensor{
		shape:   slices.Clone(shape),
		strides: ContiguousStrides(shape),
		dtype:   dt,
		st:      &storage{be: be, buf: be.Alloc(n)},
		owner:   true,
	}
}

// Zeros allocates a float32 tensor of zeros.
func Zeros(be Backend, shape ...int) *Tensor { return Empty(be, Float32, shape...) }

// Full allocates a float32 tensor filled with v.
func Full(be Backend, v float32, shape ...int) *Tensor {
	t := Empty(be, Float32, shape...)
	if v != 0 {
		be.Fill(t.st.buf, 0, t.Numel(), v)
	}
	return t
}

// Scalar allocates a 0-d float32 tensor holding v.
func Scalar(be Backend, v float32) *Tensor { return Full(be, v) }

// FromFloat32 uploads data into a new float32 tensor of the given shape.
func FromFloat32(be Backend, data []float32, shape ...int) *Tensor {
	checkShape("FromFloat32", shape)
	if Numel(shape) != len(data) {
		panic(fmt.Sprintf("tensor.FromFloat32: %d values for shape %v (%d elements)", len(data), shape, Numel(shape)))
	}
	t := Empty(be, Float32, shape...)
	if len(data) > 0 {
		be.WriteFloat32(t.st.buf, 0, data)
	}
	return t
}

// FromInt32 uploads data into a new int32 tensor of the given shape.
func FromInt32(be Backend, data []int32, shape ...int) *Tensor {
	checkShape("FromInt32", shape)
	if Numel(shape) != len(data) {
		panic(fmt.Sprintf("tensor.FromInt32: %d values for shape %v (%d elements)", len(data), shape, Numel(shape)))
	}
	t := Empty(be, Int32, shape...)
	if len(data) > 0 {
		be.WriteInt32(t.st.buf, 0, data)
	}
	return t
}

// Float32s downloads the tensor's values in row-major order (a sync point).
func (t *Tensor) Float32s() []float32 {
	if t.dtype != Float32 {
		panic(fmt.Sprintf("tensor.Float32s: tensor is %v", t.dtype))
	}
	c := t.Contiguous()
	out := make([]float32, c.Numel())
	if len(out) > 0 {
		c.st.be.ReadFloat32(c.Buffer(), c.offset, out)
	}
	if c != t {
		c.Release()
	}
	return out
}

// Int32s downloads an int32 tensor's values in row-major order.
func (t *Tensor) Int32s() []int32 {
	if t.dtype != Int32 {
		panic(fmt.Sprintf("tensor.Int32s: tensor is %v", t.dtype))
	}
	c := t.Contiguous()
	out := make([]int32, c.Numel())
	if len(out) > 0 {
		c.st.be.ReadInt32(c.Buffer(), c.offset, out)
	}
	if c != t {
		c.Release()
	}
	return out
}

// Item returns the single value of a one-element float32 tensor.
func (t *Tensor) Item() float32 {
	if t.Numel() != 1 {
		panic(fmt.Sprintf("tensor.Item: tensor of shape %v has %d elements", t.shape, t.Numel()))
	}
	return t.Float32s()[0]
}

// Release frees the tensor's storage now if the tensor owns it (views do
// not). Using the tensor, or any view of it, afterwards panics. Releasing
// twice is a no-op.
func (t *Tensor) Release() {
	if t == nil || !t.owner || t.st.released {
		return
	}
	t.st.released = true
	t.st.be.Free(t.st.buf)
	t.st.buf = nil
}

// Released reports whether the tensor's storage has been freed.
func (t *Tensor) Released() bool { return t.st.released }

// view makes a non-owning view sharing t's storage.
func (t *Tensor) view(shape, strides []int, offset int) *Tensor {
	return &Tensor{shape: shape, strides: strides, offset: offset, dtype: t.dtype, st: t.st}
}

func (t *Tensor) axis(op string, a int) int {
	r := len(t.shape)
	if a < 0 {
		a += r
	}
	if a < 0 || a >= r {
		panic(fmt.Sprintf("tensor.%s: axis %d out of range for shape %v", op, a, t.shape))
	}
	return a
}

// Contiguous returns t itself when it is contiguous with offset 0, else a
// new contiguous copy.
func (t *Tensor) Contiguous() *Tensor {
	if t.IsContiguous() {
		return t
	}
	out := emptyUninit(t.st.be, t.dtype, t.shape...)
	if out.Numel() > 0 {
		t.copyInto(out)
	}
	return out
}

// Clone returns a new contiguous copy that owns its storage.
func (t *Tensor) Clone() *Tensor {
	out := emptyUninit(t.st.be, t.dtype, t.shape...)
	if out.Numel() > 0 {
		t.copyInto(out)
	}
	return out
}

func (t *Tensor) copyInto(dst *Tensor) {
	shape, ss, ds := collapse(t.shape, t.strides, dst.strides)
	if len(shape) > MaxRank {
		panic(fmt.Sprintf("tensor.Copy: rank %d view %v exceeds MaxRank %d after collapsing", len(t.shape), t.shape, MaxRank))
	}
	t.st.be.Copy(dst.Buffer(), dst.offset, ds, t.Buffer(), t.offset, ss, shape)
}

// CopyFrom copies src (broadcast to t's shape) into the view t.
func (t *Tensor) CopyFrom(src *Tensor) {
	if src.dtype != t.dtype {
		panic(fmt.Sprintf("tensor.CopyFrom: dtype %v into %v", src.dtype, t.dtype))
	}
	if src.st.be != t.st.be {
		panic("tensor.CopyFrom: tensors on different backends")
	}
	b := src.BroadcastTo(t.shape...)
	if t.Numel() == 0 {
		return
	}
	b.copyInto(t)
}

// collapse merges adjacent axes that are contiguous in both stride sets and
// drops size-1 axes, keeping at least one axis.
func collapse(shape, s1, s2 []int) ([]int, []int, []int) {
	var sh, a, b []int
	for i := range shape {
		if shape[i] == 1 {
			continue
		}
		n := len(sh)
		if n > 0 && a[n-1] == s1[i]*shape[i] && b[n-1] == s2[i]*shape[i] {
			sh[n-1] *= shape[i]
			a[n-1] = s1[i]
			b[n-1] = s2[i]
			continue
		}
		sh = append(sh, shape[i])
		a = append(a, s1[i])
		b = append(b, s2[i])
	}
	if len(sh) == 0 {
		return []int{1}, []int{0}, []int{0}
	}
	return sh, a, b
}

// Reshape returns a view with a new shape (one -1 is inferred). A
// non-contiguous tensor is copied first.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	shape = slices.Clone(shape)
	infer := -1
	n := 1
	for i, s := range shape {
		if s == -1 {
			if infer >= 0 {
				panic(fmt.Sprintf("tensor.Reshape: more than one -1 in %v", shape))
			}
			infer = i
			continue
		}
		if s < 0 {
			panic(fmt.Sprintf("tensor.Reshape: bad shape %v", shape))
		}
		n *= s
	}
	if infer >= 0 {
		if n == 0 || t.Numel()%n != 0 {
			panic(fmt.Sprintf("tensor.Reshape: cannot reshape %v into %v", t.shape, shape))
		}
		shape[infer] = t.Numel() / n
		n *= shape[infer]
	}
	if n != t.Numel() {
		panic(fmt.Sprintf("tensor.Reshape: cannot reshape %v (%d elements) into %v", t.shape, t.Numel(), shape))
	}
	c := t.Contiguous()
	v := c.view(shape, ContiguousStrides(shape), c.offset)
	if c != t {
		v.owner = true // the copy is private to this view
	}
	return v
}

// Permute reorders the axes: result axis i is t's axis perm[i].
func (t *Tensor) Permute(perm ...int) *Tensor {
	if len(perm) != len(t.shape) {
		panic(fmt.Sprintf("tensor.Permute: permutation %v for shape %v", perm, t.shape))
	}
	seen := make([]bool, len(perm))
	sh := make([]int, len(perm))
	st := make([]int, len(perm))
	for i, p := range perm {
		p = t.axis("Permute", p)
		if seen[p] {
			panic(fmt.Sprintf("tensor.Permute: repeated axis in %v", perm))
		}
		seen[p] = true
		sh[i] = t.shape[p]
		st[i] = t.strides[p]
	}
	return t.view(sh, st, t.offset)
}

// Transpose swaps two axes.
func (t *Tensor) Transpose(a, b int) *Tensor {
	a, b = t.axis("Transpose", a), t.axis("Transpose", b)
	perm := make([]int, len(t.shape))
	for i := range perm {
		perm[i] = i
	}
	perm[a], perm[b] = b, a
	return t.Permute(perm...)
}

// Slice returns the view of axis a restricted to [start, end).
func (t *Tensor) Slice(a, start, end int) *Tensor {
	a = t.axis("Slice", a)
	if start < 0 || end > t.shape[a] || start > end {
		panic(fmt.Sprintf("tensor.Slice: [%d,%d) out of range for axis %d of %v", start, end, a, t.shape))
	}
	sh := slices.Clone(t.shape)
	sh[a] = end - start
	return t.view(sh, slices.Clone(t.strides), t.offset+start*t.strides[a])
}

// Index returns the view at position i of axis a, with that axis removed.
func (t *Tensor) Index(a, i int) *Tensor {
	v := t.Slice(a, i, i+1)
	a = t.axis("Index", a)
	return v.view(slices.Delete(v.shape, a, a+1), slices.Delete(v.strides, a, a+1), v.offset)
}

// BroadcastTo returns a view expanded to shape (NumPy rules: size-1 axes and
// missing leading axes broadcast with stride 0).
func (t *Tensor) BroadcastTo(shape ...int) *Tensor {
	if len(shape) < len(t.shape) {
		panic(fmt.Sprintf("tensor.BroadcastTo: cannot broadcast %v to %v", t.shape, shape))
	}
	st := make([]int, len(shape))
	off := len(shape) - len(t.shape)
	for i := range shape {
		if i < off {
			continue
		}
		s := t.shape[i-off]
		switch {
		case s == shape[i]:
			st[i] = t.strides[i-off]
		case s == 1:
			st[i] = 0
		default:
			panic(fmt.Sprintf("tensor.BroadcastTo: cannot broadcast %v to %v", t.shape, shape))
		}
	}
	return t.view(slices.Clone(shape), st, t.offset)
}

// Unsqueeze inserts a size-1 axis at position a.
func (t *Tensor) Unsqueeze(a int) *Tensor {
	if a < 0 {
		a += len(t.shape) + 1
	}
	if a < 0 || a > len(t.shape) {
		panic(fmt.Sprintf("tensor.Unsqueeze: axis %d for shape %v", a, t.shape))
	}
	return t.view(slices.Insert(slices.Clone(t.shape), a, 1), slices.Insert(slices.Clone(t.strides), a, 0), t.offset)
}

// Squeeze removes axis a, which must have size 1.
func (t *Tensor) Squeeze(a int) *Tensor {
	a = t.axis("Squeeze", a)
	if t.shape[a] != 1 {
		panic(fmt.Sprintf("tensor.Squeeze: axis %d of %v is not 1", a, t.shape))
	}
	return t.view(slices.Delete(slices.Clone(t.shape), a, a+1), slices.Delete(slices.Clone(t.strides), a, a+1), t.offset)
}

// BroadcastShapes returns the NumPy broadcast of two shapes, or panics naming op.
func BroadcastShapes(op string, a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		x, y := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			x = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			y = b[j]
		}
		switch {
		case x == y, y == 1:
			out[i] = x
		case x == 1:
			out[i] = y
		default:
			panic(fmt.Sprintf("tensor.%s: shapes %v and %v do not broadcast", op, a, b))
		}
	}
	return out
}

// SameShape reports whether two shapes are equal.
func SameShape(a, b []int) bool { return slices.Equal(a, b) }

// moveReshape reshapes a contiguous tensor and moves ownership of the storage
// to the result (t must not be used afterwards).
func (t *Tensor) moveReshape(shape ...int) *Tensor {
	v := t.Reshape(shape...)
	if v.st == t.st && t.owner {
		t.owner = false
		v.owner = true
	}
	return v
}

// ReshapeOwned is Reshape for a tensor the caller owns and gives up: the
// result owns the storage, so releasing it frees the memory.
func (t *Tensor) ReshapeOwned(shape ...int) *Tensor { return t.moveReshape(shape...) }

// emptyUninit allocates a contiguous tensor whose contents are unspecified;
// only for outputs that a kernel overwrites completely.
func emptyUninit(be Backend, dt DType, shape ...int) *Tensor {
	ua, ok := be.(UninitAllocator)
	if !ok {
		return Empty(be, dt, shape...)
	}
	checkShape("Empty", shape)
	return &Tensor{
		shape:   slices.Clone(shape),
		strides: ContiguousStrides(shape),
		dtype:   dt,
		st:      &storage{be: be, buf: ua.AllocUninit(Numel(shape))},
		owner:   true,
	}
}
