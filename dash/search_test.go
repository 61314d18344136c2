package dash

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/nn/optim"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// The "equal" tap rule gives the candidate kernels of size k the learning
// rate times (k_min/k)^dims, every other weight the base rate, and every
// parameter exactly one group; "shared" is one group (the reference).
func TestSearchWeightGroupsTapLR(t *testing.T) {
	be := cpu.Default()
	ks := []int{3, 5, 7}
	var aggs []*AggConv
	var params []*autograd.Var
	for i, dims := range []int{2, 2} {
		a, err := NewAggConv(AggConvConfig{Name: "l" + string(rune('0'+i)), Dims: dims, In: 2, Out: 2, Kernels: ks, Dilations: []int{1, 2}, Depthwise: true, Backend: be})
		if err != nil {
			t.Fatal(err)
		}
		aggs = append(aggs, a)
		params = append(params, a.Params()...)
	}
	other := autograd.Param("head", tensor.Zeros(be, 3))
	params = append(params, other)
	base := tensor.SGDParams{LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4}
	cfg := Config{Kernels: ks}

	groups, err := searchWeightGroups(cfg, "equal", params, aggs, base)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[*autograd.Var]float32{}
	for _, g := range groups {
		if g.WeightDecay != base.WeightDecay || g.Momentum != base.Momentum || !g.Nesterov {
			t.Errorf("group %+v lost the base settings", g.SGDParams)
		}
		for _, p := range g.Params {
			if _, dup := seen[p]; dup {
				t.Fatalf("%s in two groups", p.Name)
			}
			seen[p] = g.LR
		}
	}
	if len(seen) != len(params) {
		t.Fatalf("%d of %d parameters grouped", len(seen), len(params))
	}
	if seen[other] != base.LR {
		t.Errorf("non-candidate weight at lr %v, want %v", seen[other], base.LR)
	}
	for _, a := range aggs {
		for ki, w := range a.Params() {
			want := 0.1 * math.Pow(3/float64(ks[ki]), 2)
			if math.Abs(float64(seen[w])-want) > 1e-7 {
				t.Errorf("%s: lr %v, want %v", w.Name, seen[w], want)
			}
		}
	}
	one, err := searchWeightGroups(cfg, "shared", params, aggs, base)
	if err != nil || len(one) != 1 || len(one[0].Params) != len(params) || one[0].LR != base.LR {
		t.Errorf("shared: %d groups, err %v; want one group of every parameter at the base rate", len(one), err)
	}
}

// The default tap rule is "shared" (the reference; "equal" measured worse
// on mnist-2d); an unknown rule is an error naming the flag.
func TestTapLRDefaults(t *testing.T) {
	for _, c := range []struct {
		o    SearchOptions
		dims int
		want string
	}{{SearchOptions{}, 2, "shared"}, {SearchOptions{}, 1, "shared"}, {SearchOptions{TapLR: "shared"}, 2, "shared"}, {SearchOptions{TapLR: "equal"}, 1, "equal"}} {
		got, err := TapLRFor(c.o, c.dims)
		if err != nil || got != c.want {
			t.Errorf("%+v, %d-D: %q, %v; want %q", c.o, c.dims, got, err, c.want)
		}
	}
	if _, err := TapLRFor(SearchOptions{TapLR: "taps"}, 2); err == nil {
		t.Error("unknown rule accepted")
	}
	task := &datasets.Task{Name: "x", Dims: 2}
	if _, err := ScaleAlpha(task, 100, SearchOptions{TapLR: "bogus"}); err == nil {
		t.Error("ScaleAlpha accepted an unknown tap rule")
	}
	for _, c := range []struct{ in, want string }{{"", "joint"}, {"joint", "joint"}, {"weights", "weights"}, {"alpha", ""}} {
		a, err := ScaleAlpha(task, 100, SearchOptions{AlphaClip: c.in})
		if c.want == "" {
			if err == nil || !strings.Contains(err.Error(), "--alpha-clip") {
				t.Errorf("--alpha-clip %q: err %v, want one naming the flag", c.in, err)
			}
			continue
		}
		if err != nil || a.Clip != c.want {
			t.Errorf("--alpha-clip %q: %q, %v; want %q", c.in, a.Clip, err, c.want)
		}
		alphas := []*autograd.Var{nil}
		if ex := clipExclude(a, alphas); (len(ex) == 1) != (c.want == "weights") {
			t.Errorf("--alpha-clip %q excludes %d α from the clip", c.in, len(ex))
		}
	}
	if math.Abs(float64(tapLRFactor("equal", 7, 3, 1))-3.0/7) > 1e-7 || tapLRFactor("shared", 7, 3, 2) != 1 || tapLRFactor("equal", 3, 3, 2) != 1 {
		t.Error("tapLRFactor")
	}
}

// The TCN searches with its own optimiser settings, as the reference's
// get_config: Adam for the weights and α, weight decay 1e-4 on both, α's
// step scaled to a fifth of the reference's steps (20 search epochs, not
// 100) without the SGD-only extra factor, and ×0.2 on both learning rates
// after half the search; its paper budget has 20 search and 40 retraining
// epochs (×0.2 at 20). The WRN/ResNet1D keep SGD and 5e-4.
func TestTCNOptimiserSettings(t *testing.T) {
	tcn := &datasets.Task{Name: "seq", Dims: 1, Kind: datasets.ClassIndex, Backbone: "tcn"}
	res := &datasets.Task{Name: "seq", Dims: 1, Kind: datasets.ClassIndex, Backbone: "resnet1d"}
	const steps = 100 // 25 warm-up, 75 α steps
	a, err := ScaleAlpha(tcn, steps, SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantScale := float64(ReferenceAlphaSteps/5) / 75
	if a.Optimizer != "adam" || a.WeightDecay != 1e-4 || a.WeightsDecay != 1e-4 || math.Abs(a.Scale-wantScale) > 1e-9 ||
		math.Abs(float64(a.LR)-0.05*wantScale) > 1e-6 || a.DecayAt != 0.5 || a.WeightsDecayAt != 0.5 {
		t.Errorf("tcn: %+v; want adam, weight decay 1e-4 on both, scale %v, decay at half", a, wantScale)
	}
	ws := a.WeightsSchedule(10)
	if ws.Factor(0) != 1 || ws.Factor(4.9) != 1 || ws.Factor(5) != 0.2 || ws.Factor(9.9) != 0.2 {
		t.Errorf("tcn weights' schedule: %v %v %v %v", ws.Factor(0), ws.Factor(4.9), ws.Factor(5), ws.Factor(9.9))
	}
	r, err := ScaleAlpha(res, steps, SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Optimizer != "sgd" || r.WeightsDecay != 5e-4 || r.DecayAt != 0.6 || r.WeightsSchedule(10).Factor(9.9) != 1 {
		t.Errorf("resnet1d: %+v; want SGD, 5e-4, α decay at 60%%, constant weights' rate", r)
	}

	pb, err := Budgets("paper", tcn)
	if err != nil {
		t.Fatal(err)
	}
	if pb.SearchEpochs != 20 || pb.RetrainEpochs != 40 || len(pb.Milestones) != 1 || pb.Milestones[0] != 20 {
		t.Errorf("tcn paper budget: search %d, retrain %d, milestones %v; want 20, 40, [20]", pb.SearchEpochs, pb.RetrainEpochs, pb.Milestones)
	}
	rb, _ := Budgets("paper", res)
	if rb.SearchEpochs != 100 || rb.RetrainEpochs != 200 {
		t.Errorf("resnet1d paper budget changed: %d, %d", rb.SearchEpochs, rb.RetrainEpochs)
	}

	be := cpu.Default()
	p := []*autograd.Var{autograd.Param("w", tensor.Zeros(be, 2))}
	al := []*autograd.Var{autograd.Param("alpha", tensor.Zeros(be, 2))}
	w, ao, err := searchOptimizers(Config{}, a, 0.1, p, al, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := w.(*optim.Adam); !ok {
		t.Errorf("tcn weights' optimiser %T, want Adam", w)
	}
	if _, ok := ao.(*optim.Adam); !ok {
		t.Errorf("tcn α optimiser %T, want Adam", ao)
	}
	w.Release()
	ao.Release()
	w, ao, err = searchOptimizers(Config{}, r, 0.1, p, al, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := w.(*optim.SGD); !ok {
		t.Errorf("resnet1d weights' optimiser %T, want SGD", w)
	}
	w.Release()
	ao.Release()
}

// A search on a tiny TCN runs end to end with the Adam settings and moves
// α away from its initial near-uniform values.
func TestTCNSearchRuns(t *testing.T) {
	const n, length = 128, 32
	rng := rand.New(rand.NewPCG(3, 4))
	gen := func(n int) *datasets.Data {
		d := &datasets.Data{N: n, X: make([]float32, n*length), XShape: []int{1, length}, Labels: make([]int32, n)}
		for i := range n {
			for j := range length {
				d.X[i*length+j] = float32(rng.NormFloat64())
			}
			if d.X[i*length+length-1]*d.X[i*length+length-5] > 0 { // depends on two samples 4 apart
				d.Labels[i] = 1
			}
		}
		return d
	}
	task := &datasets.Task{Name: "tcn-test", Dims: 1, InShape: []int{1, length}, Kind: datasets.ClassIndex, Classes: 2,
		Loss: "cross_entropy", Metric: "error", BatchSize: 16, Backbone: "tcn", Synthetic: true}
	cfg := Config{Task: task, Split: &datasets.Split{Train: gen(n), Val: gen(32), Test: gen(32)}, Backend: cpu.Default(),
		Budget:  Budget{Name: "test", SearchWidth: 4, Width: 4, BatchSize: 16, SearchEpochs: 2, SearchFraction: 1},
		Kernels: []int{2, 3}, Dilations: []int{1, 4}, Seed: 1, OutDir: t.TempDir()}
	arch, err := Search(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if arch.AlphaOpt.Optimizer != "adam" {
		t.Errorf("optimizer %q, want adam", arch.AlphaOpt.Optimizer)
	}
	moved := 0
	for _, l := range arch.Layers {
		if l.Concentration.OverUnif > 1.2 {
			moved++
		}
	}
	if moved == 0 {
		t.Errorf("α did not move in any of %d layers", len(arch.Layers))
	}
}

// Concentration values keep float32 precision in architecture.json:
// 0.269007 (the float32), not its float64 widening 0.26900744438171387.
func TestConcentrationFloat32Precision(t *testing.T) {
	c := Concentrate([]float32{0.26900744, 0.73099256})
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"max":0.73099256`) || strings.Contains(string(b), "0.7309925556") {
		t.Errorf("concentration JSON %s: want float32-precision values", b)
	}
	if math.Abs(c.OverUnif-2*0.73099256) > 1e-6 || c.NormEntropy <= 0 || c.NormEntropy >= 1 {
		t.Errorf("concentration %+v", c)
	}
}
