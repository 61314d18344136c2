package tests

import (
	"github.com/dash-go/dash/internal/testdevice"
	"math"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

func relErr(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(num / math.Max(den, 1e-30))
}

// DASH's Fourier aggregated convolution runs as one chain on the Vulkan
// device (kernel assembly, Kronecker dilation, real FFT, channel
// contraction, inverse FFT, crop) and equals the direct mixed-results
// convolution computed on the CPU backend, forward and backward (input,
// kernels and α), in 1-D and 2-D, with stride and odd sizes.
func TestFourierConvOnVulkanMatchesDirectOnCPU(t *testing.T) {
	gpu := testdevice.Vulkan(t)
	cases := []struct {
		name      string
		dims      int
		in, out   int
		shape     []int
		stride    int
		depthwise bool
	}{
		{"1d-full-stride2-odd", 1, 3, 5, []int{2, 3, 37}, 2, false},
		{"1d-depthwise", 1, 4, 4, []int{3, 4, 29}, 1, true},
		{"2d-full-11x13", 2, 2, 3, []int{2, 2, 11, 13}, 1, false},
		{"2d-depthwise-stride2", 2, 3, 3, []int{1, 3, 9, 10}, 2, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mk := func(be tensor.Backend, s dash.Strategy) *dash.AggConv {
				a, err := dash.NewAggConv(dash.AggConvConfig{Name: "l", Backend: be, Dims: c.dims, In: c.in, Out: c.out,
					Kernels: []int{3, 5}, Dilations: []int{1, 2}, Stride: c.stride, Depthwise: c.depthwise,
					Strategy: s, Mixing: dash.Softmax, Seed: 9})
				if err != nil {
					t.Fatal(err)
				}
				return a
			}
			ref, got := mk(cpu.Default(), dash.MixedResults), mk(gpu, dash.Fourier)
			xs := tensor.RandNormal(cpu.Default(), 4, 0, 1, c.shape...).Float32s()
			run := func(a *dash.AggConv, be tensor.Backend) (y []float32, grads [][]float32) {
				x := autograd.Leaf(tensor.FromFloat32(be, xs, c.shape...), true)
				out := a.Forward(x)
				r := tensor.RandNormal(be, 5, 0, 1, out.Value.Shape()...)
				loss := autograd.Sum(autograd.Mul(out, autograd.Const(r)), false)
				autograd.Backward(loss)
				y = out.Value.Float32s()
				grads = append(grads, x.Grad.Float32s())
				for _, p := range append(a.Params(), a.ArchParams()...) {
					grads = append(grads, p.Grad.Float32s())
				}
				autograd.Release(loss)
				return y, grads
			}
			yr, gr := run(ref, cpu.Default())
			yg, gg := run(got, gpu)
			if e := relErr(yg, yr); e > 1e-4 {
				t.Fatalf("forward: relative error %.3g", e)
			}
			for i := range gr {
				if e := relErr(gg[i], gr[i]); e > 1e-3 {
					t.Fatalf("gradient %d: relative error %.3g", i, e)
				}
			}
		})
	}
}
