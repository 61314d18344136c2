package fft

// laneRows is the number of rows transformed together in lane-interleaved
// layout by the batched real transforms.
const laneRows = 8

// forwardMany computes count real transforms: src is [count][n], dst is
// [count][n/2+1][2]. Even n processes laneRows rows at a time in a
// [n/2][rows] lane layout so that every pass runs long inner loops.
func (rp *realPlan) forwardMany(dst, src []float32, count int, w *work) {
	n := rp.n
	nc := n/2 + 1
	if rp.full != nil || n < 4 {
		for b := 0; b < count; b++ {
			rp.forward(dst[2*nc*b:2*nc*(b+1)], src[n*b:n*(b+1)], w)
		}
		return
	}
	h := n / 2
	for b0 := 0; b0 < count; b0 += laneRows {
		V := min(laneRows, count-b0)
		A := w.get(5, 2*h*V)
		Z := w.get(6, 2*h*V)
		// gather rows into lanes: A[k][r] = (x_r[2k], x_r[2k+1])
		for r := 0; r < V; r++ {
			row := src[n*(b0+r) : n*(b0+r+1)]
			for k := 0; 2*k+1 < len(row); k++ {
				d := 2 * (k*V + r)
				A[d], A[d+1] = row[2*k], row[2*k+1]
			}
		}
		rp.half.exec(Z, A, V, 0, V, false, w)
		tw := rp.tw
		for r := 0; r < V; r++ {
			d := dst[2*nc*(b0+r) : 2*nc*(b0+r+1)]
			zr, zi := Z[2*r], Z[2*r+1]
			d[0], d[1] = zr+zi, 0
			d[2*h], d[2*h+1] = zr-zi, 0
		}
		for k := 1; 2*k <= h; k++ {
			j := h - k
			wr, wi := tw[2*k], tw[2*k+1]
			zk := Z[2*k*V : 2*(k+1)*V]
			zj := Z[2*j*V : 2*(j+1)*V]
			for r := 0; r < V; r++ {
				ar, ai := zk[2*r], zk[2*r+1]
				br, bi := zj[2*r], -zj[2*r+1]
				er, ei := 0.5*(ar+br), 0.5*(ai+bi)
				or, oi := 0.5*(ai-bi), -0.5*(ar-br)
				tr, ti := wr*or-wi*oi, wr*oi+wi*or
				d := dst[2*nc*(b0+r):]
				d[2*k], d[2*k+1] = er+tr, ei+ti
				d[2*j], d[2*j+1] = er-tr, ti-ei
			}
		}
	}
}

// inverseMany computes count inverse real transforms scaled by f: src is
// [count][n/2+1][2], dst is [count][n]. src is not modified.
func (rp *realPlan) inverseMany(dst, src []float32, count int, f float32, w *work) {
	n := rp.n
	nc := n/2 + 1
	if rp.full != nil || n < 4 {
		for b := 0; b < count; b++ {
			rp.inverse(dst[n*b:n*(b+1)], src[2*nc*b:2*nc*(b+1)], f, w)
		}
		return
	}
	h := n / 2
	for b0 := 0; b0 < count; b0 += laneRows {
		V := min(laneRows, count-b0)
		A := w.get(5, 2*h*V)
		Z := w.get(6, 2*h*V)
		tw := rp.tw
		for r := 0; r < V; r++ {
			s := src[2*nc*(b0+r) : 2*nc*(b0+r+1)]
			x0, xh := s[0], s[2*h]
			A[2*r], A[2*r+1] = f*(x0+xh), f*(x0-xh)
		}
		for k := 1; 2*k <= h; k++ {
			j := h - k
			wr, wi := tw[2*k], -tw[2*k+1]
			ak := A[2*k*V : 2*(k+1)*V]
			aj := A[2*j*V : 2*(j+1)*V]
			for r := 0; r < V; r++ {
				s := src[2*nc*(b0+r):]
				ar, ai := s[2*k], s[2*k+1]
				br, bi := s[2*j], -s[2*j+1]
				er, ei := f*(ar+br), f*(ai+bi)
				dr, di := f*(ar-br), f*(ai-bi)
				or, oi := dr*wr-di*wi, dr*wi+di*wr
				ak[2*r], ak[2*r+1] = er-oi, ei+or
				aj[2*r], aj[2*r+1] = er+oi, or-ei
			}
		}
		rp.half.exec(Z, A, V, 0, V, true, w)
		for r := 0; r < V; r++ {
			row := dst[n*(b0+r) : n*(b0+r+1)]
			for k := 0; 2*k+1 < len(row); k++ {
				s := 2 * (k*V + r)
				row[2*k], row[2*k+1] = Z[s], Z[s+1]
			}
		}
	}
}
