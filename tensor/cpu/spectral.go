package cpu

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/dash-go/dash/internal/fft"
	"github.com/dash-go/dash/tensor"
)

// This file holds the spectral kernels of the CPU backend: real FFTs (which
// delegate to internal/fft, itself parallel over the cores), the per-frequency
// complex channel contraction of DASH's Fourier convolution, broadcasting
// complex products, and the Kronecker dilation scatter/gather.

func checkBuf(op, name string, got, want int) {
	if got < want {
		panic(fmt.Sprintf("cpu.%s: %s buffer has %d elements, need %d", op, name, got, want))
	}
}

func checkSizes(op string, dims ...int) {
	for _, d := range dims {
		if d < 0 {
			panic(fmt.Sprintf("cpu.%s: negative size in %v", op, dims))
		}
	}
}

// RFFT computes batch real transforms of length n: src [batch][n] →
// dst [batch][n/2+1][2], unnormalised.
func (be *Backend) RFFT(dst, src tensor.Buffer, batch, n int) {
	checkSizes("RFFT", batch, n)
	d, s := buf(dst), buf(src)
	if batch == 0 || n == 0 {
		return
	}
	nf := n/2 + 1
	checkBuf("RFFT", "src", len(s), batch*n)
	checkBuf("RFFT", "dst", len(d), batch*nf*2)
	fft.RFFT(d[:batch*nf*2], s[:batch*n], batch, n)
}

// IRFFT computes batch inverse real transforms of length n: src
// [batch][n/2+1][2] → dst [batch][n], normalised by 1/n (the imaginary parts
// of the DC and, for even n, Nyquist bins are ignored).
func (be *Backend) IRFFT(dst, src tensor.Buffer, batch, n int) {
	checkSizes("IRFFT", batch, n)
	d, s := buf(dst), buf(src)
	if batch == 0 || n == 0 {
		return
	}
	nf := n/2 + 1
	checkBuf("IRFFT", "src", len(s), batch*nf*2)
	checkBuf("IRFFT", "dst", len(d), batch*n)
	fft.IRFFT(d[:batch*n], s[:batch*nf*2], batch, n)
}

// RFFT2 computes batch 2-D real transforms: src [batch][h][w] →
// dst [batch][h][w/2+1][2], unnormalised (numpy rfft2).
func (be *Backend) RFFT2(dst, src tensor.Buffer, batch, h, w int) {
	checkSizes("RFFT2", batch, h, w)
	d, s := buf(dst), buf(src)
	if batch == 0 || h == 0 || w == 0 {
		return
	}
	nf := w/2 + 1
	checkBuf("RFFT2", "src", len(s), batch*h*w)
	checkBuf("RFFT2", "dst", len(d), batch*h*nf*2)
	fft.RFFT2(d[:batch*h*nf*2], s[:batch*h*w], batch, h, w)
}

// IRFFT2 is the inverse of RFFT2, normalised by 1/(h·w) (numpy irfft2 with
// s=(h, w)).
func (be *Backend) IRFFT2(dst, src tensor.Buffer, batch, h, w int) {
	checkSizes("IRFFT2", batch, h, w)
	d, s := buf(dst), buf(src)
	if batch == 0 || h == 0 || w == 0 {
		return
	}
	nf := w/2 + 1
	checkBuf("IRFFT2", "src", len(s), batch*h*nf*2)
	checkBuf("IRFFT2", "dst", len(d), batch*h*w)
	fft.IRFFT2(d[:batch*h*w], s[:batch*h*nf*2], batch, h, w)
}

// contractGEMMMin is the per-frequency complex volume M·N·K from which
// ComplexContract uses packed real GEMMs instead of direct loops (which also
// serve any problem with a dimension ≤ 2: a batch of one or two, say, where
// the GEMM degenerates and its layout changes cost more than they save). A
// variable so that tests can force either path (0 forces the GEMM path).
var contractGEMMMin = 1024

// contract describes ComplexContract as one complex GEMM per frequency:
// C_f[m][n] = Σ_k A_f[m][k]·op(B_f[k][n]) with op = conj when conj is set.
// Element (m, k) of A_f is complex element (m·sAm + k·sAk)·F + f of a, element
// (k, n) of B_f is (k·sBk + n·sBn)·F + f of b, and C is dst [M][N][F].
type contract struct {
	M, N, K, F         int
	sAm, sAk, sBk, sBn int
	conj               bool
	a, b, c            []float32
	threads            int
	expandA            bool // gemm path: expand A (else B) to 2×2 real form
	sa, sb, sc         int  // gemm path: packed sizes of A, B, C
}

// ComplexContract contracts interleaved complex tensors over channels for
// every frequency (see tensor.ContractMode): dst is overwritten.
func (be *Backend) ComplexContract(mode tensor.ContractMode, dst, a, b tensor.Buffer, B, I, O, F int) {
	checkSizes("ComplexContract", B, I, O, F)
	cs := contract{F: F, a: buf(a), b: buf(b), c: buf(dst), threads: be.threads}
	var na, nb, nc int
	switch mode {
	case tensor.ContractForward: // Y[b,o] = Σ_i X[b,i]·W[o,i]
		cs.M, cs.K, cs.N = B, I, O
		cs.sAm, cs.sAk, cs.sBk, cs.sBn = I, 1, 1, I
		na, nb, nc = B*I, O*I, B*O
	case tensor.ContractGradX: // dX[b,i] = Σ_o dY[b,o]·conj(W[o,i])
		cs.M, cs.K, cs.N = B, O, I
		cs.sAm, cs.sAk, cs.sBk, cs.sBn = O, 1, I, 1
		cs.conj = true
		na, nb, nc = B*O, O*I, B*I
	case tensor.ContractGradW: // dW[o,i] = Σ_b dY[b,o]·conj(X[b,i])
		cs.M, cs.K, cs.N = O, B, I
		cs.sAm, cs.sAk, cs.sBk, cs.sBn = 1, O, I, 1
		cs.conj = true
		na, nb, nc = B*O, B*I, O*I
	default:
		panic(fmt.Sprintf("cpu.ComplexContract: unknown mode %d", mode))
	}
	checkBuf("ComplexContract", "a", len(cs.a), na*F*2)
	checkBuf("ComplexContract", "b", len(cs.b), nb*F*2)
	checkBuf("ComplexContract", "dst", len(cs.c), nc*F*2)
	if nc == 0 || F == 0 {
		return
	}
	if cs.K == 0 {
		clear(cs.c[:nc*F*2])
		return
	}
	if cs.M*cs.N*cs.K < contractGEMMMin || min(cs.M, cs.N, cs.K) <= 2 && contractGEMMMin > 0 {
		cs.direct(be)
		return
	}
	if cs.fused(be) {
		return
	}
	cs.gemm(be, na, nb, nc)
}

// scratchCache is a small free list of float32 buffers. Unlike sync.Pool it
// survives garbage collections and never misses a buffer parked on another
// P, so steady-state calls allocate nothing.
type scratchCache struct {
	mu   sync.Mutex
	free []*[]float32
}

// maxCached bounds the number of idle buffers a scratchCache keeps.
const maxCached = 16

// get returns a buffer of length n, reusing the smallest idle one that fits.
func (c *scratchCache) get(n int) *[]float32 {
	c.mu.Lock()
	best := -1
	for i, b := range c.free {
		if cap(*b) >= n && (best < 0 || cap(*b) < cap(*c.free[best])) {
			best = i
		}
	}
	if best >= 0 {
		b := c.free[best]
		c.free = append(c.free[:best], c.free[best+1:]...)
		c.mu.Unlock()
		*b = (*b)[:n]
		return b
	}
	c.mu.Unlock()
	s := make([]float32, n)
	return &s
}

// put returns a buffer; when the list is full the smallest idle buffer is
// dropped.
func (c *scratchCache) put(b *[]float32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.free) < maxCached {
		c.free = append(c.free, b)
		return
	}
	small := 0
	for i, f := range c.free {
		if cap(*f) < cap(*c.free[small]) {
			small = i
		}
	}
	if cap(*b) > cap(*c.free[small]) {
		c.free[small] = b
	}
}

// specScratch holds ComplexContract's scratch: per task, the frequency-major
// copy of one chunk of every operand and the packed per-frequency matrices.
var specScratch scratchCache

// directBlock is the number of frequencies one direct-loop task handles.
const directBlock = 64

// direct computes the contraction with loops over (m, n, k) and the
// frequency innermost, for small channel counts.
func (cs *contract) direct(be *Backend) {
	M, N, K, F := cs.M, cs.N, cs.K, cs.F
	nblk := (F + directBlock - 1) / directBlock
	tasks := M * N * nblk
	a, b, c := cs.a, cs.b, cs.c
	be.parallel(tasks, max(1, 64/(K+1)), func(lo, hi int) {
		var accR, accI [directBlock]float32
		for t := lo; t < hi; t++ {
			blk := t % nblk
			mn := t / nblk
			m, n := mn/N, mn%N
			f0 := blk * directBlock
			fb := min(directBlock, F-f0)
			ar, ai := accR[:fb], accI[:fb]
			clear(ar)
			clear(ai)
			for k := 0; k < K; k++ {
				ao := ((m*cs.sAm+k*cs.sAk)*F + f0) * 2
				bo := ((k*cs.sBk+n*cs.sBn)*F + f0) * 2
				as := a[ao : ao+2*fb]
				bs := b[bo : bo+2*fb]
				if cs.conj {
					for j := range ar {
						xr, xi := as[2*j], as[2*j+1]
						yr, yi := bs[2*j], bs[2*j+1]
						ar[j] += xr*yr + xi*yi
						ai[j] += xi*yr - xr*yi
					}
				} else {
					for j := range ar {
						xr, xi := as[2*j], as[2*j+1]
						yr, yi := bs[2*j], bs[2*j+1]
						ar[j] += xr*yr - xi*yi
						ai[j] += xr*yi + xi*yr
					}
				}
			}
			co := ((m*N+n)*F + f0) * 2
			cd := c[co : co+2*fb]
			for j := range ar {
				cd[2*j] = ar[j]
				cd[2*j+1] = ai[j]
			}
		}
	})
}

// gemm computes the contraction as one real GEMM per frequency through
// frequency-major copies of the operands; it serves the problems the fused
// path (contract.go) does not take: per-frequency GEMMs too large for its
// blocks, or fewer frequencies than threads. Frequencies
// are processed in chunks of fc, one chunk per task, the tasks spread over
// the threads. A task copies its chunk of each operand to frequency-major
// order ([fc][rows], cache resident), then for every frequency expands the
// smaller of the two complex operands to its real 2×2 block form and splits
// the other into real and imaginary planes,
//
//	M ≤ N: [Cr; Ci] (2M×N)  = [[Ar, -Ai], [Ai, Ar]] (2M×2K) · [Br; Bi] (2K×N)
//	M > N: [Cr | Ci] (M×2N) = [Ar | Ai] (M×2K) · [[Br, Bi], [-Bi, Br]] (2K×2N)
//
// (Bi negated for conj), runs the GEMM, and finally copies the chunk of C
// back to [rows][F] order. Scratch comes from a free list, so steady-state
// calls do not allocate it.
func (cs *contract) gemm(be *Backend, ra, rb, rc int) {
	M, N, K, F := cs.M, cs.N, cs.K, cs.F
	cs.expandA = M <= N
	if cs.expandA {
		cs.sa, cs.sb, cs.sc = 4*M*K, 2*K*N, 2*M*N
	} else {
		cs.sa, cs.sb, cs.sc = 2*M*K, 4*K*N, 2*M*N
	}
	rows := ra + rb + rc
	// about 1 MiB of frequency-major operands per chunk, but at least 16
	// complex values (two cache lines) per row segment, and enough chunks
	// for the threads
	fc := max(16, min(maxChunk, contractChunkBudget/(2*rows)))
	fc = max(1, min(fc, (F+cs.threads-1)/cs.threads))
	nch := (F + fc - 1) / fc
	gemmThreads := 1
	if nch < cs.threads {
		gemmThreads = cs.threads // few frequencies: split each GEMM instead
	}
	perF := cs.sa + cs.sb + cs.sc
	a, b, c := complexView(cs.a), complexView(cs.b), complexView(cs.c)
	be.parallel(nch, 1, func(lo, hi int) {
		tp := specScratch.get(2*rows*fc + perF)
		t := *tp
		at := complexView(t[:2*ra*fc])
		bt := complexView(t[2*ra*fc : 2*(ra+rb)*fc])
		ct := complexView(t[2*(ra+rb)*fc : 2*rows*fc])
		pack := t[2*rows*fc:]
		for ch := lo; ch < hi; ch++ {
			f0 := ch * fc
			n := min(fc, F-f0)
			toFreqMajor(at, a, ra, F, f0, n)
			toFreqMajor(bt, b, rb, F, f0, n)
			for j := 0; j < n; j++ {
				cs.gemmFreq(pack, at[j*ra:(j+1)*ra], bt[j*rb:(j+1)*rb], ct[j*rc:(j+1)*rc], gemmThreads)
			}
			fromFreqMajor(c, ct, rc, F, f0, n)
		}
		specScratch.put(tp)
	})
}

// contractChunkBudget is the number of complex values of frequency-major
// operands one chunk of the GEMM path aims for (1 MiB; measured best).
const contractChunkBudget = 1 << 17

// freqTile is the number of rows toFreqMajor and fromFreqMajor move
// together: 8 complex64 values fill one cache line, so every memory access
// of theirs is a whole contiguous line; the transposition itself happens in
// a small stack buffer. Chunks hold at most maxChunk frequencies.
const (
	freqTile = 8
	maxChunk = 64
)

// toFreqMajor copies columns [f0, f0+n) of src [R][F] to dst [n][R]
// (n ≤ maxChunk).
func toFreqMajor(dst, src []complex64, R, F, f0, n int) {
	var tb [freqTile * maxChunk]complex64
	for r0 := 0; r0 < R; r0 += freqTile {
		rr := min(freqTile, R-r0)
		for i := 0; i < rr; i++ {
			o := (r0+i)*F + f0
			copy(tb[i*maxChunk:i*maxChunk+n], src[o:o+n])
		}
		for j := 0; j < n; j++ {
			d := dst[j*R+r0 : j*R+r0+rr]
			for i := range d {
				d[i] = tb[i*maxChunk+j]
			}
		}
	}
}

// fromFreqMajor copies src [n][R] into columns [f0, f0+n) of dst [R][F]
// (n ≤ maxChunk).
func fromFreqMajor(dst, src []complex64, R, F, f0, n int) {
	var tb [freqTile * maxChunk]complex64
	for r0 := 0; r0 < R; r0 += freqTile {
		rr := min(freqTile, R-r0)
		for j := 0; j < n; j++ {
			for i, v := range src[j*R+r0 : j*R+r0+rr] {
				tb[i*maxChunk+j] = v
			}
		}
		for i := 0; i < rr; i++ {
			o := (r0+i)*F + f0
			copy(dst[o:o+n], tb[i*maxChunk:i*maxChunk+n])
		}
	}
}

// gemmFreq computes one frequency: a and b hold the frequency's complex
// operands (element (m, k) of A at m·sAm + k·sAk, (k, n) of B at
// k·sBk + n·sBn), c receives C [M][N]; s is packing scratch of sa+sb+sc
// floats. Each packed operand is stored transposed when that makes both its
// reads and its writes contiguous (the GEMM absorbs the transpose). The
// GEMM runs on up to threads goroutines.
func (cs *contract) gemmFreq(s []float32, a, b, c []complex64, threads int) {
	M, N, K := cs.M, cs.N, cs.K
	sa, sb := cs.sa, cs.sb
	ap, bp, cp := s[:sa], s[sa:sa+sb], s[sa+sb:sa+sb+cs.sc]
	sign := float32(1)
	if cs.conj {
		sign = -1
	}
	ta := cs.sAk != 1 && cs.sAm == 1
	tb := cs.sBn != 1 && cs.sBk == 1
	switch {
	case cs.expandA && !ta: // [[Ar, -Ai], [Ai, Ar]] as 2M×2K
		for m := 0; m < M; m++ {
			top := ap[m*2*K : (m+1)*2*K]
			bot := ap[(M+m)*2*K : (M+m+1)*2*K]
			o := m * cs.sAm
			for k := 0; k < K; k++ {
				v := a[o+k*cs.sAk]
				ar, ai := real(v), imag(v)
				top[k], top[K+k] = ar, -ai
				bot[k], bot[K+k] = ai, ar
			}
		}
	case cs.expandA && ta: // its transpose, 2K×2M: [Ar | Ai] over [-Ai | Ar]
		for k := 0; k < K; k++ {
			top := ap[k*2*M : (k+1)*2*M]
			bot := ap[(K+k)*2*M : (K+k+1)*2*M]
			o := k * cs.sAk
			for m := 0; m < M; m++ {
				v := a[o+m]
				ar, ai := real(v), imag(v)
				top[m], top[M+m] = ar, ai
				bot[m], bot[M+m] = -ai, ar
			}
		}
	case !ta: // [Ar | Ai] as M×2K
		for m := 0; m < M; m++ {
			row := ap[m*2*K : (m+1)*2*K]
			o := m * cs.sAm
			for k := 0; k < K; k++ {
				v := a[o+k*cs.sAk]
				row[k], row[K+k] = real(v), imag(v)
			}
		}
	default: // its transpose, 2K×M: Ar over Ai
		for k := 0; k < K; k++ {
			re := ap[k*M : (k+1)*M]
			im := ap[(K+k)*M : (K+k+1)*M]
			o := k * cs.sAk
			for m := range re {
				v := a[o+m]
				re[m], im[m] = real(v), imag(v)
			}
		}
	}
	switch {
	case cs.expandA && !tb: // [Br; Bi] as 2K×N
		for k := 0; k < K; k++ {
			re := bp[k*N : (k+1)*N]
			im := bp[(K+k)*N : (K+k+1)*N]
			o := k * cs.sBk
			for n := range re {
				v := b[o+n*cs.sBn]
				re[n], im[n] = real(v), sign*imag(v)
			}
		}
	case cs.expandA && tb: // its transpose, N×2K: [Br | Bi]
		for n := 0; n < N; n++ {
			row := bp[n*2*K : (n+1)*2*K]
			o := n * cs.sBn
			for k := 0; k < K; k++ {
				v := b[o+k]
				row[k], row[K+k] = real(v), sign*imag(v)
			}
		}
	case !tb: // [[Br, Bi], [-Bi, Br]] as 2K×2N
		for k := 0; k < K; k++ {
			top := bp[k*2*N : (k+1)*2*N]
			bot := bp[(K+k)*2*N : (K+k+1)*2*N]
			o := k * cs.sBk
			for n := 0; n < N; n++ {
				v := b[o+n*cs.sBn]
				br, bi := real(v), sign*imag(v)
				top[n], top[N+n] = br, bi
				bot[n], bot[N+n] = -bi, br
			}
		}
	default: // its transpose, 2N×2K: [Br | -Bi] over [Bi | Br]
		for n := 0; n < N; n++ {
			top := bp[n*2*K : (n+1)*2*K]
			bot := bp[(N+n)*2*K : (N+n+1)*2*K]
			o := n * cs.sBn
			for k := 0; k < K; k++ {
				v := b[o+k]
				br, bi := real(v), sign*imag(v)
				top[k], top[K+k] = br, -bi
				bot[k], bot[K+k] = bi, br
			}
		}
	}
	if cs.expandA {
		gemmBatch(bestKernel, ta, tb, 1, 2*M, N, 2*K, 1, ap, 0, 0, bp, 0, 0, 0, cp, 0, 0, threads)
		re, im := cp[:M*N], cp[M*N:2*M*N]
		for i := range re {
			c[i] = complex(re[i], im[i])
		}
		return
	}
	gemmBatch(bestKernel, ta, tb, 1, M, 2*N, 2*K, 1, ap, 0, 0, bp, 0, 0, 0, cp, 0, 0, threads)
	for m := 0; m < M; m++ {
		row := cp[m*2*N : (m+1)*2*N]
		out := c[m*N : (m+1)*N]
		for n := range out {
			out[n] = complex(row[n], row[N+n])
		}
	}
}

// complexView reinterprets interleaved float32 pairs as complex64 (same
// layout, alignment 4), so that a complex element moves as one 8-byte word.
func complexView(s []float32) []complex64 {
	if len(s) < 2 {
		return nil
	}
	return unsafe.Slice((*complex64)(unsafe.Pointer(&s[0])), len(s)/2)
}

// ComplexMul writes dst[idx] = a[idx]·b[idx] (b conjugated with conjB) for
// interleaved complex elements. shape and strides count complex elements;
// aOff and bOff are in float32 elements; dst is contiguous from element 0.
// Zero strides broadcast.
func (be *Backend) ComplexMul(dst tensor.Buffer, shape []int, a tensor.Buffer, aOff int, aStrides []int, b tensor.Buffer, bOff int, bStrides []int, conjB bool) {
	d, x, y := buf(dst), buf(a), buf(b)
	r := len(shape)
	if len(aStrides) != r || len(bStrides) != r || r > tensor.MaxRank {
		panic(fmt.Sprintf("cpu.ComplexMul: shape %v with strides %v/%v", shape, aStrides, bStrides))
	}
	checkSizes("ComplexMul", shape...)
	n := tensor.Numel(shape)
	if n == 0 {
		return
	}
	checkBuf("ComplexMul", "dst", len(d), 2*n)
	sign := float32(1)
	if conjB {
		sign = -1
	}
	if r == 0 {
		ar, ai := x[aOff], x[aOff+1]
		br, bi := y[bOff], sign*y[bOff+1]
		d[0], d[1] = ar*br-ai*bi, ar*bi+ai*br
		return
	}
	last := shape[r-1]
	rows := n / last
	as, bs := 2*aStrides[r-1], 2*bStrides[r-1]
	// tasks are (row, segment) pairs so that a few long rows still spread
	// over the threads
	seg := min(last, cmulSegment)
	nseg := (last + seg - 1) / seg
	be.parallel(rows*nseg, max(1, cmulSegment/seg), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			row, j0 := t/nseg, (t%nseg)*seg
			j1 := min(j0+seg, last)
			rem := row
			ao, bo := aOff+j0*as, bOff+j0*bs
			for ax := r - 2; ax >= 0; ax-- {
				i := rem % shape[ax]
				rem /= shape[ax]
				ao += 2 * i * aStrides[ax]
				bo += 2 * i * bStrides[ax]
			}
			cnt := j1 - j0
			out := d[2*(row*last+j0) : 2*(row*last+j1)]
			if as == 2 && bs == 2 {
				xs, ys := x[ao:ao+2*cnt], y[bo:bo+2*cnt]
				for j := 0; j < cnt; j++ {
					ar, ai := xs[2*j], xs[2*j+1]
					br, bi := ys[2*j], sign*ys[2*j+1]
					out[2*j] = ar*br - ai*bi
					out[2*j+1] = ar*bi + ai*br
				}
				continue
			}
			for j := 0; j < cnt; j++ {
				ar, ai := x[ao+j*as], x[ao+j*as+1]
				br, bi := y[bo+j*bs], sign*y[bo+j*bs+1]
				out[2*j] = ar*br - ai*bi
				out[2*j+1] = ar*bi + ai*br
			}
		}
	})
}

// cmulSegment is the number of complex elements one ComplexMul task handles
// at most (and, with short rows, about at least).
const cmulSegment = 8192

// kronDims validates k and d and returns (kh, kw, dh, dw) with 1-D kernels as
// kh = dh = 1.
func kronDims(op string, k, d []int) (kh, kw, dh, dw int) {
	if len(k) != len(d) || len(k) < 1 || len(k) > 2 {
		panic(fmt.Sprintf("cpu.%s: k %v and d %v must both have length 1 or 2", op, k, d))
	}
	for i := range k {
		if k[i] < 1 || d[i] < 1 {
			panic(fmt.Sprintf("cpu.%s: bad kernel size %v or dilation %v", op, k, d))
		}
	}
	if len(k) == 1 {
		return 1, k[0], 1, d[0]
	}
	return k[0], k[1], d[0], d[1]
}

// KronDilate scatters undilated kernels src [rows][k...] into dilated kernels
// dst [rows][d(k-1)+1 ...] (1 or 2 trailing dims), zeros between the taps.
func (be *Backend) KronDilate(dst, src tensor.Buffer, rows int, k, d []int) {
	kh, kw, dh, dw := kronDims("KronDilate", k, d)
	checkSizes("KronDilate", rows)
	sh, sw := dh*(kh-1)+1, dw*(kw-1)+1
	ds, ss := buf(dst), buf(src)
	checkBuf("KronDilate", "src", len(ss), rows*kh*kw)
	checkBuf("KronDilate", "dst", len(ds), rows*sh*sw)
	be.parallel(rows, max(1, 4096/(sh*sw)), func(lo, hi int) {
		clear(ds[lo*sh*sw : hi*sh*sw])
		for r := lo; r < hi; r++ {
			o := r * sh * sw
			s := ss[r*kh*kw : (r+1)*kh*kw]
			for i := 0; i < kh; i++ {
				row := ds[o+i*dh*sw : o+i*dh*sw+sw]
				for j, v := range s[i*kw : (i+1)*kw] {
					row[j*dw] = v
				}
			}
		}
	})
}

// KronGather is the adjoint of KronDilate: dst [rows][k...] takes the taps of
// src [rows][d(k-1)+1 ...].
func (be *Backend) KronGather(dst, src tensor.Buffer, rows int, k, d []int) {
	kh, kw, dh, dw := kronDims("KronGather", k, d)
	checkSizes("KronGather", rows)
	sh, sw := dh*(kh-1)+1, dw*(kw-1)+1
	ds, ss := buf(dst), buf(src)
	checkBuf("KronGather", "src", len(ss), rows*sh*sw)
	checkBuf("KronGather", "dst", len(ds), rows*kh*kw)
	be.parallel(rows, max(1, 4096/(sh*sw)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o := r * sh * sw
			t := ds[r*kh*kw : (r+1)*kh*kw]
			for i := 0; i < kh; i++ {
				row := ss[o+i*dh*sw : o+i*dh*sw+sw]
				out := t[i*kw : (i+1)*kw]
				for j := range out {
					out[j] = row[j*dw]
				}
			}
		}
	})
}
