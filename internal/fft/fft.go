package fft

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// minParallelWork is the number of complex elements below which a call
// runs on the calling goroutine only.
const minParallelWork = 1 << 15

// parFor runs fn over [0, n) on up to GOMAXPROCS goroutines. Work is
// handed out dynamically in chunks (several per worker) so that a worker
// slowed down by other load on the machine does not hold up the call.
// Each goroutine gets its own scratch. work is the total amount of work (in
// complex elements) used to decide whether to go parallel at all.
func parFor(n, work int, fn func(lo, hi int, w *work)) {
	if n <= 0 {
		return
	}
	nw := runtime.GOMAXPROCS(0)
	if nw > n {
		nw = n
	}
	if c := work / minParallelWork; c < nw {
		nw = c
	}
	if nw <= 1 {
		w := getWork()
		fn(0, n, w)
		putWork(w)
		return
	}
	// chunk: about 8 chunks per worker, but not below minParallelWork/4
	// elements per chunk.
	chunk := (n + 8*nw - 1) / (8 * nw)
	if per := work / n; per > 0 && chunk*per < minParallelWork/4 {
		chunk = (minParallelWork/4 + per - 1) / per
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	body := func() {
		w := getWork()
		for {
			lo := int(next.Add(int64(chunk))) - chunk
			if lo >= n {
				break
			}
			fn(lo, min(lo+chunk, n), w)
		}
		putWork(w)
	}
	for i := 1; i < nw; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body()
		}()
	}
	body()
	wg.Wait()
}

func scale(x []float32, f float32) {
	for i := range x {
		x[i] *= f
	}
}

func checkLen(fn, name string, got, want int, dims string) {
	if got != want {
		panic(fmt.Sprintf("fft.%s: len(%s)=%d want %s=%d", fn, name, got, dims, want))
	}
}

func checkDims(fn string, dims ...int) {
	for _, d := range dims {
		if d < 0 {
			panic(fmt.Sprintf("fft.%s: negative size in %v", fn, dims))
		}
	}
}

// FFT computes batch complex transforms of length n. src and dst are
// interleaved complex data of len batch*n*2. The forward transform is
// unnormalised with sign -1 (X[k] = Σ x[j]·exp(-2πijk/n)); the inverse uses
// sign +1 and is normalised by 1/n. dst may equal src (in place); otherwise
// they must not overlap.
func FFT(dst, src []float32, batch, n int, inverse bool) {
	checkDims("FFT", batch, n)
	if n < 1 && batch > 0 {
		panic(fmt.Sprintf("fft.FFT: n=%d, want n >= 1", n))
	}
	checkLen("FFT", "src", len(src), batch*n*2, "batch*n*2")
	checkLen("FFT", "dst", len(dst), batch*n*2, "batch*n*2")
	if batch == 0 {
		return
	}
	pl := PlanFor(n)
	f := 1 / float32(n)
	parFor(batch, batch*n, func(lo, hi int, w *work) {
		if hi-lo == 1 || !pl.lanesHelp() {
			for b := lo; b < hi; b++ {
				d := dst[2*n*b : 2*n*(b+1)]
				pl.exec(d, src[2*n*b:2*n*(b+1)], 1, 0, 1, inverse, w)
				if inverse {
					scale(d, f)
				}
			}
			return
		}
		fftLanes(pl, dst[2*n*lo:2*n*hi], src[2*n*lo:2*n*hi], hi-lo, n, inverse, w)
	})
}

// lanesHelp reports whether batched transforms should use the lane layout:
// worthwhile unless the first pass has a specialised unit-stride kernel.
func (pl *Plan) lanesHelp() bool {
	if pl.n < 8 || pl.n > maxLaneLen || pl.blue != nil {
		return false
	}
	r := pl.stages[0].r
	return useSIMD || !(r == 2 || r == 4 || r == 8)
}

// fftLanes transforms count rows laneRows at a time: the rows are
// transposed into a [n][rows] lane layout so that every Stockham pass runs
// long contiguous inner loops, then transposed back (and scaled).
func fftLanes(pl *Plan, dst, src []float32, count, n int, inverse bool, w *work) {
	f := float32(1)
	if inverse {
		f = 1 / float32(n)
	}
	for b0 := 0; b0 < count; b0 += laneRows {
		V := min(laneRows, count-b0)
		A := w.get(5, 2*n*V)
		Z := w.get(6, 2*n*V)
		rowsToLanes(A, src[2*n*b0:], 2*n, V, n)
		pl.exec(Z, A, V, 0, V, inverse, w)
		if inverse {
			scale(Z, f)
		}
		lanesToRows(dst[2*n*b0:], Z, 2*n, V, n)
	}
}

// FFTAxis computes complex transforms in place along the middle axis of
// data viewed as [outer][n][inner] interleaved complex elements
// (len(data) = outer*n*inner*2). Forward is unnormalised with sign -1;
// inverse is normalised by 1/n.
func FFTAxis(data []float32, outer, n, inner int, inverse bool) {
	checkDims("FFTAxis", outer, n, inner)
	if n < 1 && outer*inner > 0 {
		panic(fmt.Sprintf("fft.FFTAxis: n=%d, want n >= 1", n))
	}
	checkLen("FFTAxis", "data", len(data), outer*n*inner*2, "outer*n*inner*2")
	if outer*inner == 0 {
		return
	}
	pl := PlanFor(n)
	blk := 2 * n * inner
	f := 1 / float32(n)
	nw := runtime.GOMAXPROCS(0)
	chunks := 1
	if outer < nw && inner >= 2 {
		chunks = (nw + outer - 1) / outer
		if chunks > inner {
			chunks = inner
		}
	}
	parFor(outer*chunks, outer*n*inner, func(lo, hi int, w *work) {
		for t := lo; t < hi; t++ {
			o, c := t/chunks, t%chunks
			d := data[o*blk : (o+1)*blk]
			e0, e1 := inner*c/chunks, inner*(c+1)/chunks
			pl.exec(d, d, inner, e0, e1-e0, inverse, w)
			if inverse {
				if chunks == 1 {
					scale(d, f)
				} else {
					for j := 0; j < n; j++ {
						scale(d[2*(j*inner+e0):2*(j*inner+e1)], f)
					}
				}
			}
		}
	})
}
