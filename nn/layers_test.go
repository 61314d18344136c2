package nn

import (
	"math"
	"slices"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

func TestInit(t *testing.T) {
	be := cpu.Default()
	spec := ConvSpec{Name: "a.conv", Dims: 2, In: 8, Out: 16, Kernel: 3, Dilation: 1, Stride: 1, Groups: 2, Bias: true, Seed: 42, Backend: be}
	c, err := NewConv(spec)
	if err != nil {
		t.Fatal(err)
	}
	bound := float32(1 / math.Sqrt(4*9)) // fan_in = In/Groups·k·k
	w := c.Weight.Value.Float32s()
	var maxAbs, sum float64
	for _, v := range w {
		maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
		sum += float64(v)
	}
	if maxAbs > float64(bound) || maxAbs < 0.9*float64(bound) {
		t.Errorf("weights within ±%v, want ±%v (Kaiming-uniform a=√5)", maxAbs, bound)
	}
	if math.Abs(sum/float64(len(w))) > 0.03 {
		t.Errorf("weight mean %v", sum/float64(len(w)))
	}
	for _, v := range c.Bias.Value.Float32s() {
		if math.Abs(float64(v)) > float64(bound) {
			t.Errorf("bias %v outside ±%v", v, bound)
		}
	}
	// deterministic, and independent of construction order and of other layers
	NewConv(ConvSpec{Name: "other", Dims: 1, In: 1, Out: 1, Kernel: 1, Dilation: 1, Stride: 1, Seed: 42, Backend: be})
	c2, _ := NewConv(spec)
	if !slices.Equal(w, c2.Weight.Value.Float32s()) {
		t.Error("same seed and name gave different weights")
	}
	spec.Seed = 43
	c3, _ := NewConv(spec)
	if slices.Equal(w, c3.Weight.Value.Float32s()) {
		t.Error("different seeds gave the same weights")
	}
	lin, _ := NewLinear(be, 1, "fc", 100, 10, true)
	for _, v := range lin.Weight.Value.Float32s() {
		if math.Abs(float64(v)) > 0.1 {
			t.Fatalf("linear weight %v outside ±0.1", v)
		}
	}
}

func TestDropout(t *testing.T) {
	be := cpu.Default()
	d, err := NewDropout(1, "d", 0.5)
	if err != nil {
		t.Fatal(err)
	}
	x := autograd.Const(tensor.Full(be, 1, 1000))
	m1 := d.Forward(x).Value.Float32s()
	m2 := d.Forward(x).Value.Float32s()
	if slices.Equal(m1, m2) {
		t.Error("two training steps drew the same mask")
	}
	zeros := 0
	for _, v := range m1 {
		if v == 0 {
			zeros++
		} else if v != 2 {
			t.Fatalf("kept value %v, want 2 (scaled by 1/(1-p))", v)
		}
	}
	if zeros < 400 || zeros > 600 {
		t.Errorf("%d of 1000 dropped at p = 0.5", zeros)
	}
	d.Step = 0
	if !slices.Equal(d.Forward(x).Value.Float32s(), m1) {
		t.Error("resetting the step counter does not reproduce the mask")
	}
	d.SetTraining(false)
	if d.Forward(x) != x {
		t.Error("dropout active in evaluation mode")
	}
	if _, err := NewDropout(1, "d", 1); err == nil {
		t.Error("p = 1 accepted")
	}
}

func TestBatchNormModes(t *testing.T) {
	be := cpu.Default()
	bn, _ := NewBatchNorm(be, "bn", 2)
	x := autograd.Const(tensor.FromFloat32(be, []float32{1, 3, 10, 20, 5, 7, 30, 40}, 2, 2, 2))
	y := bn.Forward(x).Value.Float32s()
	// channel 0 holds 1,3,5,7: mean 4, biased var 5 → (1-4)/√5
	if math.Abs(float64(y[0])+3/math.Sqrt(5+1e-5)) > 1e-5 {
		t.Errorf("normalised %v", y[0])
	}
	rm := bn.RunningMean.Value.Float32s()
	rv := bn.RunningVar.Value.Float32s()
	// running mean 0.9·0 + 0.1·4; running var 0.9·1 + 0.1·(unbiased 20/3)
	if math.Abs(float64(rm[0])-0.4) > 1e-6 || math.Abs(float64(rv[0])-(0.9+0.1*20.0/3)) > 1e-5 {
		t.Errorf("running stats %v %v", rm, rv)
	}
	bn.SetTraining(false)
	ye := bn.Forward(x).Value.Float32s()
	if want := (1 - 0.4) / math.Sqrt(float64(rv[0])+1e-5); math.Abs(float64(ye[0])-want) > 1e-5 {
		t.Errorf("eval mode %v, want %v", ye[0], want)
	}
	names := []string{bn.Buffers()[0].Name, bn.Buffers()[1].Name, bn.Params()[0].Name}
	if !slices.Equal(names, []string{"bn.running_mean", "bn.running_var", "bn.weight"}) {
		t.Errorf("names %v", names)
	}
}

func TestPool(t *testing.T) {
	be := cpu.Default()
	mp, _ := NewMaxPool(1, 2, 0, 0)
	ap, _ := NewAvgPool(1, 2, 0, 0)
	x := autograd.Const(tensor.FromFloat32(be, []float32{1, 3, 2, 0, 5, 5}, 1, 1, 6))
	if got := mp.Forward(x).Value.Float32s(); !slices.Equal(got, []float32{3, 2, 5}) {
		t.Errorf("max pool %v", got)
	}
	if got := ap.Forward(x).Value.Float32s(); !slices.Equal(got, []float32{2, 1, 5}) {
		t.Errorf("avg pool %v", got)
	}
	if _, err := NewMaxPool(3, 2, 2, 0); err == nil {
		t.Error("3-D pooling accepted")
	}
}

func TestConfigForTask(t *testing.T) {
	be := cpu.Default()
	for _, name := range []string{"darcy", "mnist", "mnist-2d"} {
		task, err := datasets.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := ConfigForTask(task)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Backend, cfg.Width = be, 1
		net, err := Build(cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := append([]int{1}, net.OutputShape()...)
		shape := append([]int{1}, task.InShape...)
		if got := forwardShape(t, net, shape...); !slices.Equal(got, want) {
			t.Errorf("%s: output %v, want %v", name, got, want)
		}
		if task.Kind == datasets.DenseField && !slices.Equal(net.OutputShape(), task.OutShape) {
			t.Errorf("%s: output shape %v, task wants %v", name, net.OutputShape(), task.OutShape)
		}
	}
}

func TestResidual(t *testing.T) {
	be := cpu.Default()
	lin, _ := NewLinear(be, 1, "body", 3, 3, false)
	r := &Residual{Body: lin}
	x := autograd.Leaf(tensor.FromFloat32(be, []float32{1, 2, 3}, 1, 3), true)
	y := r.Forward(x)
	body := lin.Forward(x).Value.Float32s()
	got := y.Value.Float32s()
	for i := range got {
		if math.Abs(float64(got[i]-body[i]-float32(i+1))) > 1e-6 {
			t.Fatalf("residual %v, body %v", got, body)
		}
	}
	if len(r.Params()) != 1 || r.Params()[0].Name != "body.weight" {
		t.Errorf("params %v", r.Params())
	}
	bn, _ := NewBatchNorm2d(be, "bn", 3)
	defer func() {
		if recover() == nil {
			t.Error("BatchNorm2d accepted a 1-D input")
		}
	}()
	bn.Forward(autograd.Const(tensor.Zeros(be, 2, 3, 4)))
}
