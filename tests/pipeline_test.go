// Package tests holds end-to-end tests across packages: the DASH pipeline
// on real data, resuming an interrupted run, users' own files, and the
// command line.
package tests

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/tensor/cpu"
)

func smokeConfig(t *testing.T, task string) dash.Config {
	t.Helper()
	tk, err := datasets.Lookup(task)
	if err != nil {
		t.Fatal(err)
	}
	split, err := tk.Load(context.Background(), datasets.LoadOptions{Seed: 1, Limit: 2000, TestLimit: 500})
	if err != nil {
		t.Fatal(err)
	}
	b, err := dash.Budgets("smoke", tk)
	if err != nil {
		t.Fatal(err)
	}
	return dash.Config{Task: tk, Split: split, Backend: cpu.Default(), Budget: b, Seed: 3, OutDir: t.TempDir(),
		Kernels: []int{3, 5}, Dilations: []int{1, 4}}
}

func TestPipelineWritesRunDirectory(t *testing.T) {
	cfg := smokeConfig(t, "mnist")
	m, err := dash.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"architecture.json", "hparams.json", "metrics.json", "weights.safetensors", "alpha.png", "curves.png", "report.md"} {
		st, err := os.Stat(filepath.Join(cfg.OutDir, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("run directory lacks %s (%v)", f, err)
		}
	}
	var arch dash.Architecture
	if err := dash.ReadJSON(filepath.Join(cfg.OutDir, "architecture.json"), &arch); err != nil {
		t.Fatal(err)
	}
	if len(arch.Layers) != 9 {
		t.Fatalf("ResNet1D search found %d layers, want 9", len(arch.Layers))
	}
	for _, l := range arch.Layers {
		if (l.Kernel != 3 && l.Kernel != 5) || (l.Dilation != 1 && l.Dilation != 4) {
			t.Errorf("layer %s chose (%d, %d) outside the search space", l.Name, l.Kernel, l.Dilation)
		}
		if len(l.Alpha) != 4 {
			t.Errorf("layer %s has %d α values, want 4", l.Name, len(l.Alpha))
		}
	}
	if m.Test.N != 500 || m.Baseline.N != 500 {
		t.Fatalf("test metrics over %d/%d samples, want the whole test set (500)", m.Test.N, m.Baseline.N)
	}
	if m.Test.Metric != "error" || m.Test.Value < 0 || m.Test.Value > 1 {
		t.Fatalf("test metric %+v", m.Test)
	}
	var hp dash.HParams
	if err := dash.ReadJSON(filepath.Join(cfg.OutDir, "hparams.json"), &hp); err != nil {
		t.Fatal(err)
	}
	if len(hp.Trials) == 0 || hp.LR == 0 {
		t.Fatalf("hyperparameter stage recorded nothing: %+v", hp)
	}
	// eval reproduces the retrained network's test metric from the saved weights
	e, err := dash.Evaluate(context.Background(), cfg, &arch, hp, filepath.Join(cfg.OutDir, "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Value != m.Test.Value {
		t.Fatalf("eval of saved weights: %v, run reported %v", e.Value, m.Test.Value)
	}
}

func TestPipelineResumesAfterInterrupt(t *testing.T) {
	cfg := smokeConfig(t, "mnist")
	cfg.Parallel = 1 // the stages in order: see TestParallelNetworks for two at once
	// interrupt at the first progress line of the first random
	// architecture's retraining (after the search, the searched network's
	// and the baseline's stages and random-1's hyperparameter stage), as
	// Ctrl-C would
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg.Progress = writerFunc(func(p []byte) (int, error) {
		if _, err := os.Stat(filepath.Join(cfg.OutDir, "hparams-random-1.json")); err == nil {
			cancel()
		}
		return len(p), nil
	})
	_, err := dash.Run(ctx, cfg)
	if err == nil {
		t.Fatal("the run was not interrupted after the search stage")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v, want context.Canceled", err)
	}
	cfg.Progress = nil
	archBefore, _ := os.ReadFile(filepath.Join(cfg.OutDir, "architecture.json"))
	hpBefore, _ := os.ReadFile(filepath.Join(cfg.OutDir, "hparams-random-1.json"))
	var before dash.Metrics
	if err := dash.ReadJSON(filepath.Join(cfg.OutDir, "metrics.json"), &before); err != nil {
		t.Fatal(err)
	}
	if len(before.Networks) < 3 || before.Networks[1].Test.N == 0 {
		t.Fatalf("interrupted before the baseline finished: %+v", before.Networks)
	}
	cfg.Resume = true
	m, err := dash.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	archAfter, _ := os.ReadFile(filepath.Join(cfg.OutDir, "architecture.json"))
	if string(archBefore) != string(archAfter) {
		t.Fatal("resume re-ran the completed search stage")
	}
	if hpAfter, _ := os.ReadFile(filepath.Join(cfg.OutDir, "hparams-random-1.json")); string(hpBefore) != string(hpAfter) {
		t.Fatal("resume re-ran random-1's completed hyperparameter stage")
	}
	for i, label := range []string{"dash", "baseline"} {
		if m.Networks[i].Label != label || m.Networks[i].Test != before.Networks[i].Test || m.Networks[i].Seconds != before.Networks[i].Seconds {
			t.Errorf("resume changed the completed %s stage: %+v, was %+v", label, m.Networks[i].Test, before.Networks[i].Test)
		}
	}
	if len(m.Networks) != 4 || m.Controls == nil || m.Controls.Of != 3 {
		t.Fatalf("resumed run lacks the controls: %d networks, %+v", len(m.Networks), m.Controls)
	}
	if m.Test.N == 0 || m.Baseline.N == 0 {
		t.Fatalf("resumed run has no test metrics: %+v", m)
	}
	var st struct {
		Done   bool            `json:"done"`
		Stages map[string]bool `json:"stages"`
	}
	b, _ := os.ReadFile(filepath.Join(cfg.OutDir, "state.json"))
	if err := json.Unmarshal(b, &st); err != nil || !st.Done {
		t.Fatalf("state.json after resume: %s (%v)", b, err)
	}
	for _, n := range []string{"search", "hpo/dash", "retrain/dash", "hpo/baseline", "retrain/baseline", "hpo/random-1", "retrain/random-1", "hpo/random-2", "retrain/random-2"} {
		if !st.Stages[n] {
			t.Errorf("state.json lacks completed stage %s: %s", n, b)
		}
	}
}

func TestBadConfigurationErrors(t *testing.T) {
	cfg := smokeConfig(t, "mnist")
	cases := []struct {
		name string
		mod  func(*dash.Config)
		want string
	}{
		{"negative dilation", func(c *dash.Config) { c.Dilations = []int{1, -2} }, "dilation -2"},
		{"zero kernel", func(c *dash.Config) { c.Kernels = []int{0} }, "kernel size 0"},
		{"no output dir", func(c *dash.Config) { c.OutDir = "" }, "output directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cc := cfg
			c.mod(&cc)
			_, err := dash.Run(context.Background(), cc)
			if err == nil || !contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to mention %q", err, c.want)
			}
		})
	}
	if _, err := dash.Budgets("huge", cfg.Task); err == nil || !contains(err.Error(), "huge") {
		t.Fatalf("unknown budget error: %v", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// lagTask is a synthetic 1-D task whose label depends only on input samples
// exactly lag apart: x[t] = e[t+lag] + s·e[t] with white noise e and
// s = +0.8 (class 1) or −0.8 (class 0), so the lag-`lag` autocorrelation
// is ±0.49 and every other lag's is 0. A convolution sees that evidence
// only if two of its taps are lag apart.
func lagTask(n, length, lag int, seed uint64) (*datasets.Task, *datasets.Split) {
	r := rand.New(rand.NewPCG(seed, 7))
	gen := func(n int) *datasets.Data {
		d := &datasets.Data{XShape: []int{1, length}, N: n, X: make([]float32, n*length), Labels: make([]int32, n)}
		e := make([]float64, length+lag)
		for i := 0; i < n; i++ {
			c := int32(i % 2)
			s := -0.8
			if c == 1 {
				s = 0.8
			}
			for j := range e {
				e[j] = r.NormFloat64()
			}
			for t := 0; t < length; t++ {
				d.X[i*length+t] = float32((e[t+lag] + s*e[t]) / 1.28)
			}
			d.Labels[i] = c
		}
		return d
	}
	task := &datasets.Task{Name: "lag", Dims: 1, InShape: []int{1, length}, Kind: datasets.ClassIndex, Classes: 2,
		Loss: "cross_entropy", Metric: "error", BatchSize: 32, Backbone: "resnet1d", Synthetic: true}
	return task, &datasets.Split{Train: gen(n), Val: gen(n / 4), Test: gen(n / 4)}
}

// The search on lagTask finds the one dilation whose taps are lag apart:
// kernels {3, 5} × dilations {1, 2, 7} with lag 7 — only d = 7 puts two taps
// 7 apart (k=5, d=2 spans 8 but its taps are 2 apart). The first layer, which
// sees the raw samples, must choose d = 7 with a concentrated α.
func TestSearchFindsTheKnownDilation(t *testing.T) {
	task, split := lagTask(1024, 64, 7, 1)
	b := dash.Budget{Name: "test", SearchWidth: 2, Width: 2, BatchSize: 32, SearchEpochs: 4, SearchFraction: 1}
	cfg := dash.Config{Task: task, Split: split, Backend: cpu.Default(), Budget: b, Seed: 1, OutDir: t.TempDir(),
		Kernels: []int{3, 5}, Dilations: []int{1, 2, 7}}
	arch, err := dash.Search(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range arch.Layers {
		t.Logf("%s (%d,%d) α %.3f", l.Name, l.Kernel, l.Dilation, l.Alpha)
	}
	first := arch.Layers[0]
	if first.Dilation != 7 {
		t.Errorf("first layer chose (k=%d, d=%d), want d=7", first.Kernel, first.Dilation)
	}
}

// Every network of a run (searched, baseline, random) gets the same budget
// and the same hyperparameter protocol, and the report says where the
// searched network ranks.
func TestControlsSameBudgetAndProtocol(t *testing.T) {
	cfg := smokeConfig(t, "mnist")
	parent := cfg.OutDir
	cfg.OutDir = filepath.Join(parent, "seed-3") // as 'dash run --seeds' lays it out
	m, err := dash.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"dash", "baseline", "random-1", "random-2"}
	if len(m.Networks) != len(want) {
		t.Fatalf("%d networks, want %v", len(m.Networks), want)
	}
	var arch dash.Architecture
	if err := dash.ReadJSON(filepath.Join(cfg.OutDir, "architecture.json"), &arch); err != nil {
		t.Fatal(err)
	}
	var ref dash.HParams
	for i, n := range m.Networks {
		if n.Label != want[i] {
			t.Fatalf("network %d is %s, want %s", i, n.Label, want[i])
		}
		file := "hparams.json"
		if n.Label != "dash" {
			file = "hparams-" + n.Label + ".json"
		}
		var hp dash.HParams
		if err := dash.ReadJSON(filepath.Join(cfg.OutDir, file), &hp); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			ref = hp
		}
		// the same grid, epochs and fraction for every network
		if !reflect.DeepEqual(hp.Budget, ref.Budget) || len(hp.Trials) == 0 {
			t.Errorf("%s: hyperparameter budget %+v (%d trials), searched network's %+v", n.Label, hp.Budget, len(hp.Trials), ref.Budget)
		}
		if n.HParams.LR != hp.LR || n.HParams.LR == 0 {
			t.Errorf("%s retrained with lr %v, its hyperparameter stage chose %v", n.Label, n.HParams.LR, hp.LR)
		}
		if len(n.Curve) != cfg.Budget.RetrainEpochs || n.Test.N != 500 {
			t.Errorf("%s: %d retraining epochs on %d test samples, want %d on 500", n.Label, len(n.Curve), n.Test.N, cfg.Budget.RetrainEpochs)
		}
		if len(n.Layers) != len(arch.Layers) {
			t.Fatalf("%s has %d layers, want %d", n.Label, len(n.Layers), len(arch.Layers))
		}
		for j, kd := range n.Layers {
			l := arch.Layers[j]
			switch n.Kind {
			case "baseline":
				if kd != l.Default {
					t.Errorf("baseline layer %s is %v, want the default %v", l.Name, kd, l.Default)
				}
			case "random":
				if !slices.Contains(l.Candidates, kd) {
					t.Errorf("%s layer %s is %v, outside the search space", n.Label, l.Name, kd)
				}
			case "searched":
				if kd != [2]int{l.Kernel, l.Dilation} {
					t.Errorf("searched network layer %s is %v, architecture.json says (%d, %d)", l.Name, kd, l.Kernel, l.Dilation)
				}
			}
		}
	}
	if reflect.DeepEqual(m.Networks[2].Layers, m.Networks[3].Layers) {
		t.Error("the two random architectures are identical")
	}
	c := m.Controls
	if c == nil || c.Of != 3 || c.Rank < 1 || c.Rank > 3 || len(c.Random) != 2 || c.Verdict == "" {
		t.Fatalf("controls summary %+v", c)
	}
	rep, err := os.ReadFile(filepath.Join(cfg.OutDir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	// the smoke budget retrains one epoch without milestones: its trials keep their rate
	for _, w := range []string{"Did the search beat chance?", c.Verdict, "random-1", "random-2", "× uniform", "entropy", "Transfer check", "trials with a constant learning rate"} {
		if !strings.Contains(string(rep), w) {
			t.Errorf("report.md lacks %q", w)
		}
	}
	for _, f := range []string{"controls.png", "alpha.png", "curves.png"} {
		if st, err := os.Stat(filepath.Join(cfg.OutDir, f)); err != nil || st.Size() == 0 {
			t.Errorf("run directory lacks %s", f)
		}
	}
	// the multi-seed summary reads the finished seed directories
	sum, err := dash.Summarize(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Seeds) != 1 || sum.Seeds[0].Seed != 3 || sum.Random != 2 || sum.Verdict == "" {
		t.Fatalf("summary %+v", sum)
	}
	for _, f := range []string{"summary.md", "summary.json", "summary.png"} {
		if st, err := os.Stat(filepath.Join(parent, f)); err != nil || st.Size() == 0 {
			t.Errorf("summary lacks %s", f)
		}
	}
	// random architectures depend on (seed, index) only
	if a, b := dash.RandomArchitecture(&arch, 3, 1), dash.RandomArchitecture(&arch, 3, 1); !reflect.DeepEqual(a, b) {
		t.Error("RandomArchitecture is not deterministic")
	}
}

func TestControlsVerdict(t *testing.T) {
	net := func(label, kind string, test, proxy float64) dash.NetworkResult {
		return dash.NetworkResult{Label: label, Kind: kind, Test: dash.EvalResult{Metric: "error", Value: test, Score: test}, Proxy: dash.Float(proxy)}
	}
	cases := []struct {
		name                   string
		dash, base             float64
		rank                   int
		beatsMedian, beatsBase bool
		verdict                string
	}{
		{"wins", 0.05, 0.2, 1, true, true, "beat chance"},
		{"middle", 0.12, 0.2, 4, false, true, "did NOT beat chance"},
		{"loses to baseline", 0.08, 0.07, 2, true, false, "NOT the tuned baseline"},
		{"last", 0.5, 0.2, 5, false, false, "did NOT beat chance"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nets := []dash.NetworkResult{net("dash", "searched", tc.dash, 0.3), net("baseline", "baseline", tc.base, 0.9),
				net("random-1", "random", 0.07, 0.1), net("random-2", "random", 0.1, 0.2), net("random-3", "random", 0.11, 0.4), net("random-4", "random", 0.2, 0.5)}
			c := dash.Controls(nets)
			if c.Rank != tc.rank || c.Of != 5 || c.BeatsMedianRandom != tc.beatsMedian || c.BeatsBaseline != tc.beatsBase {
				t.Errorf("rank %d/%d, beats median %v, beats baseline %v; want %d/5, %v, %v", c.Rank, c.Of, c.BeatsMedianRandom, c.BeatsBaseline, tc.rank, tc.beatsMedian, tc.beatsBase)
			}
			if math.Abs(c.RandomMedian-0.105) > 1e-12 {
				t.Errorf("median random %v, want 0.105", c.RandomMedian)
			}
			if !strings.Contains(c.Verdict, tc.verdict) {
				t.Errorf("verdict %q lacks %q", c.Verdict, tc.verdict)
			}
			if c.TransferN != 5 {
				t.Errorf("transfer check over %d networks, want 5 (searched + random)", c.TransferN)
			}
		})
	}
}

// TestControlsHigherBetter checks the controls of a higher-is-better metric
// (AUROC: Score = 1 − Value): ranks and verdicts come from the scores, and
// the best random architecture is the one with the largest AUROC.
func TestControlsHigherBetter(t *testing.T) {
	net := func(label, kind string, auroc float64) dash.NetworkResult {
		return dash.NetworkResult{Label: label, Kind: kind, Test: dash.EvalResult{Metric: "auroc", Value: auroc, Score: 1 - auroc}, Proxy: dash.Float(math.NaN())}
	}
	c := dash.Controls([]dash.NetworkResult{net("dash", "searched", 0.80), net("baseline", "baseline", 0.70),
		net("random-1", "random", 0.75), net("random-2", "random", 0.85), net("random-3", "random", 0.60)})
	if c.Rank != 2 || !c.BeatsMedianRandom || !c.BeatsBaseline || !c.BeatsChance {
		t.Errorf("rank %d, beats median %v, baseline %v; want 2, true, true", c.Rank, c.BeatsMedianRandom, c.BeatsBaseline)
	}
	if c.RandomBest != 0.85 || c.RandomMedian != 0.75 || c.Searched != 0.80 {
		t.Errorf("best random %v, median %v, searched %v; want 0.85, 0.75, 0.80", c.RandomBest, c.RandomMedian, c.Searched)
	}
}

func TestRankCorrelations(t *testing.T) {
	cases := []struct {
		x, y       []float64
		rho, kappa float64
	}{
		{[]float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}, 1, 1},
		{[]float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, -1, -1},
		{[]float64{1, 2, 3, 4, 5}, []float64{2, 1, 4, 3, 5}, 0.8, 0.6},
		{[]float64{1, 2, 2, 3}, []float64{1, 2, 3, 4}, 0.9486832980505138, 0.9128709291752769},
	}
	for _, c := range cases {
		if r := dash.Spearman(c.x, c.y); math.Abs(r-c.rho) > 1e-9 {
			t.Errorf("Spearman(%v, %v) = %v, want %v", c.x, c.y, r, c.rho)
		}
		if k := dash.KendallTau(c.x, c.y); math.Abs(k-c.kappa) > 1e-9 {
			t.Errorf("Kendall(%v, %v) = %v, want %v", c.x, c.y, k, c.kappa)
		}
	}
	if !math.IsNaN(dash.Spearman([]float64{1, 1, 1}, []float64{1, 2, 3})) {
		t.Error("Spearman of a constant is not NaN")
	}
}

// The α learning rate scales with the number of α steps the budget gives,
// so that α can travel as far as in the reference's ~4,000 steps; the
// warm-up keeps α still, then the ×0.2 step comes at 60% of the α steps.
func TestAlphaScheduleScaling(t *testing.T) {
	mnist, err := datasets.Lookup("mnist")
	if err != nil {
		t.Fatal(err)
	}
	darcy, err := datasets.Lookup("darcy")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		task      *datasets.Task
		steps     int
		o         dash.SearchOptions
		warm      int
		lr, scale float64
		penaltyOn string
	}{
		{mnist, 4000, dash.SearchOptions{Warmup: -1, LRScale: 1}, 0, 0.05, 1, "receptive_field"},
		{mnist, 8000, dash.SearchOptions{Warmup: -1, LRScale: 1}, 0, 0.05, 1, "receptive_field"}, // never below the reference
		{mnist, 100, dash.SearchOptions{LRScale: 1}, 25, 0.05 * 4000 / 75, 4000.0 / 75, "receptive_field"},
		{mnist, 100, dash.SearchOptions{}, 25, dash.DefaultLRScale * 0.05 * 4000 / 75, dash.DefaultLRScale * 4000.0 / 75, "receptive_field"},
		{mnist, 100, dash.SearchOptions{NoScale: true}, 25, 0.05, 1, "receptive_field"},
		{mnist, 100, dash.SearchOptions{LRScale: 2, Warmup: 0.5}, 50, 0.05 * 2 * 4000 / 50, 2 * 4000.0 / 50, "receptive_field"},
		{darcy, 400, dash.SearchOptions{LRScale: 1}, 100, 5e-3 * 4000 / 300, 4000.0 / 300, "10k"},
	}
	for _, c := range cases {
		a, err := dash.ScaleAlpha(c.task, c.steps, c.o)
		if err != nil {
			t.Fatal(err)
		}
		if a.WarmupSteps != c.warm || a.Steps != c.steps-c.warm || math.Abs(a.Scale-c.scale) > 1e-9 ||
			math.Abs(float64(a.LR)-c.lr) > 1e-6*c.lr || a.PenaltyOn != c.penaltyOn || a.GradScale != 100 {
			t.Errorf("%s, %d steps, %+v: got %+v; want warm-up %d, scale %v, lr %v, penalty on %s", c.task.Name, c.steps, c.o, a, c.warm, c.scale, c.lr, c.penaltyOn)
		}
		// α's total weight decay (lr·wd·steps) never exceeds the reference's 0.05·5e-4·4000
		if tot := float64(a.LR) * float64(a.WeightDecay) * float64(a.Steps); tot > 0.1*1.0001*max(1, float64(a.Steps)/4000) {
			t.Errorf("%s, %d steps, %+v: α's total weight decay %v exceeds the reference's 0.1", c.task.Name, c.steps, c.o, tot)
		}
		if (c.penaltyOn == "10k") != (a.Penalty == 1e-5) {
			t.Errorf("%s: penalty %v on %s", c.task.Name, a.Penalty, a.PenaltyOn)
		}
		// the schedule: 0 in the warm-up, 1, then Gamma after 60% of the α steps
		const spe = 10
		sch := a.Schedule(spe)
		at := func(step int) float64 { return sch.Factor(float64(step) / spe) }
		decay := a.WarmupSteps + int(math.Ceil(0.6*float64(a.Steps)))
		if a.WarmupSteps > 0 && at(a.WarmupSteps-1) != 0 {
			t.Errorf("%d steps: α moves during the warm-up", c.steps)
		}
		if at(a.WarmupSteps) != 1 || at(decay-1) != 1 || at(decay) != 0.2 || at(c.steps-1) != 0.2 {
			t.Errorf("%d steps: factors %v %v %v %v at steps %d, %d, %d, %d", c.steps, at(a.WarmupSteps), at(decay-1), at(decay), at(c.steps-1), a.WarmupSteps, decay-1, decay, c.steps-1)
		}
	}
	if _, err := dash.ScaleAlpha(mnist, 0, dash.SearchOptions{}); err == nil {
		t.Error("a search of 0 steps was accepted")
	}
}
