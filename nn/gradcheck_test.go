package nn

import (
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// TestBackboneGradients checks input gradients of small backbones against
// finite differences (in evaluation mode, so batch norm is a fixed affine
// map and dropout is off).
func TestBackboneGradients(t *testing.T) {
	be := cpu.Default()
	wrn, err := NewWRN(WRNConfig{Depth: 10, Widen: 1, InChannels: 2, Height: 6, Width: 6, Outputs: 2, Dense: true, Backend: be, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	wrnPoint, err := NewWRN(WRNConfig{Depth: 10, Widen: 1, InChannels: 2, Height: 6, Width: 6, Outputs: 3, Backend: be, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	res, err := NewResNet1D(ResNet1DConfig{InChannels: 2, Length: 12, Outputs: 3, Base: 2, Causal: true, Backend: be, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	tcn, err := NewTCN(TCNConfig{InChannels: 2, Length: 12, Outputs: 3, Levels: 2, Channels: 3, Kernel: 3, Backend: be, Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		net   Backbone
		shape []int
	}{
		{"wrn-dense", wrn, []int{2, 2, 6, 6}},
		{"wrn", wrnPoint, []int{2, 2, 6, 6}},
		{"resnet1d", res, []int{2, 2, 12}},
		{"tcn", tcn, []int{2, 2, 12}},
	} {
		tc.net.SetTraining(false)
		x := tensor.RandNormal(be, 9, 0, 1, tc.shape...)
		err := autograd.GradCheck(func(in []*autograd.Var) *autograd.Var { return tc.net.Forward(in[0]) },
			[]*tensor.Tensor{x}, autograd.GradCheckOptions{Seed: 1, Eps: 1e-2, Tol: 3e-2})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// TestLayerParamGradients checks parameter gradients of Conv (1-D causal,
// 2-D strided grouped), PointwiseLinear and BatchNorm (training mode).
func TestLayerParamGradients(t *testing.T) {
	be := cpu.Default()
	c1, _ := NewConv(ConvSpec{Name: "c1", Dims: 1, In: 2, Out: 3, Kernel: 3, Dilation: 2, Stride: 1, Causal: true, Bias: true, Backend: be})
	c2, _ := NewConv(ConvSpec{Name: "c2", Dims: 2, In: 4, Out: 2, Kernel: 3, Dilation: 1, Stride: 2, Groups: 2, Bias: true, Backend: be})
	lin, _ := NewLinear(be, 1, "l", 3, 2, true)
	pl := &PointwiseLinear{lin}
	bn, _ := NewBatchNorm(be, "bn", 3)
	convSet := func(c *Conv) func(ps []*autograd.Var) {
		return func(ps []*autograd.Var) { c.Weight, c.Bias = ps[0], ps[1] }
	}
	for _, tc := range []struct {
		name   string
		layer  Layer
		params []*autograd.Var
		set    func([]*autograd.Var)
		shape  []int
	}{
		{"conv1d causal", c1, c1.Params(), convSet(c1), []int{2, 2, 9}},
		{"conv2d strided grouped", c2, c2.Params(), convSet(c2), []int{2, 4, 5, 5}},
		{"pointwise linear", pl, lin.Params(), func(ps []*autograd.Var) { lin.Weight, lin.Bias = ps[0], ps[1] }, []int{2, 3, 2, 2}},
		{"batch norm", bn, bn.Params(), func(ps []*autograd.Var) { bn.Gamma, bn.Beta = ps[0], ps[1] }, []int{4, 3, 5}},
	} {
		ins := []*tensor.Tensor{tensor.RandNormal(be, 2, 0, 1, tc.shape...)}
		for _, p := range tc.params {
			ins = append(ins, p.Value)
		}
		err := autograd.GradCheck(func(in []*autograd.Var) *autograd.Var {
			tc.set(in[1:])
			defer tc.set(tc.params)
			return tc.layer.Forward(in[0])
		}, ins, autograd.GradCheckOptions{Seed: 3})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
