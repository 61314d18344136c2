//go:build cgo

package vk

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/dash-go/dash/tensor"
)

// BenchmarkContract times the three channel contractions of one Fourier
// conv step (forward, input gradient, weight gradient) at the DASH shape:
// B32, C = O = 64, F = 513 frequencies (a 1024-point real FFT).
func BenchmarkContract(b *testing.B) {
	be := benchBackend(b)
	B, C, O, F := 32, 64, 64, 513
	r := rand.New(rand.NewSource(1))
	x, w, y := be.Alloc(2*B*C*F), be.Alloc(2*O*C*F), be.Alloc(2*B*O*F)
	dx, dw := be.Alloc(2*B*C*F), be.Alloc(2*O*C*F)
	be.WriteFloat32(x, 0, randSlice(r, 2*B*C*F, -1, 1))
	be.WriteFloat32(w, 0, randSlice(r, 2*O*C*F, -1, 1))
	be.WriteFloat32(y, 0, randSlice(r, 2*B*O*F, -1, 1))
	be.Sync()
	benchVariants(b, func(b *testing.B) {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			// The engine's calls (dash/aggconv.go): Yf = contract(Xf, Hf), etc.
			be.ComplexContract(tensor.ContractForward, y, x, w, B, C, O, F)
			be.ComplexContract(tensor.ContractGradX, dx, y, w, B, C, O, F)
			be.ComplexContract(tensor.ContractGradW, dw, y, x, B, C, O, F)
		}
		be.Sync()
		flops := 3 * 8.0 * float64(B*C*O*F)
		b.ReportMetric(flops*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
	})
}

// benchVariants runs f with the device's choice of kernel variants, then
// with the shared-memory and the register-only variants forced.
func benchVariants(b *testing.B, f func(b *testing.B)) {
	for _, v := range []struct {
		name string
		mode int
	}{{"auto", -1}, {"tiled", 1}, {"registers", 0}} {
		b.Run(v.name, func(b *testing.B) {
			gemmTiledMode = v.mode
			defer func() { gemmTiledMode = -1 }()
			f(b)
		})
	}
}

// BenchmarkConvGEMM times forward, backward-data and backward-filter
// convolutions: the 1-D DASH/PyTorch reference case (B32 C64→64 L1000 k11),
// its depthwise variant, and a small 2-D 3×3 case.
func BenchmarkConvGEMM(b *testing.B) {
	be := benchBackend(b)
	cases := []struct {
		name string
		p    tensor.ConvParams
	}{
		{"1d_k11", tensor.ConvParams{N: 32, C: 64, H: 1, W: 1000, K: 64, Groups: 1, KH: 1, KW: 11, SH: 1, SW: 1, DH: 1, DW: 1, PW: 5, OH: 1, OW: 1000}},
		{"1d_dw_k11_d4", tensor.ConvParams{N: 32, C: 64, H: 1, W: 1000, K: 64, Groups: 64, KH: 1, KW: 11, SH: 1, SW: 1, DH: 1, DW: 4, PW: 20, OH: 1, OW: 1000}},
		{"2d_k3", tensor.ConvParams{N: 8, C: 32, H: 32, W: 32, K: 32, Groups: 1, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PH: 1, PW: 1, OH: 32, OW: 32}},
		{"2d_dw_k5", tensor.ConvParams{N: 32, C: 64, H: 32, W: 32, K: 64, Groups: 64, KH: 5, KW: 5, SH: 1, SW: 1, DH: 1, DW: 1, PH: 2, PW: 2, OH: 32, OW: 32}},
	}
	r := rand.New(rand.NewSource(1))
	for _, cs := range cases {
		p := cs.p
		nx, nw, ny := p.N*p.C*p.H*p.W, p.K*(p.C/p.Groups)*p.KH*p.KW, p.N*p.K*p.OH*p.OW
		x, w, y := be.Alloc(nx), be.Alloc(nw), be.Alloc(ny)
		be.WriteFloat32(x, 0, randSlice(r, nx, -1, 1))
		be.WriteFloat32(w, 0, randSlice(r, nw, -1, 1))
		be.WriteFloat32(y, 0, randSlice(r, ny, -1, 1))
		flops := 2 * float64(ny) * float64(p.C/p.Groups*p.KH*p.KW)
		for _, dir := range []string{"fwd", "bwd_data", "bwd_filter"} {
			b.Run(fmt.Sprintf("%s/%s", cs.name, dir), func(b *testing.B) {
				be.Sync()
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					switch dir {
					case "fwd":
						be.ConvForward(p, y, x, w)
					case "bwd_data":
						be.ConvBackwardData(p, x, y, w)
					default:
						be.ConvBackwardFilter(p, w, x, y)
					}
				}
				be.Sync()
				b.ReportMetric(flops*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
			})
		}
		be.Free(x)
		be.Free(w)
		be.Free(y)
	}
}

// BenchmarkMatMulShapes times square and skinny GEMMs (op(A) as stored and
// transposed: the backward pass's layouts).
func BenchmarkMatMulShapes(b *testing.B) {
	be := benchBackend(b)
	r := rand.New(rand.NewSource(1))
	for _, cs := range []struct {
		m, k, n int
		ta, tb  bool
	}{{512, 512, 512, false, false}, {512, 512, 512, true, false}, {512, 512, 512, false, true}, {64, 4096, 64, false, true}, {1000, 64, 33, false, false}} {
		b.Run(fmt.Sprintf("%dx%dx%d_ta%v_tb%v", cs.m, cs.k, cs.n, cs.ta, cs.tb), func(b *testing.B) {
			x, y, z := be.Alloc(cs.m*cs.k), be.Alloc(cs.k*cs.n), be.Alloc(cs.m*cs.n)
			defer func() { be.Free(x); be.Free(y); be.Free(z) }()
			be.WriteFloat32(x, 0, randSlice(r, cs.m*cs.k, -1, 1))
			be.WriteFloat32(y, 0, randSlice(r, cs.k*cs.n, -1, 1))
			be.Sync()
			p := tensor.MatMulParams{Batch: 1, M: cs.m, N: cs.n, K: cs.k, TransA: cs.ta, TransB: cs.tb, Alpha: 1}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				be.MatMul(z, x, y, p)
			}
			be.Sync()
			b.ReportMetric(2*float64(cs.m*cs.n*cs.k)*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
		})
	}
}
