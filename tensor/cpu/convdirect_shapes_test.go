package cpu

import (
	"fmt"
	"testing"

	"github.com/dash-go/dash/tensor"
)

// BenchmarkConvDirectVsImplicit times the WRN layer shapes (forward + both
// backward kernels) on the paths the backend picks ("direct") and on the
// implicit GEMM; BenchmarkConvWRN compares the paths kernel by kernel.
func BenchmarkConvDirectVsImplicit(b *testing.B) {
	for _, s := range []struct{ n, c, hw, k, d, st int }{
		{32, 16, 28, 3, 1, 1}, {32, 16, 28, 9, 3, 1}, {32, 32, 14, 7, 3, 1}, {32, 64, 7, 9, 1, 1}, {32, 64, 7, 3, 7, 1},
		{32, 16, 28, 5, 1, 2},
		{64, 64, 28, 3, 1, 1}, {64, 64, 28, 9, 3, 1}, {64, 128, 14, 3, 1, 1}, {64, 128, 14, 7, 3, 1}, {64, 256, 7, 3, 1, 1}, {64, 256, 7, 9, 1, 1},
	} {
		pad := s.d * (s.k - 1) / 2
		o := (s.hw+2*pad-s.d*(s.k-1)-1)/s.st + 1
		c := s.c
		if s.st == 2 {
			c = s.c
		}
		p := tensor.ConvParams{N: s.n, C: c, H: s.hw, W: s.hw, K: s.c * s.st, Groups: 1, KH: s.k, KW: s.k,
			SH: s.st, SW: s.st, DH: s.d, DW: s.d, PH: pad, PW: pad, OH: o, OW: o}
		name := fmt.Sprintf("N%dC%dK%d_%dx%d_k%dd%ds%d", p.N, p.C, p.K, p.H, p.W, s.k, s.d, s.st)
		b.Run(name+"/direct", func(b *testing.B) { benchConv(b, p) })
		b.Run(name+"/implicit", func(b *testing.B) {
			saved := dirKernels
			dirKernels = nil
			defer func() { dirKernels = saved }()
			benchConv(b, p)
		})
	}
}
