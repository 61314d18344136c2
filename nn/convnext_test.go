package nn

import (
	"strings"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// convnextParams counts the small ConvNeXt by formula.
func convnextParams(in, widen, blocks, k, out int) int {
	dims := []int{16 * widen, 32 * widen, 64 * widen}
	total := in*dims[0]*4 + dims[0] + 2*dims[0] // stem conv 2×2 + bias, its LayerNorm
	for s, c := range dims {
		if s > 0 {
			total += 2*dims[s-1] + dims[s-1]*c*4 + c // LayerNorm, 2×2 conv + bias
		}
		for range blocks {
			total += c*k*k + c // depthwise conv + bias
			total += 2 * c     // LayerNorm
			total += c*4*c + 4*c + 4*c*c + c
			total += c // layer scale
		}
	}
	last := dims[2]
	return total + 2*last + last*out + out
}

func TestConvNeXtShapes(t *testing.T) {
	be := cpu.Default()
	for _, tc := range []struct {
		in, h, w, out, widen, blocks int
	}{
		{3, 32, 32, 100, 1, 2}, // CIFAR-100 shape
		{1, 28, 28, 10, 1, 1},  // MNIST: 28 → 14 → 7 → 4 → 2
		{3, 60, 60, 100, 2, 1}, // spherical
	} {
		n, err := Build(Config{Name: "convnext", InShape: []int{tc.in, tc.h, tc.w}, Outputs: tc.out, Width: tc.widen, Depth: tc.blocks, Backend: be, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got := forwardShape(t, n, 2, tc.in, tc.h, tc.w); !eq(got, []int{2, tc.out}) {
			t.Errorf("%+v: output %v", tc, got)
		}
		specs := n.SearchableConvs()
		if len(specs) != 3*tc.blocks {
			t.Errorf("%+v: %d searchable convs, want %d", tc, len(specs), 3*tc.blocks)
		}
		for _, s := range specs {
			if s.Kernel != 7 || s.Groups != s.In || s.In != s.Out || !strings.HasSuffix(s.Name, "dwconv") {
				t.Errorf("searchable %+v: want the depthwise 7×7 convs", s)
			}
			if n.SearchableLayers()[s.Name] == nil {
				t.Errorf("no layer for %s", s.Name)
			}
		}
		if got, want := NumParams(n), convnextParams(tc.in, tc.widen, tc.blocks, 7, tc.out); got != want {
			t.Errorf("%+v: %d parameters, want %d", tc, got, want)
		}
		Release(n)
	}
	for _, bad := range []Config{
		{Name: "convnext", InShape: []int{3, 32}, Outputs: 10},
		{Name: "convnext", InShape: []int{3, 4, 4}, Outputs: 10},
		{Name: "convnext", InShape: []int{3, 32, 32}, Outputs: 0},
	} {
		bad.Backend = be
		if _, err := Build(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	// a kernel larger than the input is refused, naming the conv
	if _, err := NewConvNeXt(ConvNeXtConfig{InChannels: 1, Height: 8, Width: 8, Outputs: 2, Kernel: 9, Backend: be}); err == nil || !strings.Contains(err.Error(), "dwconv") {
		t.Errorf("9×9 on an 8×8 input: %v", err)
	}
}

// TestConvNeXtGradients checks input and parameter gradients of a tiny
// ConvNeXt against finite differences, with the layer scales at 0.5 (at
// ConvNeXt's 1e-6 the blocks would hardly contribute).
func TestConvNeXtGradients(t *testing.T) {
	be := cpu.Default()
	n, err := NewConvNeXt(ConvNeXtConfig{InChannels: 2, Height: 8, Width: 8, Outputs: 3, Blocks: 1, Kernel: 3, Backend: be, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer Release(n)
	var gammas []*autograd.Var
	for _, p := range n.Params() {
		if strings.HasSuffix(p.Name, ".gamma") {
			p.Value.CopyFrom(tensor.Full(be, 0.5, p.Value.Shape()...))
			gammas = append(gammas, p)
		}
	}
	if len(gammas) != 3 {
		t.Fatalf("%d layer scales", len(gammas))
	}
	n.SetTraining(false)
	x := tensor.RandNormal(be, 9, 0, 1, 2, 2, 8, 8)
	if err := autograd.GradCheck(func(in []*autograd.Var) *autograd.Var { return n.Forward(in[0]) },
		[]*tensor.Tensor{x}, autograd.GradCheckOptions{Seed: 1, Eps: 1e-2, Tol: 3e-2}); err != nil {
		t.Errorf("input gradient: %v", err)
	}
	// a block's parameters: depthwise conv, LayerNorm, both pointwise layers, γ
	blk, err := newConvNeXtBlock(&builder{kind: "convnext", be: be, seed: 4, factory: DefaultConvFactory, layers: map[string]Layer{}}, "b", 4, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	blk.gamma.Value.CopyFrom(tensor.Full(be, 0.7, 4))
	params := blk.Params()
	dw := blk.dw.(*Conv)
	set := func(ps []*autograd.Var) {
		dw.Weight, dw.Bias, blk.norm.Gamma, blk.norm.Beta = ps[0], ps[1], ps[2], ps[3]
		blk.pw1.Weight, blk.pw1.Bias, blk.pw2.Weight, blk.pw2.Bias, blk.gamma = ps[4], ps[5], ps[6], ps[7], ps[8]
	}
	if len(params) != 9 {
		t.Fatalf("%d block parameters", len(params))
	}
	ins := []*tensor.Tensor{tensor.RandNormal(be, 5, 0, 1, 2, 4, 5, 5)}
	for _, p := range params {
		ins = append(ins, p.Value)
	}
	if err := autograd.GradCheck(func(in []*autograd.Var) *autograd.Var {
		set(in[1:])
		defer set(params)
		return blk.Forward(in[0])
	}, ins, autograd.GradCheckOptions{Seed: 3, Eps: 1e-2, Tol: 3e-2}); err != nil {
		t.Errorf("block parameter gradients: %v", err)
	}
}

// TestLayerNorm checks the channel LayerNorm against a float64 reference.
func TestLayerNorm(t *testing.T) {
	be := cpu.Default()
	ln, err := NewLayerNorm(be, "ln", 3)
	if err != nil {
		t.Fatal(err)
	}
	ln.Gamma.Value.CopyFrom(tensor.FromFloat32(be, []float32{1, 2, 0.5}, 3))
	ln.Beta.Value.CopyFrom(tensor.FromFloat32(be, []float32{0, 1, -1}, 3))
	// [1, 3, 2]: position 0 has channels (1, 2, 3), position 1 (0, 0, 6)
	x := tensor.FromFloat32(be, []float32{1, 0, 2, 0, 3, 6}, 1, 3, 2)
	y := ln.Forward(autograd.Const(x)).Value.Float32s()
	// position 0: mean 2, var 2/3 → (−1, 0, 1)/√(2/3); position 1: mean 2, var 8 → (−2, −2, 4)/√8
	s0, s1 := float32(1/0.816496580927726), float32(1/2.8284271247461903)
	want := []float32{-1 * s0, -2 * s1, 2*0 + 1, 2*(-2*s1) + 1, 0.5*s0 - 1, 0.5*4*s1 - 1}
	for i := range want {
		if d := y[i] - want[i]; d > 1e-4 || d < -1e-4 {
			t.Errorf("y[%d] = %v, want %v", i, y[i], want[i])
		}
	}
}

// TestResNet1DDense checks the 1-D dense ResNet (Burgers: u0 → u(t=1)):
// output [Outputs, L], the classifier's parameter count, input gradients.
func TestResNet1DDense(t *testing.T) {
	be := cpu.Default()
	n, err := Build(Config{Name: "resnet1d-dense", InShape: []int{2, 32}, Outputs: 1, Width: 4, Backend: be, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer Release(n)
	if got := forwardShape(t, n, 3, 2, 32); !eq(got, []int{3, 1, 32}) || !eq(n.OutputShape(), []int{1, 32}) {
		t.Errorf("output %v, OutputShape %v", got, n.OutputShape())
	}
	if got, want := NumParams(n), resnet1dParams(2, 4, 1); got != want {
		t.Errorf("%d parameters, want %d", got, want)
	}
	if len(n.SearchableConvs()) != 9 {
		t.Errorf("%d searchable convs", len(n.SearchableConvs()))
	}
	n.SetTraining(false)
	x := tensor.RandNormal(be, 9, 0, 1, 2, 2, 12)
	small, err := Build(Config{Name: "resnet1d-dense", InShape: []int{2, 12}, Outputs: 2, Width: 2, Backend: be, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer Release(small)
	small.SetTraining(false)
	if err := autograd.GradCheck(func(in []*autograd.Var) *autograd.Var { return small.Forward(in[0]) },
		[]*tensor.Tensor{x}, autograd.GradCheckOptions{Seed: 1, Eps: 1e-2, Tol: 3e-2}); err != nil {
		t.Errorf("input gradient: %v", err)
	}
}
