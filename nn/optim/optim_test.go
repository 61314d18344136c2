package optim

import (
	"math"
	"strings"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

func param(vals ...float32) *autograd.Var {
	return autograd.Param("p", tensor.FromFloat32(cpu.Default(), vals, len(vals)))
}

func setGrad(p *autograd.Var, g ...float32) {
	p.ZeroGrad()
	p.Grad = tensor.FromFloat32(cpu.Default(), g, len(g))
}

func close32(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-6 }

func TestSGD(t *testing.T) {
	// p=1, g=0.5 twice, lr 0.1, momentum 0.9, wd 0.1, Nesterov:
	// step 1: g'=0.5+0.1·1=0.6, m=0.6, d=0.6+0.9·0.6=1.14, p=1-0.114=0.886
	// step 2: g'=0.5+0.0886=0.5886, m=0.9·0.6+0.5886=1.1286, d=0.5886+0.9·1.1286=1.60434, p=0.886-0.160434=0.725566
	p := param(1)
	o, err := NewSGD(&SGDGroup{Params: []*autograd.Var{p}, SGDParams: tensor.SGDParams{LR: 0.1, Momentum: 0.9, WeightDecay: 0.1, Nesterov: true}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []float32{0.886, 0.725566} {
		setGrad(p, 0.5)
		o.Step()
		if got := p.Value.Float32s()[0]; !close32(got, want) {
			t.Fatalf("p = %v, want %v", got, want)
		}
	}
	// LR factor from a schedule halves the step
	q := param(1)
	o2, _ := NewSGD(&SGDGroup{Params: []*autograd.Var{q}, SGDParams: tensor.SGDParams{LR: 0.1}})
	o2.SetLRFactor(0.5)
	setGrad(q, 1)
	o2.Step()
	if got := q.Value.Float32s()[0]; !close32(got, 0.95) {
		t.Fatalf("scaled step: %v", got)
	}
	if _, err := NewSGD(&SGDGroup{Params: []*autograd.Var{q}}, &SGDGroup{Params: []*autograd.Var{q}}); err == nil || !strings.Contains(err.Error(), "more than one group") {
		t.Errorf("duplicate parameter: %v", err)
	}
}

func TestAdam(t *testing.T) {
	// one step of Adam moves each parameter by lr·sign(g) (bias-corrected m̂/√v̂ = ±1)
	p := param(1, -2)
	o, err := NewAdam(&AdamGroup{Params: []*autograd.Var{p}, LR: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	setGrad(p, 3, -0.5)
	o.Step()
	v := p.Value.Float32s()
	if !close32(v[0], 0.99) || !close32(v[1], -1.99) {
		t.Fatalf("after one Adam step: %v", v)
	}
	// AdamW decays the weights by lr·wd·p before the update
	q := param(1)
	o2, _ := NewAdam(&AdamGroup{Params: []*autograd.Var{q}, LR: 0.1, WeightDecay: 0.5, Decoupled: true})
	setGrad(q, 1)
	o2.Step()
	if got := q.Value.Float32s()[0]; !close32(got, 1-0.05-0.1) {
		t.Fatalf("AdamW: %v", got)
	}
	// state round trip
	ts, meta := o.StateDict("x.")
	p2 := param(0, 0)
	o3, _ := NewAdam(&AdamGroup{Params: []*autograd.Var{p2}, LR: 0.01})
	if err := o3.LoadStateDict("x.", ts, meta); err != nil {
		t.Fatal(err)
	}
	if o3.step != 1 {
		t.Errorf("step %d", o3.step)
	}
	delete(ts, "x.exp_avg.p")
	if err := o3.LoadStateDict("x.", ts, meta); err == nil || !strings.Contains(err.Error(), `lacks optimiser state "x.exp_avg.p"`) {
		t.Errorf("missing state: %v", err)
	}
}

func TestClipGradNorm(t *testing.T) {
	a, b := param(0, 0), param(0)
	setGrad(a, 3, 0)
	setGrad(b, 4) // global norm 5
	ClipGradNorm([]*autograd.Var{a, b}, 1)
	ga, gb := a.Grad.Float32s(), b.Grad.Float32s()
	if !close32(ga[0], 0.6) || !close32(gb[0], 0.8) {
		t.Fatalf("clipped %v %v", ga, gb)
	}
	ClipGradNorm([]*autograd.Var{a, b}, 10) // below the limit: unchanged
	if got := a.Grad.Float32s()[0]; !close32(got, 0.6) {
		t.Fatalf("unclipped %v", got)
	}
}

func TestSchedules(t *testing.T) {
	step, err := NewStepLR([]int{60, 120, 160}, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		s    Schedule
		e    float64
		want float64
	}{
		{step, 59.9, 1}, {step, 60, 0.2}, {step, 130, 0.04}, {step, 199, 0.008},
		{Cosine{Epochs: 10}, 0, 1}, {Cosine{Epochs: 10}, 5, 0.5}, {Cosine{Epochs: 10, MinFactor: 0.1}, 10, 0.1},
		{Warmup{Epochs: 2, Start: 0}, 1, 0.5}, {Warmup{Epochs: 2, Start: 0}, 3, 1},
		{Warmup{Epochs: 2, Start: 0, Then: Cosine{Epochs: 4}, Shift: true}, 4, 0.5},
		{Warmup{Epochs: 2, Start: 0.5, Then: step}, 1, 0.75},
		{Product{step, Cosine{Epochs: 200}}, 100, 0.2 * 0.5},
		// 200 epochs compressed into 20: the steps come at 6, 12 and 16
		{Stretch{Then: step, Scale: 10}, 5.99, 1}, {Stretch{Then: step, Scale: 10}, 6, 0.2}, {Stretch{Then: step, Scale: 10}, 16.5, 0.008},
		// a one-epoch trial of a 6-epoch schedule stepping after epoch 4: at 2/3 of its steps
		{Stretch{Then: StepLR{Milestones: []int{4}, Gamma: 0.2}, Scale: 6}, 0.66, 1}, {Stretch{Then: StepLR{Milestones: []int{4}, Gamma: 0.2}, Scale: 6}, 0.67, 0.2},
	} {
		if got := tc.s.Factor(tc.e); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%T at %v: %v, want %v", tc.s, tc.e, got, tc.want)
		}
	}
	if _, err := NewStepLR([]int{5, 3}, 0.1); err == nil {
		t.Error("unsorted milestones accepted")
	}
}
