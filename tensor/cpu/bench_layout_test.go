package cpu

import (
	"fmt"
	"testing"
)

// BenchmarkConvLayouts times the layout copies of the direct convolution
// on the WRN-16-4 activation shapes (batch 64), in GB/s read+written.
func BenchmarkConvLayouts(b *testing.B) {
	be := New()
	for _, s := range []struct{ n, c, hw int }{{64, 64, 784}, {64, 128, 196}, {64, 256, 49}} {
		x := make([]float32, s.n*s.c*s.hw)
		ld := padLD(s.n)
		ps := pixStride(s.c, ld)
		xt := make([]float32, s.hw*ps)
		ldc := padLD(s.c)
		psc := pixStride(s.n, ldc)
		xp := make([]float32, s.hw*psc)
		bytes := float64(8 * len(x))
		for _, k := range []struct {
			name string
			f    func()
		}{
			{"toPCN", func() { be.toPCN(x, s.n, s.c, s.hw, ld, ps, xt) }},
			{"fromPCN", func() { be.fromPCN(xt, s.n, s.c, s.hw, ld, ps, x) }},
			{"toPNC", func() { be.toPNC(x, s.n, s.c, s.hw, ldc, psc, xp) }},
			{"copy", func() { copy(xt[:len(x)], x) }},
		} {
			b.Run(fmt.Sprintf("N%dC%dHW%d/%s", s.n, s.c, s.hw, k.name), func(b *testing.B) {
				c0 := cpuTime()
				for b.Loop() {
					k.f()
				}
				cpu := float64(cpuTime() - c0)
				b.ReportMetric(cpu/float64(b.N)/1e6, "cpu-ms/op")
				b.ReportMetric(bytes*float64(b.N)/cpu, "GB/cpu-s")
			})
		}
	}
}
