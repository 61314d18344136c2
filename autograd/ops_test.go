package autograd_test

import (
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

func rnd(seed uint64, shape ...int) *tensor.Tensor {
	return tensor.RandNormal(cpu.Default(), seed, 0, 1, shape...)
}

func pos(seed uint64, shape ...int) *tensor.Tensor {
	return tensor.RandUniform(cpu.Default(), seed, 0.5, 2, shape...)
}

func TestGradients(t *testing.T) {
	be := cpu.Default()
	labels := tensor.FromInt32(be, []int32{2, 0, 4, 1, 3}, 5)
	targets01 := tensor.Unary(tensor.OpThreshold, tensor.RandUniform(be, 9, 0, 1, 4, 6), 0.5, 1)
	type tc struct {
		name string
		f    func(in []*autograd.Var) *autograd.Var
		in   []*tensor.Tensor
		opt  autograd.GradCheckOptions
	}
	V := func(f func(a *autograd.Var) *autograd.Var) func([]*autograd.Var) *autograd.Var {
		return func(in []*autograd.Var) *autograd.Var { return f(in[0]) }
	}
	V2 := func(f func(a, b *autograd.Var) *autograd.Var) func([]*autograd.Var) *autograd.Var {
		return func(in []*autograd.Var) *autograd.Var { return f(in[0], in[1]) }
	}
	cases := []tc{
		{"add", V2(autograd.Add), []*tensor.Tensor{rnd(1, 3, 4), rnd(2, 3, 4)}, autograd.GradCheckOptions{}},
		{"add-broadcast", V2(autograd.Add), []*tensor.Tensor{rnd(1, 3, 4), rnd(2, 4)}, autograd.GradCheckOptions{}},
		{"sub-broadcast", V2(autograd.Sub), []*tensor.Tensor{rnd(1, 2, 1, 5), rnd(2, 3, 1)}, autograd.GradCheckOptions{}},
		{"mul-broadcast", V2(autograd.Mul), []*tensor.Tensor{rnd(1, 3, 4), rnd(2, 3, 1)}, autograd.GradCheckOptions{}},
		{"div", V2(autograd.Div), []*tensor.Tensor{rnd(1, 7), pos(2, 7)}, autograd.GradCheckOptions{}},
		{"max", V2(autograd.Maximum), []*tensor.Tensor{rnd(1, 9), rnd(2, 9)}, autograd.GradCheckOptions{Eps: 1e-3}},
		{"min", V2(autograd.Minimum), []*tensor.Tensor{rnd(1, 9), rnd(2, 9)}, autograd.GradCheckOptions{Eps: 1e-3}},
		{"exp", V(autograd.Exp), []*tensor.Tensor{rnd(1, 11)}, autograd.GradCheckOptions{}},
		{"log", V(autograd.Log), []*tensor.Tensor{pos(1, 11)}, autograd.GradCheckOptions{}},
		{"sqrt", V(autograd.Sqrt), []*tensor.Tensor{pos(1, 11)}, autograd.GradCheckOptions{}},
		{"square", V(autograd.Square), []*tensor.Tensor{rnd(1, 11)}, autograd.GradCheckOptions{}},
		{"abs", V(autograd.Abs), []*tensor.Tensor{pos(1, 11)}, autograd.GradCheckOptions{}},
		{"recip", V(autograd.Recip), []*tensor.Tensor{pos(1, 11)}, autograd.GradCheckOptions{}},
		{"pow", V(func(a *autograd.Var) *autograd.Var { return autograd.Pow(a, 2.5) }), []*tensor.Tensor{pos(1, 11)}, autograd.GradCheckOptions{}},
		{"relu", V(autograd.ReLU), []*tensor.Tensor{rnd(1, 13)}, autograd.GradCheckOptions{Eps: 1e-3}},
		{"sigmoid", V(autograd.Sigmoid), []*tensor.Tensor{rnd(1, 13)}, autograd.GradCheckOptions{}},
		{"tanh", V(autograd.Tanh), []*tensor.Tensor{rnd(1, 13)}, autograd.GradCheckOptions{}},
		{"gelu", V(autograd.GELU), []*tensor.Tensor{rnd(1, 13)}, autograd.GradCheckOptions{}},
		{"softplus", V(autograd.Softplus), []*tensor.Tensor{rnd(1, 13)}, autograd.GradCheckOptions{}},
		{"logsigmoid", V(autograd.LogSigmoid), []*tensor.Tensor{rnd(1, 13)}, autograd.GradCheckOptions{}},
		{"affine", V(func(a *autograd.Var) *autograd.Var { return autograd.Affine(a, -3, 2) }), []*tensor.Tensor{rnd(1, 5)}, autograd.GradCheckOptions{}},
		{"sum-all", V(func(a *autograd.Var) *autograd.Var { return autograd.Sum(a, false) }), []*tensor.Tensor{rnd(1, 3, 5)}, autograd.GradCheckOptions{}},
		{"sum-axis", V(func(a *autograd.Var) *autograd.Var { return autograd.Sum(a, false, 1) }), []*tensor.Tensor{rnd(1, 3, 5, 2)}, autograd.GradCheckOptions{}},
		{"sum-axes-keep", V(func(a *autograd.Var) *autograd.Var { return autograd.Sum(a, true, 0, 2) }), []*tensor.Tensor{rnd(1, 3, 5, 2)}, autograd.GradCheckOptions{}},
		{"mean-axes", V(func(a *autograd.Var) *autograd.Var { return autograd.Mean(a, false, 1, 2) }), []*tensor.Tensor{rnd(1, 3, 5, 2)}, autograd.GradCheckOptions{}},
		{"matmul", V2(autograd.MatMul), []*tensor.Tensor{rnd(1, 3, 4), rnd(2, 4, 5)}, autograd.GradCheckOptions{}},
		{"matmul-batched", V2(autograd.MatMul), []*tensor.Tensor{rnd(1, 2, 3, 4), rnd(2, 2, 4, 5)}, autograd.GradCheckOptions{}},
		{"matmul-broadcast", V2(autograd.MatMul), []*tensor.Tensor{rnd(1, 2, 3, 4), rnd(2, 4, 5)}, autograd.GradCheckOptions{}},
		{"linear", func(in []*autograd.Var) *autograd.Var { return autograd.Linear(in[0], in[1], in[2]) }, []*tensor.Tensor{rnd(1, 6, 4), rnd(2, 3, 4), rnd(3, 3)}, autograd.GradCheckOptions{}},
		{"reshape", V(func(a *autograd.Var) *autograd.Var {
			return autograd.Mul(autograd.Reshape(a, 6, 2), autograd.Const(rnd(5, 6, 2)))
		}), []*tensor.Tensor{rnd(1, 3, 4)}, autograd.GradCheckOptions{}},
		{"permute", V(func(a *autograd.Var) *autograd.Var { return autograd.Permute(a, 2, 0, 1) }), []*tensor.Tensor{rnd(1, 2, 3, 4)}, autograd.GradCheckOptions{}},
		{"slice", V(func(a *autograd.Var) *autograd.Var { return autograd.Slice(a, 1, 1, 3) }), []*tensor.Tensor{rnd(1, 2, 5)}, autograd.GradCheckOptions{}},
		{"concat", V2(func(a, b *autograd.Var) *autograd.Var { return autograd.Concat(1, a, b) }), []*tensor.Tensor{rnd(1, 2, 3), rnd(2, 2, 5)}, autograd.GradCheckOptions{}},
		{"pad", V(func(a *autograd.Var) *autograd.Var { return autograd.Pad(a, []int{0, 2}, []int{1, 3}) }), []*tensor.Tensor{rnd(1, 2, 5)}, autograd.GradCheckOptions{}},
		{"crop", V(func(a *autograd.Var) *autograd.Var { return autograd.Crop(a, []int{1, 1}, []int{2, 3}) }), []*tensor.Tensor{rnd(1, 4, 5)}, autograd.GradCheckOptions{}},
		{"broadcast", V(func(a *autograd.Var) *autograd.Var { return autograd.BroadcastTo(a, 3, 2, 4) }), []*tensor.Tensor{rnd(1, 2, 1)}, autograd.GradCheckOptions{}},
		{"softmax", V(func(a *autograd.Var) *autograd.Var { return autograd.Softmax(a, 1) }), []*tensor.Tensor{rnd(1, 3, 7)}, autograd.GradCheckOptions{}},
		{"softmax-axis0", V(func(a *autograd.Var) *autograd.Var { return autograd.Softmax(a, 0) }), []*tensor.Tensor{rnd(1, 3, 7)}, autograd.GradCheckOptions{}},
		{"logsoftmax", V(func(a *autograd.Var) *autograd.Var { return autograd.LogSoftmax(a, -1) }), []*tensor.Tensor{rnd(1, 3, 7)}, autograd.GradCheckOptions{}},
		{"cross-entropy", V(func(a *autograd.Var) *autograd.Var { return autograd.CrossEntropy(a, labels) }), []*tensor.Tensor{rnd(1, 5, 6)}, autograd.GradCheckOptions{}},
		{"bce", V(func(a *autograd.Var) *autograd.Var { return autograd.BCEWithLogits(a, targets01, 1) }), []*tensor.Tensor{rnd(1, 4, 6)}, autograd.GradCheckOptions{}},
		{"bce-posweight", V(func(a *autograd.Var) *autograd.Var { return autograd.BCEWithLogits(a, targets01, 4) }), []*tensor.Tensor{rnd(1, 4, 6)}, autograd.GradCheckOptions{}},
		{"mse", V(func(a *autograd.Var) *autograd.Var { return autograd.MSE(a, rnd(8, 4, 3)) }), []*tensor.Tensor{rnd(1, 4, 3)}, autograd.GradCheckOptions{}},
		{"relative-l2", V(func(a *autograd.Var) *autograd.Var { return autograd.RelativeL2(a, rnd(8, 3, 2, 5)) }), []*tensor.Tensor{rnd(1, 3, 2, 5)}, autograd.GradCheckOptions{}},
		{"batchnorm-2d", func(in []*autograd.Var) *autograd.Var {
			return autograd.BatchNorm(in[0], in[1], in[2], nil, nil, true, 0.1, 1e-5)
		}, []*tensor.Tensor{rnd(1, 4, 3, 5, 2), pos(2, 3), rnd(3, 3)}, autograd.GradCheckOptions{Tol: 5e-2}},
		{"batchnorm-1d", func(in []*autograd.Var) *autograd.Var {
			return autograd.BatchNorm(in[0], in[1], in[2], nil, nil, true, 0.1, 1e-5)
		}, []*tensor.Tensor{rnd(1, 6, 2, 7), pos(2, 2), rnd(3, 2)}, autograd.GradCheckOptions{Tol: 5e-2}},
		{"dropout", V(func(a *autograd.Var) *autograd.Var { return autograd.Dropout(a, 0.3, 42, true) }), []*tensor.Tensor{rnd(1, 50)}, autograd.GradCheckOptions{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := autograd.GradCheck(c.f, c.in, c.opt); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestBackwardAccumulatesAndReleases(t *testing.T) {
	be := cpu.Default()
	w := autograd.Param("w", tensor.FromFloat32(be, []float32{1, 2, 3}, 3))
	for range 2 {
		y := autograd.Sum(autograd.Square(w), false)
		autograd.Backward(y)
		autograd.Release(y)
		if !y.Value.Released() {
			t.Fatal("Release did not free the loss value")
		}
	}
	got := w.Grad.Float32s()
	want := []float32{4, 8, 12} // two accumulated steps of 2w
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("grad = %v, want %v", got, want)
		}
	}
	if w.Value.Released() {
		t.Fatal("Release freed a parameter")
	}
}

func TestNoGradRecordsNothing(t *testing.T) {
	be := cpu.Default()
	w := autograd.Param("w", tensor.FromFloat32(be, []float32{1, 2}, 2))
	var y *autograd.Var
	autograd.NoGrad(func() { y = autograd.Sum(autograd.Square(w), false) })
	if y.RequiresGrad() {
		t.Fatal("NoGrad result requires grad")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Backward on a no-grad loss did not panic")
		}
	}()
	autograd.Backward(y)
}

func TestBatchNormRunningStats(t *testing.T) {
	be := cpu.Default()
	x := autograd.Const(tensor.FromFloat32(be, []float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 2))
	rm := tensor.Zeros(be, 2)
	rv := tensor.Full(be, 1, 2)
	autograd.BatchNorm(x, nil, nil, rm, rv, true, 0.5, 1e-5)
	// channel 0: {1,2,5,6} mean 3.5, unbiased var 17/3; channel 1: {3,4,7,8} mean 5.5
	m := rm.Float32s()
	v := rv.Float32s()
	if m[0] != 1.75 || m[1] != 2.75 {
		t.Fatalf("running mean %v", m)
	}
	want := 0.5 + 0.5*17.0/3
	if d := float64(v[0]) - want; d > 1e-5 || d < -1e-5 {
		t.Fatalf("running var %v want %v", v, want)
	}
}
