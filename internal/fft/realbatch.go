package fft

import "unsafe"

// laneRows is the number of rows transformed together in lane-interleaved
// layout by the batched transforms.
const laneRows = 16

// maxLaneLen is the longest transform (in complex values) that is batched
// in lane layout; longer rows are transformed one at a time to bound the
// scratch memory (laneRows*n complex values per buffer).
const maxLaneLen = 1 << 14

// asU64 views an 8-byte aligned float32 slice of even length as uint64s
// (one complex value each); ok is false when the slice is not aligned.
func asU64(s []float32) (u []uint64, ok bool) {
	if len(s) == 0 || uintptr(unsafe.Pointer(&s[0]))%8 != 0 {
		return nil, false
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&s[0])), len(s)/2), true
}

// rowsToLanes copies cnt complex values from each of V rows (row r starts
// at float offset r*stride of rows) into lanes[k][r].
func rowsToLanes(lanes, rows []float32, stride, V, cnt int) {
	lu, ok1 := asU64(lanes[:2*cnt*V])
	ru, ok2 := asU64(rows)
	if ok1 && ok2 && stride%2 == 0 {
		for r := 0; r < V; r++ {
			row := ru[r*stride/2:][:cnt]
			for k, v := range row {
				lu[k*V+r] = v
			}
		}
		return
	}
	for r := 0; r < V; r++ {
		row := rows[r*stride:][:2*cnt]
		for k := 0; k < cnt; k++ {
			d := 2 * (k*V + r)
			lanes[d], lanes[d+1] = row[2*k], row[2*k+1]
		}
	}
}

// lanesToRows is the inverse of rowsToLanes.
func lanesToRows(rows, lanes []float32, stride, V, cnt int) {
	lu, ok1 := asU64(lanes[:2*cnt*V])
	ru, ok2 := asU64(rows)
	if ok1 && ok2 && stride%2 == 0 {
		for r := 0; r < V; r++ {
			row := ru[r*stride/2:][:cnt]
			for k := range row {
				row[k] = lu[k*V+r]
			}
		}
		return
	}
	for r := 0; r < V; r++ {
		row := rows[r*stride:][:2*cnt]
		for k := 0; k < cnt; k++ {
			s := 2 * (k*V + r)
			row[2*k], row[2*k+1] = lanes[s], lanes[s+1]
		}
	}
}

// forwardMany computes count real transforms: src is [count][n], dst is
// [count][n/2+1][2]. Even n processes laneRows rows at a time in a
// [n/2][rows] lane layout so that every pass runs long inner loops.
func (rp *realPlan) forwardMany(dst, src []float32, count int, w *work) {
	n := rp.n
	nc := n/2 + 1
	if rp.full != nil || n < 4 || n/2 > maxLaneLen {
		for b := 0; b < count; b++ {
			rp.forward(dst[2*nc*b:2*nc*(b+1)], src[n*b:n*(b+1)], w)
		}
		return
	}
	h := n / 2
	tw := rp.tw
	for b0 := 0; b0 < count; b0 += laneRows {
		V := min(laneRows, count-b0)
		A := w.get(5, 2*h*V)
		Z := w.get(6, 2*(h+1)*V)
		rowsToLanes(A, src[n*b0:], n, V, h)
		rp.half.exec(Z[:2*h*V], A, V, 0, V, false, w)
		V2 := 2 * V
		z0 := Z[:V2]
		zh := Z[h*V2 : (h+1)*V2]
		for r := 0; r < V2; r += 2 {
			zr, zi := z0[r], z0[r+1]
			z0[r], z0[r+1] = zr+zi, 0
			zh[r], zh[r+1] = zr-zi, 0
		}
		for k := 1; 2*k <= h; k++ {
			j := h - k
			wr, wi := tw[2*k], tw[2*k+1]
			zk := Z[k*V2 : (k+1)*V2]
			zj := Z[j*V2 : (j+1)*V2]
			c0 := 0
			if useSIMD && V2 >= 8 {
				c0 = vrealFwd(zk, zj, wr, wi)
			}
			for c := c0; c < V2-1; c += 2 {
				ar, ai := zk[c], zk[c+1]
				br, bi := zj[c], -zj[c+1]
				er, ei := 0.5*(ar+br), 0.5*(ai+bi)
				or, oi := 0.5*(ai-bi), -0.5*(ar-br)
				tr, ti := wr*or-wi*oi, wr*oi+wi*or
				zk[c], zk[c+1] = er+tr, ei+ti
				zj[c], zj[c+1] = er-tr, ti-ei
			}
		}
		lanesToRows(dst[2*nc*b0:], Z, 2*nc, V, nc)
	}
}

// inverseMany computes count inverse real transforms scaled by f: src is
// [count][n/2+1][2], dst is [count][n]. src is not modified.
func (rp *realPlan) inverseMany(dst, src []float32, count int, f float32, w *work) {
	n := rp.n
	nc := n/2 + 1
	if rp.full != nil || n < 4 || n/2 > maxLaneLen {
		for b := 0; b < count; b++ {
			rp.inverse(dst[n*b:n*(b+1)], src[2*nc*b:2*nc*(b+1)], f, w)
		}
		return
	}
	h := n / 2
	tw := rp.tw
	for b0 := 0; b0 < count; b0 += laneRows {
		V := min(laneRows, count-b0)
		A := w.get(5, 2*(h+1)*V)
		Z := w.get(6, 2*h*V)
		rowsToLanes(A, src[2*nc*b0:], 2*nc, V, nc)
		V2 := 2 * V
		a0 := A[:V2]
		ah := A[h*V2 : (h+1)*V2]
		for r := 0; r < V2; r += 2 {
			x0, xh := a0[r], ah[r]
			a0[r], a0[r+1] = f*(x0+xh), f*(x0-xh)
		}
		for k := 1; 2*k <= h; k++ {
			j := h - k
			wr, wi := tw[2*k], -tw[2*k+1]
			ak := A[k*V2 : (k+1)*V2]
			aj := A[j*V2 : (j+1)*V2]
			c0 := 0
			if useSIMD && V2 >= 8 {
				c0 = vrealInv(ak, aj, f, wr, wi)
			}
			for c := c0; c < V2-1; c += 2 {
				ar, ai := ak[c], ak[c+1]
				br, bi := aj[c], -aj[c+1]
				er, ei := f*(ar+br), f*(ai+bi)
				dr, di := f*(ar-br), f*(ai-bi)
				or, oi := dr*wr-di*wi, dr*wi+di*wr
				ak[c], ak[c+1] = er-oi, ei+or
				aj[c], aj[c+1] = er+oi, or-ei
			}
		}
		rp.half.exec(Z, A[:2*h*V], V, 0, V, true, w)
		lanesToRows(dst[n*b0:], Z, n, V, h)
	}
}
