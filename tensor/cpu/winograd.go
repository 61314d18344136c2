package cpu

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/dash-go/dash/tensor"
)

// Winograd F(2×2, 3×3) convolution for 3×3, stride-1, undilated, ungrouped
// 2-D convolutions (Lavin & Gray 2016). The output is cut into 2×2 tiles,
// each computed from a 4×4 input tile (tiles overlap by 2):
//
//	Y = Aᵀ [U ⊙ V] A,  U = G g Gᵀ (4×4 per (k, c)),  V = Bᵀ d B (4×4 per tile, c)
//
// so that each of the 16 positions ξ of the 4×4 transformed tile is one GEMM
// over the channels, 16·K·C·T multiply-adds for T tiles instead of the
// 36·K·C·T of the direct convolution (2.25× fewer):
//
//	forward:         M[ξ] (K×T) = U[ξ] (K×C) · V[ξ] (C×T), then Y = Aᵀ M A
//	backward data:   the forward convolution of dy with the kernel rotated
//	                 180° and in/out channels swapped, padding 2−p
//	backward filter: dU[ξ] (K×C) = Σ_tiles (A dY Aᵀ)[ξ] (K×T) · V[ξ]ᵀ (T×C),
//	                 dW = Gᵀ dU G   (from y = Aᵀ[(Gg)⊙(Bᵀd)] ⇒
//	                 dg = Gᵀ[(A dy Aᵀ)⊙(Bᵀ d B)]G)
//
// with the 1-D matrices
//
//	Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//	G  = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
//	Aᵀ = [1 1 1 0; 0 1 -1 -1]
//
// The transforms are O(C·T) against the GEMMs' O(K·C·T) but, done tile by
// tile in scalar Go, they cost more than the GEMMs (~35 ns per tile and
// channel on the benchmark machine against ~14 ns of GEMM at 64 channels).
// So they run on 16 tiles at once, one zmm register per element
// (winograd_amd64.s), on copies of the data with the 16 tiles' values
// contiguous: batch innermost ([pixel][channel][sample], the direct path's
// toPCN) for the forward and data kernels, whose GEMMs have the tiles as
// columns, and channels innermost ([pixel][sample][channel], toPNC) for
// the filter kernel, whose GEMMs have the channels as columns and the tiles
// as depth. Tiles are processed in chunks (a few hundred tiles), one chunk
// per thread at a time (handed out dynamically), so that a chunk's V and M
// stay in L2 between the transforms and the 16 GEMMs. The transforms write
// straight into the packed panel layouts of the SGEMM micro-kernel
// (sgemm.go) and U is packed once per call, so the GEMMs are bare
// micro-kernel loops (microTile). Taps outside the input read a zero pixel
// appended to the copy, and outputs outside the output (odd sizes) go to a
// per-worker dummy pixel appended to the output copy, so any H, W and
// padding work.

// winoKernelSet holds the three vector transforms (16 lanes; offsets and
// strides in bytes):
//
//	in:   for i < n: d[j] = src[offs[j]] (j = 4r+c of the 4×4 input tile),
//	      dst[ξ·dstXi] = (Bᵀ d B)[ξ]; src += srcStep, dst += dstStep
//	out:  for i < n: m[ξ] = src[ξ·srcXi], dst[offs[j]] = (Aᵀ m A)[j]
//	      (j = 2r+c); src += srcStep, dst += dstStep
//	grad: for i < n: g[j] = src[offs[j]] (j = 2r+c), D = A g Aᵀ, lanes 0–7
//	      of D[ξ] at dst + ξ·dstXi and lanes 8–15 at dst + ξ·dstXi + half;
//	      src += srcStep, dst += dstStep
type winoKernelSet struct {
	name string
	in   func(n int, src *float32, offs *int, srcStep int, dst *float32, dstStep, dstXi int)
	out  func(n int, src *float32, srcXi, srcStep int, dst *float32, offs *int, dstStep int)
	grad func(n int, src *float32, offs *int, srcStep int, dst *float32, dstStep, dstXi, half int)
}

// goWinoKernels is the portable implementation of the transforms.
var goWinoKernels = &winoKernelSet{name: "go", in: winoInGo, out: winoOutGo, grad: winoGradGo}

// winoKernels are the transforms the Winograd path uses.
var winoKernels = func() *winoKernelSet {
	if asmWinoKernels != nil {
		return asmWinoKernels
	}
	return goWinoKernels
}()

func lanes(p *float32, off int) []float32 {
	return unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(p), off)), 16)
}

func winoInGo(n int, src *float32, offs *int, srcStep int, dst *float32, dstStep, dstXi int) {
	o := unsafe.Slice(offs, 16)
	var v [16]float32
	for i := 0; i < n; i++ {
		for l := 0; l < 16; l++ {
			var d [16]float32
			for j := range d {
				d[j] = lanes(src, o[j])[l]
			}
			winoInputT(d[0:4], d[4:8], d[8:12], d[12:16], &v)
			for xi, x := range v {
				lanes(dst, xi*dstXi)[l] = x
			}
		}
		src = (*float32)(unsafe.Add(unsafe.Pointer(src), srcStep))
		dst = (*float32)(unsafe.Add(unsafe.Pointer(dst), dstStep))
	}
}

func winoOutGo(n int, src *float32, srcXi, srcStep int, dst *float32, offs *int, dstStep int) {
	o := unsafe.Slice(offs, 4)
	for i := 0; i < n; i++ {
		for l := 0; l < 16; l++ {
			var m [16]float32
			for xi := range m {
				m[xi] = lanes(src, xi*srcXi)[l]
			}
			y := winoOutputT(&m)
			for j, v := range y {
				lanes(dst, o[j])[l] = v
			}
		}
		src = (*float32)(unsafe.Add(unsafe.Pointer(src), srcStep))
		dst = (*float32)(unsafe.Add(unsafe.Pointer(dst), dstStep))
	}
}

func winoGradGo(n int, src *float32, offs *int, srcStep int, dst *float32, dstStep, dstXi, half int) {
	o := unsafe.Slice(offs, 4)
	for i := 0; i < n; i++ {
		for l := 0; l < 16; l++ {
			g00, g01, g10, g11 := lanes(src, o[0])[l], lanes(src, o[1])[l], lanes(src, o[2])[l], lanes(src, o[3])[l]
			// rows of A g: g0, g0+g1, g0−g1, −g1 (2-vectors), then the
			// same on the columns
			r := [4][2]float32{{g00, g01}, {g00 + g10, g01 + g11}, {g00 - g10, g01 - g11}, {-g10, -g11}}
			for ri, rv := range r {
				a0, a1 := rv[0], rv[1]
				for ci, v := range [4]float32{a0, a0 + a1, a0 - a1, -a1} {
					off := (4*ri + ci) * dstXi
					if l >= 8 {
						off += half
					}
					(*[8]float32)(unsafe.Add(unsafe.Pointer(dst), off))[l%8] = v
				}
			}
		}
		src = (*float32)(unsafe.Add(unsafe.Pointer(src), srcStep))
		dst = (*float32)(unsafe.Add(unsafe.Pointer(dst), dstStep))
	}
}

// winoInputT sets v = Bᵀ d B for the tile with rows r0 … r3.
func winoInputT(r0, r1, r2, r3 []float32, v *[16]float32) {
	_, _, _, _ = r0[3], r1[3], r2[3], r3[3]
	// Bᵀ d: rows d0−d2, d1+d2, d2−d1, d1−d3
	a0, a1, a2, a3 := r0[0]-r2[0], r0[1]-r2[1], r0[2]-r2[2], r0[3]-r2[3]
	b0, b1, b2, b3 := r1[0]+r2[0], r1[1]+r2[1], r1[2]+r2[2], r1[3]+r2[3]
	c0, c1, c2, c3 := r2[0]-r1[0], r2[1]-r1[1], r2[2]-r1[2], r2[3]-r1[3]
	e0, e1, e2, e3 := r1[0]-r3[0], r1[1]-r3[1], r1[2]-r3[2], r1[3]-r3[3]
	// (·) B: the same on the columns
	v[0], v[1], v[2], v[3] = a0-a2, a1+a2, a2-a1, a1-a3
	v[4], v[5], v[6], v[7] = b0-b2, b1+b2, b2-b1, b1-b3
	v[8], v[9], v[10], v[11] = c0-c2, c1+c2, c2-c1, c1-c3
	v[12], v[13], v[14], v[15] = e0-e2, e1+e2, e2-e1, e1-e3
}

// winoOutputT returns Aᵀ m A (2×2, row-major).
func winoOutputT(m *[16]float32) [4]float32 {
	var s [8]float32
	for c := 0; c < 4; c++ {
		s[c] = m[c] + m[4+c] + m[8+c]
		s[4+c] = m[4+c] - m[8+c] - m[12+c]
	}
	return [4]float32{s[0] + s[1] + s[2], s[1] - s[2] - s[3], s[4] + s[5] + s[6], s[5] - s[6] - s[7]}
}

// winoScratch is one worker's buffers.
type winoScratch struct {
	v, m, tile []float32
}

var winoPool sync.Pool

func getWinoScratch(kn *sgemmKernel, nv, nm int) *winoScratch {
	s, _ := winoPool.Get().(*winoScratch)
	if s == nil || len(s.tile) != kn.mr*kn.nr {
		s = &winoScratch{tile: alignedFloats(kn.mr * kn.nr)}
	}
	if len(s.v) < nv {
		s.v = alignedFloats(nv)
	}
	if len(s.m) < nm {
		s.m = alignedFloats(nm)
	}
	return s
}

// winoOff turns the Winograd path off (tests and benchmarks comparing the
// paths); forceWino makes winogradOK take every shape it can run.
var winoOff, forceWino bool

// winogradEligible reports whether the Winograd path can compute p: 3×3,
// stride 1, dilation 1, one group, padding ≤ 2 (so that the data gradient's
// padding 2−p is not negative), and an SGEMM micro-kernel whose panels the
// 16-lane transforms can fill (mr 8, nr a multiple of 16: the AVX-512 one).
func winogradEligible(p *tensor.ConvParams) bool {
	return p.Groups == 1 && p.KH == 3 && p.KW == 3 && p.SH == 1 && p.SW == 1 &&
		p.DH == 1 && p.DW == 1 && p.PH <= 2 && p.PW <= 2 &&
		bestKernel.mr == 8 && bestKernel.nr%16 == 0
}

// winogradOK reports whether op of p takes the Winograd path: eligible
// shapes where it was measured faster than the direct path and the
// implicit GEMM.
func winogradOK(p *tensor.ConvParams, op convOp) bool {
	if winoOff || forceDirect || !winogradEligible(p) {
		return false
	}
	if forceWino {
		return true
	}
	return winoKernels == asmWinoKernels && asmWinoKernels != nil &&
		p.C >= 64 && p.K >= 64 && p.OH*p.OW >= 14*14
}

// winoStride returns the distance between the 16 matrices of a chunk
// holding n floats each: n rounded up to a multiple of 16 (64-byte aligned
// panels) plus 16, so that the 16 matrices' elements at the same index,
// which the transforms read or write together, do not all map to the same
// L1 cache set (n·4 bytes is often a multiple of 4 KiB).
func winoStride(n int) int { return (n+15)/16*16 + 16 }

// winoWeights writes U = G g Gᵀ for every (k, c) of w [K][C][3][3] as 16
// matrices [ξ][K][C] (kc apart); with flip, g is w[c][k] rotated 180° (K and
// C being the transposed conv's, i.e. w is [C][K][3][3]).
func winoWeights(w []float32, K, C, kc int, flip bool, u []float32) {
	for k := 0; k < K; k++ {
		for c := 0; c < C; c++ {
			var g [9]float32
			if flip {
				src := w[(c*K+k)*9 : (c*K+k)*9+9]
				for i := range g {
					g[i] = src[8-i]
				}
			} else {
				copy(g[:], w[(k*C+c)*9:(k*C+c)*9+9])
			}
			// G g: 4×3
			var t [12]float32
			for j := 0; j < 3; j++ {
				g0, g1, g2 := g[j], g[3+j], g[6+j]
				t[j] = g0
				t[3+j] = 0.5 * (g0 + g1 + g2)
				t[6+j] = 0.5 * (g0 - g1 + g2)
				t[9+j] = g2
			}
			// (G g) Gᵀ: 4×4
			o := k*C + c
			for i := 0; i < 4; i++ {
				r0, r1, r2 := t[3*i], t[3*i+1], t[3*i+2]
				u[(4*i)*kc+o] = r0
				u[(4*i+1)*kc+o] = 0.5 * (r0 + r1 + r2)
				u[(4*i+2)*kc+o] = 0.5 * (r0 - r1 + r2)
				u[(4*i+3)*kc+o] = r2
			}
		}
	}
}

// winoGroups returns the number of 16-tile groups per forward chunk for c
// input and k output channels: a multiple of 3 (the chunk's T = 16·groups
// tiles then fill whole 48-column panels), with V (16·c·T) and M (16·k·T)
// about 2 MiB together (T = 240 at 64 channels, 96 at 128, 48 at 256:
// measured best of 48…288 on the WRN-16-4 layers, BenchmarkWinogradLayer).
func winoGroups(c, k int) int {
	g := (1 << 19) / (16 * 16 * (c + k)) / 3 * 3
	return max(3, min(g, 18))
}

// winoConv runs the forward Winograd convolution of p; u holds U [ξ][K][C]
// (winoWeights, kc = K·C).
func (be *Backend) winoConv(p *tensor.ConvParams, ys, xs, u []float32) {
	kn := bestKernel
	kern := winoKernels
	mr, nr := kn.mr, kn.nr
	N, C, K, H, W, OH, OW := p.N, p.C, p.K, p.H, p.W, p.OH, p.OW
	hw, ohw := H*W, OH*OW
	n16 := (N + 15) / 16 * 16
	ldn := padLD(n16)
	psx, psy := pixStride(C, ldn), pixStride(K, ldn)
	// y has one dummy pixel per worker after its ohw pixels, for the
	// outputs of tiles that stick out of the output.
	workers := be.threads
	xt, yt := getScratch(psx*(hw+1)), getScratch(psy*(ohw+workers))
	defer putScratch(xt)
	defer putScratch(yt)
	be.toPCN(xs, N, C, hw, ldn, psx, *xt)
	x, y := *xt, *yt
	clear(x[hw*psx : hw*psx+C*ldn]) // the zero pixel
	mPad := (K + mr - 1) / mr * mr
	apack := getScratch(16 * mPad * C)
	defer putScratch(apack)
	for xi := 0; xi < 16; xi++ {
		packWeights(kn, u, xi*K*C, K, C, (*apack)[xi*mPad*C:])
	}
	tW := (OW + 1) / 2
	nb := n16 / 16
	groups := (OH + 1) / 2 * tW * nb
	gc := winoGroups(C, K)
	T := 16 * gc
	nch := (groups + gc - 1) / gc
	vs, ms := winoStride(C*T), winoStride(K*T)
	slots := make(chan int, workers)
	for i := range workers {
		slots <- i
	}
	be.parallelDyn(nch, 1, func(lo, hi int) {
		s := getWinoScratch(kn, 16*vs, 16*ms)
		defer winoPool.Put(s)
		slot := <-slots
		defer func() { slots <- slot }()
		dummy := (ohw + slot) * psy * 4 // byte offset of this worker's dummy pixel
		var offs [16]int
		var oo [4]int
		for ch := lo; ch < hi; ch++ {
			g0 := ch * gc
			ng := min(gc, groups-g0)
			nt := 16 * ng
			for gi := 0; gi < ng; gi++ {
				tp, b := (g0+gi)/nb, (g0+gi)%nb
				ih0, iw0 := 2*(tp/tW)-p.PH, 2*(tp%tW)-p.PW
				for r := 0; r < 4; r++ {
					for c := 0; c < 4; c++ {
						ih, iw := ih0+r, iw0+c
						pix := hw
						if ih >= 0 && ih < H && iw >= 0 && iw < W {
							pix = ih*W + iw
						}
						offs[4*r+c] = (pix*psx + 16*b) * 4
					}
				}
				t := 16 * gi
				for pc := 0; pc < C; pc += convKC {
					kb := min(convKC, C-pc)
					o := pc*T + t/nr*nr*kb + t%nr
					_ = s.v[o+15*vs+(kb-1)*nr+15]
					kern.in(kb, &x[pc*ldn], &offs[0], ldn*4, &s.v[o], nr*4, vs*4)
				}
			}
			for xi := 0; xi < 16; xi++ {
				for pc := 0; pc < C; pc += convKC {
					kb := min(convKC, C-pc)
					ab := (*apack)[xi*mPad*C+pc*mPad:]
					bb := s.v[xi*vs+pc*T:]
					beta := float32(0)
					if pc > 0 {
						beta = 1
					}
					for ir := 0; ir < K; ir += mr {
						for jr := 0; jr < nt; jr += nr {
							microTile(kn, kb, ab[ir*kb:], bb[jr*kb:], s.m, xi*ms+ir*T+jr, T, min(mr, K-ir), nr, beta, s.tile)
						}
					}
				}
			}
			for gi := 0; gi < ng; gi++ {
				tp, b := (g0+gi)/nb, (g0+gi)%nb
				oh0, ow0 := 2*(tp/tW), 2*(tp%tW)
				for r := 0; r < 2; r++ {
					for c := 0; c < 2; c++ {
						if oh, ow := oh0+r, ow0+c; oh < OH && ow < OW {
							oo[2*r+c] = ((oh*OW+ow)*psy + 16*b) * 4
						} else {
							oo[2*r+c] = dummy
						}
					}
				}
				_ = s.m[15*ms+(K-1)*T+16*gi+15]
				kern.out(K, &s.m[16*gi], ms*4, T*4, &y[0], &oo[0], ldn*4)
			}
		}
	})
	be.fromPCN(y, N, K, ohw, ldn, psy, ys)
}

// winogradForward computes y = conv(x, w) for an eligible p.
func (be *Backend) winogradForward(p *tensor.ConvParams, ys, xs, ws []float32) {
	u := getScratch(16 * p.K * p.C)
	defer putScratch(u)
	winoWeights(ws, p.K, p.C, p.K*p.C, false, *u)
	be.winoConv(p, ys, xs, *u)
}

// winogradBackwardData computes dx as the forward Winograd convolution of
// dy with the rotated, transposed kernel: padding 2−p, output H×W.
func (be *Backend) winogradBackwardData(p *tensor.ConvParams, dxs, dys, ws []float32) {
	q := tensor.ConvParams{N: p.N, C: p.K, H: p.OH, W: p.OW, K: p.C, Groups: 1,
		KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PH: 2 - p.PH, PW: 2 - p.PW, OH: p.H, OW: p.W}
	u := getScratch(16 * p.K * p.C)
	defer putScratch(u)
	winoWeights(ws, q.K, q.C, q.K*q.C, true, *u)
	be.winoConv(&q, dxs, dys, *u)
}

// winoFilterTiles is the number of tiles per filter chunk: the depth of
// its GEMMs.
const winoFilterTiles = 192

// winogradBackwardFilter computes dw (summed over the batch) for an
// eligible p: each worker accumulates dU [ξ][K][C] over its chunks, the
// workers' sums are added and dW = Gᵀ dU G. The chunk's transformed x and
// dy are [ξ][tile][channel] (channels innermost, as the 16-lane transforms
// of the channels-last copies produce them), and the GEMMs over the tiles
// run on the direct convolution's micro-kernels (dirFn: 8 rows of K by
// 16·nv columns of C, so that no column is wasted on padding C to the
// SGEMM kernel's 48).
func (be *Backend) winogradBackwardFilter(p *tensor.ConvParams, dw, xs, dys []float32) {
	kern := winoKernels
	fns := goDirKernels.fns
	if asmDirKernels != nil {
		fns = asmDirKernels.fns
	}
	N, C, K, H, W, OH, OW := p.N, p.C, p.K, p.H, p.W, p.OH, p.OW
	hw, ohw := H*W, OH*OW
	c16, k16 := (C+15)/16*16, (K+15)/16*16
	ldc, ldk := padLD(c16), padLD(k16)
	psx, psy := pixStride(N, ldc), pixStride(N, ldk)
	xt, dyt := getScratch(psx*(hw+1)), getScratch(psy*(ohw+1))
	defer putScratch(xt)
	defer putScratch(dyt)
	be.toPNC(xs, N, C, hw, ldc, psx, *xt)
	be.toPNC(dys, N, K, ohw, ldk, psy, *dyt)
	x, dy := *xt, *dyt
	clear(x[hw*psx : hw*psx+N*ldc]) // the zero pixels
	clear(dy[ohw*psy : ohw*psy+N*ldk])
	tW := (OW + 1) / 2
	tiles := (OH + 1) / 2 * tW * N
	T := winoFilterTiles
	nch := (tiles + T - 1) / T
	workers := min(be.threads, nch)
	kp := (K + 7) / 8 * 8
	ka := kp * c16 // one ξ of an accumulator [ξ][kp][c16]
	vs, as := winoStride(ldc*T), winoStride(ldk*T)
	slices := vecSlices(c16)
	accs := make([]*[]float32, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for wi := 0; wi < workers; wi++ {
		wg.Add(1)
		go func(wi int) {
			defer wg.Done()
			acc := getScratch(16 * ka)
			clear(*acc)
			accs[wi] = acc
			s := getWinoScratch(bestKernel, 16*vs, 16*as)
			defer winoPool.Put(s)
			var offs [16]int
			var oo [4]int
			zero := [1]int{}
			for {
				ch := int(next.Add(1) - 1)
				if ch >= nch {
					return
				}
				t0 := ch * T
				nt := min(T, tiles-t0)
				for i := 0; i < nt; i++ {
					tp, n := (t0+i)/N, (t0+i)%N
					th, tw := tp/tW, tp%tW
					ih0, iw0 := 2*th-p.PH, 2*tw-p.PW
					for r := 0; r < 4; r++ {
						for c := 0; c < 4; c++ {
							ih, iw := ih0+r, iw0+c
							pix := hw
							if ih >= 0 && ih < H && iw >= 0 && iw < W {
								pix = ih*W + iw
							}
							offs[4*r+c] = (pix*psx + n*ldc) * 4
						}
					}
					_ = s.v[15*vs+i*ldc+c16-1]
					kern.in(c16/16, &x[0], &offs[0], 64, &s.v[i*ldc], 64, vs*4)
					for r := 0; r < 2; r++ {
						for c := 0; c < 2; c++ {
							pix := ohw
							if oh, ow := 2*th+r, 2*tw+c; oh < OH && ow < OW {
								pix = oh*OW + ow
							}
							oo[2*r+c] = (pix*psy + n*ldk) * 4
						}
					}
					_ = s.m[15*as+i*ldk+k16-1]
					kern.grad(k16/16, &dy[0], &oo[0], 64, &s.m[i*ldk], 64, as*4, 32)
				}
				for xi := 0; xi < 16; xi++ {
					for k0 := 0; k0 < kp; k0 += 8 {
						for _, sl := range slices {
							o := xi*ka + k0*c16 + sl.start
							_ = (*acc)[o+7*c16+16*sl.nv-1]
							_ = s.v[xi*vs+(nt-1)*ldc+sl.start+16*sl.nv-1]
							_ = s.m[xi*as+(nt-1)*ldk+k0+7]
							fns[dirShape{8, sl.nv}](1, &zero[0], &zero[0], &s.v[xi*vs+sl.start], &s.m[xi*as+k0], ldc*4, ldk*4, nt, &(*acc)[o], c16*4, 1)
						}
					}
				}
			}
		}(wi)
	}
	wg.Wait()
	du := *accs[0]
	for _, a := range accs[1:] {
		for i, v := range (*a)[:16*ka] {
			du[i] += v
		}
		putScratch(a)
	}
	// dW = Gᵀ dU G per (k, c).
	for o := 0; o < K*C; o++ {
		ao := o/C*c16 + o%C
		var t [12]float32 // Gᵀ dU: 3×4
		for j := 0; j < 4; j++ {
			u0, u1, u2, u3 := du[j*ka+ao], du[(4+j)*ka+ao], du[(8+j)*ka+ao], du[(12+j)*ka+ao]
			t[j] = u0 + 0.5*(u1+u2)
			t[4+j] = 0.5 * (u1 - u2)
			t[8+j] = 0.5*(u1+u2) + u3
		}
		g := dw[o*9 : o*9+9]
		for i := 0; i < 3; i++ {
			u0, u1, u2, u3 := t[4*i], t[4*i+1], t[4*i+2], t[4*i+3]
			g[3*i] = u0 + 0.5*(u1+u2)
			g[3*i+1] = 0.5 * (u1 - u2)
			g[3*i+2] = 0.5*(u1+u2) + u3
		}
	}
	putScratch(accs[0])
}
