package cpu

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/dash-go/dash/tensor"
)

// The benchmarks mirror ../shared/bench/torch_baseline.py: one iteration is
// the forward convolution plus both backward kernels (data and filter), as
// F.conv(x, w, padding="same", dilation=d).sum().backward() computes them.

func benchConv(b *testing.B, p tensor.ConvParams) {
	be := New()
	r := rand.New(rand.NewPCG(1, 1))
	x := &Buf{F: randSlice(r, p.N*p.C*p.H*p.W)}
	w := &Buf{F: randSlice(r, p.K*p.C/p.Groups*p.KH*p.KW)}
	y := &Buf{F: make([]float32, p.N*p.K*p.OH*p.OW)}
	dy := &Buf{F: randSlice(r, len(y.F))}
	dx := &Buf{F: make([]float32, len(x.F))}
	dw := &Buf{F: make([]float32, len(w.F))}
	flops := 3 * 2 * float64(p.N*p.K*p.OH*p.OW) * float64(p.C/p.Groups*p.KH*p.KW)
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		be.ConvForward(p, y, x, w)
		be.ConvBackwardData(p, dx, dy, w)
		be.ConvBackwardFilter(p, dw, x, dy)
	}
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	// CPU time (user+system, all threads) per op: robust to other load on
	// the machine, unlike ns/op.
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/1e6, "cpu-ms/op")
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// samePad1d is the 'same' conv1d of the torch baseline: B32 C64→64 L1000 k11.
func samePad1d(d int) tensor.ConvParams {
	return tensor.ConvParams{N: 32, C: 64, H: 1, W: 1000, K: 64, Groups: 1, KH: 1, KW: 11,
		SH: 1, SW: 1, DH: 1, DW: d, PH: 0, PW: d * 10 / 2, OH: 1, OW: 1000}
}

// BenchmarkConv1dK11D1 is conv1d_B32_C64_L1000_k11_d1 (forward + backward).
func BenchmarkConv1dK11D1(b *testing.B) { benchConv(b, samePad1d(1)) }

// BenchmarkConv1dK11D16 is conv1d_B32_C64_L1000_k11_d16 (forward + backward).
func BenchmarkConv1dK11D16(b *testing.B) { benchConv(b, samePad1d(16)) }

// BenchmarkConv2dK7D2 is conv2d_B32_C64_32x32_k7_d2 (forward + backward).
func BenchmarkConv2dK7D2(b *testing.B) {
	benchConv(b, tensor.ConvParams{N: 32, C: 64, H: 32, W: 32, K: 64, Groups: 1, KH: 7, KW: 7,
		SH: 1, SW: 1, DH: 2, DW: 2, PH: 6, PW: 6, OH: 32, OW: 32})
}

// BenchmarkConvParts times the three kernels of each baseline case apart.
func BenchmarkConvParts(b *testing.B) {
	cases := []struct {
		name string
		p    tensor.ConvParams
	}{
		{"1dK11D1", samePad1d(1)},
		{"1dK11D16", samePad1d(16)},
		{"2dK7D2", tensor.ConvParams{N: 32, C: 64, H: 32, W: 32, K: 64, Groups: 1, KH: 7, KW: 7,
			SH: 1, SW: 1, DH: 2, DW: 2, PH: 6, PW: 6, OH: 32, OW: 32}},
	}
	for _, c := range cases {
		p := c.p
		be := New()
		r := rand.New(rand.NewPCG(1, 1))
		x := &Buf{F: randSlice(r, p.N*p.C*p.H*p.W)}
		w := &Buf{F: randSlice(r, p.K*p.C/p.Groups*p.KH*p.KW)}
		y := &Buf{F: make([]float32, p.N*p.K*p.OH*p.OW)}
		dy := &Buf{F: randSlice(r, len(y.F))}
		dx := &Buf{F: make([]float32, len(x.F))}
		dw := &Buf{F: make([]float32, len(w.F))}
		part := func(name string, f func()) {
			b.Run(c.name+"/"+name, func(b *testing.B) {
				c0 := cpuTime()
				for b.Loop() {
					f()
				}
				b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/1e6, "cpu-ms/op")
			})
		}
		part("fwd", func() { be.ConvForward(p, y, x, w) })
		part("data", func() { be.ConvBackwardData(p, dx, dy, w) })
		part("filter", func() { be.ConvBackwardFilter(p, dw, x, dy) })
	}
}

// BenchmarkConvDenseBatch10 compares the implicit GEMM with the direct path
// (batch padded to 16 lanes, see directConvOK) on the dense WRN-16-1's
// layers at Darcy's batch of 10: 85×85 (16 channels), 43×43 (32), 22×22
// (64), for default and searched (k, d). Read cpu-ms/op.
//
//	go test -run '^$' -bench ConvDenseBatch10 -benchtime 3x ./tensor/cpu
func BenchmarkConvDenseBatch10(b *testing.B) {
	layers := []struct{ c, hw int }{{16, 85}, {32, 43}, {64, 22}}
	for _, kd := range [][2]int{{3, 1}, {5, 7}, {9, 7}, {3, 15}, {7, 3}} {
		for _, l := range layers {
			k, d := kd[0], kd[1]
			pad := d * (k - 1) / 2
			p := tensor.ConvParams{N: 10, C: l.c, H: l.hw, W: l.hw, K: l.c, Groups: 1, KH: k, KW: k, SH: 1, SW: 1,
				DH: d, DW: d, PH: pad, PW: pad, OH: l.hw, OW: l.hw}
			for _, path := range []string{"implicit", "direct"} {
				b.Run(fmt.Sprintf("k%dd%d/c%d/%s", k, d, l.c, path), func(b *testing.B) {
					saved, savedF := dirKernels, forceDirect
					defer func() { dirKernels, forceDirect = saved, savedF }()
					if path == "implicit" {
						dirKernels = nil
					} else if dirKernels == nil {
						b.Skip("no AVX-512: no direct path")
					} else {
						forceDirect = true
					}
					benchConv(b, p)
				})
			}
		}
	}
}
