package cpu

import (
	"fmt"
	"math"

	"github.com/dash-go/dash/tensor"
)

// opt returns the buffer's elements, or nil for a nil buffer.
func opt(b tensor.Buffer, n int, what string) []float32 {
	if b == nil {
		return nil
	}
	f := buf(b)
	if len(f) < n {
		panic(fmt.Sprintf("cpu: %s has %d elements, want %d", what, len(f), n))
	}
	return f[:n]
}

func checkBN(op string, p tensor.BatchNormParams) {
	if p.N <= 0 || p.C <= 0 || p.S <= 0 {
		panic(fmt.Sprintf("cpu.%s: N=%d C=%d S=%d, want > 0", op, p.N, p.C, p.S))
	}
}

// channels runs f for every channel, the channels split across threads.
func (be *Backend) channels(c, perChannel int, f func(c int)) {
	be.parallel(c, max(1, 32768/max(perChannel, 1)), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			f(ch)
		}
	})
}

// rowStats returns Σ(v−k) and Σ(v−k)² of one row (float32 partial sums
// over at most one row, four lanes).
func rowStats(row []float32, k float32) (s, ss float64) {
	var s0, s1, s2, s3, q0, q1, q2, q3 float32
	i := 0
	for ; i+4 <= len(row); i += 4 {
		d0, d1, d2, d3 := row[i]-k, row[i+1]-k, row[i+2]-k, row[i+3]-k
		s0 += d0
		s1 += d1
		s2 += d2
		s3 += d3
		q0 += d0 * d0
		q1 += d1 * d1
		q2 += d2 * d2
		q3 += d3 * d3
	}
	for ; i < len(row); i++ {
		d := row[i] - k
		s0 += d
		q0 += d * d
	}
	return float64(s0+s1) + float64(s2+s3), float64(q0+q1) + float64(q2+q3)
}

// BatchNormForward is the fused batch normalisation (see tensor.Kernels).
func (be *Backend) BatchNormForward(p tensor.BatchNormParams, y, stats, x, bias, gamma, beta, runMean, runVar tensor.Buffer) {
	checkBN("BatchNormForward", p)
	N, C, S := p.N, p.C, p.S
	xs, ys := buf(x)[:N*C*S], buf(y)[:N*C*S]
	st := buf(stats)[:4*C]
	sh, is, sc, of := st[:C], st[C:2*C], st[2*C:3*C], st[3*C:]
	bs, gs, bt := opt(bias, C, "bias"), opt(gamma, C, "gamma"), opt(beta, C, "beta")
	rm, rv := opt(runMean, C, "running mean"), opt(runVar, C, "running var")
	if !p.Training && (rm == nil || rv == nil) {
		panic("cpu.BatchNormForward: evaluation needs the running statistics")
	}
	M := N * S
	be.channels(C, M, func(c int) {
		var b float32
		if bs != nil {
			b = bs[c]
		}
		var mean, inv float32
		if p.Training {
			k := xs[c*S]
			var s, ss float64
			for n := range N {
				a, q := statsRow(xs[(n*C+c)*S:(n*C+c)*S+S], k)
				s += a
				ss += q
			}
			m := s / float64(M)
			v := math.Max(ss/float64(M)-m*m, 0)
			mean = k + float32(m)
			inv = float32(1 / math.Sqrt(v+float64(p.Eps)))
			if rm != nil {
				unb := v
				if M > 1 {
					unb = v * float64(M) / float64(M-1)
				}
				rm[c] = (1-p.Momentum)*rm[c] + p.Momentum*(mean+b)
				rv[c] = (1-p.Momentum)*rv[c] + p.Momentum*float32(unb)
			}
		} else {
			mean = rm[c] - b
			inv = float32(1 / math.Sqrt(float64(rv[c])+float64(p.Eps)))
		}
		sh[c], is[c] = mean, inv
		scale := inv
		if gs != nil {
			scale *= gs[c]
		}
		off := -mean * scale
		if bt != nil {
			off += bt[c]
		}
		sc[c], of[c] = scale, off
		for n := range N {
			o := (n*C + c) * S
			applyRow(ys[o:o+S], xs[o:o+S], scale, off, p.ReLU)
		}
	})
}

// BatchNormBackward is the gradient of BatchNormForward (see tensor.Kernels).
func (be *Backend) BatchNormBackward(p tensor.BatchNormParams, dx, dgamma, dbeta, dbias, dy, x, stats tensor.Buffer) {
	checkBN("BatchNormBackward", p)
	N, C, S := p.N, p.C, p.S
	gys, xs := buf(dy)[:N*C*S], buf(x)[:N*C*S]
	st := buf(stats)[:4*C]
	sh, is, sc, of := st[:C], st[C:2*C], st[2*C:3*C], st[3*C:]
	dxs := opt(dx, N*C*S, "dx")
	dg, db, dbi := opt(dgamma, C, "dgamma"), opt(dbeta, C, "dbeta"), opt(dbias, C, "dbias")
	M := N * S
	be.channels(C, 2*M, func(c int) {
		mean, inv, scale, off := sh[c], is[c], sc[c], of[c]
		var sg, sgx float64
		for n := range N {
			o := (n*C + c) * S
			a, b := bwdSumsRow(gys[o:o+S], xs[o:o+S], mean, scale, off, p.ReLU)
			sg += float64(a)
			sgx += float64(b)
		}
		sgx *= float64(inv) // Σ g·x̂
		if dg != nil {
			dg[c] = float32(sgx)
		}
		if db != nil {
			db[c] = float32(sg)
		}
		if dxs == nil && dbi == nil {
			return
		}
		// dx = a·g − b·x + k
		a, b, k := scale, float32(0), float32(0)
		if p.Training {
			b = float32(float64(scale) * float64(inv) * sgx / float64(M))
			k = b*mean - float32(float64(scale)*sg/float64(M))
		}
		var sdx float64
		for n := range N {
			o := (n*C + c) * S
			var out []float32
			if dxs != nil {
				out = dxs[o : o+S]
			}
			sdx += float64(bwdDxRow(out, gys[o:o+S], xs[o:o+S], a, b, k, scale, off, p.ReLU))
		}
		if dbi != nil {
			dbi[c] = float32(sdx)
		}
	})
}

// BiasAct writes y = act(x + bias[c]) over [n][c][s].
func (be *Backend) BiasAct(y, x, bias tensor.Buffer, n, c, s int, relu bool) {
	xs, ys := buf(x)[:n*c*s], buf(y)[:n*c*s]
	bs := opt(bias, c, "bias")
	be.parallel(n*c, max(1, 16384/max(s, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			var b float32
			if bs != nil {
				b = bs[r%c]
			}
			applyRow(ys[r*s:r*s+s], xs[r*s:r*s+s], 1, b, relu)
		}
	})
}

// BiasActBackward writes dx = dy·(y > 0 when relu) and dbias = Σ dx.
func (be *Backend) BiasActBackward(dx, dbias, dy, y tensor.Buffer, n, c, s int, relu bool) {
	gs := buf(dy)[:n*c*s]
	var ys []float32
	if relu {
		ys = buf(y)[:n*c*s]
	}
	dxs := opt(dx, n*c*s, "dx")
	db := opt(dbias, c, "dbias")
	be.channels(c, n*s, func(ch int) {
		var sum float64
		for i := range n {
			o := (i*c + ch) * s
			g := gs[o : o+s]
			var acc float32
			switch {
			case relu && dxs != nil:
				out, yr := dxs[o:o+s], ys[o:o+s]
				for j, v := range g {
					if yr[j] <= 0 {
						v = 0
					}
					out[j] = v
					acc += v
				}
			case relu:
				yr := ys[o : o+s]
				for j, v := range g {
					if yr[j] > 0 {
						acc += v
					}
				}
			default:
				if dxs != nil {
					copy(dxs[o:o+s], g)
				}
				for _, v := range g {
					acc += v
				}
			}
			sum += float64(acc)
		}
		if db != nil {
			db[ch] = float32(sum)
		}
	})
}

// The row loops of the fused batch norm: AVX2 on the multiple-of-16 head
// where available, Go on the rest (and everywhere on other CPUs).

// statsRow returns Σ(v−k) and Σ(v−k)² of one row.
func statsRow(row []float32, k float32) (s, ss float64) {
	h := 0
	if haveAVX2 && len(row) >= 16 {
		h = len(row) &^ 15
		a, b := bnStatsAVX2(&row[0], h, k)
		s, ss = float64(a), float64(b)
	}
	a, b := rowStats(row[h:], k)
	return s + a, ss + b
}

// applyRow writes dst = src·scale + off, with max(·, 0) when relu.
func applyRow(dst, src []float32, scale, off float32, relu bool) {
	h := 0
	if haveAVX2 && len(src) >= 16 {
		h = len(src) &^ 15
		bnApplyAVX2(&dst[0], &src[0], h, scale, off, relu)
	}
	dst, src = dst[h:len(src)], src[h:]
	if relu {
		for i, v := range src {
			r := v*scale + off
			if r < 0 {
				r = 0
			}
			dst[i] = r
		}
		return
	}
	for i, v := range src {
		dst[i] = v*scale + off
	}
}

// bwdSumsRow returns Σ g·m and Σ g·m·(x − mean), m = (x·scale + off > 0)
// when relu, else 1.
func bwdSumsRow(g, x []float32, mean, scale, off float32, relu bool) (sg, sgx float32) {
	h := 0
	if haveAVX2 && len(g) >= 16 {
		h = len(g) &^ 15
		sg, sgx = bnBwdSumsAVX2(&g[0], &x[0], h, mean, scale, off, relu)
	}
	x = x[h:len(g)]
	for i, v := range g[h:] {
		xv := x[i]
		if relu && !(xv*scale+off > 0) {
			continue
		}
		sg += v
		sgx += v * (xv - mean)
	}
	return sg, sgx
}

// bwdDxRow writes out = a·g·m − b·x + k (out may be nil) and returns Σ out.
func bwdDxRow(out, g, x []float32, a, b, k, scale, off float32, relu bool) float32 {
	h := 0
	var sum float32
	if haveAVX2 && out != nil && len(g) >= 16 {
		h = len(g) &^ 15
		sum = bnBwdDxAVX2(&out[0], &g[0], &x[0], h, a, b, k, scale, off, relu)
	}
	x = x[h:len(g)]
	if out != nil {
		out = out[h:len(g)]
	}
	for i, v := range g[h:] {
		xv := x[i]
		if relu && !(xv*scale+off > 0) {
			v = 0
		}
		r := a*v - b*xv + k
		if out != nil {
			out[i] = r
		}
		sum += r
	}
	return sum
}
