package cpu

//go:generate go run ./internal/sgemmgen -o sgemm_amd64.s
//go:generate go run ./internal/convgen -o convdirect_amd64.s
//go:generate go run ./internal/winogen -o winograd_amd64.s

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// This file holds the blocked float32 GEMM used by the CPU backend. It
// follows the GotoBLAS/BLIS design:
//
//	for jc over N in steps of nc          (the columns of this thread)
//	  for pc over K in steps of kc
//	    pack op(B)[pc:pc+kc, jc:jc+nc] into nr-column panels  (L2)
//	    for ic over M in steps of mc
//	      pack alpha·op(A)[ic:ic+mc, pc:pc+kc] into mr-row panels
//	      for ir over the A panels              (one A panel stays in L1)
//	        for jr over the B panels            (streamed from L2)
//	          micro-kernel: C[mr×nr] = A panel · B panel + beta·C
//
// (with aInL1 unset the two inner loops swap, keeping a B panel in L1).
// Transposes are absorbed by the packing routines, so the micro-kernel only
// ever sees two contiguous panels. alpha is folded into the packed A; beta is
// applied by the micro-kernel on the first kc block (and 1 afterwards), and a
// beta of zero never reads C, so garbage or NaN in C is ignored. Partial edge
// tiles are computed into a small scratch tile from zero-padded panels and
// merged into C by scalar code. A large GEMM is split over threads by rows or
// columns of C; a batch of GEMMs is spread over the threads.
//
// The micro-kernel is chosen at start-up from the CPU features: AVX-512F
// (8×48), AVX2+FMA (6×16), else a portable Go kernel (4×4); see
// supportedKernels.

// sgemmMicro computes the mr×nr tile C = Apanel·Bpanel + beta·C, where the
// A panel is k×mr (mr floats per k step), the B panel is k×nr and C is
// row-major with row stride ldc (in elements). beta must be +0 to mean "do not
// read C".
type sgemmMicro func(k int, a, b, c *float32, ldc int, beta float32)

// transposer sets dst[r*ldd+c] = src[c*lds+r] for r, c < 8.
type transposer func(dst *float32, ldd int, src *float32, lds int)

// sgemmKernel is a micro-kernel together with its register and cache
// blocking parameters.
type sgemmKernel struct {
	name       string
	mr, nr     int // micro-tile size
	kc, mc, nc int // cache blocks (elements of K, M and N)
	fn         sgemmMicro
	// aInL1 swaps the two innermost loops: each A micro-panel stays in L1
	// while the B block streams from L2 (instead of a B micro-panel in L1).
	aInL1 bool
	// tr transposes 8×8 blocks while packing; nil uses scalar code.
	tr transposer

	pool sync.Pool // *sgemmBufs
}

// sgemmBufs holds one thread's packing buffers.
type sgemmBufs struct {
	a, b, tile []float32
}

// alignedFloats returns a zeroed slice of n float32 whose first element is
// 64-byte aligned.
func alignedFloats(n int) []float32 {
	s := make([]float32, n+16)
	off := 0
	if r := uintptr(unsafe.Pointer(&s[0])) % 64; r != 0 {
		off = int(64-r) / 4
	}
	return s[off : off+n : off+n]
}

func (kn *sgemmKernel) getBufs() *sgemmBufs {
	if v := kn.pool.Get(); v != nil {
		return v.(*sgemmBufs)
	}
	return &sgemmBufs{
		a:    alignedFloats((kn.mc + kn.mr - 1) / kn.mr * kn.mr * kn.kc),
		b:    alignedFloats(kn.kc * ((kn.nc + kn.nr - 1) / kn.nr * kn.nr)),
		tile: alignedFloats(kn.mr * kn.nr),
	}
}

// sgemmArgs describes one row-major GEMM C = alpha·op(A)·op(B) + beta·C with
// op(A) m×k and op(B) k×n. lda, ldb and ldc are the row strides of the
// stored (untransposed) matrices.
type sgemmArgs struct {
	ta, tb  bool
	m, n, k int
	alpha   float32
	a       []float32
	lda     int
	b       []float32
	ldb     int
	beta    float32
	c       []float32
	ldc     int
}

// sgemmParallelMin is the m·n·k volume below which a GEMM runs on one thread.
const sgemmParallelMin = 1 << 19

// sgemm computes one GEMM with micro-kernel kn using up to threads
// goroutines. It checks that the slices are large enough before any
// unchecked memory access happens.
func sgemm(kn *sgemmKernel, g *sgemmArgs, threads int) {
	m, n, k := g.m, g.n, g.k
	if m <= 0 || n <= 0 {
		return
	}
	// Bounds: the last element each matrix needs must exist. The
	// micro-kernels write C through pointers, so this check matters.
	_ = g.c[(m-1)*g.ldc+n-1]
	if g.alpha == 0 || k <= 0 {
		sgemmScaleC(g)
		return
	}
	if g.ta {
		_ = g.a[(k-1)*g.lda+m-1]
	} else {
		_ = g.a[(m-1)*g.lda+k-1]
	}
	if g.tb {
		_ = g.b[(n-1)*g.ldb+k-1]
	} else {
		_ = g.b[(k-1)*g.ldb+n-1]
	}
	if g.beta == 0 {
		g.beta = 0 // normalise -0 so the kernels can test the bits
	}
	if threads > 1 && m*n*k >= sgemmParallelMin {
		// Split M or N into per-thread slabs aligned to the micro-tile;
		// each thread packs its own panels, so splitting M repeats the
		// packing of B and splitting N that of A. Pick the split with the
		// smaller per-thread cost.
		mt, nt := (m+kn.mr-1)/kn.mr, (n+kn.nr-1)/kn.nr
		wm, wn := min(threads, mt), min(threads, nt)
		rows := (mt + wm - 1) / wm * kn.mr
		cols := (nt + wn - 1) / wn * kn.nr
		const packCost = 32 // flops per packed element, roughly
		costM := 2*min(rows, m)*n*k + packCost*(k*n+min(rows, m)*k*((n+kn.nc-1)/kn.nc))
		costN := 2*m*min(cols, n)*k + packCost*(k*min(cols, n)+m*k*((min(cols, n)+kn.nc-1)/kn.nc))
		gp := *g // only this copy escapes into the goroutines
		switch {
		case wn >= 2 && (costN <= costM || wm < 2):
			// Each chunk repacks A (m×k): sgemmChunk keeps chunks wide
			// enough for this to stay a few percent of the work.
			per := sgemmChunk(nt, wn, kn.nr)
			sgemmDynamic(wn, (nt+per-1)/per, func(i int) {
				sgemmSerial(kn, &gp, 0, m, i*per*kn.nr, min((i+1)*per*kn.nr, n))
			})
			return
		case wm >= 2:
			per := sgemmChunk(mt, wm, kn.mr)
			sgemmDynamic(wm, (mt+per-1)/per, func(i int) {
				sgemmSerial(kn, &gp, i*per*kn.mr, min((i+1)*per*kn.mr, m), 0, n)
			})
			return
		}
	}
	sgemmSerial(kn, g, 0, m, 0, n)
}

// sgemmMinChunk is the smallest slab of rows or columns worth giving a
// thread separately: each slab repacks the other operand, which costs about
// packCost/(2·width) of its work.
const sgemmMinChunk = 768

// sgemmChunk returns how many tiles of size tile each work chunk gets when
// tiles are shared by workers: up to 8 chunks per worker, so that a worker
// slowed down by other load on the machine leaves its share to the others,
// but no chunk narrower than sgemmMinChunk unless that gives one chunk per
// worker.
func sgemmChunk(tiles, workers, tile int) int {
	per := (tiles + workers - 1) / workers // static split
	for f := 8; f > 1; f /= 2 {
		p := (tiles + workers*f - 1) / (workers * f)
		if p*tile >= sgemmMinChunk {
			return p
		}
	}
	return per
}

// sgemmDynamic runs f(0), …, f(chunks-1) on workers goroutines (the caller
// being one of them), handing out chunks in order as workers become free.
func sgemmDynamic(workers, chunks int, f func(i int)) {
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= chunks {
				return
			}
			f(i)
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < min(workers, chunks); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}

// sgemmScaleC sets C = beta·C (C = 0 when beta is zero, ignoring NaN).
func sgemmScaleC(g *sgemmArgs) {
	for i := 0; i < g.m; i++ {
		row := g.c[i*g.ldc : i*g.ldc+g.n]
		switch g.beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= g.beta
			}
		}
	}
}

// sgemmSerial computes rows [i0,i1) and columns [j0,j1) of C on the calling
// goroutine. g has been validated by sgemm.
func sgemmSerial(kn *sgemmKernel, g *sgemmArgs, i0, i1, j0, j1 int) {
	bufs := kn.getBufs()
	defer kn.pool.Put(bufs)
	nr := kn.nr
	k := g.k
	for jc := j0; jc < j1; jc += kn.nc {
		nb := min(kn.nc, j1-jc)
		for pc := 0; pc < k; pc += kn.kc {
			kb := min(kn.kc, k-pc)
			packB(kn.tr, bufs.b, g, pc, kb, jc, nb, nr)
			beta := g.beta
			if pc > 0 {
				beta = 1
			}
			for ic := i0; ic < i1; ic += kn.mc {
				mb := min(kn.mc, i1-ic)
				packA(kn.tr, bufs.a, g, ic, mb, pc, kb, kn.mr)
				if kn.aInL1 {
					for ir := 0; ir < mb; ir += kn.mr {
						for jr := 0; jr < nb; jr += nr {
							sgemmTile(kn, g, bufs, ic, ir, jc, jr, mb, nb, kb, beta)
						}
					}
				} else {
					for jr := 0; jr < nb; jr += nr {
						for ir := 0; ir < mb; ir += kn.mr {
							sgemmTile(kn, g, bufs, ic, ir, jc, jr, mb, nb, kb, beta)
						}
					}
				}
			}
		}
	}
}

// sgemmTile runs the micro-kernel for the tile at packed offsets (ir, jr) of
// the current (ic, jc) block, going through the scratch tile at the edges.
func sgemmTile(kn *sgemmKernel, g *sgemmArgs, bufs *sgemmBufs, ic, ir, jc, jr, mb, nb, kb int, beta float32) {
	mr, nr := kn.mr, kn.nr
	mm, nn := min(mr, mb-ir), min(nr, nb-jr)
	ap, bp := &bufs.a[ir*kb], &bufs.b[jr*kb]
	co := (ic+ir)*g.ldc + jc + jr
	if mm == mr && nn == nr {
		kn.fn(kb, ap, bp, &g.c[co], g.ldc, beta)
		return
	}
	tile := bufs.tile
	kn.fn(kb, ap, bp, &tile[0], nr, 0)
	for i := 0; i < mm; i++ {
		crow := g.c[co+i*g.ldc : co+i*g.ldc+nn]
		trow := tile[i*nr : i*nr+nn]
		if beta == 0 {
			copy(crow, trow)
		} else {
			for j, t := range trow {
				crow[j] = t + beta*crow[j]
			}
		}
	}
}

// packA packs alpha·op(A)[i0:i0+mb, p0:p0+kb] into consecutive mr-row panels
// of kb·mr floats each (element (i, p) of a panel at p·mr+i), zero-padding
// the last panel.
func packA(tr transposer, dst []float32, g *sgemmArgs, i0, mb, p0, kb, mr int) {
	alpha, a, lda := g.alpha, g.a, g.lda
	for ir := 0; ir < mb; ir += mr {
		mm := min(mr, mb-ir)
		d := dst[ir*kb : ir*kb+kb*mr]
		if g.ta {
			// op(A)[i][p] = a[p*lda+i]: rows of the panel are contiguous.
			base := p0*lda + i0 + ir
			for p := 0; p < kb; p++ {
				src := a[base+p*lda : base+p*lda+mm]
				dp := d[p*mr : p*mr+mr]
				if alpha == 1 {
					copy(dp, src)
				} else {
					for i, v := range src {
						dp[i] = alpha * v
					}
				}
				clear(dp[mm:])
			}
			continue
		}
		// op(A)[i][p] = a[i*lda+p]: a transposing copy.
		base := (i0+ir)*lda + p0
		packT(tr, d, mr, a[base:], lda, mm, kb)
		if alpha != 1 {
			for i, v := range d {
				d[i] = alpha * v
			}
		}
	}
}

// packT sets dst[p*ldd+j] = src[j*lds+p] for j < rows, p < kb, and zeroes
// columns rows..ldd-1 of the first kb rows of dst. tr, when not nil,
// transposes an 8×8 block.
func packT(tr transposer, dst []float32, ldd int, src []float32, lds, rows, kb int) {
	j := 0
	if tr != nil {
		for ; j+8 <= rows; j += 8 {
			p := 0
			for ; p+8 <= kb; p += 8 {
				_ = src[(j+7)*lds+p+7] // bounds for the assembly
				_ = dst[(p+7)*ldd+j+7]
				tr(&dst[p*ldd+j], ldd, &src[j*lds+p], lds)
			}
			for ; p < kb; p++ {
				for jj := j; jj < j+8; jj++ {
					dst[p*ldd+jj] = src[jj*lds+p]
				}
			}
		}
	}
	for ; j < rows; j++ {
		for p, v := range src[j*lds : j*lds+kb] {
			dst[p*ldd+j] = v
		}
	}
	if rows < ldd {
		for p := 0; p < kb; p++ {
			clear(dst[p*ldd+rows : p*ldd+ldd])
		}
	}
}

// packB packs op(B)[p0:p0+kb, j0:j0+nb] into consecutive nr-column panels of
// kb·nr floats each (element (p, j) of a panel at p·nr+j), zero-padding the
// last panel.
func packB(tr transposer, dst []float32, g *sgemmArgs, p0, kb, j0, nb, nr int) {
	b, ldb := g.b, g.ldb
	if !g.tb {
		// op(B)[p][j] = b[p*ldb+j]: stream each stored row once (long
		// contiguous reads) and deal it out to the panels.
		full := nb / nr * nr
		rem := nb - full
		for p := 0; p < kb; p++ {
			src := b[(p0+p)*ldb+j0 : (p0+p)*ldb+j0+nb]
			switch nr { // fixed-size copies compile to inline moves
			case 48:
				for jr := 0; jr < full; jr += 48 {
					*(*[48]float32)(dst[jr*kb+p*48:]) = *(*[48]float32)(src[jr:])
				}
			case 16:
				for jr := 0; jr < full; jr += 16 {
					*(*[16]float32)(dst[jr*kb+p*16:]) = *(*[16]float32)(src[jr:])
				}
			default:
				for jr := 0; jr < full; jr += nr {
					copy(dst[jr*kb+p*nr:jr*kb+p*nr+nr], src[jr:jr+nr])
				}
			}
			if rem > 0 {
				dp := dst[full*kb+p*nr : full*kb+p*nr+nr]
				copy(dp, src[full:])
				clear(dp[rem:])
			}
		}
		return
	}
	// op(B)[p][j] = b[j*ldb+p]: a transposing copy per panel.
	for jr := 0; jr < nb; jr += nr {
		nn := min(nr, nb-jr)
		packT(tr, dst[jr*kb:jr*kb+kb*nr], nr, b[(j0+jr)*ldb+p0:], ldb, nn, kb)
	}
}

// genericMicro4x4 is the portable 4×4 micro-kernel. It makes two passes
// over k, two rows each, so that the accumulators fit in registers.
func genericMicro4x4(k int, a, b, c *float32, ldc int, beta float32) {
	as := unsafe.Slice(a, 4*k)
	bs := unsafe.Slice(b, 4*k)
	cs := unsafe.Slice(c, 3*ldc+4)
	for r := 0; r < 4; r += 2 {
		var c00, c01, c02, c03 float32
		var c10, c11, c12, c13 float32
		ap, bp := as[r:], bs
		for len(ap) >= 2 && len(bp) >= 4 {
			b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
			a0, a1 := ap[0], ap[1]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			if len(ap) < 4 {
				break
			}
			ap, bp = ap[4:], bp[4:]
		}
		r0 := cs[r*ldc : r*ldc+4 : r*ldc+4]
		r1 := cs[(r+1)*ldc : (r+1)*ldc+4 : (r+1)*ldc+4]
		if beta != 0 {
			c00 += beta * r0[0]
			c01 += beta * r0[1]
			c02 += beta * r0[2]
			c03 += beta * r0[3]
			c10 += beta * r1[0]
			c11 += beta * r1[1]
			c12 += beta * r1[2]
			c13 += beta * r1[3]
		}
		r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
		r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
	}
}

// genericKernel is the portable kernel, used where no assembly kernel
// applies and by the tests.
var genericKernel = &sgemmKernel{
	name: "generic4x4",
	mr:   4, nr: 4,
	kc: 256, mc: 128, nc: 1024,
	fn: genericMicro4x4,
}

// bestKernel is the fastest kernel this machine supports.
var bestKernel = func() *sgemmKernel {
	ks := supportedKernels()
	return ks[len(ks)-1]
}()

// gemmBatch runs batch row-major GEMMs C_i = alpha·op(A_i)·op(B_i) + beta·C_i
// with kernel kn, where X_i starts at xOff + i·sx in x (a stride of 0 shares
// the matrix). A single GEMM uses all threads (at least GOMAXPROCS when
// threads is 0); several are spread over threads and each runs serially,
// unless there are too few of them to keep the threads busy.
func gemmBatch(kn *sgemmKernel, ta, tb bool, batch, m, n, k int, alpha float32, a []float32, aOff, sa int, b []float32, bOff, sb int, beta float32, c []float32, cOff, sc int, threads int) {
	if batch <= 0 || m <= 0 || n <= 0 {
		return
	}
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	lda, ldb := k, n
	if ta {
		lda = m
	}
	if tb {
		ldb = k
	}
	bt := sgemmBatch{
		g: sgemmArgs{
			ta: ta, tb: tb, m: m, n: n, k: k,
			alpha: alpha, beta: beta,
			lda: lda, ldb: ldb, ldc: n,
		},
		a: a, b: b, c: c,
		aOff: aOff, sa: sa, bOff: bOff, sb: sb, cOff: cOff, sc: sc,
	}
	if batch == 1 || threads == 1 ||
		batch%threads != 0 && batch < 4*threads && m*n*k >= sgemmParallelMin {
		// Serial batch loop; each GEMM may still be split over threads
		// (few large GEMMs: splitting the batch would leave threads idle).
		for i := 0; i < batch; i++ {
			bt.run(kn, i, threads)
		}
		return
	}
	bp := bt // only this copy escapes into the goroutines
	parallelFor(threads, batch, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			bp.run(kn, i, 1)
		}
	})
}

// sgemmBatch is a batch of equally shaped GEMMs.
type sgemmBatch struct {
	g                            sgemmArgs // shape and scalars; a, b, c unset
	a, b, c                      []float32
	aOff, sa, bOff, sb, cOff, sc int
}

// run computes batch entry i on up to threads goroutines.
func (bt *sgemmBatch) run(kn *sgemmKernel, i, threads int) {
	g := bt.g
	m, n, k := g.m, g.n, g.k
	asize, bsize := m*k, k*n
	if k <= 0 {
		asize, bsize = 0, 0
	}
	g.a = bt.a[bt.aOff+i*bt.sa : bt.aOff+i*bt.sa+asize]
	g.b = bt.b[bt.bOff+i*bt.sb : bt.bOff+i*bt.sb+bsize]
	g.c = bt.c[bt.cOff+i*bt.sc : bt.cOff+i*bt.sc+m*n]
	sgemm(kn, &g, threads)
}
