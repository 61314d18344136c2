//go:build cgo

package vk

import (
	"fmt"
	"math"
	"math/cmplx"
	"unsafe"
)

// Complex FFTs on the device (see NOTES.md, "FFT"): Stockham autosort passes
// with radix 2/3/4/5/7/8 butterflies for 7-smooth lengths, either all in
// shared memory in one dispatch (fft_shared.comp, one workgroup per G lines)
// or one dispatch per pass through global memory (fft.comp); other lengths
// by Bluestein's chirp-z through a 7-smooth FFT (fft_aux.comp stages).

// fftSharedMax is the longest transform run in shared memory (complex
// elements; 4096 fill lavapipe's 32 KiB); longer ones use global passes.
// −1 (the default) chooses per device: on CPU devices (lavapipe) the
// global passes measured faster at every length from 16 to 4096 (barriers
// are expensive there; see bench_fft_test.go), so they run everything; on
// GPUs transforms up to 4096 points run in shared memory. Tests and
// benchmarks set it to force either path.
var fftSharedMax = -1

func (be *Backend) sharedMax() int {
	// The whole line in shared memory, and at most 32 elements per thread
	// of a workgroup within the device's invocation limit.
	lim := min(4096, be.smemElems(), 32*be.sharedWG())
	if fftSharedMax >= 0 {
		return min(fftSharedMax, lim)
	}
	if be.c.info.Type == TypeCPU {
		return 0
	}
	return lim
}

// smemElems is the most complex elements fft_shared.comp holds in the
// device's shared memory: re and im arrays with one padding word per 32.
func (be *Backend) smemElems() int {
	b := int(be.c.info.MaxComputeSharedMemorySize)
	e := b / 8
	for e > 0 && 8*(e+e/32+1) > b {
		e--
	}
	return e
}

// sharedShape returns the lines per workgroup and the workgroup size of
// fft_shared.comp for rows lines of n points: several short lines per
// workgroup, and for strided column lines (inner > 1) at least 16 adjacent
// columns when they fit, so that loads and stores are coalesced.
func (be *Backend) sharedShape(n, rows, inner int) (g, wg int) {
	maxWG := be.sharedWG()
	lim := min(be.smemElems(), 32*maxWG)
	g = max(1, min(fftLinesPerGroup/n, rows, lim/n))
	if inner > 1 {
		g = max(g, min(16, rows, inner, lim/n))
	}
	e := g * n
	wg = min(maxWG, max(32, e/fftPerThread))
	for e > 32*wg { // registers per thread in fft_shared.comp
		wg *= 2
	}
	return g, min(wg, maxWG)
}

// sharedArgs describes one fft_shared.comp dispatch (see the shader).
type sharedArgs struct {
	mode, n, bn    int // MODE, the FFT length N, Bluestein's length
	radices        []int
	dst, src, spec arg
	do, so, spo    int
	tw, tab, tab2  *allocation
	lines, inner   int
	inv, conjw     bool
	scale          float32
	chans, crow    int
	keep           bool
}

func (be *Backend) sharedFFT(a sharedArgs) {
	pack := 0
	for i, r := range a.radices {
		pack |= r << (4 * i)
	}
	rows := a.lines * a.inner
	g, wg := be.sharedShape(a.n, rows, a.inner)
	if a.tab == nil {
		a.tab = a.tw
	}
	if a.tab2 == nil {
		a.tab2 = a.tw
	}
	if a.spec.a == nil {
		a.spec = a.dst
	}
	push := pushBuf{}.i(a.lines, a.inner, b2i(a.inv)).f(a.scale).i(a.so, a.do, a.chans, b2i(a.keep), a.crow, a.spo, b2i(a.conjw))
	if a.n >= 1<<13 || a.bn >= 1<<13 {
		panic(fmt.Sprintf("vk: fft_shared: length %d (%d) over 8191", a.n, a.bn))
	}
	nbm := a.n | max(1, a.bn)<<13 | a.mode<<26
	be.c.dispatch("fft_shared", []uint32{uint32(wg), uint32(nbm), uint32(g), uint32(pack)},
		be.c.grid(uint64((rows+g-1)/g)), push, a.dst, a.src, arg{a: a.tw}, arg{a: a.tab}, arg{a: a.tab2}, a.spec)
}

// sharedWG is the largest fft_shared.comp workgroup: 256 within the limit.
func (be *Backend) sharedWG() int {
	return max(1, min(256, int(be.c.info.MaxComputeWorkGroupInvocations), int(be.c.info.MaxComputeWorkGroupSize[0])))
}

// fftLinesPerGroup is the number of complex elements a shared-memory
// workgroup aims to hold when lines are short (several lines per workgroup).
// A variable so that tests can force one line per workgroup (folded grids).
var fftLinesPerGroup = 1024

// fftPerThread is the number of complex elements per thread a shared-memory
// workgroup aims for (workgroup size e/fftPerThread within 32…256).
var fftPerThread = 8

// fftBlueChunk bounds the bytes of one Bluestein chunk's [rows][m] scratch
// (with fftChunkBytes): small chunks stay in the memory pool's blocks and
// the caches instead of fresh 100 MiB allocations (1.3–2× at 128×152×152
// on lavapipe). Tests lower it to force many chunks.
var fftBlueChunk = 8 << 20

type fftPlan struct {
	n       int
	radices []int     // Stockham passes (empty for n = 1); nil with blue
	blue    *bluePlan // lengths with a prime factor above 7
}

type bluePlan struct {
	m     int         // 7-smooth convolution length ≥ 2n−1
	chirp *allocation // c_j = e^{−πij²/n}, j < n
	bhat  [2]*allocation
}

// smooth7 reports whether n's prime factors are all ≤ 7.
func smooth7(n int) bool {
	if n < 1 {
		return false
	}
	for _, p := range []int{2, 3, 5, 7} {
		for n%p == 0 {
			n /= p
		}
	}
	return n == 1
}

// fftRadices factors a 7-smooth n into Stockham passes: 8s (4 or 2 for the
// rest of the power of two), then 7s, 5s and 3s.
func fftRadices(n int) []int {
	var out []int
	e := 0
	for n%2 == 0 {
		n /= 2
		e++
	}
	switch {
	case e%3 == 1 && e >= 4:
		out = append(out, 4, 4)
		e -= 4
	case e%3 == 1:
		out = append(out, 2)
		e--
	case e%3 == 2:
		out = append(out, 4)
		e -= 2
	}
	for ; e > 0; e -= 3 {
		out = append([]int{8}, out...)
	}
	for _, p := range []int{7, 5, 3} {
		for n%p == 0 {
			out = append(out, p)
			n /= p
		}
	}
	if n != 1 {
		panic(fmt.Sprintf("vk: fftRadices: %d is not 7-smooth", n))
	}
	return out
}

// plan returns the cached plan for complex length n. Caller holds c.mu.
func (be *Backend) plan(n int) *fftPlan {
	if be.fft == nil {
		be.fft = map[int]*fftPlan{}
	}
	if p, ok := be.fft[n]; ok {
		return p
	}
	p := &fftPlan{n: n}
	if smooth7(n) {
		p.radices = fftRadices(n)
	} else {
		p.blue = be.bluestein(n)
	}
	be.fft[n] = p
	return p
}

// bluestein precomputes the chirp and the transformed conjugate chirps
// (forward and inverse, scaled by 1/m) in float64 on the host.
func (be *Backend) bluestein(n int) *bluePlan {
	m := 2*n - 1
	for !smooth7(m) {
		m++
	}
	chirp := make([]complex128, n)
	for j := range chirp {
		q := (j * j) % (2 * n) // e^{−πij²/n} is 2n-periodic in j²
		chirp[j] = cmplx.Exp(complex(0, -math.Pi*float64(q)/float64(n)))
	}
	bp := &bluePlan{m: m, chirp: be.uploadC(chirp)}
	for dir := 0; dir < 2; dir++ {
		b := make([]complex128, m)
		for j := 0; j < n; j++ {
			c := cmplx.Conj(chirp[j]) // forward: conj(c); inverse: c
			if dir == 1 {
				c = chirp[j]
			}
			b[j] = c
			if j > 0 {
				b[m-j] = c
			}
		}
		fft128(b)
		for k := range b {
			b[k] /= complex(float64(m), 0)
		}
		bp.bhat[dir] = be.uploadC(b)
	}
	return bp
}

// fft128 is a forward mixed-radix FFT (decimation in time by the smallest
// prime factor) in float64, for the host-side Bluestein tables.
func fft128(a []complex128) {
	n := len(a)
	if n <= 1 {
		return
	}
	p := 2
	for n%p != 0 {
		p++
	}
	if p == n { // prime: direct DFT
		out := make([]complex128, n)
		for k := range out {
			var s complex128
			for j, x := range a {
				s += x * cmplx.Exp(complex(0, -2*math.Pi*float64((j*k)%n)/float64(n)))
			}
			out[k] = s
		}
		copy(a, out)
		return
	}
	q := n / p
	sub := make([][]complex128, p)
	for r := range sub {
		sub[r] = make([]complex128, q)
		for j := range sub[r] {
			sub[r][j] = a[j*p+r]
		}
		fft128(sub[r])
	}
	for k := 0; k < n; k++ {
		var s complex128
		for r := 0; r < p; r++ {
			s += sub[r][k%q] * cmplx.Exp(complex(0, -2*math.Pi*float64((r*k)%n)/float64(n)))
		}
		a[k] = s
	}
}

func (be *Backend) uploadC(v []complex128) *allocation {
	t := make([]float32, 2*len(v))
	for i, x := range v {
		t[2*i], t[2*i+1] = float32(real(x)), float32(imag(x))
	}
	a := be.c.alloc(uint64(4 * len(t)))
	be.c.upload(a, 0, unsafe.Pointer(&t[0]), uint64(4*len(t)))
	return a
}

// fftAux records one fft_aux.comp stage over threads elements: rows lines
// of this chunk, src and dst starting at lines sr and dr.
func (be *Backend) fftAux(mode int, dst, src, tab *allocation, threads, rows, sr, dr, n, m, inner int, inv bool, scale float32) {
	be.fftAuxW(mode, dst, nil, src, tab, tab, threads, rows, sr, dr, n, m, inner, 1, inv, scale)
}

// fftAuxW is fftAux with the weights of the fused multiplies (w, chans)
// and, for them, the second output spec (nil: none). Only the lines of src
// and dst that the stage touches are bound (see lineArg).
func (be *Backend) fftAuxW(mode int, dst, spec, src, tab, w *allocation, threads, rows, sr, dr, n, m, inner, chans int, inv bool, scale float32) {
	h, nf := n/2, n/2+1
	// elements per line and bytes per element of src and dst
	var sl, se, dl, de int
	switch mode {
	case auxR2CPost, auxR2CPostMul:
		sl, se, dl, de = h, 8, nf, 8
	case auxC2RPre:
		sl, se, dl, de = nf, 8, h, 8
	case auxR2C:
		sl, se, dl, de = n, 4, n, 8
	case auxCrop, auxCropMul:
		sl, se, dl, de = n, 8, nf, 8
	case auxHermitian:
		sl, se, dl, de = nf, 8, n, 8
	case auxReal:
		sl, se, dl, de = n, 8, n, 4
	case auxBluePre:
		sl, se, dl, de = n, 8, m, 8
	case auxBlueMul:
		sl, se, dl, de = m, 8, m, 8
	default: // auxBluePost
		sl, se, dl, de = m, 8, n, 8
	}
	ga, so := be.lineArg(src, false, sr, rows, sl, se)
	gd, do := be.lineArg(dst, true, dr, rows, dl, de)
	gs, spo := gd, do
	if spec != nil {
		gs, spo = be.lineArg(spec, true, dr, rows, dl, de)
	}
	push := pushBuf{}.i(rows, b2i(inv)).f(scale).i(so, do, chans, b2i(spec != nil), dr, spo)
	be.c.dispatch("fft_aux", []uint32{uint32(mode), uint32(n), uint32(m), uint32(inner)}, be.groups1D(threads, 256), push,
		gd, ga, arg{a: tab}, arg{a: w}, gs)
}

// lineArg binds lines [l0, l0+cnt) of an array whose lines hold ln elements
// of esz bytes (the binding's start moved down to the offset alignment) and
// returns the element offset of line l0 inside the binding. Transforms of
// arrays larger than one binding run in chunks of lines that fit.
func (be *Backend) lineArg(a *allocation, write bool, l0, cnt, ln, esz int) (arg, int) {
	off := uint64(l0) * uint64(ln) * uint64(esz)
	size := uint64(max(cnt, 1)) * uint64(ln) * uint64(esz)
	start := off &^ (be.c.mem.align - 1)
	return arg{a: a, write: write, off: start, size: size + off - start}, int((off - start) / uint64(esz))
}

// fftChunkBytes bounds the complex scratch of one chunk of a transform:
// small on CPU devices, where a chunk's passes then stay in the caches
// (1.5–2× at 128×152×152 on lavapipe), the binding limit on GPUs.
func (be *Backend) fftChunkBytes() int {
	lim := 4 * be.bindFloats()
	if fftChunk > 0 {
		return min(lim, fftChunk)
	}
	if be.c.info.Type == TypeCPU {
		return min(lim, 1<<20)
	}
	return lim
}

// fftChunk, when positive, overrides fftChunkBytes (tests force many chunks).
var fftChunk = 0

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

const (
	auxR2CPost = iota
	auxC2RPre
	auxR2C
	auxCrop
	auxHermitian
	auxReal
	auxBluePre
	auxBlueMul
	auxBluePost
	auxR2CPostMul
	auxCropMul
)

// cfft records dst = scale·FFT(src) along the middle axis of the complex
// array [outer][n][inner] (inverse: unnormalised e^{+2πi…}). dst ≠ src;
// src is not modified. Caller holds c.mu.
func (be *Backend) cfft(dst, src *allocation, outer, n, inner int, inv bool, scale float32) {
	be.cfftAt(dst, 0, src, 0, outer, n, inner, inv, scale)
}

// cfftAt is cfft on outer lines [dO, dO+outer) of dst and [sO, sO+outer)
// of src.
func (be *Backend) cfftAt(dst *allocation, dO int, src *allocation, sO, outer, n, inner int, inv bool, scale float32) {
	if dst == src {
		panic("vk: cfft in place")
	}
	p := be.plan(n)
	if p.blue != nil {
		bp := p.blue
		m := bp.m
		if m <= be.sharedMax() && fftSharedBlue {
			// The whole chain in shared memory (fft_shared.comp MODE 3):
			// one dispatch per chunk of outer lines within one binding.
			step := min(outer, max(1, 4*be.bindFloats()/(n*inner*8)))
			for o0 := 0; o0 < outer; o0 += step {
				cnt := min(step, outer-o0)
				gs, so := be.lineArg(src, false, sO+o0, cnt, n*inner, 8)
				gd, do := be.lineArg(dst, true, dO+o0, cnt, n*inner, 8)
				be.sharedFFT(sharedArgs{mode: 3, n: m, bn: n, radices: be.plan(m).radices, dst: gd, do: do, src: gs, so: so,
					tw: be.twiddles(m), tab: bp.chirp, tab2: bp.bhat[b2i(inv)], lines: cnt, inner: inner, inv: inv, scale: scale})
			}
			return
		}
		// Chunks of whole outer slices whose [rows][m] scratch fits.
		step := max(1, min(be.fftChunkBytes(), fftBlueChunk)/(inner*m*8))
		step = min(step, outer)
		a := be.c.scratch(uint64(step * inner * m * 8))
		b := be.c.scratch(uint64(step * inner * m * 8))
		defer be.c.rec.free(a)
		defer be.c.rec.free(b)
		if m > be.sharedMax() && fftFuseBlue {
			// Global passes: the element-wise stages fused into them.
			for o0 := 0; o0 < outer; o0 += step {
				cnt := min(step, outer-o0)
				be.blueFused(bp, dst, (dO+o0)*inner, src, (sO+o0)*inner, a, b, cnt*inner, n, inner, inv, scale)
			}
			return
		}
		// Separate stages (tests compare them with the fused forms).
		for o0 := 0; o0 < outer; o0 += step {
			cnt := min(step, outer-o0)
			cr := cnt * inner
			be.fftAux(auxBluePre, a, src, bp.chirp, cr*m, cr, (sO+o0)*inner, 0, n, m, inner, inv, 1)
			be.cfft(b, a, cr, m, 1, false, 1)
			be.fftAux(auxBlueMul, a, b, bp.bhat[b2i(inv)], cr*m, cr, 0, 0, n, m, inner, inv, 1)
			be.cfft(b, a, cr, m, 1, true, 1)
			be.fftAux(auxBluePost, dst, b, bp.chirp, cr*n, cr, 0, (dO+o0)*inner, n, m, inner, inv, scale)
		}
		return
	}
	tw := be.twiddles(n)
	if n <= be.sharedMax() || len(p.radices) == 0 {
		// Chunks of outer lines within one binding.
		step := min(outer, max(1, 4*be.bindFloats()/(n*inner*8)))
		for o0 := 0; o0 < outer; o0 += step {
			cnt := min(step, outer-o0)
			gs, so := be.lineArg(src, false, sO+o0, cnt, n*inner, 8)
			gd, do := be.lineArg(dst, true, dO+o0, cnt, n*inner, 8)
			be.sharedFFT(sharedArgs{mode: 0, n: n, radices: p.radices, dst: gd, do: do, src: gs, so: so, tw: tw,
				lines: cnt, inner: inner, inv: inv, scale: scale})
		}
		return
	}
	// Global passes, in chunks of outer lines (cache-sized on CPU devices);
	// each chunk ping-pongs between dst and a chunk-sized scratch so that
	// its last pass lands in dst.
	np := len(p.radices)
	step := min(outer, max(1, be.fftChunkBytes()/(n*inner*8)))
	var tmp *allocation
	if np > 1 {
		tmp = be.c.scratch(uint64(step * n * inner * 8))
		defer be.c.rec.free(tmp)
	}
	for o0 := 0; o0 < outer; o0 += step {
		cnt := min(step, outer-o0)
		in, inO, ns := src, sO+o0, 1
		for i, r := range p.radices {
			out, outO := dst, dO+o0
			if (np-1-i)%2 == 1 {
				out, outO = tmp, 0
			}
			s := float32(1)
			if i == np-1 {
				s = scale
			}
			be.fftPass(fftPassArgs{out: out, outO: outO, in: in, inO: inO, tw: tw, lines: cnt,
				n: n, inner: inner, r: r, ns: ns, inv: inv, scale: s})
			in, inO = out, outO
			ns *= r
		}
	}
}

// fftPassArgs describes one fft.comp pass (see the shader).
type fftPassArgs struct {
	out, in, tw     *allocation
	outO, inO       int // first line of out / in
	lines           int
	n, inner, r, ns int
	inv             bool
	scale           float32
	// Fused Bluestein stages: load 1, store 1 or 2 with their tables, the
	// original array's [·][bn][binner] shape and the chirp's direction.
	load, store int
	tabl, tabs  *allocation
	bn, binner  int
	cinv        bool
}

func (be *Backend) fftPass(p fftPassArgs) {
	if p.tabl == nil {
		p.tabl = p.tw
	}
	if p.tabs == nil {
		p.tabs = p.tw
	}
	// Bind the lines this pass touches: [·][n][inner] lines, or with the
	// fused Bluestein load/store the original [·][bn][binner] array's rows
	// (inO/outO count rows there, in whole multiples of binner).
	gi, so := be.lineArg(p.in, false, p.inO, p.lines, p.n*p.inner, 8)
	if p.load == 1 {
		gi, so = be.lineArg(p.in, false, p.inO, p.lines, p.bn, 8)
	}
	gout, do := be.lineArg(p.out, true, p.outO, p.lines, p.n*p.inner, 8)
	if p.store == 2 {
		gout, do = be.lineArg(p.out, true, p.outO, p.lines, p.bn, 8)
	}
	push := pushBuf{}.i(p.lines, b2i(p.inv)).f(p.scale).i(so, do, p.bn, max(1, p.binner), b2i(p.cinv))
	spec := []uint32{uint32(p.r | p.load<<8 | p.store<<12), uint32(p.n), uint32(p.ns), uint32(p.inner)}
	be.c.dispatch("fft", spec, be.groups1D(p.lines*p.inner*p.n/p.r, 64), push,
		gout, gi, arg{a: p.tw}, arg{a: p.tabl}, arg{a: p.tabs})
}

// fftFuseBlue selects the fused Bluestein chain on the global-pass path
// and fftSharedBlue the one-dispatch chain in shared memory (tests compare
// them with the separate stages).
var fftFuseBlue, fftSharedBlue = true, true

// blueFused records Bluestein for rows lines of the original [·][n][inner]
// array (src from line sr, dst from line dr) as the forward and inverse
// length-m Stockham passes with the chirp pre-multiply fused into the first
// pass, the multiply by the transformed chirp into the last forward pass and
// the post-multiply into the last inverse pass; a and b hold rows·m.
func (be *Backend) blueFused(bp *bluePlan, dst *allocation, dr int, src *allocation, sr int, a, b *allocation, rows, n, inner int, inv bool, scale float32) {
	m := bp.m
	rad := be.plan(m).radices
	tw := be.twiddles(m)
	np := len(rad)
	in, inO := src, sr
	for q := 0; q < 2*np; q++ {
		pa := fftPassArgs{in: in, inO: inO, tw: tw, lines: rows, n: m, inner: 1, r: rad[q%np],
			inv: q >= np, scale: 1, bn: n, binner: inner, cinv: inv, tabl: bp.chirp}
		ns := 1
		for _, r := range rad[:q%np] {
			ns *= r
		}
		pa.ns = ns
		pa.out, pa.outO = a, 0
		if q%2 == 1 {
			pa.out = b
		}
		if q == 0 {
			pa.load = 1
		}
		if q == np-1 {
			pa.store, pa.tabs = 1, bp.bhat[b2i(inv)]
		}
		if q == 2*np-1 {
			pa.store, pa.tabs, pa.out, pa.outO, pa.scale = 2, bp.chirp, dst, dr, scale
		}
		be.fftPass(pa)
		in, inO = pa.out, pa.outO
	}
}

// rfftRows records dst [rows][n/2+1] = RFFT(src [rows][n]). Caller holds c.mu.
func (be *Backend) rfftRows(dst, src *allocation, rows, n int) {
	be.rfftRowsMulSpec(dst, nil, src, nil, rows, n, 1, false)
}

// sharedReal reports whether a real transform of 2h points runs as one
// shared-memory dispatch (a 7-smooth h within the shared-memory length).
func (be *Backend) sharedReal(h int) bool {
	return fftSharedReal && smooth7(h) && h <= be.sharedMax()
}

// fftSharedReal selects the one-dispatch real transforms in shared memory
// (tests compare them with the two-dispatch forms).
var fftSharedReal = true

// rowStep is the rows per chunk of a real transform whose complex scratch
// holds elems complex values per row.
func (be *Backend) rowStep(rows, elems int) int {
	return min(rows, max(1, be.fftChunkBytes()/(elems*8)))
}

// rfftRowsMulSpec is rfftRows with, when w ≠ nil, the spectrum of row r
// multiplied by w[r mod chans][:] (conjugated with conjW) in the
// post-processing pass, and the plain spectrum also stored into spec when
// spec ≠ nil (with w only). Rows run in chunks (chunk-local scratch).
func (be *Backend) rfftRowsMulSpec(dst, spec, src, w *allocation, rows, n, chans int, conjW bool) {
	tw := be.twiddles(n)
	post, crop, wa := auxR2CPost, auxCrop, tw
	if w != nil {
		post, crop, wa = auxR2CPostMul, auxCropMul, w
	}
	if n%2 == 0 && be.sharedReal(n/2) {
		// One dispatch per chunk: load, FFT, R2C post-processing (and
		// the multiply) in shared memory (fft_shared.comp MODE 1).
		h := n / 2
		step := min(rows, max(1, 4*be.bindFloats()/((h+1)*8)))
		for r0 := 0; r0 < rows; r0 += step {
			cnt := min(step, rows-r0)
			gs, so := be.lineArg(src, false, r0, cnt, h, 8)
			gd, do := be.lineArg(dst, true, r0, cnt, h+1, 8)
			a := sharedArgs{mode: 1, n: h, radices: be.plan(h).radices, dst: gd, do: do, src: gs, so: so,
				tw: be.twiddles(h), tab: tw, lines: cnt, inner: 1, scale: 1}
			if w != nil {
				a.tab2, a.chans, a.crow, a.conjw = w, chans, r0, conjW
				if spec != nil {
					a.spec, a.spo = be.lineArg(spec, true, r0, cnt, h+1, 8)
					a.keep = true
				}
			}
			be.sharedFFT(a)
		}
		return
	}
	if n%2 == 0 {
		h := n / 2
		step := be.rowStep(rows, h)
		z := be.c.scratch(uint64(step * h * 8))
		for r0 := 0; r0 < rows; r0 += step {
			cnt := min(step, rows-r0)
			be.cfftAt(z, 0, src, r0, cnt, h, 1, false, 1)
			be.fftAuxW(post, dst, spec, z, tw, wa, cnt*(h+1), cnt, 0, r0, n, 0, 1, chans, conjW, 1)
		}
		be.c.rec.free(z)
		return
	}
	step := be.rowStep(rows, n)
	c := be.c.scratch(uint64(step * n * 8))
	f := be.c.scratch(uint64(step * n * 8))
	for r0 := 0; r0 < rows; r0 += step {
		cnt := min(step, rows-r0)
		be.fftAux(auxR2C, c, src, tw, cnt*n, cnt, r0, 0, n, 0, 1, false, 1)
		be.cfft(f, c, cnt, n, 1, false, 1)
		be.fftAuxW(crop, dst, spec, f, tw, wa, cnt*(n/2+1), cnt, 0, r0, n, 0, 1, chans, conjW, 1)
	}
	be.c.rec.free(c)
	be.c.rec.free(f)
}

// irfftRows records dst [rows][n] = scale·n·IRFFT(src [rows][n/2+1]) (the
// unnormalised inverse times scale). Caller holds c.mu.
func (be *Backend) irfftRows(dst, src *allocation, rows, n int, scale float32) {
	tw := be.twiddles(n)
	if n%2 == 0 && be.sharedReal(n/2) {
		// One dispatch per chunk: C2R pre-processing, inverse FFT and the
		// real store in shared memory (fft_shared.comp MODE 2).
		h := n / 2
		step := min(rows, max(1, 4*be.bindFloats()/((h+1)*8)))
		for r0 := 0; r0 < rows; r0 += step {
			cnt := min(step, rows-r0)
			gs, so := be.lineArg(src, false, r0, cnt, h+1, 8)
			gd, do := be.lineArg(dst, true, r0, cnt, h, 8)
			be.sharedFFT(sharedArgs{mode: 2, n: h, radices: be.plan(h).radices, dst: gd, do: do, src: gs, so: so,
				tw: be.twiddles(h), tab: tw, lines: cnt, inner: 1, inv: true, scale: scale})
		}
		return
	}
	if n%2 == 0 {
		h := n / 2
		step := be.rowStep(rows, h)
		z := be.c.scratch(uint64(step * h * 8))
		for r0 := 0; r0 < rows; r0 += step {
			cnt := min(step, rows-r0)
			be.fftAux(auxC2RPre, z, src, tw, cnt*h, cnt, r0, 0, n, 0, 1, true, scale)
			be.cfftAt(dst, r0, z, 0, cnt, h, 1, true, 1)
		}
		be.c.rec.free(z)
		return
	}
	step := be.rowStep(rows, n)
	c := be.c.scratch(uint64(step * n * 8))
	f := be.c.scratch(uint64(step * n * 8))
	for r0 := 0; r0 < rows; r0 += step {
		cnt := min(step, rows-r0)
		be.fftAux(auxHermitian, c, src, tw, cnt*n, cnt, r0, 0, n, 0, 1, true, 1)
		be.cfft(f, c, cnt, n, 1, true, 1)
		be.fftAux(auxReal, dst, f, tw, cnt*n, cnt, 0, r0, n, 0, 1, true, scale)
	}
	be.c.rec.free(c)
	be.c.rec.free(f)
}
