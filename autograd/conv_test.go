package autograd_test

import (
	"math/rand/v2"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// distinct returns a tensor whose values are a random permutation of
// 0.1·(i - n/2): spaced well beyond the finite-difference step, so max
// pooling has no near-ties.
func distinct(seed uint64, shape ...int) *tensor.Tensor {
	n := tensor.Numel(shape)
	r := rand.New(rand.NewPCG(seed, 9))
	v := make([]float32, n)
	for i, j := range r.Perm(n) {
		v[i] = 0.1 * float32(j-n/2)
	}
	return tensor.FromFloat32(cpu.Default(), v, shape...)
}

func TestConvPoolGradients(t *testing.T) {
	type tc struct {
		name string
		f    func(in []*autograd.Var) *autograd.Var
		in   []*tensor.Tensor
	}
	conv1 := func(o tensor.ConvOptions) func([]*autograd.Var) *autograd.Var {
		return func(in []*autograd.Var) *autograd.Var { return autograd.Conv1d(in[0], in[1], o) }
	}
	conv2 := func(o tensor.ConvOptions) func([]*autograd.Var) *autograd.Var {
		return func(in []*autograd.Var) *autograd.Var { return autograd.Conv2d(in[0], in[1], o) }
	}
	one := func(f func(*autograd.Var) *autograd.Var) func([]*autograd.Var) *autograd.Var {
		return func(in []*autograd.Var) *autograd.Var { return f(in[0]) }
	}
	cases := []tc{
		{"conv1d-same-even", conv1(tensor.ConvOptions{Padding: tensor.PadSame}), []*tensor.Tensor{rnd(1, 2, 3, 11), rnd(2, 4, 3, 4)}},
		{"conv1d-causal-dil3", conv1(tensor.ConvOptions{Padding: tensor.PadCausal, Dilation: []int{3}}), []*tensor.Tensor{rnd(3, 1, 2, 13), rnd(4, 3, 2, 3)}},
		{"conv1d-stride2-groups2", conv1(tensor.ConvOptions{Stride: []int{2}, Groups: 2, Padding: tensor.PadSym(2)}), []*tensor.Tensor{rnd(5, 2, 4, 9), rnd(6, 6, 2, 5)}},
		{"conv1d-depthwise", conv1(tensor.ConvOptions{Groups: 3, Padding: tensor.PadSame, Dilation: []int{2}}), []*tensor.Tensor{rnd(7, 2, 3, 10), rnd(8, 3, 1, 3)}},
		{"conv2d-basic", conv2(tensor.ConvOptions{Padding: tensor.PadSym(1)}), []*tensor.Tensor{rnd(9, 2, 3, 5, 6), rnd(10, 2, 3, 3, 3)}},
		{"conv2d-stride-dil-asym", conv2(tensor.ConvOptions{Stride: []int{2, 1}, Dilation: []int{1, 2}, Padding: tensor.Padding{Before: []int{2, 0}, After: []int{0, 3}}}), []*tensor.Tensor{rnd(11, 1, 2, 7, 5), rnd(12, 3, 2, 3, 2)}},
		{"conv2d-depthwise-stride", conv2(tensor.ConvOptions{Stride: []int{2}, Groups: 4, Padding: tensor.PadSym(1)}), []*tensor.Tensor{rnd(13, 2, 4, 6, 5), rnd(14, 4, 1, 3, 3)}},
		{"conv2d-same-even-groups", conv2(tensor.ConvOptions{Groups: 2, Padding: tensor.PadSame}), []*tensor.Tensor{rnd(15, 1, 4, 5, 5), rnd(16, 2, 2, 2, 4)}},
		{"maxpool1d", one(func(x *autograd.Var) *autograd.Var { return autograd.MaxPool1d(x, 3, 2, 1) }), []*tensor.Tensor{distinct(17, 2, 3, 11)}},
		{"maxpool2d", one(func(x *autograd.Var) *autograd.Var { return autograd.MaxPool2d(x, 3, 2, 1) }), []*tensor.Tensor{distinct(18, 2, 2, 7, 6)}},
		{"maxpool2d-rect", one(func(x *autograd.Var) *autograd.Var {
			return autograd.MaxPool(x, tensor.PoolOptions{Kernel: []int{2, 3}, Stride: []int{1, 2}})
		}), []*tensor.Tensor{distinct(19, 1, 2, 5, 7)}},
		{"avgpool1d", one(func(x *autograd.Var) *autograd.Var { return autograd.AvgPool1d(x, 4, 3, 2) }), []*tensor.Tensor{rnd(20, 2, 3, 13)}},
		{"avgpool2d", one(func(x *autograd.Var) *autograd.Var { return autograd.AvgPool2d(x, 3, 0, 1) }), []*tensor.Tensor{rnd(21, 2, 2, 7, 8)}},
		{"globalavg1d", one(autograd.GlobalAvgPool), []*tensor.Tensor{rnd(22, 2, 3, 7)}},
		{"globalavg2d", one(autograd.GlobalAvgPool), []*tensor.Tensor{rnd(23, 2, 3, 4, 5)}},
		{"conv-pool-chain", func(in []*autograd.Var) *autograd.Var {
			h := autograd.Conv2d(in[0], in[1], tensor.ConvOptions{Padding: tensor.PadSame})
			h = autograd.AvgPool2d(h, 2, 2, 0)
			return autograd.GlobalAvgPool(h)
		}, []*tensor.Tensor{rnd(24, 2, 2, 6, 6), rnd(25, 3, 2, 3, 3)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := autograd.GradCheck(c.f, c.in, autograd.GradCheckOptions{Seed: 5, MaxPerVar: 48}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConvNoGradInputs(t *testing.T) {
	// only w requires a gradient: x's gradient is never computed.
	x := autograd.Const(rnd(30, 2, 3, 9))
	w := autograd.Param("w", rnd(31, 4, 3, 3))
	y := autograd.Conv1d(x, w, tensor.ConvOptions{Padding: tensor.PadSame})
	autograd.Backward(autograd.Sum(y, false))
	if w.Grad == nil || x.Grad != nil {
		t.Fatalf("grads: w %v, x %v", w.Grad, x.Grad)
	}
	if got := w.Grad.Shape(); !tensor.SameShape(got, []int{4, 3, 3}) {
		t.Fatalf("w.Grad shape %v", got)
	}
	var out *autograd.Var
	autograd.NoGrad(func() { out = autograd.MaxPool1d(autograd.Param("p", rnd(32, 1, 2, 6)), 2, 0, 0) })
	if out.RequiresGrad() {
		t.Fatal("NoGrad MaxPool1d recorded a graph")
	}
}
