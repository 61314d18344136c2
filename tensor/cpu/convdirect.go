package cpu

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/dash-go/dash/tensor"
)

// Direct convolution, batch innermost.
//
// For 2-D convolutions with large dilated kernels on small maps (the searched
// WRN layers: 9×9 dilation 3 on 28×28, 3×3 dilation 7 on 7×7) the implicit
// GEMM spends most of its time packing short rows and multiplying the zeros
// of taps that fall into the padding. This path instead works on copies with
// the batch innermost, so that every (pixel, tap) is a run of contiguous
// floats and no tap outside the input is ever touched:
//
//	forward:         y[p][k][n]  = Σ_{t valid at p} Σ_c W[k][c][t] · x[p+t][c][n]
//	backward data:   dx[q][c][n] = Σ_{t, p: p+t = q} Σ_k W[k][c][t] · dy[p][k][n]
//	backward filter: dW[t][k][c] = Σ_{p valid for t} Σ_n dy[p][n][k] · x[p+t][n][c]
//
// (x, y, dx, dy as [pixel][channel][batch] for the first two, so that a
// tap's channels are one contiguous block and an output tile's rows are
// adjacent, and [pixel][batch][channel] for the filter gradient; NCHW ↔
// these layouts are 2-D transposes per channel or per sample). Each sum is
// one call of a register-tile micro-kernel (dirFn) over a list of (offset,
// offset) pairs: the valid taps of one output pixel, or the valid pixels of
// one tap. Strides 2+ and any dilation or padding only change the lists.
// Which of the three kernels take this path is decided per kernel and shape
// (directConvOK).

// dirFn computes an mr×(16·nv) tile
//
//	out[i][l] (+)= Σ_{j<n} Σ_{d<depth} b[boffs[j] + d·ldb + 4i] · v[voffs[j] + d·ldv + 4l]
//
// with offsets and strides in bytes from v and b; rows of out are ldo bytes
// apart and are overwritten, or added to when add != 0. n ≥ 1, depth ≥ 1.
type dirFn func(n int, voffs, boffs *int, v, b *float32, ldv, ldb, depth int, out *float32, ldo, add int)

type dirShape struct{ mr, nv int }

// dirKernelSet is a set of micro-kernels by shape; it has at least the
// shapes 8×1, 8×2, 8×3 and 16×1.
type dirKernelSet struct {
	name string
	fns  map[dirShape]dirFn
}

// dirKernels is the set the direct path uses; nil turns the path off.
var dirKernels = asmDirKernels

// goDirKernels is the portable reference implementation of dirFn (tests).
var goDirKernels = func() *dirKernelSet {
	s := &dirKernelSet{name: "go", fns: map[dirShape]dirFn{}}
	for _, sh := range []dirShape{{8, 1}, {8, 2}, {8, 3}, {16, 1}} {
		s.fns[sh] = dirKernelGo(sh.mr, sh.nv)
	}
	return s
}()

func dirKernelGo(mr, nv int) dirFn {
	w := 16 * nv
	return func(n int, voffs, boffs *int, v, b *float32, ldv, ldb, depth int, out *float32, ldo, add int) {
		vo, bo := unsafe.Slice(voffs, n), unsafe.Slice(boffs, n)
		acc := make([]float32, mr*w)
		for j := range n {
			vp := unsafe.Add(unsafe.Pointer(v), vo[j])
			bp := unsafe.Add(unsafe.Pointer(b), bo[j])
			for d := range depth {
				vrow := unsafe.Slice((*float32)(unsafe.Add(vp, d*ldv)), w)
				brow := unsafe.Slice((*float32)(unsafe.Add(bp, d*ldb)), mr)
				for i, bv := range brow {
					a := acc[i*w : (i+1)*w]
					for l, x := range vrow {
						a[l] += bv * x
					}
				}
			}
		}
		for i := range mr {
			o := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(out), i*ldo)), w)
			if add != 0 {
				for l := range o {
					o[l] += acc[i*w+l]
				}
			} else {
				copy(o, acc[i*w:(i+1)*w])
			}
		}
	}
}

// convOp names one of the three convolution kernels (directConvOK).
type convOp int

const (
	opForward convOp = iota
	opData
	opFilter
)

// directConvOK reports whether the direct path computes op for p: 2-D, one
// group, batch a multiple of 16, channels multiples of 16 (in) and 8 (out),
// and not a 1×1 stride-1 conv (a plain GEMM already). Measured per layer
// of the WRN-16-1 and WRN-16-4 training steps (BenchmarkConvWRN), the
// direct path is faster than the implicit GEMM on every other shape except
// two, which stay on the implicit GEMM: the filter gradient of 1×1 strided
// convs (the shortcuts: one tap, so each micro-kernel call has little
// work), and the forward conv from 16 to 64 or more channels (each pixel's
// 16-deep taps are swept once per 8 output channels).
//
// A batch that is not a multiple of 16 is padded to one (directBatch) in
// the forward and data kernels, which compute the padding lanes and drop
// them, when that costs at most 1.6× the lanes (Darcy's batch of 10: 16
// lanes), except for kernels of at most 9 taps from 16 channels. CPU
// milliseconds of forward + data + filter, batch 10, the dense WRN-16-1's
// layers at 85×85 (16 channels), 43×43 (32) and 22×22 (64), implicit GEMM
// → direct: 9×9 dilation 7: 131 → 73, 90 → 35, 77 → 12; 7×7 d3: 91 → 56,
// 56 → 47, 46 → 33; 5×5 d7: 45 → 35, 31 → 20, 27 → 12; 3×3: 23 → 25,
// 16 → 11, 9.3 → 9.3; 3×3 d15: 18 → 22, 14 → 12, 10 → 3.7.
func directConvOK(p *tensor.ConvParams, op convOp) bool {
	if dirKernels == nil || p.Groups != 1 || p.H <= 1 || p.W <= 1 ||
		p.N < 1 || directBatch(p.N)*5 > p.N*8 || p.C%16 != 0 || p.K%8 != 0 || isPointwise(*p) {
		return false
	}
	if p.N%16 != 0 && p.C < 32 && p.KH*p.KW <= 9 {
		return false
	}
	if forceDirect {
		return true
	}
	switch op {
	case opForward:
		return !(p.C < 32 && p.K >= 4*p.C)
	case opFilter:
		return p.KH*p.KW > 1
	}
	return true
}

// directBatch is the number of batch lanes the forward and data kernels
// compute for a batch of n: n rounded up to a multiple of 16.
func directBatch(n int) int { return (n + 15) &^ 15 }

// forceDirect makes directConvOK take every shape the kernels can run
// (benchmarks comparing the paths).
var forceDirect bool

// vecSlice is a run of 16·nv floats starting at start.
type vecSlice struct{ start, nv int }

// vecSlices splits n (a multiple of 16) into runs of 16·nv, nv ≤ 3,
// preferring nv = 2.
func vecSlices(n int) (s []vecSlice) {
	for n0 := 0; n0 < n; {
		nv := 2
		switch (n - n0) / 16 {
		case 1:
			nv = 1
		case 3:
			nv = 3
		}
		s = append(s, vecSlice{start: n0, nv: nv})
		n0 += 16 * nv
	}
	return s
}

// parallelDyn runs f over [0, n) in chunks of grain handed out dynamically
// to the backend's threads (balanced under uneven work and outside load).
func (be *Backend) parallelDyn(n, grain int, f func(lo, hi int)) {
	w := min(be.threads, (n+grain-1)/grain)
	if w <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(int64(grain))) - grain
				if lo >= n {
					return
				}
				f(lo, min(lo+grain, n))
			}
		}()
	}
	wg.Wait()
}

// accGroups is the number of accumulators a reduction over nch chunks on
// workers threads sums into: a fixed function of the two, so that every run
// adds the same chunks into the same accumulator in the same order and sums
// the accumulators in index order (bit-identical results, whichever thread
// is faster); two per worker still balance the load between threads.
func accGroups(nch, workers int) int {
	return max(1, min(nch, 2*workers))
}

// nextGroup hands out the next of groups accumulator groups: gi, and the
// chunks [c0, c1) of nch that it sums (contiguous, in order); ok is false
// when none is left.
func nextGroup(next *atomic.Int64, groups, nch int) (gi, c0, c1 int, ok bool) {
	gi = int(next.Add(1) - 1)
	if gi >= groups {
		return 0, 0, 0, false
	}
	return gi, gi * nch / groups, (gi + 1) * nch / groups, true
}

// transpose2D sets dst[dOff + j·ldd + i] = src[sOff + i·lds + j] for
// i < rows, j < cols. Blocks of 8 columns are finished (all rows) before
// the next, so each destination row is written whole while it is in cache.
func transpose2D(dst []float32, dOff, ldd int, src []float32, sOff, lds, rows, cols int) {
	if rows == 0 || cols == 0 {
		return
	}
	_ = dst[dOff+(cols-1)*ldd+rows-1]
	_ = src[sOff+(rows-1)*lds+cols-1]
	tr := bestKernel.tr
	j0 := 0
	if tr != nil {
		for ; j0+8 <= cols; j0 += 8 {
			i := 0
			for ; i+8 <= rows; i += 8 {
				tr(&dst[dOff+j0*ldd+i], ldd, &src[sOff+i*lds+j0], lds)
			}
			for ; i < rows; i++ {
				s := src[sOff+i*lds+j0 : sOff+i*lds+j0+8]
				for j, v := range s {
					dst[dOff+(j0+j)*ldd+i] = v
				}
			}
		}
	}
	for i := 0; i < rows; i++ {
		s := src[sOff+i*lds+j0 : sOff+i*lds+cols]
		for j, v := range s {
			dst[dOff+(j0+j)*ldd+i] = v
		}
	}
}

// padLD returns the row length used for rows of n floats: n, plus 16 when
// n·4 bytes is a multiple of 256, so that walking down a column does not
// keep hitting the same few L1 sets.
func padLD(n int) int {
	if n%64 == 0 {
		return n + 16
	}
	return n
}

// pixStride is the distance between pixels of a [pixel][rows][ld] copy:
// rows·ld, plus 16 when that is a multiple of 256 floats (1 KiB), so that
// the same row of neighbouring pixels does not keep hitting the same few
// L1 sets (in the layout copies and in the kernels' taps).
func pixStride(rows, ld int) int {
	if s := rows * ld; s%256 != 0 {
		return s
	}
	return rows*ld + 16
}

// toPCN writes x [n][c][hw] as xt [hw][c][ld] (columns n; pixels ps
// apart): pixels, channels, batch innermost.
func (be *Backend) toPCN(x []float32, n, c, hw, ld, ps int, xt []float32) {
	be.parallelDyn(c, 1, func(lo, hi int) {
		for ci := lo; ci < hi; ci++ {
			transpose2D(xt, ci*ld, ps, x, ci*hw, c*hw, n, hw)
		}
	})
}

// fromPCN writes xt [hw][c][ld] (columns n; pixels ps apart) as
// x [n][c][hw].
func (be *Backend) fromPCN(xt []float32, n, c, hw, ld, ps int, x []float32) {
	be.parallelDyn(c, 1, func(lo, hi int) {
		for ci := lo; ci < hi; ci++ {
			transpose2D(x, ci*hw, c*hw, xt, ci*ld, ps, hw, n)
		}
	})
}

// toPNC writes x [n][c][hw] as xt [hw][n][ld] (columns c; pixels ps
// apart).
func (be *Backend) toPNC(x []float32, n, c, hw, ld, ps int, xt []float32) {
	be.parallelDyn(n, 1, func(lo, hi int) {
		for ni := lo; ni < hi; ni++ {
			transpose2D(xt, ni*ld, ps, x, ni*c*hw, hw, c, hw)
		}
	})
}

// depthBlock is the depth (channels) per micro-kernel call when each of cnt
// taps reads rows of rowBytes: the taps' rows of one block (about 96 KiB)
// stay in L2 while the output-channel blocks sweep them. A multiple of 8
// dividing c.
func depthBlock(c, cnt, rowBytes int) int {
	b := max(8, (96<<10)/max(1, cnt*rowBytes)/8*8)
	for b < c && c%b != 0 {
		b -= 8
	}
	return min(b, c)
}

// directForward computes y = conv(x, w) on the direct path.
func (be *Backend) directForward(p *tensor.ConvParams, ys, xs, ws []float32) {
	N, C, K := p.N, p.C, p.K
	hw, ohw, kk := p.H*p.W, p.OH*p.OW, p.KH*p.KW
	nb := directBatch(N) // lanes N… are computed and dropped
	ldn, ldk := padLD(nb), padLD(K)
	psx, psy := pixStride(C, ldn), pixStride(K, ldn)
	xt, yt, wt := getScratch(psx*hw), getScratch(psy*ohw), getScratch(kk*C*ldk)
	defer putScratch(xt)
	defer putScratch(yt)
	defer putScratch(wt)
	if nb != N {
		clear(*xt) // finite padding lanes (a recycled buffer may hold denormals or NaN, which slow the kernel)
	}
	w := *wt
	be.parallelDyn(C, 4, func(lo, hi int) {
		for c := lo; c < hi; c++ { // w[t][c][k] = ws[k][c][t]
			transpose2D(w, c*ldk, C*ldk, ws, c*kk, C*kk, K, kk)
		}
	})
	be.toPCN(xs, N, C, hw, ldn, psx, *xt)
	x, y := *xt, *yt
	fns := dirKernels.fns
	slices := vecSlices(nb)
	be.parallelDyn(ohw, 4, func(lo, hi int) {
		vo, bo := make([]int, kk), make([]int, kk)
		for pix := lo; pix < hi; pix++ {
			oh, ow := pix/p.OW, pix%p.OW
			cnt := 0
			for kh := range p.KH {
				ih := oh*p.SH + kh*p.DH - p.PH
				if ih < 0 || ih >= p.H {
					continue
				}
				for kw := range p.KW {
					iw := ow*p.SW + kw*p.DW - p.PW
					if iw < 0 || iw >= p.W {
						continue
					}
					vo[cnt] = (ih*p.W + iw) * psx * 4
					bo[cnt] = (kh*p.KW + kw) * C * ldk * 4
					cnt++
				}
			}
			if cnt == 0 {
				clear(y[pix*psy : pix*psy+K*ldn])
				continue
			}
			for _, s := range slices {
				cb := depthBlock(C, cnt, 64*s.nv)
				fn := fns[dirShape{8, s.nv}]
				for c0 := 0; c0 < C; c0 += cb {
					for k0 := 0; k0 < K; k0 += 8 {
						fn(cnt, &vo[0], &bo[0], &x[c0*ldn+s.start], &w[c0*ldk+k0], ldn*4, ldk*4, cb, &y[pix*psy+k0*ldn+s.start], ldn*4, c0)
					}
				}
			}
		}
	})
	be.fromPCN(y, N, K, ohw, ldn, psy, ys)
}

// directBackwardData computes dx from dy and w on the direct path.
func (be *Backend) directBackwardData(p *tensor.ConvParams, dxs, dys, ws []float32) {
	N, C, K := p.N, p.C, p.K
	hw, ohw, kk := p.H*p.W, p.OH*p.OW, p.KH*p.KW
	nb := directBatch(N) // lanes N… are computed and dropped
	ldn, ldc := padLD(nb), padLD(C)
	psg, psx := pixStride(K, ldn), pixStride(C, ldn)
	gt, xt, wt := getScratch(psg*ohw), getScratch(psx*hw), getScratch(kk*ldc*K)
	defer putScratch(gt)
	defer putScratch(xt)
	defer putScratch(wt)
	if nb != N {
		clear(*gt) // finite padding lanes, as in directForward
	}
	w := *wt
	be.parallelDyn(K, 4, func(lo, hi int) {
		for k := lo; k < hi; k++ { // w[t][k][c] = ws[k][c][t]
			transpose2D(w, k*ldc, K*ldc, ws, k*C*kk, kk, C, kk)
		}
	})
	be.toPCN(dys, N, K, ohw, ldn, psg, *gt)
	g, dx := *gt, *xt
	fns := dirKernels.fns
	slices := vecSlices(nb)
	be.parallelDyn(hw, 4, func(lo, hi int) {
		vo, bo := make([]int, kk), make([]int, kk)
		for pix := lo; pix < hi; pix++ {
			ih, iw := pix/p.W, pix%p.W
			cnt := 0
			for kh := range p.KH {
				a := ih + p.PH - kh*p.DH
				if a < 0 || a%p.SH != 0 || a/p.SH >= p.OH {
					continue
				}
				oh := a / p.SH
				for kw := range p.KW {
					b := iw + p.PW - kw*p.DW
					if b < 0 || b%p.SW != 0 || b/p.SW >= p.OW {
						continue
					}
					vo[cnt] = (oh*p.OW + b/p.SW) * psg * 4
					bo[cnt] = (kh*p.KW + kw) * K * ldc * 4
					cnt++
				}
			}
			if cnt == 0 {
				clear(dx[pix*psx : pix*psx+C*ldn])
				continue
			}
			for _, s := range slices {
				kb := depthBlock(K, cnt, 64*s.nv)
				fn := fns[dirShape{8, s.nv}]
				for k0 := 0; k0 < K; k0 += kb {
					for c0 := 0; c0 < C; c0 += 8 {
						fn(cnt, &vo[0], &bo[0], &g[k0*ldn+s.start], &w[k0*ldc+c0], ldn*4, ldc*4, kb, &dx[pix*psx+c0*ldn+s.start], ldn*4, k0)
					}
				}
			}
		}
	})
	be.fromPCN(dx, N, C, hw, ldn, psx, dxs)
}

// directBackwardFilter computes dw (summed over the batch) on the direct
// path. The output pixels are cut into chunks small enough for the chunk's
// dy and the x rows it meets to stay in L2; the chunks fall into
// accGroups contiguous groups, handed out to the workers, each summed into
// its own [tap][K][C] accumulator; the accumulators are summed in order at
// the end.
func (be *Backend) directBackwardFilter(p *tensor.ConvParams, dws, xs, dys []float32) {
	N, C, K := p.N, p.C, p.K
	hw, ohw, kk := p.H*p.W, p.OH*p.OW, p.KH*p.KW
	ldc, ldk := padLD(C), padLD(K)
	psx, psg := pixStride(N, ldc), pixStride(N, ldk)
	xt, gt := getScratch(psx*hw), getScratch(psg*ohw)
	defer putScratch(xt)
	defer putScratch(gt)
	be.toPNC(xs, N, C, hw, ldc, psx, *xt)
	be.toPNC(dys, N, K, ohw, ldk, psg, *gt)
	x, g := *xt, *gt
	mr := 8
	if C == 16 && K%16 == 0 {
		mr = 16
	}
	cs := vecSlices(C)
	fns := dirKernels.fns
	chunk := max(2, (64<<10)/(psg*4))
	chunk = min(chunk, max(1, ohw/(4*be.threads)))
	nch := (ohw + chunk - 1) / chunk
	workers := min(be.threads, nch)
	accs := make([]*[]float32, accGroups(nch, workers))
	var wg sync.WaitGroup
	next := new(atomic.Int64)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vo, bo := make([]int, chunk), make([]int, chunk)
			for {
				gi, c0, c1, ok := nextGroup(next, len(accs), nch)
				if !ok {
					return
				}
				acc := getScratch(kk * K * ldc)
				accs[gi] = acc
				a := *acc
				touched := make([]bool, kk)
				for ci := c0; ci < c1; ci++ {
					lo, hi := ci*chunk, min((ci+1)*chunk, ohw)
					for t := range kk {
						kh, kw := t/p.KW, t%p.KW
						cnt := 0
						for pix := lo; pix < hi; pix++ {
							oh, ow := pix/p.OW, pix%p.OW
							ih, iw := oh*p.SH+kh*p.DH-p.PH, ow*p.SW+kw*p.DW-p.PW
							if ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
								continue
							}
							vo[cnt] = (ih*p.W + iw) * psx * 4
							bo[cnt] = pix * psg * 4
							cnt++
						}
						if cnt == 0 {
							continue
						}
						add := 0
						if touched[t] {
							add = 1
						}
						touched[t] = true
						for k0 := 0; k0 < K; k0 += mr {
							for _, s := range cs {
								fns[dirShape{mr, s.nv}](cnt, &vo[0], &bo[0], &x[s.start], &g[k0], ldc*4, ldk*4, N, &a[(t*K+k0)*ldc+s.start], ldc*4, add)
							}
						}
					}
				}
				for t, ok := range touched {
					if !ok {
						for k := range K {
							clear(a[(t*K+k)*ldc : (t*K+k)*ldc+C])
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	a := *accs[0]
	be.parallelDyn(K, 8, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			for t := range kk {
				row := a[(t*K+k)*ldc : (t*K+k)*ldc+C]
				for _, b := range accs[1:] {
					for c, v := range (*b)[(t*K+k)*ldc : (t*K+k)*ldc+C] {
						row[c] += v
					}
				}
			}
			// dw[k][c][t] = acc[t][k][c]
			transpose2D(dws, k*C*kk, kk, a, k*ldc, K*ldc, kk, C)
		}
	})
	for _, b := range accs {
		putScratch(b)
	}
}
