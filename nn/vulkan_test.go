package nn

import (
	"github.com/dash-go/dash/internal/testdevice"
	"math"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// TestBackbonesOnVulkan runs forward and backward of every backbone (small
// configurations, training mode, with dropout) on the CPU and Vulkan
// backends and compares outputs and parameter gradients.
func TestBackbonesOnVulkan(t *testing.T) {
	gpu := testdevice.Vulkan(t)
	type mk func(be tensor.Backend) (Backbone, error)
	for _, tc := range []struct {
		name  string
		build mk
		shape []int
	}{
		{"wrn", func(be tensor.Backend) (Backbone, error) {
			return NewWRN(WRNConfig{Widen: 1, InChannels: 3, Height: 12, Width: 12, Outputs: 5, DropRate: 0.1, Backend: be, Seed: 1})
		}, []int{2, 3, 12, 12}},
		{"wrn-dense", func(be tensor.Backend) (Backbone, error) {
			return NewWRN(WRNConfig{Depth: 10, Widen: 1, InChannels: 2, Height: 9, Width: 9, Outputs: 1, Dense: true, Backend: be, Seed: 2})
		}, []int{2, 2, 9, 9}},
		{"resnet1d causal", func(be tensor.Backend) (Backbone, error) {
			return NewResNet1D(ResNet1DConfig{InChannels: 1, Length: 50, Outputs: 4, Causal: true, Backend: be, Seed: 3})
		}, []int{3, 1, 50}},
		{"tcn", func(be tensor.Backend) (Backbone, error) {
			return NewTCN(TCNConfig{InChannels: 1, Length: 40, Outputs: 3, Levels: 3, Channels: 6, Kernel: 3, DropRate: 0.2, Backend: be, Seed: 4})
		}, []int{2, 1, 40}},
	} {
		run := func(be tensor.Backend) ([]float32, [][]float32) {
			net, err := tc.build(be)
			if err != nil {
				t.Fatal(err)
			}
			defer Release(net)
			x := autograd.Const(tensor.RandNormal(be, 5, 0, 1, tc.shape...))
			y := net.Forward(x)
			out := y.Value.Float32s()
			loss := autograd.Mean(autograd.Square(y), false)
			autograd.Backward(loss)
			var grads [][]float32
			for _, p := range net.Params() {
				grads = append(grads, p.Grad.Float32s())
			}
			autograd.Release(loss)
			return out, grads
		}
		wantOut, wantGrads := run(cpu.Default())
		gotOut, gotGrads := run(gpu)
		if d := maxRelDiff(gotOut, wantOut); d > 1e-4 {
			t.Errorf("%s: outputs differ by %.2g", tc.name, d)
		}
		// gradients are compared relative to the largest gradient of the
		// network: conv biases in front of batch norm have a gradient that is
		// zero up to rounding, so a per-tensor scale would be noise
		var all, allWant []float32
		for i := range wantGrads {
			all = append(all, gotGrads[i]...)
			allWant = append(allWant, wantGrads[i]...)
		}
		if d := maxRelDiff(all, allWant); d > 1e-4 {
			t.Errorf("%s: gradients differ by %.2g", tc.name, d)
		}
	}
}

// maxRelDiff is max |a-b| / max(max|b|, 1e-6) over the elements.
func maxRelDiff(a, b []float32) float64 {
	scale := 1e-6
	for _, v := range b {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d / scale
}
