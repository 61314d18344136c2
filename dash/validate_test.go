package dash

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/nn/checkpoint"
	"github.com/dash-go/dash/tensor/cpu"
)

// toyData is n samples of length l with 3 classes (class shifts the first
// five values).
func toyData(n, l int, seed uint64) *datasets.Data {
	r := rand.New(rand.NewPCG(seed, 1))
	d := &datasets.Data{X: make([]float32, n*l), XShape: []int{1, l}, Labels: make([]int32, n), N: n}
	for i := range n {
		c := r.IntN(3)
		d.Labels[i] = int32(c)
		for j := range l {
			d.X[i*l+j] = float32(r.NormFloat64())
			if j < 5 {
				d.X[i*l+j] += float32(c)
			}
		}
	}
	return d
}

func toyConfig(t *testing.T, ntrain int, seed uint64) Config {
	t.Helper()
	task := &datasets.Task{Name: "toy", Dims: 1, InShape: []int{1, 50}, Kind: datasets.ClassIndex, Classes: 3,
		Loss: "cross_entropy", Metric: "error", Kernels: []int{3, 5}, Dilations: []int{1, 3}, BatchSize: 32, Backbone: "resnet1d"}
	split := &datasets.Split{Train: toyData(ntrain, 50, seed), Val: toyData(16, 50, seed+1), Test: toyData(16, 50, seed+2)}
	b, err := Budgets("smoke", task)
	if err != nil {
		t.Fatal(err)
	}
	b.Random = 0
	return Config{Task: task, Split: split, Backend: cpu.Default(), Budget: b, Seed: 1, OutDir: filepath.Join(t.TempDir(), "run")}
}

func TestCheckInputs(t *testing.T) {
	cases := []struct {
		name      string
		ntrain    int
		kernels   []int
		dilations []int
		want      string // error substring; "" = accepted
		batch     int    // batch size after defaults
		warn      string
	}{
		{"ok", 64, nil, nil, "", 32, ""},
		{"too-few", 3, nil, nil, "training split has 3 sample(s)", 0, ""},
		{"batch-adapted", 20, nil, nil, "", 20, "adapting the batch size to 20"},
		{"kernel-1001", 64, []int{3, 1001}, nil, "kernel size 1001 in --kernels is larger than the input length 50", 0, ""},
		{"kernel-51", 64, []int{51}, nil, "kernel size 51", 0, ""},
		{"kernel-50-ok", 64, []int{50}, nil, "", 32, ""},
		{"dilation-100", 64, nil, []int{1, 100}, "dilation 100 in --dilations is not below the input length 50", 0, ""},
		{"dilation-50", 64, nil, []int{50}, "dilation 50", 0, ""},
		{"dilation-49-ok", 64, nil, []int{49}, "", 32, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := toyConfig(t, c.ntrain, 1)
			cfg.Kernels, cfg.Dilations = c.kernels, c.dilations
			var logs bytes.Buffer
			cfg.Log = slog.New(slog.NewTextHandler(&logs, nil))
			err := cfg.defaults()
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("err %v, want %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Budget.BatchSize != c.batch {
				t.Errorf("batch %d, want %d", cfg.Budget.BatchSize, c.batch)
			}
			if c.warn != "" && !strings.Contains(logs.String(), c.warn) {
				t.Errorf("log lacks %q:\n%s", c.warn, logs.String())
			}
		})
	}
}

// With a training split smaller than the budget's batch the run still
// trains (issue 12: every stage made 0 steps and the run reported chance).
func TestSmallDataTrains(t *testing.T) {
	cfg := toyConfig(t, 20, 1)
	if _, err := Search(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	f, err := checkpoint.Read(filepath.Join(cfg.OutDir, "search.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	if steps, _ := strconv.Atoi(f.Metadata["train.global_step"]); steps < 1 {
		t.Fatalf("the search made %d steps", steps)
	}
}

func TestFingerprintChecks(t *testing.T) {
	cfg := toyConfig(t, 64, 1)
	if err := cfg.defaults(); err != nil { // writes the fingerprint
		t.Fatal(err)
	}
	if _, err := ReadFingerprint(cfg.OutDir); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"same", func(c *Config) {}, ""},
		{"other-data", func(c *Config) {
			c.Split = &datasets.Split{Train: toyData(64, 50, 7), Val: c.Split.Val, Test: c.Split.Test}
		}, "data (SHA-256"},
		{"other-test-data", func(c *Config) {
			c.Split = &datasets.Split{Train: c.Split.Train, Val: c.Split.Val, Test: toyData(16, 50, 9)}
		}, "data (SHA-256"},
		{"seed", func(c *Config) { c.Seed = 5 }, "--seed: the run has 1, this command has 5"},
		{"budget", func(c *Config) { c.Budget.Name = "demo" }, "--budget: the run has smoke, this command has demo"},
		{"kernels", func(c *Config) { c.Kernels = []int{3} }, "--kernels: the run has 3,5, this command has 3"},
		{"backbone", func(c *Config) { t2 := *c.Task; t2.Backbone = "tcn"; c.Task = &t2 }, "backbone: the run has resnet1d"},
		{"metric", func(c *Config) { t2 := *c.Task; t2.Metric = "macro_f1"; c.Task = &t2 }, "--metric: the run has error, this command has macro_f1"},
		{"loss", func(c *Config) { t2 := *c.Task; t2.Loss = "mse"; c.Task = &t2 }, "--loss: the run has cross_entropy, this command has mse"},
		{"pos-weight", func(c *Config) { t2 := *c.Task; t2.PosWeight = 4; c.Task = &t2 }, "--pos-weight: the run has 0, this command has 4"},
		{"hpo-schedule", func(c *Config) { c.Budget.HPOSchedule = HPOScheduleConstant }, `budget setting hpo_schedule: the run has "retrain", this command has "constant"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c2 := toyConfig(t, 64, 1)
			c2.OutDir, c2.Resume = cfg.OutDir, true
			c2.Split = cfg.Split
			c.change(&c2)
			err := c2.defaults()
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrRunMismatch) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
		})
	}
	// a version-1 fingerprint (before the objective was recorded) is not
	// compared on it
	f, err := ReadFingerprint(cfg.OutDir)
	if err != nil {
		t.Fatal(err)
	}
	f.Version, f.Loss, f.Metric, f.PosWeight = 1, "", "", 0
	if err := WriteJSON(filepath.Join(cfg.OutDir, FingerprintFile), f); err != nil {
		t.Fatal(err)
	}
	c1 := toyConfig(t, 64, 1)
	c1.OutDir, c1.Resume, c1.Split = cfg.OutDir, true, cfg.Split
	if err := c1.defaults(); err != nil {
		t.Fatalf("version-1 fingerprint: %v", err)
	}
	// a version-2 fingerprint (before hpo_schedule) is a run whose trials
	// ran at a constant rate: it resumes with --hpo-schedule constant only
	f.Version, f.Budget.HPOSchedule, f.Loss, f.Metric = 2, "", "cross_entropy", "error"
	if err := WriteJSON(filepath.Join(cfg.OutDir, FingerprintFile), f); err != nil {
		t.Fatal(err)
	}
	for _, sched := range []string{HPOScheduleRetrain, HPOScheduleConstant} {
		c2 := toyConfig(t, 64, 1)
		c2.OutDir, c2.Resume, c2.Split = cfg.OutDir, true, cfg.Split
		c2.Budget.HPOSchedule = sched
		err := c2.defaults()
		if sched == HPOScheduleConstant && err != nil {
			t.Fatalf("version-2 fingerprint with constant trials: %v", err)
		}
		if sched == HPOScheduleRetrain && (!errors.Is(err, ErrRunMismatch) || !strings.Contains(err.Error(), `hpo_schedule: the run has "constant"`)) {
			t.Fatalf("version-2 fingerprint with retrain trials: %v", err)
		}
	}
	// without Resume the directory is rewritten for the new settings
	c3 := toyConfig(t, 64, 1)
	c3.OutDir, c3.Seed = cfg.OutDir, 9
	if err := c3.defaults(); err != nil {
		t.Fatal(err)
	}
	if f, _ := ReadFingerprint(cfg.OutDir); f == nil || f.Seed != 9 {
		t.Errorf("fingerprint not rewritten: %+v", f)
	}
}

func TestValidateArchitecture(t *testing.T) {
	good := func() *Architecture {
		return &Architecture{Layers: []LayerChoice{{Name: "a", Kernel: 3, Dilation: 1}, {Name: "b", Kernel: 5, Dilation: 3}}}
	}
	cases := []struct {
		name   string
		change func(a *Architecture)
		want   string
	}{
		{"ok", func(a *Architecture) {}, ""},
		{"no-layers", func(a *Architecture) { a.Layers = nil }, "no layers"},
		{"unnamed", func(a *Architecture) { a.Layers[0].Name = "" }, "has no name"},
		{"duplicate", func(a *Architecture) { a.Layers[1].Name = "a" }, `"a" appears twice`},
		{"zero-k", func(a *Architecture) { a.Layers[0].Kernel = 0 }, "must be positive"},
		{"k-outside", func(a *Architecture) { a.Layers[0].Kernel = 4 }, "(4, 1), outside the searched candidates"},
		{"d-outside", func(a *Architecture) { a.Layers[1].Dilation = 2 }, "(5, 2), outside the searched candidates"},
	}
	for _, c := range cases {
		a := good()
		c.change(a)
		err := ValidateArchitecture(a, []int{3, 5}, []int{1, 3})
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}

// Layer names that match no layer of the backbone are refused (issue 12:
// the default kernels were trained silently).
func TestCheckArchitectureLayerNames(t *testing.T) {
	cfg := toyConfig(t, 64, 1)
	a, err := Search(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Resume = true
	if err := CheckArchitecture(cfg, a); err != nil {
		t.Fatalf("the searched architecture: %v", err)
	}
	a.Layers[0].Name = "block9.convX"
	err = CheckArchitecture(cfg, a)
	if err == nil || !strings.Contains(err.Error(), `"block9.convX" match no layer`) || !strings.Contains(err.Error(), "are missing") {
		t.Fatalf("renamed layer: %v", err)
	}
	hp := HParams{LR: 0.1, Momentum: 0.9}
	if _, err := Retrain(context.Background(), cfg, a, hp, "dash"); err == nil || !strings.Contains(err.Error(), "match no layer") {
		t.Fatalf("retrain with a renamed layer: %v", err)
	}
}

func TestValidateHParams(t *testing.T) {
	for _, c := range []struct {
		hp   HParams
		want string
	}{
		{HParams{LR: 0.1, Momentum: 0.9}, ""},
		{HParams{LR: 0}, "lr 0"},
		{HParams{LR: -1}, "lr -1"},
		{HParams{LR: 0.1, Dropout: 1}, "dropout 1"},
		{HParams{LR: 0.1, WeightDecay: -1}, "weight_decay -1"},
		{HParams{LR: 0.1, Momentum: 1.5}, "momentum 1.5"},
	} {
		err := ValidateHParams(&c.hp)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: err %v, want %q", c.hp, err, c.want)
		}
	}
}

func TestParseStrict(t *testing.T) {
	if _, err := ParseHParams([]byte(`{"lr": 0.1, "momentum": 0.9, "lr_typo": 1}`)); err == nil || !strings.Contains(err.Error(), "lr_typo") {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := ParseHParams([]byte(`{"lr": 0.1} {}`)); err == nil {
		t.Error("trailing data accepted")
	}
	if _, err := ParseArchitecture([]byte(`{"kernels":[3],"dilations":[1],"layers":[{"name":"a","k":3,"d":1}]}`)); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat("testdata"); err == nil {
		t.Log("fuzz corpus present")
	}
}

// TestDemoBudgetScalesWithPixels checks that the demo budget trains 2-D
// inputs larger than 32×32 on fewer samples (the same pixels seen, at least
// 1000) with 2 random controls, and leaves the others as they were.
func TestDemoBudgetScalesWithPixels(t *testing.T) {
	cases := []struct {
		name          string
		task          datasets.Task
		train, random int
	}{
		{"seq-mnist", datasets.Task{Dims: 1, InShape: []int{1, 784}, Kind: datasets.ClassIndex}, 6000, 4},
		{"mnist-2d", datasets.Task{Dims: 2, InShape: []int{1, 28, 28}, Kind: datasets.ClassIndex}, 4000, 4},
		{"32x32x3", datasets.Task{Dims: 2, InShape: []int{3, 32, 32}, Kind: datasets.ClassIndex}, 4000, 4},
		{"sphere-60", datasets.Task{Dims: 2, InShape: []int{1, 60, 60}, Kind: datasets.ClassIndex}, 1137, 2},
		{"audio-96x102", datasets.Task{Dims: 2, InShape: []int{1, 96, 102}, Kind: datasets.MultiLabel}, 1000, 2},
		{"darcy-dense", datasets.Task{Dims: 2, InShape: []int{3, 85, 85}, Kind: datasets.DenseField}, 200, 4},
		{"burgers-dense-1d", datasets.Task{Dims: 1, InShape: []int{2, 1024}, Kind: datasets.DenseField}, 1000, 4},
	}
	for _, c := range cases {
		b, err := Budgets("demo", &c.task)
		if err != nil {
			t.Fatal(err)
		}
		if b.TrainLimit != c.train || b.Random != c.random {
			t.Errorf("%s: demo trains %d samples with %d randoms, want %d and %d", c.name, b.TrainLimit, b.Random, c.train, c.random)
		}
		if c.task.Kind == datasets.DenseField && slices.Max(b.LRs) > 0.01 {
			t.Errorf("%s: dense task with learning rates %v, want at most the reference's dense 0.01", c.name, b.LRs)
		}
		if s, err := Budgets("smoke", &c.task); err != nil || (c.task.Kind == datasets.DenseField && slices.Max(s.LRs) > 0.01) {
			t.Errorf("%s: smoke budget learning rates %v (%v), want at most 0.01 for dense tasks", c.name, s.LRs, err)
		}
	}
}
