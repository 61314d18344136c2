package cpu

import (
	"sync"
	"sync/atomic"
)

// This file holds the fused GEMM path of ComplexContract. The operands are
// packed into the micro-kernel's panel format straight from their
// frequency-last layout [rows][F][2], a block of up to 16 consecutive
// frequencies at a time (a 128-byte run of every stored row per visit), and
// the per-frequency real results are scattered straight back into dst
// [M][N][F][2], again in runs of the block's frequencies. No
// frequency-major copy of any operand is made, and there is no separate
// complex-to-real split: the gather into frequency-major order happens
// inside the packing the GEMM needs anyway, and the scatter back inside the
// unpacking of its result.
//
// Each frequency's complex GEMM C = L·R (L: P×K, R: K×Q) runs as one real
// GEMM with an interleaved depth of 2K (index 2k for real parts, 2k+1 for
// imaginary ones) in one of two forms, the expanded operand taking the
// complex product's sign pattern:
//
//	expand R: C' (P × 2Q, columns 2q, 2q+1 = Re, Im of C[p][q])
//	    L' [p][2k], [p][2k+1] = Lr, Li
//	    R' [2k][2q], [2k][2q+1], [2k+1][2q], [2k+1][2q+1] = Rr, Ri, -Ri, Rr
//	expand L: C' (2P × Q, rows 2p, 2p+1 = Re, Im of C[p][q])
//	    L' [2p][2k], [2p][2k+1], [2p+1][2k], [2p+1][2k+1] = Lr, -Li, Li, Lr
//	    R' [2k][q], [2k+1][q] = Rr, Ri
//
// and either with (L, R) = (A, op(B)) or, transposed, (op(B)ᵀ, Aᵀ) writing
// Cᵀ. Of these four orientations the one with the least estimated work
// (micro-tile padding included) is used.

// contractKernel is the micro-kernel of the fused path (tests swap it).
var contractKernel = bestKernel

// contractOrient forces an orientation of the fused path (0-3: bit 0 expands
// L, bit 1 transposes); -1 picks the cheapest. For tests and benchmarks.
var contractOrient = -1

// contractFused enables the fused path (tests disable it to cover the
// frequency-major one).
var contractFused = true

// fusedBudget bounds one thread's scratch for a frequency block (packed
// operands and real results of all its frequencies), in bytes. Each
// frequency's share is reused from L2 by its GEMM (at B32 C64 a frequency
// takes ~108 KiB, a 16-frequency block ~1.7 MiB). Problems too large for
// fusedMinBlock frequencies use the frequency-major path.
var fusedBudget = 4 << 20

// fusedMaxBlock is the largest frequency block: 16 complex64 values, a
// 128-byte run (an adjacent-line pair) of every stored row per visit.
// Longer runs cost fewer TLB misses on the strided rows (they are ~F·8
// bytes apart) and measure faster in isolation (64: 15-16 ms against 17-19
// ms at B32 C64 F636), but the scratch of a 64-frequency block (~7 MiB per
// thread) evicts the data the rest of DASH's Fourier step works on and made
// the whole step ~10% slower; at 8 or 16 the step is fastest. Blocks are
// halved down to fusedMinBlock to fit fusedBudget. A variable for
// benchmarks.
var fusedMaxBlock = 16

const fusedMinBlock = 8

// fusedGroup is the number of stored rows the packing and scatter loops
// move together: the group's runs of the block stay in L1 while the loop
// over the block's frequencies fills (or drains) whole cache lines of each
// frequency's panels.
const fusedGroup = 8

// padStride rounds a per-frequency buffer size (floats) up to a whole,
// odd number of cache lines, so that the same offset in the buffers of
// consecutive frequencies does not map to the same L1 set.
func padStride(n int) int {
	n = (n + 15) &^ 15
	if n/16%2 == 0 {
		n += 16
	}
	return n
}

// fusedPlan is one orientation of the fused path.
type fusedPlan struct {
	l, r, c                      []complex64
	sLp, sLk, sRk, sRq, sCp, sCq int
	sgnL, sgnR                   float32 // sign of the imaginary parts (conj)
	P, Q, K, F                   int
	expL                         bool
	kr                           int // real depth 2K
	rowsP, colsP                 int // real GEMM size, padded to the micro-tile
	lsz, rsz                     int // packed floats per frequency
	ls, rs, ts                   int // per-frequency strides of the packed operands and of C'
	kn                           *sgemmKernel
	fb                           int // frequencies per block
}

// newFusedPlan builds orientation o (see contractOrient) and returns it
// with its estimated cost per frequency (in rough cycles).
func (cs *contract) newFusedPlan(o int, kn *sgemmKernel) (fusedPlan, float64) {
	sgn := float32(1)
	if cs.conj {
		sgn = -1
	}
	pl := fusedPlan{K: cs.K, F: cs.F, expL: o&1 != 0, kn: kn, sgnL: 1, sgnR: 1}
	a, b, c := complexView(cs.a), complexView(cs.b), complexView(cs.c)
	if o&2 == 0 { // C = A·op(B)
		pl.l, pl.P, pl.sLp, pl.sLk = a, cs.M, cs.sAm, cs.sAk
		pl.r, pl.Q, pl.sRk, pl.sRq = b, cs.N, cs.sBk, cs.sBn
		pl.sgnR = sgn
		pl.sCp, pl.sCq = cs.N, 1
	} else { // Cᵀ = op(B)ᵀ·Aᵀ
		pl.l, pl.P, pl.sLp, pl.sLk = b, cs.N, cs.sBn, cs.sBk
		pl.r, pl.Q, pl.sRk, pl.sRq = a, cs.M, cs.sAk, cs.sAm
		pl.sgnL = sgn
		pl.sCp, pl.sCq = 1, cs.N
	}
	pl.c = c
	rows, cols := pl.P, 2*pl.Q
	if pl.expL {
		rows, cols = 2*pl.P, pl.Q
	}
	mr, nr := kn.mr, kn.nr
	pl.kr = 2 * pl.K
	pl.rowsP = (rows + mr - 1) / mr * mr
	pl.colsP = (cols + nr - 1) / nr * nr
	pl.lsz, pl.rsz = pl.rowsP*pl.kr, pl.kr*pl.colsP
	pl.ls, pl.rs, pl.ts = padStride(pl.lsz), padStride(pl.rsz), padStride(pl.rowsP*pl.colsP)
	// micro-kernel throughput in flops per cycle, and about one cycle per
	// packed float
	rate := 2.0
	switch nr {
	case 48:
		rate = 32
	case 16:
		rate = 16
	}
	cost := 2*float64(pl.rowsP)*float64(pl.colsP)*float64(pl.kr)/rate +
		float64(rows*pl.kr+pl.kr*cols)
	return pl, cost
}

// fused runs the fused path and reports whether it applied (it does not
// when the packed operands of a block would overflow fusedBudget or when
// there are fewer frequencies than threads).
func (cs *contract) fused(be *Backend) bool {
	if !contractFused || cs.F < cs.threads {
		return false
	}
	kn := contractKernel
	if kn.mr%2 != 0 || kn.nr%2 != 0 { // the packing stores complex pairs
		return false
	}
	var pl fusedPlan
	if contractOrient >= 0 {
		pl, _ = cs.newFusedPlan(contractOrient, kn)
	} else {
		best := -1.0
		for o := 0; o < 4; o++ {
			p, c := cs.newFusedPlan(o, kn)
			if best < 0 || c < best {
				pl, best = p, c
			}
		}
	}
	perF := 4 * (pl.ls + pl.rs + pl.ts)
	fb := fusedMaxBlock
	for fb > fusedMinBlock && fb*perF > fusedBudget {
		fb /= 2
	}
	if fb*perF > fusedBudget {
		return false
	}
	F := cs.F
	if (F+fb-1)/fb < cs.threads {
		fb = (F + cs.threads - 1) / cs.threads
	}
	pl.fb = fb
	nblk := (F + fb - 1) / fb
	nl, nr, nt := fb*pl.ls, fb*pl.rs, fb*pl.ts
	// blocks are handed out dynamically: on a shared machine a worker that
	// gets less CPU leaves its share to the others
	var next atomic.Int64
	work := func() {
		tp := specScratch.get(nl + nr + nt)
		t := *tp
		lp, rp, cp := t[:nl], t[nl:nl+nr], t[nl+nr:nl+nr+nt]
		pl.clearPad(lp, rp, fb)
		for {
			blk := int(next.Add(1) - 1)
			if blk >= nblk {
				break
			}
			f0 := blk * fb
			n := min(fb, F-f0)
			pl.packL(lp, f0, n)
			pl.packR(rp, f0, n)
			pl.mul(lp, rp, cp, n)
			pl.scatter(cp, f0, n)
		}
		specScratch.put(tp)
	}
	var wg sync.WaitGroup
	for w := 1; w < min(cs.threads, nblk); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
	return true
}

// clearPad zeroes the padding rows of the last micro-panel of L' and the
// padding columns of the last micro-panel of R' of fb frequencies, which
// the packing never writes. (They only feed padding of C', which is never
// read, but garbage there could hold denormals or NaNs that slow the
// micro-kernel.)
func (pl *fusedPlan) clearPad(lp, rp []float32, fb int) {
	mr, nr, kr := pl.kn.mr, pl.kn.nr, pl.kr
	rows, cols := pl.P, 2*pl.Q
	if pl.expL {
		rows, cols = 2*pl.P, pl.Q
	}
	for j := 0; j < fb; j++ {
		if r := rows % mr; r != 0 {
			last := lp[j*pl.ls+(pl.rowsP-mr)*kr : j*pl.ls+pl.lsz]
			for k := 0; k < kr; k++ {
				clear(last[k*mr+r : (k+1)*mr])
			}
		}
		if c := cols % nr; c != 0 {
			last := rp[j*pl.rs+(pl.colsP-nr)*kr : j*pl.rs+pl.rsz]
			for k := 0; k < kr; k++ {
				clear(last[k*nr+c : (k+1)*nr])
			}
		}
	}
}

// packL packs L' of frequencies f0..f0+n-1, frequency j at j·ls, as mr-row
// micro-panels (element (i, k') of a panel at k'·mr + i).
func (pl *fusedPlan) packL(dst []float32, f0, n int) {
	mr, kr, F := pl.kn.mr, pl.kr, pl.F
	var g fusedRows
	for k := 0; k < pl.K; k++ {
		for p0 := 0; p0 < pl.P; p0 += fusedGroup {
			g.n = min(fusedGroup, pl.P-p0)
			for i := 0; i < g.n; i++ {
				p := p0 + i
				so := (p*pl.sLp+k*pl.sLk)*F + f0
				g.src[i] = pl.l[so : so+n]
				r := p
				if pl.expL {
					r = 2 * p
				}
				g.base[i] = r/mr*mr*kr + 2*k*mr + r%mr
			}
			if pl.expL {
				g.pairs(dst, n, mr, pl.ls, pl.sgnL)
			} else {
				g.split(dst, n, mr, pl.ls, pl.sgnL)
			}
		}
	}
}

// packR packs R' of frequencies f0..f0+n-1, frequency j at j·rs, as
// nr-column micro-panels (element (k', c) of a panel at k'·nr + c).
func (pl *fusedPlan) packR(dst []float32, f0, n int) {
	nr, kr, F := pl.kn.nr, pl.kr, pl.F
	var g fusedRows
	for k := 0; k < pl.K; k++ {
		for q0 := 0; q0 < pl.Q; q0 += fusedGroup {
			g.n = min(fusedGroup, pl.Q-q0)
			for i := 0; i < g.n; i++ {
				q := q0 + i
				so := (k*pl.sRk+q*pl.sRq)*F + f0
				g.src[i] = pl.r[so : so+n]
				c := q
				if !pl.expL {
					c = 2 * q
				}
				g.base[i] = c/nr*nr*kr + 2*k*nr + c%nr
			}
			if !pl.expL {
				g.pairs(dst, n, nr, pl.rs, pl.sgnR)
			} else {
				g.split(dst, n, nr, pl.rs, pl.sgnR)
			}
		}
	}
}

// fusedRows is a group of stored rows being packed: their runs over the
// block's frequencies and their offsets in a frequency's packed panels.
// The loops go over the frequencies outermost, so that each frequency's
// stores hit one small region (one page) of its panels while the group's
// runs stay in L1 (and their pages in the TLB).
type fusedRows struct {
	n    int
	src  [fusedGroup][]complex64
	base [fusedGroup]int
}

// pairs stores the expanded form of each row's element j (imaginary part
// times sgn): (re, im) at float offset base + j·stride of dst and (-im, re)
// at base + ld + j·stride; base, ld and stride are even.
func (g *fusedRows) pairs(dst []float32, n, ld, stride int, sgn float32) {
	d := complexView(dst)
	h, st := ld/2, stride/2
	src, base := g.src[:g.n], g.base[:g.n]
	for j := 0; j < n; j++ {
		dj := d[j*st:]
		for i, s := range src {
			v := s[j]
			re, im := real(v), sgn*imag(v)
			b := base[i] / 2
			dj[b], dj[b+h] = complex(re, im), complex(-im, re)
		}
	}
}

// split stores each row's element j as re at float offset base + j·stride
// of dst and im (times sgn) at base + ld + j·stride.
func (g *fusedRows) split(dst []float32, n, ld, stride int, sgn float32) {
	src, base := g.src[:g.n], g.base[:g.n]
	for j := 0; j < n; j++ {
		dj := dst[j*stride:]
		for i, s := range src {
			v := s[j]
			b := base[i]
			dj[b], dj[b+ld] = real(v), sgn*imag(v)
		}
	}
}

// mul computes C' (rowsP × colsP, row-major) of each of the n frequencies,
// frequency j at j·ts of cp, with the micro-kernel.
func (pl *fusedPlan) mul(lp, rp, cp []float32, n int) {
	kn := pl.kn
	mr, nr, kr, cols := kn.mr, kn.nr, pl.kr, pl.colsP
	for j := 0; j < n; j++ {
		ap := lp[j*pl.ls : j*pl.ls+pl.lsz]
		bp := rp[j*pl.rs : j*pl.rs+pl.rsz]
		c := cp[j*pl.ts : j*pl.ts+pl.rowsP*cols]
		for ir := 0; ir < pl.rowsP; ir += mr {
			a := ap[ir*kr : ir*kr+mr*kr]
			for jr := 0; jr < cols; jr += nr {
				b := bp[jr*kr : jr*kr+nr*kr]
				kn.fn(kr, &a[0], &b[0], &c[ir*cols+jr], cols, 0)
			}
		}
	}
}

// scatter writes C of the n frequencies at f0 from C' into dst.
func (pl *fusedPlan) scatter(cp []float32, f0, n int) {
	cols, ts, F := pl.colsP, pl.ts, pl.F
	cc := complexView(cp) // C' has even strides and offsets
	for p := 0; p < pl.P; p++ {
		for q0 := 0; q0 < pl.Q; q0 += fusedGroup {
			for q := q0; q < min(q0+fusedGroup, pl.Q); q++ {
				o := (p*pl.sCp+q*pl.sCq)*F + f0
				out := pl.c[o : o+n]
				if pl.expL {
					t := 2*p*cols + q
					for j := range out {
						out[j] = complex(cp[t], cp[t+cols])
						t += ts
					}
					continue
				}
				t := (p*cols)/2 + q
				for j := range out {
					out[j] = cc[t]
					t += ts / 2
				}
			}
		}
	}
}
