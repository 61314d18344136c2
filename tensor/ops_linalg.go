package tensor

import "fmt"

// matView returns (buffer offset, batch stride, transposed?) for the last two
// axes of t if they can be used in place, or ok=false.
func matView(t *Tensor) (trans bool, ok bool) {
	r := len(t.shape)
	rows, cols := t.shape[r-2], t.shape[r-1]
	rs, cs := t.strides[r-2], t.strides[r-1]
	if (cs == 1 || cols == 1) && (rs == cols || rows == 1) {
		return false, true
	}
	if (rs == 1 || rows == 1) && (cs == rows || cols == 1) {
		return true, true
	}
	return false, false
}

// MatMul multiplies the last two axes: a [..., M, K] · b [..., K, N] →
// [..., M, N]. Leading axes broadcast; transposed views are used in place.
func MatMul(a, b *Tensor) *Tensor {
	be := sameBackend("MatMul", a, b)
	wantFloat("MatMul", a, b)
	if a.Rank() < 2 || b.Rank() < 2 {
		panic(fmt.Sprintf("tensor.MatMul: need rank ≥ 2, got %v and %v", a.shape, b.shape))
	}
	M, K := a.shape[a.Rank()-2], a.shape[a.Rank()-1]
	K2, N := b.shape[b.Rank()-2], b.shape[b.Rank()-1]
	if K != K2 {
		panic(fmt.Sprintf("tensor.MatMul: inner dimensions differ: %v · %v", a.shape, b.shape))
	}
	batch := BroadcastShapes("MatMul", a.shape[:a.Rank()-2], b.shape[:b.Rank()-2])
	nb := Numel(batch)
	if K == 0 {
		return Empty(be, Float32, append(append([]int{}, batch...), M, N)...)
	}
	out := emptyUninit(be, Float32, append(append([]int{}, batch...), M, N)...)
	if out.Numel() == 0 {
		return out
	}
	prep := func(t *Tensor, rows, cols int) (*Tensor, bool, int) {
		// flatten the batch: allowed when the batch axes are either fully
		// broadcast (stride 0, same matrix) or contiguous with matrix stride.
		bt := t.BroadcastTo(append(append([]int{}, batch...), rows, cols)...)
		trans, ok := matView(bt)
		if ok {
			nbat := len(batch)
			if nbat == 0 {
				return bt, trans, 0
			}
			allZero := true
			for i := 0; i < nbat; i++ {
				if bt.strides[i] != 0 && bt.shape[i] != 1 {
					allZero = false
				}
			}
			if allZero {
				return bt, trans, 0
			}
			// contiguous batch of matrices
			s := rows * cols
			okb := true
			for i := nbat - 1; i >= 0; i-- {
				if bt.shape[i] != 1 && bt.strides[i] != s {
					okb = false
					break
				}
				s *= bt.shape[i]
			}
			if okb {
				return bt, trans, rows * cols
			}
		}
		c := bt.Clone()
		return c, false, rows * cols
	}
	av, ta, sa := prep(a, M, K)
	bv, tb, sb := prep(b, K, N)
	be.MatMul(out.st.buf, av.Buffer(), bv.Buffer(), MatMulParams{
		Batch: nb, M: M, K: K, N: N, TransA: ta, TransB: tb,
		AOff: av.offset, BOff: bv.offset, StrideA: sa, StrideB: sb, StrideC: M * N,
		Alpha: 1, Beta: 0,
	})
	if av.owner && av != a {
		av.Release()
	}
	if bv.owner && bv != b {
		bv.Release()
	}
	return out
}
