package fft

import (
	"fmt"
	"runtime"
	"sync"
)

// minParallelWork is the number of complex elements below which a call
// runs on the calling goroutine only.
const minParallelWork = 1 << 15

// parFor splits [0, n) into at most GOMAXPROCS contiguous chunks and runs
// fn on each, one goroutine per chunk. Each chunk gets its own scratch.
// work is the total amount of work (in complex elements) used to decide
// whether to go parallel at all.
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
	var wg sync.WaitGroup
	for i := 0; i < nw; i++ {
		lo, hi := n*i/nw, n*(i+1)/nw
		if lo == hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := getWork()
			fn(lo, hi, w)
			putWork(w)
		}()
	}
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
		for b := lo; b < hi; b++ {
			d := dst[2*n*b : 2*n*(b+1)]
			pl.exec(d, src[2*n*b:2*n*(b+1)], 1, 0, 1, inverse, w)
			if inverse {
				scale(d, f)
			}
		}
	})
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
