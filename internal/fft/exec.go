package fft

import (
	"runtime"
	"sync"
)

// work holds reusable scratch buffers for one goroutine. Slot use:
// 0 and 3 are the Stockham ping-pong buffers of exec; 1, 2 and 4 belong to
// the pass kernels that need scratch (Rader, direct prime, Bluestein) and to
// the odd-length real transforms; 5 and 6 hold the lane-batched rows. Nested
// transforms (Rader/Bluestein sub-plans) use child().
type work struct {
	bufs [7][]float32
	sub  *work
}

func (w *work) get(i, n int) []float32 {
	if cap(w.bufs[i]) < n {
		w.bufs[i] = make([]float32, n)
	}
	return w.bufs[i][:n]
}

func (w *work) child() *work {
	if w.sub == nil {
		w.sub = &work{}
	}
	return w.sub
}

// Scratch is recycled through a small free list first (sync.Pool keeps
// items per P, so a worker goroutine that lands on another P would miss
// them and allocate again) and a sync.Pool for any overflow, which the GC
// may reclaim.
var (
	workFree = make(chan *work, 2*runtime.GOMAXPROCS(0)+2)
	workPool = sync.Pool{New: func() any { return &work{} }}
)

func getWork() *work {
	select {
	case w := <-workFree:
		return w
	default:
		return workPool.Get().(*work)
	}
}

func putWork(w *work) {
	select {
	case workFree <- w:
	default:
		workPool.Put(w)
	}
}

// exec runs an unnormalised transform over the lanes [e0, e0+L) of data laid
// out as [n][v] complex elements (src and dst are n*v*2 floats). dst may
// equal src; src is never written unless it equals dst.
func (pl *Plan) exec(dst, src []float32, v, e0, L int, inv bool, w *work) {
	n := pl.n
	full := L == v
	if n == 1 {
		if &dst[0] != &src[0] {
			if full {
				copy(dst[:2*v], src[:2*v])
			} else {
				copy(dst[2*e0:2*(e0+L)], src[2*e0:2*(e0+L)])
			}
		}
		return
	}
	if pl.blue != nil {
		pl.blue.exec(dst, src, v, e0, L, inv, w)
		return
	}
	sn := float32(1)
	if inv {
		sn = -1
	}
	k := len(pl.stages)
	size := 2 * n * v
	aliased := &dst[0] == &src[0]
	in := src
	s := 1
	for i, st := range pl.stages {
		var out []float32
		if i == k-1 {
			out = dst
		} else if (k-1-i)%2 == 1 {
			out = w.get(0, size)
		} else {
			out = dst
			if i == 0 && aliased {
				out = w.get(3, size)
			}
		}
		var g geom
		g.m = st.m
		g.S = s * v
		if full {
			g.qn, g.qs, g.L, g.off = 1, 0, s*v, 0
		} else {
			g.qn, g.qs, g.L, g.off = s, v, L, e0
		}
		tw := st.tw
		if inv {
			tw = st.twi
		}
		switch {
		case st.rad != nil:
			passRader(out, in, tw, g, st.rad, inv, w)
		case st.gen != nil:
			passGen(out, in, tw, g, st.gen, sn, w)
		case st.r == 2:
			pass2(out, in, tw, g)
		case st.r == 3:
			pass3(out, in, tw, g, sn)
		case st.r == 4:
			pass4(out, in, tw, g, sn)
		case st.r == 5:
			pass5(out, in, tw, g, sn)
		case st.r == 6:
			pass6(out, in, tw, g, sn)
		case st.r == 7:
			pass7(out, in, tw, g, sn)
		case st.r == 8:
			pass8(out, in, tw, g, sn)
		}
		in = out
		s *= st.r
	}
}

// exec runs Bluestein's algorithm lane by lane.
func (b *bluestein) exec(dst, src []float32, v, e0, L int, inv bool, w *work) {
	n, m := b.n, b.m
	A := w.get(1, 2*m)
	B := w.get(2, 2*m)
	kern := b.kf
	if inv {
		kern = b.ki
	}
	ch := b.chirp
	sw := w.child()
	for e := e0; e < e0+L; e++ {
		// a[k] = x[k] * chirp[k] (conjugated chirp for inverse)
		for k := 0; k < n; k++ {
			i := 2 * (k*v + e)
			xr, xi := src[i], src[i+1]
			cr, ci := ch[2*k], ch[2*k+1]
			if inv {
				ci = -ci
			}
			A[2*k], A[2*k+1] = xr*cr-xi*ci, xr*ci+xi*cr
		}
		clear(A[2*n:])
		b.sub.exec(B, A, 1, 0, 1, false, sw)
		for k := 0; k < m; k++ {
			ur, ui := B[2*k], B[2*k+1]
			kr, ki := kern[2*k], kern[2*k+1]
			B[2*k], B[2*k+1] = ur*kr-ui*ki, ur*ki+ui*kr
		}
		b.sub.exec(A, B, 1, 0, 1, true, sw)
		for k := 0; k < n; k++ {
			i := 2 * (k*v + e)
			xr, xi := A[2*k], A[2*k+1]
			cr, ci := ch[2*k], ch[2*k+1]
			if inv {
				ci = -ci
			}
			dst[i], dst[i+1] = xr*cr-xi*ci, xr*ci+xi*cr
		}
	}
}

// Transform computes one complex transform of length pl.Len(): src and dst
// hold pl.Len() interleaved complex values (2*Len floats) and may be the
// same slice. Forward is unnormalised (sign -1); inverse is normalised by
// 1/n. For batches prefer FFT, which is parallel and lane-vectorised.
func (pl *Plan) Transform(dst, src []float32, inverse bool) {
	n := pl.n
	checkLen("Plan.Transform", "src", len(src), 2*n, "2*n")
	checkLen("Plan.Transform", "dst", len(dst), 2*n, "2*n")
	w := getWork()
	pl.exec(dst, src, 1, 0, 1, inverse, w)
	putWork(w)
	if inverse {
		scale(dst, 1/float32(n))
	}
}
