// Package tests holds end-to-end tests across packages: the DASH pipeline
// on real data, resuming an interrupted run, users' own files, and the
// command line.
package tests

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
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
	// interrupt at the first progress line after the search stage completed
	// (the hyperparameter stage always writes one), as Ctrl-C would
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg.Progress = writerFunc(func(p []byte) (int, error) {
		if _, err := os.Stat(filepath.Join(cfg.OutDir, "architecture.json")); err == nil {
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
	cfg.Resume = true
	m, err := dash.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	archAfter, _ := os.ReadFile(filepath.Join(cfg.OutDir, "architecture.json"))
	if string(archBefore) != string(archAfter) {
		t.Fatal("resume re-ran the completed search stage")
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
