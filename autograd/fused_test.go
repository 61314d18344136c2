package autograd_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// TestFusedGradients checks the fused ops' gradients against central finite
// differences on awkward shapes (one channel, odd spatial sizes, 2-D).
func TestFusedGradients(t *testing.T) {
	be := cpu.Default()
	type tc struct {
		name string
		f    func(in []*autograd.Var) *autograd.Var
		in   []*tensor.Tensor
	}
	var cases []tc
	for _, shape := range [][]int{{5, 3, 7}, {4, 1, 3, 5}, {3, 2}, {2, 4, 1, 1}} {
		c := shape[1]
		for _, relu := range []bool{false, true} {
			for _, bias := range []bool{false, true} {
				name := fmt.Sprintf("bn-train-%v-relu=%v-bias=%v", shape, relu, bias)
				relu, bias := relu, bias
				cases = append(cases, tc{name, func(in []*autograd.Var) *autograd.Var {
					var b *autograd.Var
					if bias {
						b = in[3]
					}
					return autograd.BatchNormAct(in[0], b, in[1], in[2], nil, nil, true, 0.1, 1e-5, relu)
				}, []*tensor.Tensor{rnd(11, shape...), pos(12, c), rnd(13, c), rnd(14, c)}})
				rm, rv := rnd(15, c), pos(16, c)
				cases = append(cases, tc{"bn-eval" + name[8:], func(in []*autograd.Var) *autograd.Var {
					var b *autograd.Var
					if bias {
						b = in[3]
					}
					return autograd.BatchNormAct(in[0], b, in[1], in[2], rm, rv, false, 0.1, 1e-5, relu)
				}, []*tensor.Tensor{rnd(21, shape...), pos(22, c), rnd(23, c), rnd(24, c)}})
			}
		}
		cases = append(cases, tc{fmt.Sprintf("bn-no-affine-%v", shape), func(in []*autograd.Var) *autograd.Var {
			return autograd.BatchNormAct(in[0], nil, nil, nil, nil, nil, true, 0.1, 1e-5, false)
		}, []*tensor.Tensor{rnd(31, shape...)}})
		for _, relu := range []bool{false, true} {
			relu := relu
			cases = append(cases, tc{fmt.Sprintf("bias-act-%v-relu=%v", shape, relu), func(in []*autograd.Var) *autograd.Var {
				return autograd.BiasAct(in[0], in[1], relu)
			}, []*tensor.Tensor{rnd(41, shape...), rnd(42, c)}})
		}
		cases = append(cases, tc{fmt.Sprintf("add-relu-%v", shape), func(in []*autograd.Var) *autograd.Var {
			return autograd.AddReLU(in[0], in[1])
		}, []*tensor.Tensor{rnd(51, shape...), rnd(52, shape...)}})
	}
	// the shared gradient of Add and AddReLU reaching one Var twice, and a
	// leaf that also feeds a later op (in-place accumulation, shared refs)
	cases = append(cases, tc{"add-same-input", func(in []*autograd.Var) *autograd.Var {
		s := autograd.Add(in[0], in[0])
		return autograd.Mul(autograd.AddReLU(s, in[0]), autograd.Add(s, in[1]))
	}, []*tensor.Tensor{rnd(61, 3, 4), rnd(62, 3, 4)}})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := autograd.GradCheck(c.f, c.in, autograd.GradCheckOptions{Tol: 3e-2, Eps: 3e-3, MaxPerVar: 64}); err != nil {
				t.Fatal(err)
			}
		})
	}
	_ = be
}

// TestBatchNormActMatchesComposition compares the fused batch norm (with a
// conv bias and ReLU) with the unfused autograd composition: outputs,
// running statistics and every gradient.
func TestBatchNormActMatchesComposition(t *testing.T) {
	be := cpu.Default()
	for _, shape := range [][]int{{8, 5, 33}, {3, 4, 7, 9}, {1, 3, 2}} {
		for _, relu := range []bool{false, true} {
			c := shape[1]
			x := rnd(1, shape...)
			gamma, beta, bias := pos(2, c), rnd(3, c), rnd(4, c)
			run := func(fused bool) (out []float32, rm, rv []float32, grads [][]float32) {
				xv, gv, bv, biv := autograd.Leaf(x.Clone(), true), autograd.Param("g", gamma.Clone()), autograd.Param("b", beta.Clone()), autograd.Param("bias", bias.Clone())
				rmT, rvT := tensor.Zeros(be, c), tensor.Full(be, 1, c)
				var y *autograd.Var
				if fused {
					y = autograd.BatchNormAct(xv, biv, gv, bv, rmT, rvT, true, 0.1, 1e-5, relu)
				} else {
					bs := make([]int, len(shape))
					for i := range bs {
						bs[i] = 1
					}
					bs[1] = c
					y = autograd.BatchNorm(autograd.Add(xv, autograd.Reshape(biv, bs...)), gv, bv, rmT, rvT, true, 0.1, 1e-5)
					if relu {
						y = autograd.ReLU(y)
					}
				}
				r := rnd(9, shape...)
				loss := autograd.Sum(autograd.Mul(y, autograd.Const(r)), false)
				autograd.Backward(loss)
				out = y.Value.Float32s()
				for _, v := range []*autograd.Var{xv, gv, bv, biv} {
					grads = append(grads, v.Grad.Float32s())
				}
				autograd.Release(loss)
				return out, rmT.Float32s(), rvT.Float32s(), grads
			}
			fo, frm, frv, fg := run(true)
			uo, urm, urv, ug := run(false)
			near := func(what string, a, b []float32, tol float64) {
				for i := range a {
					if d := math.Abs(float64(a[i] - b[i])); d > tol*math.Max(1, math.Abs(float64(b[i]))) {
						t.Fatalf("%v relu=%v: %s[%d] fused %v, composed %v", shape, relu, what, i, a[i], b[i])
					}
				}
			}
			near("y", fo, uo, 1e-4)
			near("running mean", frm, urm, 1e-5)
			near("running var", frv, urv, 1e-4)
			for i, n := range []string{"dx", "dgamma", "dbeta", "dbias"} {
				near(n, fg[i], ug[i], 2e-3)
			}
		}
	}
}

// TestBiasActInPlace checks the in-place bias+ReLU against the out-of-place
// one after a convolution (whose backward does not read its output): same
// values and gradients, and the convolution's buffer is reused.
func TestBiasActInPlace(t *testing.T) {
	x, w, b := rnd(1, 3, 4, 11), rnd(2, 5, 4, 3), rnd(3, 5)
	run := func(inPlace bool) ([]float32, [][]float32, bool) {
		xv, wv, bv := autograd.Leaf(x.Clone(), true), autograd.Param("w", w.Clone()), autograd.Param("b", b.Clone())
		c := autograd.Conv1d(xv, wv, tensor.ConvOptions{Padding: tensor.PadSame})
		var y *autograd.Var
		if inPlace {
			y = autograd.BiasActInPlace(c, bv, true)
		} else {
			y = autograd.BiasAct(c, bv, true)
		}
		same := y.Value == c.Value
		loss := autograd.Sum(autograd.Mul(y, autograd.Const(rnd(4, 3, 5, 11))), false)
		autograd.Backward(loss)
		out := y.Value.Float32s()
		gs := [][]float32{xv.Grad.Float32s(), wv.Grad.Float32s(), bv.Grad.Float32s()}
		autograd.Release(loss)
		return out, gs, same
	}
	a, ga, sameA := run(true)
	u, gu, sameU := run(false)
	if !sameA || sameU {
		t.Fatalf("in place reused the buffer: %v; out of place: %v", sameA, sameU)
	}
	for i := range a {
		if a[i] != u[i] {
			t.Fatalf("y[%d] = %v in place, %v out of place", i, a[i], u[i])
		}
	}
	for k := range ga {
		for i := range ga[k] {
			if math.Abs(float64(ga[k][i]-gu[k][i])) > 1e-5 {
				t.Fatalf("gradient %d[%d] = %v in place, %v out of place", k, i, ga[k][i], gu[k][i])
			}
		}
	}
}
