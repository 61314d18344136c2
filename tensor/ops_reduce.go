package tensor

import (
	"fmt"
	"slices"
)

func (t *Tensor) outerInner(a int) (outer, n, inner int) {
	outer, inner = 1, 1
	for i := 0; i < a; i++ {
		outer *= t.shape[i]
	}
	for i := a + 1; i < len(t.shape); i++ {
		inner *= t.shape[i]
	}
	return outer, t.shape[a], inner
}

// ReduceAxis reduces one axis. keep keeps it as size 1.
func ReduceAxis(op ReduceOp, t *Tensor, a int, keep bool) *Tensor {
	wantFloat("Reduce", t)
	a = t.axis("Reduce", a)
	c := t.Contiguous()
	if c.offset != 0 {
		c = c.Clone()
	}
	outer, n, inner := c.outerInner(a)
	shape := slices.Clone(t.shape)
	if keep {
		shape[a] = 1
	} else {
		shape = slices.Delete(shape, a, a+1)
	}
	dt := Float32
	if op == ReduceArgMax || op == ReduceArgMin {
		dt = Int32
	}
	if n == 0 && op != ReduceSum {
		panic(fmt.Sprintf("tensor.Reduce: reduction over empty axis %d of %v", a, t.shape))
	}
	if n == 0 {
		return Empty(t.st.be, dt, shape...) // an empty sum is zero
	}
	out := emptyUninit(t.st.be, dt, shape...)
	if out.Numel() > 0 {
		t.st.be.Reduce(op, out.st.buf, c.Buffer(), outer, n, inner)
	}
	if c != t {
		c.Release()
	}
	return out
}

// Sum sums over the given axes (all axes when none are given).
func Sum(t *Tensor, keep bool, axes ...int) *Tensor {
	return reduceMany(ReduceSum, t, keep, axes)
}

// Max takes the maximum over the given axes (all when none are given).
func Max(t *Tensor, keep bool, axes ...int) *Tensor {
	return reduceMany(ReduceMax, t, keep, axes)
}

// Min takes the minimum over the given axes (all when none are given).
func Min(t *Tensor, keep bool, axes ...int) *Tensor {
	return reduceMany(ReduceMin, t, keep, axes)
}

// Mean averages over the given axes (all when none are given).
func Mean(t *Tensor, keep bool, axes ...int) *Tensor {
	s := Sum(t, keep, axes...)
	n := t.Numel() / max(s.Numel(), 1)
	if n == 0 {
		return s
	}
	m := Scale(s, 1/float32(n))
	s.Release()
	return m
}

// ArgMax returns the int32 index of the first maximum along axis a.
func ArgMax(t *Tensor, a int) *Tensor { return ReduceAxis(ReduceArgMax, t, a, false) }

// ArgMin returns the int32 index of the first minimum along axis a.
func ArgMin(t *Tensor, a int) *Tensor { return ReduceAxis(ReduceArgMin, t, a, false) }

func reduceMany(op ReduceOp, t *Tensor, keep bool, axes []int) *Tensor {
	if len(axes) == 0 {
		axes = make([]int, len(t.shape))
		for i := range axes {
			axes[i] = i
		}
	}
	norm := make([]int, len(axes))
	for i, a := range axes {
		norm[i] = t.axis("Reduce", a)
	}
	slices.Sort(norm)
	norm = slices.Compact(norm)
	cur := t
	// reduce from the last axis so earlier indices stay valid; merge runs of
	// adjacent axes into one reduction when the tensor is contiguous.
	for i := len(norm) - 1; i >= 0; i-- {
		a := norm[i]
		j := i
		for j > 0 && norm[j-1] == norm[j]-1 {
			j--
		}
		lo := norm[j]
		var next *Tensor
		if lo < a && cur.IsContiguous() {
			// merge axes lo..a into one
			sh := slices.Clone(cur.shape[:lo])
			m := 1
			for k := lo; k <= a; k++ {
				m *= cur.shape[k]
			}
			sh = append(sh, m)
			sh = append(sh, cur.shape[a+1:]...)
			r := cur.Reshape(sh...)
			next = ReduceAxis(op, r, lo, keep)
			if keep {
				full := slices.Clone(cur.shape)
				for k := lo; k <= a; k++ {
					full[k] = 1
				}
				next = next.moveReshape(full...)
			}
			i = j
		} else {
			next = ReduceAxis(op, cur, a, keep)
		}
		if cur != t {
			cur.Release()
		}
		cur = next
	}
	if cur == t {
		return t.Clone()
	}
	return cur
}

// SumTo reduces a broadcast result back to shape (the adjoint of
// BroadcastTo), as needed for gradients of broadcasting ops.
func SumTo(t *Tensor, shape ...int) *Tensor {
	if SameShape(t.shape, shape) {
		return t.Clone()
	}
	lead := len(t.shape) - len(shape)
	if lead < 0 {
		panic(fmt.Sprintf("tensor.SumTo: cannot reduce %v to %v", t.shape, shape))
	}
	var axes []int
	for i := range t.shape {
		if i < lead {
			axes = append(axes, i)
			continue
		}
		if shape[i-lead] == 1 && t.shape[i] != 1 {
			axes = append(axes, i)
		} else if shape[i-lead] != t.shape[i] {
			panic(fmt.Sprintf("tensor.SumTo: cannot reduce %v to %v", t.shape, shape))
		}
	}
	if len(axes) == 0 {
		return t.Clone().moveReshape(shape...)
	}
	return Sum(t, true, axes...).moveReshape(shape...)
}
