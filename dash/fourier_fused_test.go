package dash

import (
	"fmt"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/internal/testdevice"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
	"github.com/dash-go/dash/vk"
)

// TestFourierDepthwiseVulkanFused: the depthwise 1-D Fourier aggregated
// conv on Vulkan, through the fused kernels (RFFTMulSpec, ComplexMulSum)
// and through the unfused path, matches the CPU backend in the output and
// in every gradient (input, candidate kernels, α), and the fused step
// records fewer dispatches.
func TestFourierDepthwiseVulkanFused(t *testing.T) {
	gpu := testdevice.Vulkan(t)
	vb, ok := gpu.(*vk.Backend)
	if !ok {
		t.Fatalf("testdevice.Vulkan returned %T", gpu)
	}
	if _, ok := gpu.(fusedDepthwise); !ok {
		t.Fatal("the Vulkan backend does not implement the fused depthwise kernels")
	}
	cases := []aggCase{
		{name: "dw-s2", dims: 1, n: 3, in: 4, o: 4, sp: []int{37}, ks: []int{3, 7}, ds: []int{1, 4}, stride: 2, depthwise: true},
		{name: "dw-prime", dims: 1, n: 2, in: 5, o: 5, sp: []int{97}, ks: []int{3, 5}, ds: []int{1, 3}, stride: 1, depthwise: true},
		{name: "dw-one", dims: 1, n: 1, in: 1, o: 1, sp: []int{1}, ks: []int{3}, ds: []int{1, 2}, stride: 1, depthwise: true},
		{name: "dw-wide", dims: 1, n: 4, in: 3, o: 3, sp: []int{300}, ks: []int{5, 9}, ds: []int{2, 7}, stride: 3, depthwise: true},
	}
	defer func(v int, f bool) { dftMaxSpan, noFusedFourier = v, f }(dftMaxSpan, noFusedFourier)
	for _, span := range []int{128, 0} { // kernel spectrum by DFT matrix, then by FFT
		dftMaxSpan = span
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/dftMaxSpan=%d", c.name, span), func(t *testing.T) {
				xshape := append([]int{c.n, c.in}, c.sp...)
				step := func(be tensor.Backend) (aggRun, int) {
					a, err := NewAggConv(c.cfg(be, Softmax))
					if err != nil {
						t.Fatal(err)
					}
					a.alpha.Value.CopyFrom(tensor.FromFloat32(be, fixedAlpha(len(a.cands)), len(a.cands)))
					x := tensor.FromFloat32(be, fixedNoise(1, c.n*c.in*tensor.Numel(c.sp)), xshape...)
					osh := a.OutputShape(xshape)
					r := tensor.FromFloat32(be, fixedNoise(2, tensor.Numel(osh)), osh...)
					d0 := 0
					if be == gpu {
						if err := vb.Sync(); err != nil {
							t.Fatal(err)
						}
						d0 = vb.Context().Stats().Dispatches
					}
					out := runStep(t, a, Fourier, x, r) // reads back: the step is complete
					d := 0
					if be == gpu {
						d = vb.Context().Stats().Dispatches - d0
					}
					return out, d
				}
				want, _ := step(cpu.Default())
				noFusedFourier = true
				plain, dPlain := step(gpu)
				noFusedFourier = false
				fused, dFused := step(gpu)
				for name, got := range map[string]aggRun{"unfused": plain, "fused": fused} {
					closeTo(t, name+" y", got.y, want.y, 1e-4)
					closeTo(t, name+" dx", got.dx, want.dx, 1e-4)
					closeTo(t, name+" dα", got.dalpha, want.dalpha, 1e-3)
					for i := range want.dw {
						closeTo(t, fmt.Sprintf("%s dW[k=%d]", name, c.ks[i]), got.dw[i], want.dw[i], 1e-4)
					}
				}
				t.Logf("dispatches per step: fused %d, unfused %d", dFused, dPlain)
				if dFused >= dPlain {
					t.Errorf("fused step records %d dispatches, unfused %d: want fewer", dFused, dPlain)
				}
			})
		}
	}
}

// fixedNoise returns n deterministic values in [−1, 1) (the same on every
// backend, unlike device random numbers).
func fixedNoise(seed uint64, n int) []float32 {
	out := make([]float32, n)
	s := seed*0x9e3779b97f4a7c15 + 1
	for i := range out {
		s ^= s << 13
		s ^= s >> 7
		s ^= s << 17
		out[i] = float32(s>>40)/float32(1<<23) - 1
	}
	return out
}

func fixedAlpha(n int) []float32 {
	a := fixedNoise(3, n)
	for i := range a {
		a[i] *= 0.5
	}
	return a
}

// BenchmarkFourierDepthwiseVulkan: one search step (forward + backward, α
// included) of the depthwise aggregated conv at dash bench's reference
// shape (B32, C64, L1000, K {3,7,11,15,19}, D {1,3,7,15}) on Vulkan, fused
// and unfused; reports wall ms, process CPU ms and dispatches per step.
//
//	DASH_REQUIRE_VULKAN=1 go test -run '^$' -bench FourierDepthwiseVulkan -benchtime 5x ./dash
func BenchmarkFourierDepthwiseVulkan(b *testing.B) {
	gpu := testdevice.Vulkan(b)
	vb := gpu.(*vk.Backend)
	c := aggCase{name: "bench", dims: 1, n: 32, in: 64, o: 64, sp: []int{1000}, ks: []int{3, 7, 11, 15, 19}, ds: []int{1, 3, 7, 15}, stride: 1, depthwise: true}
	for _, fused := range []bool{true, false} {
		b.Run(fmt.Sprintf("fused=%v", fused), func(b *testing.B) {
			defer func(v bool) { noFusedFourier = v }(noFusedFourier)
			noFusedFourier = !fused
			a, err := NewAggConv(c.cfg(gpu, Softmax))
			if err != nil {
				b.Fatal(err)
			}
			a.SetStrategy(Fourier)
			xshape := append([]int{c.n, c.in}, c.sp...)
			x := tensor.FromFloat32(gpu, fixedNoise(1, c.n*c.in*c.sp[0]), xshape...)
			osh := a.OutputShape(xshape)
			r := tensor.FromFloat32(gpu, fixedNoise(2, tensor.Numel(osh)), osh...)
			step := func() {
				xv := autograd.Leaf(x, true)
				loss := autograd.Sum(autograd.Mul(a.Forward(xv), autograd.Const(r)), false)
				autograd.Backward(loss)
				for _, w := range a.Params() {
					w.ZeroGrad()
				}
				a.alpha.ZeroGrad()
				autograd.Release(loss)
				if err := vb.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			step() // pipelines, plans
			d0 := vb.Context().Stats().Dispatches
			c0 := cpuSeconds()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				step()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
			b.ReportMetric((cpuSeconds()-c0)*1e3/float64(b.N), "cpu-ms/step")
			b.ReportMetric(float64(vb.Context().Stats().Dispatches-d0)/float64(b.N), "dispatches/step")
		})
	}
}
