//go:build cgo

package vk

import (
	"math/rand"
	"testing"
	"time"

	"github.com/dash-go/dash/tensor"
)

func benchBackend(b *testing.B) *Backend {
	idx := testDevice(b)
	be, err := New(Options{Device: idx})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	return be
}

// BenchmarkSubmitWait measures one tiny dispatch plus a submit-and-wait.
func BenchmarkSubmitWait(b *testing.B) {
	be := benchBackend(b)
	x := be.Alloc(1)
	out := make([]float32, 1)
	be.ReadFloat32(x, 0, out)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		be.Unary(tensor.OpAffine, x, x, 1, 1, 1)
		be.ReadFloat32(x, 0, out)
	}
}

// BenchmarkRecord measures the host cost of recording dispatches: each
// iteration records 1000 small independent dispatches into one command
// buffer (timed), then submits and waits (not timed).
func BenchmarkRecord(b *testing.B) {
	idx := testDevice(b)
	be, err := New(Options{Device: idx, BatchSize: 2048})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	x := be.Alloc(1)
	ys := make([]tensor.Buffer, 1000)
	for i := range ys {
		ys[i] = be.Alloc(1)
	}
	be.Sync()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range ys {
			be.Unary(tensor.OpAffine, ys[j], x, 1, 1, 1)
		}
		b.StopTimer()
		be.Sync()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ys)), "ns/dispatch")
}

// BenchmarkSaxpy1M: y = a·x + y on 1M floats as two dispatches (affine into
// a temporary, then add); bytes count both kernels' traffic.
func BenchmarkSaxpy1M(b *testing.B) {
	be := benchBackend(b)
	n := 1 << 20
	r := rand.New(rand.NewSource(1))
	x, y, t := be.Alloc(n), be.Alloc(n), be.Alloc(n)
	be.WriteFloat32(x, 0, randSlice(r, n, -1, 1))
	be.WriteFloat32(y, 0, randSlice(r, n, -1, 1))
	be.Sync()
	b.SetBytes(int64(5 * 4 * n)) // affine: read+write; add: 2 reads + write
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		be.Unary(tensor.OpAffine, t, x, n, 2, 0)
		be.Binary(tensor.OpAdd, y, []int{n}, y, 0, []int{1}, t, 0, []int{1})
	}
	be.Sync()
}

// BenchmarkAdd1M: one elementwise dispatch over 1M floats.
func BenchmarkAdd1M(b *testing.B) {
	be := benchBackend(b)
	n := 1 << 20
	x, y := be.Alloc(n), be.Alloc(n)
	be.Sync()
	b.SetBytes(int64(3 * 4 * n))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		be.Binary(tensor.OpAdd, y, []int{n}, x, 0, []int{1}, y, 0, []int{1})
	}
	be.Sync()
}

func benchMatMul(b *testing.B, n int) {
	be := benchBackend(b)
	r := rand.New(rand.NewSource(1))
	x, y, z := be.Alloc(n*n), be.Alloc(n*n), be.Alloc(n*n)
	be.WriteFloat32(x, 0, randSlice(r, n*n, -1, 1))
	be.WriteFloat32(y, 0, randSlice(r, n*n, -1, 1))
	be.Sync()
	p := tensor.MatMulParams{Batch: 1, M: n, N: n, K: n, Alpha: 1}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		be.MatMul(z, x, y, p)
	}
	be.Sync()
	sec := time.Since(start).Seconds()
	b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/sec/1e9, "GFLOP/s")
}

func BenchmarkMatMul512(b *testing.B) { benchMatMul(b, 512) }

func BenchmarkConvFwd(b *testing.B) {
	be := benchBackend(b)
	p := tensor.ConvParams{N: 8, C: 32, H: 32, W: 32, K: 32, Groups: 1, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PH: 1, PW: 1, OH: 32, OW: 32}
	x, w, y := be.Alloc(8*32*32*32), be.Alloc(32*32*9), be.Alloc(8*32*32*32)
	be.Sync()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		be.ConvForward(p, y, x, w)
	}
	be.Sync()
	flops := 2.0 * 8 * 32 * 32 * 32 * 32 * 9
	b.ReportMetric(flops*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
}
