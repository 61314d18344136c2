package train

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/nn/metrics"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// Float64 references of the training losses, written from their
// definitions (PyTorch's semantics), independent of the engine: value and
// gradient with respect to the outputs.

func refCrossEntropy(x []float64, labels []int, c int) (float64, []float64) {
	n := len(labels)
	g := make([]float64, len(x))
	var loss float64
	for i := range n {
		row := x[i*c : (i+1)*c]
		mx := slices.Max(row)
		var z float64
		for _, v := range row {
			z += math.Exp(v - mx)
		}
		lse := mx + math.Log(z)
		loss += lse - row[labels[i]]
		for j, v := range row {
			g[i*c+j] = math.Exp(v-lse) / float64(n)
		}
		g[i*c+labels[i]] -= 1 / float64(n)
	}
	return loss / float64(n), g
}

// refBCE is mean over elements of −[pw·y·log σ(x) + (1−y)·log(1−σ(x))].
func refBCE(x, y []float64, pw float64) (float64, []float64) {
	g := make([]float64, len(x))
	var loss float64
	m := float64(len(x))
	for i := range x {
		s := 1 / (1 + math.Exp(-x[i]))
		loss += -(pw*y[i]*math.Log(s) + (1-y[i])*math.Log(1-s))
		g[i] = (-pw*y[i]*(1-s) + (1-y[i])*s) / m
	}
	return loss / m, g
}

func refMSE(p, t []float64) (float64, []float64) {
	g := make([]float64, len(p))
	var loss float64
	m := float64(len(p))
	for i := range p {
		d := p[i] - t[i]
		loss += d * d
		g[i] = 2 * d / m
	}
	return loss / m, g
}

// refRelL2 is the mean over samples of ‖p−t‖/‖t‖.
func refRelL2(p, t []float64, n int) (float64, []float64) {
	s := len(p) / n
	g := make([]float64, len(p))
	var loss float64
	for i := range n {
		var num, den float64
		for k := i * s; k < (i+1)*s; k++ {
			num += (p[k] - t[k]) * (p[k] - t[k])
			den += t[k] * t[k]
		}
		num, den = math.Sqrt(num), math.Sqrt(den)
		loss += num / den
		for k := i * s; k < (i+1)*s; k++ {
			g[k] = (p[k] - t[k]) / (num * den * float64(n))
		}
	}
	return loss / float64(n), g
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// TestLossesMatchFloat64 checks every loss of Losses, value and gradient,
// against the float64 references on small hand-checked batches (the
// "hand" column is worked out on paper).
func TestLossesMatchFloat64(t *testing.T) {
	be := cpu.New()
	ln2 := math.Ln2
	for _, tc := range []struct {
		name      string
		loss      string
		shape     []int
		out       []float32
		labels    []int32
		y         []float32
		posWeight float32
		hand      float64 // NaN: no hand value for this row
	}{
		// logits 0, 0 → ln 2 for both samples
		{"ce uniform", "cross_entropy", []int{2, 2}, []float32{0, 0, 0, 0}, []int32{0, 1}, nil, 0, ln2},
		// sample 0: logsumexp(2,0,−1) − 2; sample 1: logsumexp(0.5,0.5,0.5) − 0.5 = ln 3
		{"ce 3 classes", "cross_entropy", []int{2, 3}, []float32{2, 0, -1, 0.5, 0.5, 0.5}, []int32{0, 2}, nil, 0,
			(math.Log(math.Exp(2)+1+math.Exp(-1)) - 2 + math.Log(3)) / 2},
		// x = 0: σ = 1/2; y = 1 → pw·ln2, y = 0 → ln2
		{"bce pos_weight 1", "bce_logits", []int{1, 2}, []float32{0, 0}, nil, []float32{1, 0}, 1, ln2},
		{"bce pos_weight 4 (DeepSEA)", "bce_logits", []int{1, 2}, []float32{0, 0}, nil, []float32{1, 0}, 4, (4*ln2 + ln2) / 2},
		{"bce pos_weight 10 (FSD50K)", "bce_logits", []int{2, 3}, []float32{1.5, -2, 0.3, -0.7, 2.2, 0}, nil, []float32{1, 0, 0, 1, 1, 0}, 10, math.NaN()},
		// pos_weight 0 means 1
		{"bce pos_weight unset", "bce_logits", []int{1, 2}, []float32{0, 0}, nil, []float32{1, 0}, 0, ln2},
		// (1² + 2²)/2
		{"mse", "mse", []int{1, 1, 2}, []float32{1, 2}, nil, []float32{0, 0}, 0, 2.5},
		{"mse 2-D", "mse", []int{2, 1, 2, 2}, []float32{1, 2, -1, 0, 0.5, 0.5, 3, -2}, nil, []float32{0, 2, 1, 1, 0, 1, 2, -2}, 0, math.NaN()},
		// sample 0: ‖(3,−1)‖/‖(0,5)‖ = √10/5; sample 1: ‖(1,1)‖/‖(1,1)‖ = 1
		{"relative l2", "relative_l2", []int{2, 1, 2}, []float32{3, 4, 2, 2}, nil, []float32{0, 5, 1, 1}, 0, (math.Sqrt(10)/5 + 1) / 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want float64
			var wantG []float64
			x := f64(tc.out)
			switch tc.loss {
			case "cross_entropy":
				ls := make([]int, len(tc.labels))
				for i, l := range tc.labels {
					ls[i] = int(l)
				}
				want, wantG = refCrossEntropy(x, ls, tc.shape[1])
			case "bce_logits":
				pw := float64(tc.posWeight)
				if pw == 0 {
					pw = 1
				}
				want, wantG = refBCE(x, f64(tc.y), pw)
			case "mse":
				want, wantG = refMSE(x, f64(tc.y))
			case "relative_l2":
				want, wantG = refRelL2(x, f64(tc.y), tc.shape[0])
			}
			if !math.IsNaN(tc.hand) && math.Abs(want-tc.hand) > 1e-12 {
				t.Fatalf("the float64 reference %v disagrees with the hand value %v", want, tc.hand)
			}
			out := autograd.Leaf(tensor.FromFloat32(be, tc.out, tc.shape...), true)
			var labels, y *tensor.Tensor
			if tc.labels != nil {
				labels = tensor.FromInt32(be, tc.labels, len(tc.labels))
			}
			if tc.y != nil {
				y = tensor.FromFloat32(be, tc.y, len(tc.y)) // flat: Loss reshapes it to the output's shape
			}
			l, err := Loss(tc.loss, out, labels, y, tc.posWeight)
			if err != nil {
				t.Fatal(err)
			}
			if got := float64(l.Value.Item()); math.Abs(got-want) > 1e-6*max(1, math.Abs(want)) {
				t.Errorf("%s = %.8g, float64 reference %.8g", tc.loss, got, want)
			}
			autograd.Backward(l)
			g := out.Grad.Float32s()
			for i := range g {
				if math.Abs(float64(g[i])-wantG[i]) > 1e-6 {
					t.Errorf("d%s/dout[%d] = %.8g, float64 reference %.8g", tc.loss, i, g[i], wantG[i])
				}
			}
		})
	}
	if !slices.Equal(Losses, []string{"cross_entropy", "bce_logits", "mse", "relative_l2"}) {
		t.Errorf("Losses = %v: a new loss needs a row above", Losses)
	}
}

// TestObjectivesKnown checks that every loss and metric datasets allows
// for some target kind is one nn/train and nn/metrics accept.
func TestObjectivesKnown(t *testing.T) {
	for _, k := range []datasets.TargetKind{datasets.ClassIndex, datasets.MultiLabel, datasets.DenseField} {
		for _, l := range datasets.AllowedLosses(k) {
			if !slices.Contains(Losses, l) {
				t.Errorf("%s: loss %q is not in train.Losses", k, l)
			}
		}
		for _, m := range datasets.AllowedMetrics(k) {
			if c, err := metrics.Canonical(m); err != nil || c != m {
				t.Errorf("%s: metric %q: canonical %q, %v", k, m, c, err)
			}
		}
	}
}

// TestPosWeightFromTask checks that Fit takes the BCE positive weight from
// the task (Task.PosWeight), and that a bad one is refused.
func TestPosWeightFromTask(t *testing.T) {
	be := cpu.New()
	for _, tc := range []struct {
		task, cfg float64
		want      float32
		bad       bool
	}{
		{task: 4, want: 4},
		{task: 4, cfg: 2, want: 2},
		{task: 0, want: 0},
		{task: -1, bad: true},
		{task: math.Inf(1), bad: true},
	} {
		c := toyConfig(t, be, "")
		c.Loss, c.PosWeight = "", float32(tc.cfg)
		c.Task = &datasets.Task{Kind: datasets.MultiLabel, Loss: "bce_logits", Metric: "auroc", PosWeight: tc.task}
		c.Split.Train.Y, c.Split.Train.YShape = make([]float32, c.Split.Train.N*3), []int{3}
		err := c.validate()
		if tc.bad {
			if err == nil {
				t.Errorf("task pos_weight %v accepted", tc.task)
			}
			continue
		}
		if err != nil {
			t.Fatalf("task pos_weight %v: %v", tc.task, err)
		}
		if c.PosWeight != tc.want {
			t.Errorf("task %v, config %v: pos_weight %v, want %v", tc.task, tc.cfg, c.PosWeight, tc.want)
		}
	}
}

// TestEvaluateMAE8Decoded checks that Evaluate scores mae8 on de-normalised
// outputs and targets: only pairs whose true distance (in Å) is below 8.
func TestEvaluateMAE8Decoded(t *testing.T) {
	be := cpu.New()
	// an identity "model" over [1,2,2] maps; targets normalised with mean 10, std 5
	norm := &datasets.Normalizer{XMean: []float32{0}, XStd: []float32{1}, YMean: []float32{10}, YStd: []float32{5 - datasets.NormEps}}
	// true distances 4, 7, 12, 9 Å → normalised (t−10)/5
	// predictions (normalised) decode to 5, 9, 0, 9 Å: errors on the close pairs |5−4| + |9−7| → mae8 1.5
	enc := func(v ...float32) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = (x - 10) / 5
		}
		return out
	}
	d := &datasets.Data{X: enc(5, 9, 0, 9), XShape: []int{1, 2, 2}, Y: enc(4, 7, 12, 9), YShape: []int{1, 2, 2}, N: 1}
	id := &identity{}
	e, err := Evaluate(context.Background(), be, id, d, "mse", "mae8", 0, norm, 4)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(e.Metric.Value-1.5) > 1e-5 || e.Metric.Name != "mae8" {
		t.Errorf("mae8 = %v (%s), want 1.5", e.Metric.Value, e.Metric.Name)
	}
}

type identity struct{}

func (identity) Forward(x *autograd.Var) *autograd.Var { return x }
func (identity) Params() []*autograd.Var               { return nil }
func (identity) SetTraining(bool)                      {}
