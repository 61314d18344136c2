package nn

import (
	"math"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/internal/testdevice"
	"github.com/dash-go/dash/nn/optim"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/vk"
)

// TestFusedStepDispatchesOnVulkan runs one training step (forward, loss,
// backward, SGD with Nesterov momentum and weight decay) of each backbone
// on Vulkan with the fused kernels and with the unfused composition,
// counts the compute dispatches of each (vk Stats), asserts the fused step
// records fewer, and checks both steps give the same loss, gradients and
// updated parameters.
func TestFusedStepDispatchesOnVulkan(t *testing.T) {
	gpu := testdevice.Vulkan(t)
	vb, ok := gpu.(*vk.Backend)
	if !ok {
		t.Fatalf("test device is %T, want *vk.Backend", gpu)
	}
	for _, tc := range []struct {
		name  string
		build func(be tensor.Backend) (Backbone, error)
		shape []int
	}{
		{"resnet1d", func(be tensor.Backend) (Backbone, error) {
			return NewResNet1D(ResNet1DConfig{InChannels: 1, Length: 37, Outputs: 4, Base: 4, Backend: be, Seed: 3})
		}, []int{5, 1, 37}},
		{"wrn", func(be tensor.Backend) (Backbone, error) {
			return NewWRN(WRNConfig{Widen: 1, InChannels: 3, Height: 9, Width: 9, Outputs: 5, Backend: be, Seed: 1})
		}, []int{3, 3, 9, 9}},
		{"wrn-dense", func(be tensor.Backend) (Backbone, error) {
			return NewWRN(WRNConfig{Depth: 10, Widen: 1, InChannels: 2, Height: 7, Width: 7, Outputs: 2, Dense: true, Backend: be, Seed: 2})
		}, []int{2, 2, 7, 7}},
		{"tcn", func(be tensor.Backend) (Backbone, error) {
			return NewTCN(TCNConfig{InChannels: 2, Length: 23, Outputs: 3, Levels: 3, Channels: 5, Kernel: 3, Backend: be, Seed: 4})
		}, []int{2, 2, 23}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type result struct {
				dispatches int
				loss       float32
				grads      [][]float32
				params     [][]float32
			}
			run := func(fused bool) result {
				old := fuseOps
				fuseOps = fused
				defer func() { fuseOps = old }()
				net, err := tc.build(gpu)
				if err != nil {
					t.Fatal(err)
				}
				defer Release(net)
				opt, err := optim.NewSGD(&optim.SGDGroup{Params: net.Params(), SGDParams: tensor.SGDParams{LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4}})
				if err != nil {
					t.Fatal(err)
				}
				defer opt.Release()
				x := tensor.RandNormal(gpu, 9, 0, 1, tc.shape...)
				defer x.Release()
				if err := gpu.Sync(); err != nil {
					t.Fatal(err)
				}
				s0 := vb.Context().Stats()
				out := net.Forward(autograd.Const(x))
				loss := autograd.Mean(autograd.Square(out), false)
				autograd.Backward(loss)
				var r result
				for _, p := range net.Params() {
					r.grads = append(r.grads, p.Grad.Float32s())
				}
				opt.Step()
				opt.ZeroGrad()
				r.loss = loss.Value.Item()
				autograd.Release(loss)
				if err := gpu.Sync(); err != nil {
					t.Fatal(err)
				}
				r.dispatches = vb.Context().Stats().Dispatches - s0.Dispatches
				for _, p := range net.Params() {
					r.params = append(r.params, p.Value.Float32s())
				}
				return r
			}
			f, u := run(true), run(false)
			t.Logf("%s: %d dispatches per training step fused, %d unfused", tc.name, f.dispatches, u.dispatches)
			if f.dispatches >= u.dispatches {
				t.Errorf("fused step records %d dispatches, unfused %d: want fewer", f.dispatches, u.dispatches)
			}
			if d := math.Abs(float64(f.loss - u.loss)); d > 1e-4*math.Max(1, math.Abs(float64(u.loss))) {
				t.Errorf("loss fused %v, unfused %v", f.loss, u.loss)
			}
			near := func(what string, a, b [][]float32) {
				for i := range a {
					for j := range a[i] {
						if d := math.Abs(float64(a[i][j] - b[i][j])); d > 2e-3*math.Max(1, math.Abs(float64(b[i][j]))) {
							t.Fatalf("%s %d[%d]: fused %v, unfused %v", what, i, j, a[i][j], b[i][j])
						}
					}
				}
			}
			near("gradient", f.grads, u.grads)
			near("parameter", f.params, u.params)
		})
	}
}
