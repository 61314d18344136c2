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

// BenchmarkRecord measures the host cost of recording one dispatch (batched
// submits, one wait at the end).
func BenchmarkRecord(b *testing.B) {
	be := benchBackend(b)
	x := be.Alloc(1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		be.Unary(tensor.OpAffine, x, x, 1, 1, 1)
	}
	be.Sync()
}

// BenchmarkSaxpy1M: y = a·x + y on 1M floats as one fused-free pair of
// kernels would be; here Binary(OpAdd) of y and an affine x (2 dispatches).
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
