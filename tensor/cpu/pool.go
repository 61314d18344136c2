package cpu

import (
	"fmt"
	"math"

	"github.com/dash-go/dash/tensor"
)

// Pooling kernels: direct loops, parallel over the N·C planes.

func checkPool(op string, p tensor.PoolParams, nx, ny int) {
	if p.N < 0 || p.C <= 0 || p.H <= 0 || p.W <= 0 || p.KH <= 0 || p.KW <= 0 ||
		p.SH <= 0 || p.SW <= 0 || p.PH < 0 || p.PW < 0 || p.OH <= 0 || p.OW <= 0 {
		panic(fmt.Sprintf("cpu.%s: bad parameters %+v", op, p))
	}
	if nx < p.N*p.C*p.H*p.W || ny < p.N*p.C*p.OH*p.OW {
		panic(fmt.Sprintf("cpu.%s: buffers of %d and %d elements for %+v", op, nx, ny, p))
	}
}

// MaxPool writes the window maxima and their flat indices within the H×W
// plane (int32; -1 for a window that holds only padding, whose output is 0).
// Ties keep the first maximum in row-major window order.
func (be *Backend) MaxPool(p tensor.PoolParams, y, idx, x tensor.Buffer) {
	ys, is, xs := buf(y), ibuf(idx), buf(x)
	checkPool("MaxPool", p, len(xs), min(len(ys), len(is)))
	hw, ohw := p.H*p.W, p.OH*p.OW
	be.parallel(p.N*p.C, 1, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			xp := xs[t*hw : (t+1)*hw]
			yp := ys[t*ohw : (t+1)*ohw]
			ip := is[t*ohw : (t+1)*ohw]
			for oh := 0; oh < p.OH; oh++ {
				h0 := oh*p.SH - p.PH
				hlo, hhi := max(h0, 0), min(h0+p.KH, p.H)
				for ow := 0; ow < p.OW; ow++ {
					w0 := ow*p.SW - p.PW
					wlo, whi := max(w0, 0), min(w0+p.KW, p.W)
					best := float32(math.Inf(-1))
					bi := -1
					for ih := hlo; ih < hhi; ih++ {
						row := xp[ih*p.W : (ih+1)*p.W]
						for iw := wlo; iw < whi; iw++ {
							if v := row[iw]; bi < 0 || v > best {
								best, bi = v, ih*p.W+iw
							}
						}
					}
					if bi < 0 {
						best = 0
					}
					yp[oh*p.OW+ow] = best
					ip[oh*p.OW+ow] = int32(bi)
				}
			}
		}
	})
}

// MaxPoolBackward routes dy to the argmax positions recorded in idx.
func (be *Backend) MaxPoolBackward(p tensor.PoolParams, dx, dy, idx tensor.Buffer) {
	dxs, dys, is := buf(dx), buf(dy), ibuf(idx)
	checkPool("MaxPoolBackward", p, len(dxs), min(len(dys), len(is)))
	hw, ohw := p.H*p.W, p.OH*p.OW
	be.parallel(p.N*p.C, 1, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			dp := dxs[t*hw : (t+1)*hw]
			gp := dys[t*ohw : (t+1)*ohw]
			ip := is[t*ohw : (t+1)*ohw]
			clear(dp)
			for o, g := range gp {
				if i := ip[o]; i >= 0 {
					dp[i] += g
				}
			}
		}
	})
}

// AvgPool averages each KH×KW window, padding counting as zeros.
func (be *Backend) AvgPool(p tensor.PoolParams, y, x tensor.Buffer) {
	ys, xs := buf(y), buf(x)
	checkPool("AvgPool", p, len(xs), len(ys))
	hw, ohw := p.H*p.W, p.OH*p.OW
	inv := 1 / float32(p.KH*p.KW)
	be.parallel(p.N*p.C, 1, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			xp := xs[t*hw : (t+1)*hw]
			yp := ys[t*ohw : (t+1)*ohw]
			for oh := 0; oh < p.OH; oh++ {
				h0 := oh*p.SH - p.PH
				hlo, hhi := max(h0, 0), min(h0+p.KH, p.H)
				for ow := 0; ow < p.OW; ow++ {
					w0 := ow*p.SW - p.PW
					wlo, whi := max(w0, 0), min(w0+p.KW, p.W)
					var s float32
					for ih := hlo; ih < hhi; ih++ {
						for _, v := range xp[ih*p.W+wlo : ih*p.W+max(whi, wlo)] {
							s += v
						}
					}
					yp[oh*p.OW+ow] = s * inv
				}
			}
		}
	})
}

// AvgPoolBackward spreads dy/(KH·KW) over each window.
func (be *Backend) AvgPoolBackward(p tensor.PoolParams, dx, dy tensor.Buffer) {
	dxs, dys := buf(dx), buf(dy)
	checkPool("AvgPoolBackward", p, len(dxs), len(dys))
	hw, ohw := p.H*p.W, p.OH*p.OW
	inv := 1 / float32(p.KH*p.KW)
	be.parallel(p.N*p.C, 1, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			dp := dxs[t*hw : (t+1)*hw]
			gp := dys[t*ohw : (t+1)*ohw]
			clear(dp)
			for oh := 0; oh < p.OH; oh++ {
				h0 := oh*p.SH - p.PH
				hlo, hhi := max(h0, 0), min(h0+p.KH, p.H)
				for ow := 0; ow < p.OW; ow++ {
					w0 := ow*p.SW - p.PW
					wlo, whi := max(w0, 0), min(w0+p.KW, p.W)
					g := gp[oh*p.OW+ow] * inv
					for ih := hlo; ih < hhi; ih++ {
						row := dp[ih*p.W+wlo : ih*p.W+max(whi, wlo)]
						for i := range row {
							row[i] += g
						}
					}
				}
			}
		}
	})
}
