package cpu

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/dash-go/dash/tensor"
)

// Winograd convolution F(m×m, 3×3), m = 2 or 4, for 3×3, stride-1,
// undilated, ungrouped 2-D convolutions (Lavin & Gray 2016). The output is
// cut into m×m tiles, each computed from an a×a input tile (a = m+2, tiles
// overlapping by 2):
//
//	Y = Aᵀ [U ⊙ V] A,  U = G g Gᵀ (a×a per (k, c)),  V = Bᵀ d B (a×a per tile, c)
//
// so that each of the a² positions ξ of the transformed tile is one GEMM
// over the channels: a²·K·C·T multiply-adds for T tiles of m² outputs
// instead of the direct convolution's 9·m²·K·C·T (2.25× fewer for
// F(2×2), 4× for F(4×4)):
//
//	forward:         M[ξ] (K×T) = U[ξ] (K×C) · V[ξ] (C×T), then Y = Aᵀ M A
//	backward data:   the forward convolution of dy with the kernel rotated
//	                 180° and in/out channels swapped, padding 2−p
//	backward filter: dU[ξ] (K×C) = Σ_tiles (A dY Aᵀ)[ξ] (K×T) · V[ξ]ᵀ (T×C),
//	                 dW = Gᵀ dU G   (from y = Aᵀ[(Gg)⊙(Bᵀd)] ⇒
//	                 dg = Gᵀ[(A dy Aᵀ)⊙(Bᵀ d B)]G)
//
// with the 1-D matrices of wino2 and wino4 (F(2×2): Bᵀ = [1 0 -1 0; 0 1 1 0;
// 0 -1 1 0; 0 1 0 -1], G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1], Aᵀ = [1 1 1 0;
// 0 1 -1 -1]). F(4×4) does fewer multiplies but its transforms have larger
// coefficients (fp32 error ~1e-5 of Σ|terms| against ~2e-6) and its a² = 36
// matrices of U and of the accumulated dU are larger, which costs on small
// maps and wide layers (see winogradOK for which one each op uses).
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
// as depth. Tiles are processed in chunks (tens to hundreds of tiles), one
// chunk per thread at a time (handed out dynamically), so that a chunk's V
// and M stay in L2 between the transforms and the a² GEMMs. The transforms write
// straight into the packed panel layouts of the SGEMM micro-kernel
// (sgemm.go) and U is computed straight into them once per call (packU), so
// the forward GEMMs are bare micro-kernel loops (microTile); the filter's
// run on the direct path's micro-kernels (dirFn). Taps outside the input read a zero pixel
// appended to the copy, and outputs outside the output (odd sizes) go to a
// per-worker dummy pixel appended to the output copy, so any H, W and
// padding work.

// winoKernelSet holds the three vector transforms of a winoAlg.
type winoKernelSet struct {
	name string
	in   func(n int, src *float32, offs *int, srcStep int, dst *float32, dstStep, dstXi int)
	out  func(n int, src *float32, srcXi, srcStep int, dst *float32, offs *int, dstStep int)
	grad func(n int, src *float32, offs *int, srcStep int, dst *float32, dstStep, dstXi, half int)
}

// winoAlg is one Winograd algorithm F(m×m, 3×3): a×a input tiles (a = m+2)
// for m×m output tiles, with its matrices Bᵀ (a×a), G (a×3) and Aᵀ (m×a)
// and its transforms (winoKernelSet, 16 lanes; offsets and strides in
// bytes):
//
//	in:   for i < n: d[j] = src[offs[j]] (j = a·r+c of the input tile),
//	      dst[ξ·dstXi] = (Bᵀ d B)[ξ]; src += srcStep, dst += dstStep
//	out:  for i < n: M[ξ] = src[ξ·srcXi], dst[offs[j]] = (Aᵀ M A)[j]
//	      (j = m·r+c); src += srcStep, dst += dstStep
//	grad: for i < n: g[j] = src[offs[j]] (j = m·r+c), D = A g Aᵀ, lanes
//	      0–7 of D[ξ] at dst + ξ·dstXi and lanes 8–15 at dst + ξ·dstXi +
//	      half; src += srcStep, dst += dstStep
type winoAlg struct {
	name      string
	m, a      int
	bt, g, at [][]float64
	asm, gok  *winoKernelSet
}

// wino2 is F(2×2, 3×3): 2.25× fewer multiplies than the direct
// convolution, transforms with coefficients ±1 (and ½ in G).
var wino2 = newWinoAlg("F2", 2,
	[][]float64{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}},
	[][]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}},
	[][]float64{{1, 1, 1, 0}, {0, 1, -1, -1}},
	asmWinoKernels)

// wino4 is F(4×4, 3×3): 4× fewer multiplies, transforms with coefficients
// up to 8 (rounding errors a few times F(2×2)'s, see TestWinogradAgainstNaive).
var wino4 = newWinoAlg("F4", 4,
	[][]float64{{4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
		{0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}},
	[][]float64{{1.0 / 4, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
		{1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}},
	[][]float64{{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}},
	asmWino4Kernels)

// winoUseGo makes the Winograd path use the Go transforms (tests).
var winoUseGo bool

func (al *winoAlg) kernels() *winoKernelSet {
	if al.asm == nil || winoUseGo {
		return al.gok
	}
	return al.asm
}

func newWinoAlg(name string, m int, bt, g, at [][]float64, asm *winoKernelSet) *winoAlg {
	al := &winoAlg{name: name, m: m, a: m + 2, bt: bt, g: g, at: at, asm: asm}
	al.gok = &winoKernelSet{name: "go", in: al.inGo, out: al.outGo, grad: al.gradGo}
	return al
}

func lanes(p *float32, off int) []float32 {
	return unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(p), off)), 16)
}

// sandwich returns L X Lᵀ for X q×q (row-major) and L p×q.
func sandwich(l [][]float64, x []float64) []float64 {
	p, q := len(l), len(l[0])
	return sandwichInto(l, x, make([]float64, p*q), make([]float64, p*p))
}

// sandwichInto computes L X Lᵀ into out (p·p) with t (p·q) as scratch.
func sandwichInto(l [][]float64, x, t, out []float64) []float64 {
	p, q := len(l), len(l[0])
	for i := 0; i < p; i++ {
		for j := 0; j < q; j++ {
			var s float64
			for k := 0; k < q; k++ {
				s += l[i][k] * x[k*q+j]
			}
			t[i*q+j] = s
		}
	}
	for i := 0; i < p; i++ {
		for j := 0; j < p; j++ {
			var s float64
			for k := 0; k < q; k++ {
				s += t[i*q+k] * l[j][k]
			}
			out[i*p+j] = s
		}
	}
	return out
}

func transposeM(m [][]float64) [][]float64 {
	t := make([][]float64, len(m[0]))
	for j := range t {
		t[j] = make([]float64, len(m))
		for i := range m {
			t[j][i] = m[i][j]
		}
	}
	return t
}

func (al *winoAlg) inGo(n int, src *float32, offs *int, srcStep int, dst *float32, dstStep, dstXi int) {
	na := al.a * al.a
	o := unsafe.Slice(offs, na)
	d := make([]float64, na)
	for i := 0; i < n; i++ {
		for l := 0; l < 16; l++ {
			for j := range d {
				d[j] = float64(lanes(src, o[j])[l])
			}
			for xi, x := range sandwich(al.bt, d) {
				lanes(dst, xi*dstXi)[l] = float32(x)
			}
		}
		src = (*float32)(unsafe.Add(unsafe.Pointer(src), srcStep))
		dst = (*float32)(unsafe.Add(unsafe.Pointer(dst), dstStep))
	}
}

func (al *winoAlg) outGo(n int, src *float32, srcXi, srcStep int, dst *float32, offs *int, dstStep int) {
	na := al.a * al.a
	o := unsafe.Slice(offs, al.m*al.m)
	mv := make([]float64, na)
	for i := 0; i < n; i++ {
		for l := 0; l < 16; l++ {
			for xi := range mv {
				mv[xi] = float64(lanes(src, xi*srcXi)[l])
			}
			for j, v := range sandwich(al.at, mv) {
				lanes(dst, o[j])[l] = float32(v)
			}
		}
		src = (*float32)(unsafe.Add(unsafe.Pointer(src), srcStep))
		dst = (*float32)(unsafe.Add(unsafe.Pointer(dst), dstStep))
	}
}

func (al *winoAlg) gradGo(n int, src *float32, offs *int, srcStep int, dst *float32, dstStep, dstXi, half int) {
	o := unsafe.Slice(offs, al.m*al.m)
	a := transposeM(al.at)
	g := make([]float64, al.m*al.m)
	for i := 0; i < n; i++ {
		for l := 0; l < 16; l++ {
			for j := range g {
				g[j] = float64(lanes(src, o[j])[l])
			}
			for xi, v := range sandwich(a, g) {
				off := xi * dstXi
				if l >= 8 {
					off += half
				}
				(*[8]float32)(unsafe.Add(unsafe.Pointer(dst), off))[l%8] = float32(v)
			}
		}
		src = (*float32)(unsafe.Add(unsafe.Pointer(src), srcStep))
		dst = (*float32)(unsafe.Add(unsafe.Pointer(dst), dstStep))
	}
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
// paths); forceWino makes winogradOK take every shape it can run, with
// forceAlg (nil: the default, winoAlgFor) as the algorithm.
var (
	winoOff, forceWino bool
	forceAlg           *winoAlg
)

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
// shapes where it was measured faster than the other paths, with the
// AVX-512 transforms. In CPU ms per op (BenchmarkConvWRN, WRN-16-4 at batch
// 64, path without Winograd → F(2×2) → F(4×4), on the 2-core benchmark
// machine under a load of ~2.5):
//
//	                        forward           data              filter
//	16→64, 28×28:     8.0 → 21.9 → 5.8   10.6 → 8.1 → 8.8    9.4 → 11.1 → 10.4
//	64→64, 28×28:    22.2 → 28.0 → 12.4  22.1 → 19.0 → 12.7  23.7 → 19.8 → 16.9
//	128→128, 14×14:  19.7 → 15.0 → 11.5  19.0 → 13.9 → 12.1  22.3 → 15.4 → 18.9
//	256→256, 7×7:    16.9 → 19.3 → 18.3  18.5 → 16.8 → 17.8  20.0 → 25.2 → 35.4
//
// So: maps of at least 14×14 (on 7×7 the tiles cover 8×8, and the direct
// path skips the padding taps), forward and data with 16+ channels on one
// side and 64+ on the other (F(4×4)), the filter with 64+ on both (F(4×4)
// on 28×28 and larger, F(2×2) below; see winoAlgFor). The WRN-16-1 demo
// network (16–64 channels, its 64-channel convs on 7×7) keeps the other
// paths.
func winogradOK(p *tensor.ConvParams, op convOp) bool {
	if winoOff || forceDirect || !winogradEligible(p) {
		return false
	}
	if forceWino {
		return true
	}
	if asmWinoKernels == nil || asmWino4Kernels == nil || winoUseGo || p.OH*p.OW < 14*14 {
		return false
	}
	if op == opFilter {
		return p.C >= 64 && p.K >= 64
	}
	if op == opForward && p.C < 64 && p.N%16 != 0 {
		// the batch is padded to 16 lanes: at batch 10, 16→64 on 85×85
		// (Darcy) takes 16.4 ms against 11.8 without Winograd (64→64 on
		// 22×22 at batch 10 or 20, and the data gradients, still win)
		return false
	}
	return min(p.C, p.K) >= 16 && max(p.C, p.K) >= 64
}

// winoAlgFor returns the algorithm op of p uses (see winogradOK).
func winoAlgFor(p *tensor.ConvParams, op convOp) *winoAlg {
	if forceAlg != nil {
		return forceAlg
	}
	if op == opFilter && p.OH*p.OW < 28*28 {
		return wino2
	}
	return wino4
}

// winoStride returns the distance between the a² matrices of a chunk
// holding n floats each: n rounded up to a multiple of 16 (64-byte aligned
// panels) plus 16, so that the matrices' elements at the same index, which
// the transforms read or write together, do not all map to the same L1
// cache set (n·4 bytes is often a multiple of 4 KiB).
func winoStride(n int) int { return (n+15)/16*16 + 16 }

// packU computes U = G g Gᵀ for every (k, c) of w [K][C][3][3] and writes
// the a² matrices U[ξ] (K×C) packed for the SGEMM micro-kernel
// (packWeights' layout, mPad·C floats apart); with flip, g is w[c][k]
// rotated 180° (K and C being the transposed conv's, i.e. w is
// [C][K][3][3]). Parallel over blocks of mr rows; each (row block, c)
// writes a run of mr floats to every U[ξ].
func (be *Backend) packU(al *winoAlg, w []float32, K, C int, flip bool, apack []float32) {
	mr := bestKernel.mr
	mPad := (K + mr - 1) / mr * mr
	ta := al.a
	na := ta * ta
	var gm [6][3]float64
	for i := range ta {
		copy(gm[i][:], al.g[i])
	}
	be.parallel(mPad/mr, 1, func(lo, hi int) {
		tmp := make([]float32, na*mr)
		for ir := lo * mr; ir < hi*mr; ir += mr {
			for c := 0; c < C; c++ {
				for i := 0; i < mr; i++ {
					k := ir + i
					if k >= K {
						for xi := 0; xi < na; xi++ {
							tmp[xi*mr+i] = 0
						}
						continue
					}
					var g [9]float64
					if flip {
						src := w[(c*K+k)*9 : (c*K+k)*9+9]
						for j := range g {
							g[j] = float64(src[8-j])
						}
					} else {
						for j, v := range w[(k*C+c)*9 : (k*C+c)*9+9] {
							g[j] = float64(v)
						}
					}
					var t [6][3]float64 // G g
					for r := 0; r < ta; r++ {
						for j := 0; j < 3; j++ {
							t[r][j] = gm[r][0]*g[j] + gm[r][1]*g[3+j] + gm[r][2]*g[6+j]
						}
					}
					for r := 0; r < ta; r++ {
						for q := 0; q < ta; q++ {
							tmp[(r*ta+q)*mr+i] = float32(t[r][0]*gm[q][0] + t[r][1]*gm[q][1] + t[r][2]*gm[q][2])
						}
					}
				}
				pc := c / convKC * convKC
				kb := min(convKC, C-pc)
				o := pc*mPad + ir*kb + (c-pc)*mr
				for xi := 0; xi < na; xi++ {
					copy(apack[xi*mPad*C+o:xi*mPad*C+o+mr], tmp[xi*mr:(xi+1)*mr])
				}
			}
		}
	})
}

// winoGroups returns the number of 16-tile groups per forward chunk for c
// input and k output channels and a² matrices: a multiple of 3 (the
// chunk's T = 16·groups tiles then fill whole 48-column panels), with V
// (a²·c·T) and M (a²·k·T) about 2 MiB together (for F(2×2): T = 240 at 64
// channels, 96 at 128, 48 at 256: measured best of 48…288 on the WRN-16-4
// layers, BenchmarkWinogradLayer).
func winoGroups(c, k, na int) int {
	g := (1 << 19) / (na * 16 * (c + k)) / 3 * 3
	return max(3, min(g, 18))
}

// winoConv runs the forward Winograd convolution of p with al, with the
// weights w ([K][C][3][3], or [C][K][3][3] rotated with flip: see packU).
func (be *Backend) winoConv(al *winoAlg, p *tensor.ConvParams, ys, xs, w []float32, flip bool) {
	kn := bestKernel
	kern := al.kernels()
	mr, nr := kn.mr, kn.nr
	ta, tm := al.a, al.m
	na := ta * ta
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
	apack := getScratch(na * mPad * C)
	defer putScratch(apack)
	be.packU(al, w, K, C, flip, *apack)
	tW := (OW + tm - 1) / tm
	nb := n16 / 16
	groups := (OH + tm - 1) / tm * tW * nb
	gc := winoGroups(C, K, na)
	T := 16 * gc
	nch := (groups + gc - 1) / gc
	vs, ms := winoStride(C*T), winoStride(K*T)
	slots := make(chan int, workers)
	for i := range workers {
		slots <- i
	}
	be.parallelDyn(nch, 1, func(lo, hi int) {
		s := getWinoScratch(kn, na*vs, na*ms)
		defer winoPool.Put(s)
		slot := <-slots
		defer func() { slots <- slot }()
		dummy := (ohw + slot) * psy * 4 // byte offset of this worker's dummy pixel
		var offs [36]int
		var oo [16]int
		for ch := lo; ch < hi; ch++ {
			g0 := ch * gc
			ng := min(gc, groups-g0)
			nt := 16 * ng
			for gi := 0; gi < ng; gi++ {
				tp, b := (g0+gi)/nb, (g0+gi)%nb
				ih0, iw0 := tm*(tp/tW)-p.PH, tm*(tp%tW)-p.PW
				for r := 0; r < ta; r++ {
					for c := 0; c < ta; c++ {
						ih, iw := ih0+r, iw0+c
						pix := hw
						if ih >= 0 && ih < H && iw >= 0 && iw < W {
							pix = ih*W + iw
						}
						offs[ta*r+c] = (pix*psx + 16*b) * 4
					}
				}
				t := 16 * gi
				for pc := 0; pc < C; pc += convKC {
					kb := min(convKC, C-pc)
					o := pc*T + t/nr*nr*kb + t%nr
					_ = s.v[o+(na-1)*vs+(kb-1)*nr+15]
					kern.in(kb, &x[pc*ldn], &offs[0], ldn*4, &s.v[o], nr*4, vs*4)
				}
			}
			for xi := 0; xi < na; xi++ {
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
				oh0, ow0 := tm*(tp/tW), tm*(tp%tW)
				for r := 0; r < tm; r++ {
					for c := 0; c < tm; c++ {
						if oh, ow := oh0+r, ow0+c; oh < OH && ow < OW {
							oo[tm*r+c] = ((oh*OW+ow)*psy + 16*b) * 4
						} else {
							oo[tm*r+c] = dummy
						}
					}
				}
				_ = s.m[(na-1)*ms+(K-1)*T+16*gi+15]
				kern.out(K, &s.m[16*gi], ms*4, T*4, &y[0], &oo[0], ldn*4)
			}
		}
	})
	be.fromPCN(y, N, K, ohw, ldn, psy, ys)
}

// winogradForward computes y = conv(x, w) for an eligible p.
func (be *Backend) winogradForward(p *tensor.ConvParams, ys, xs, ws []float32) {
	be.winoConv(winoAlgFor(p, opForward), p, ys, xs, ws, false)
}

// winogradBackwardData computes dx as the forward Winograd convolution of
// dy with the rotated, transposed kernel: padding 2−p, output H×W.
func (be *Backend) winogradBackwardData(p *tensor.ConvParams, dxs, dys, ws []float32) {
	al := winoAlgFor(p, opData)
	q := tensor.ConvParams{N: p.N, C: p.K, H: p.OH, W: p.OW, K: p.C, Groups: 1,
		KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PH: 2 - p.PH, PW: 2 - p.PW, OH: p.H, OW: p.W}
	be.winoConv(al, &q, dxs, dys, ws, true)
}

// winoFilterTiles is the number of tiles per filter chunk: the depth of
// its GEMMs (measured best of 48…256 for F(4×4) on 64 channels, within
// noise for F(2×2) and on 128).
const winoFilterTiles = 96

// winogradBackwardFilter computes dw (summed over the batch) for an
// eligible p: each accumulator group (accGroups, a fixed set of chunks)
// sums dU [ξ][K][C] over its chunks, the groups' sums are added in order
// and dW = Gᵀ dU G. The chunk's transformed x and
// dy are [ξ][tile][channel] (channels innermost, as the 16-lane transforms
// of the channels-last copies produce them), and the GEMMs over the tiles
// run on the direct convolution's micro-kernels (dirFn: 8 rows of K by
// 16·nv columns of C, so that no column is wasted on padding C to the
// SGEMM kernel's 48).
func (be *Backend) winogradBackwardFilter(p *tensor.ConvParams, dw, xs, dys []float32) {
	al := winoAlgFor(p, opFilter)
	kern := al.kernels()
	ta, tm := al.a, al.m
	na := ta * ta
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
	tW := (OW + tm - 1) / tm
	tiles := (OH + tm - 1) / tm * tW * N
	T := winoFilterTiles
	nch := (tiles + T - 1) / T
	workers := min(be.threads, nch)
	kp := (K + 7) / 8 * 8
	ka := kp * c16 // one ξ of an accumulator [ξ][kp][c16]
	vs, as := winoStride(ldc*T), winoStride(ldk*T)
	slices := vecSlices(c16)
	// accumulator groups as in directBackwardFilter: the same sums in
	// the same order whichever thread takes a group
	accs := make([]*[]float32, accGroups(nch, workers))
	next := new(atomic.Int64)
	var wg sync.WaitGroup
	for wi := 0; wi < workers; wi++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := getWinoScratch(bestKernel, na*vs, na*as)
			defer winoPool.Put(s)
			var offs [36]int
			var oo [16]int
			zero := [1]int{}
			for {
				gi, c0, c1, ok := nextGroup(next, len(accs), nch)
				if !ok {
					return
				}
				acc := getScratch(na * ka)
				clear(*acc)
				accs[gi] = acc
				for ch := c0; ch < c1; ch++ {
					t0 := ch * T
					nt := min(T, tiles-t0)
					for i := 0; i < nt; i++ {
						tp, n := (t0+i)/N, (t0+i)%N
						th, tw := tp/tW, tp%tW
						ih0, iw0 := tm*th-p.PH, tm*tw-p.PW
						for r := 0; r < ta; r++ {
							for c := 0; c < ta; c++ {
								ih, iw := ih0+r, iw0+c
								pix := hw
								if ih >= 0 && ih < H && iw >= 0 && iw < W {
									pix = ih*W + iw
								}
								offs[ta*r+c] = (pix*psx + n*ldc) * 4
							}
						}
						_ = s.v[(na-1)*vs+i*ldc+c16-1]
						kern.in(c16/16, &x[0], &offs[0], 64, &s.v[i*ldc], 64, vs*4)
						for r := 0; r < tm; r++ {
							for c := 0; c < tm; c++ {
								pix := ohw
								if oh, ow := tm*th+r, tm*tw+c; oh < OH && ow < OW {
									pix = oh*OW + ow
								}
								oo[tm*r+c] = (pix*psy + n*ldk) * 4
							}
						}
						_ = s.m[(na-1)*as+i*ldk+k16-1]
						kern.grad(k16/16, &dy[0], &oo[0], 64, &s.m[i*ldk], 64, as*4, 32)
					}
					for xi := 0; xi < na; xi++ {
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
			}
		}()
	}
	wg.Wait()
	du := *accs[0]
	be.parallel(na*ka, 4096, func(lo, hi int) {
		for _, a := range accs[1:] {
			for i, v := range (*a)[lo:hi] {
				du[lo+i] += v
			}
		}
	})
	for _, a := range accs[1:] {
		putScratch(a)
	}
	// dW = Gᵀ dU G per (k, c).
	gt := transposeM(al.g)
	be.parallel(K, 1, func(lo, hi int) {
		d, t, out := make([]float64, na), make([]float64, 3*ta), make([]float64, 9)
		for k := lo; k < hi; k++ {
			for c := 0; c < C; c++ {
				ao := k*c16 + c
				for xi := range d {
					d[xi] = float64(du[xi*ka+ao])
				}
				for i, v := range sandwichInto(gt, d, t, out) {
					dw[(k*C+c)*9+i] = float32(v)
				}
			}
		}
	})
	putScratch(accs[0])
}
