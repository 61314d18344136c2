package dash

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dash-go/dash/internal/testenv"
	"github.com/dash-go/dash/tensor/cpu"
)

func tinyBench() BenchConfig {
	return BenchConfig{Batch: 2, Channels: 3, Length: 40, Size2D: 9, MaxKD: 2, Lengths: []int{16, 33}, LengthKD: 2, Reps: 1, Seed: 1}
}

func TestBenchTiny(t *testing.T) {
	be := testBackend(t)
	var got []BenchResult
	cfg := tinyBench()
	if err := Bench(context.Background(), be, cfg, func(r BenchResult) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	// kd1d 2 + kd2d 2 + length 2 + reference 1 points, 3 strategies each
	if len(got) != 7*3 {
		t.Fatalf("%d results, want 21", len(got))
	}
	for _, r := range got {
		if r.Skipped || r.MsPerStep <= 0 || r.Device == "" || r.Batch != 2 || r.Channels != 3 {
			t.Errorf("bad result %+v", r)
		}
	}
	b, err := json.Marshal(got[0])
	if err != nil || !strings.Contains(string(b), `"strategy":"mixed-results"`) || !strings.Contains(string(b), `"ms_per_step"`) {
		t.Errorf("JSON %s %v", b, err)
	}
	var back BenchResult
	if err := json.Unmarshal(b, &back); err != nil || back.Strategy != MixedResults {
		t.Errorf("JSON round trip: %+v %v", back, err)
	}
	var tab bytes.Buffer
	if err := WriteBenchTable(&tab, got); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tab.String(), "fourier") || !strings.Contains(tab.String(), "speed-up") {
		t.Errorf("table:\n%s", tab.String())
	}
	png := filepath.Join(t.TempDir(), "bench.png")
	if err := WriteBenchPlot(png, got); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(png); err != nil || st.Size() < 1000 {
		t.Errorf("plot: %v %v", st, err)
	}
}

func TestBenchSkipsWithNote(t *testing.T) {
	cfg := tinyBench()
	cfg.Sweeps = []string{SweepKD2D}
	cfg.Strategies = []Strategy{MixedWeights}
	cfg.MaxStepSeconds = 1e-12
	var got []BenchResult
	if err := Bench(context.Background(), cpu.Default(), cfg, func(r BenchResult) { got = append(got, r) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].Skipped || !strings.Contains(got[0].Note, "estimated") {
		t.Fatalf("%+v", got)
	}
	var tab bytes.Buffer
	if err := WriteBenchTable(&tab, got); err != nil || !strings.Contains(tab.String(), "skipped: estimated") {
		t.Errorf("table without the note:\n%s", tab.String())
	}
}

func TestBenchCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Bench(ctx, cpu.Default(), tinyBench(), func(BenchResult) { t.Error("measured after cancel") })
	if err != context.Canceled {
		t.Fatalf("err %v", err)
	}
	cfg := tinyBench()
	cfg.Sweeps = []string{"nope"}
	if err := Bench(context.Background(), cpu.Default(), cfg, func(BenchResult) {}); err == nil {
		t.Fatal("unknown sweep accepted")
	}
}

// TestTrainCases checks the whole-step benchmark's case table: the
// pipeline's budgets give each case's width and batch, names are unique,
// and bench/torch/train.py lists exactly the same cases (when PyTorch is
// installed: the script needs it).
func TestTrainCases(t *testing.T) {
	cs := TrainCases()
	names := map[string]bool{}
	for _, c := range cs {
		if names[c.Name] {
			t.Errorf("duplicate case %s", c.Name)
		}
		names[c.Name] = true
		if c.Batch <= 0 || c.Width <= 0 || len(c.InShape) == 0 || c.Outputs <= 0 {
			t.Errorf("bad case %+v", c)
		}
		if c.Kernels == "searched" && len(c.Layers) == 0 {
			t.Errorf("%s: searched case without layers", c.Name)
		}
	}
	for _, want := range []string{"resnet1d-demo-default-w8-b128", "resnet1d-paper-default-w16-b256", "wrn-demo-default-w1-b32",
		"wrn-paper-default-w4-b64", "wrn-dense-demo-default-w1-b10", "resnet1d-demo-search-w8-b128", "tcn-default-default-w100-b32"} {
		if !names[want] {
			t.Errorf("no case %s", want)
		}
	}
	if _, err := SelectTrainCases([]string{"nonesuch"}); err == nil || !strings.Contains(err.Error(), "nonesuch") {
		t.Errorf("unmatched pattern: %v", err)
	}
	if got, err := SelectTrainCases([]string{"=wrn-demo-default-w1-b32"}); err != nil || len(got) != 1 {
		t.Errorf("exact selection: %v %v", got, err)
	}
	// The table lives in bench/torch/cases.py, which needs Python but not PyTorch.
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		testenv.Skip(t, "no %s to list bench/torch/cases.py's cases (apt-get install python3)", py)
	}
	out, err := exec.Command(py, filepath.Join("..", "bench", "torch", "cases.py")).Output()
	if err != nil {
		t.Fatalf("bench/torch/cases.py: %v", err)
	}
	var pyNames []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pyNames = append(pyNames, strings.TrimSpace(l))
	}
	var goNames []string
	for _, c := range cs {
		goNames = append(goNames, c.Name)
	}
	if !slices.Equal(pyNames, goNames) {
		t.Errorf("case tables differ:\n Go:     %v\n Python: %v", goNames, pyNames)
	}
}

// TestTrainStepper runs whole training steps of small cases (a backbone
// with default and searched kernels, and a search step) and checks that
// the parameters move and the peak memory is reported.
func TestTrainStepper(t *testing.T) {
	be := cpu.New()
	for _, name := range []string{"=wrn-demo-default-w1-b32", "=wrn-demo-searched-w1-b32", "=resnet1d-demo-search-w8-b128"} {
		cs, err := SelectTrainCases([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		c := cs[0]
		if c.Kernels == "search" { // keep the test quick: a narrower, smaller batch
			c.Batch, c.Width = 8, 2
		}
		s, err := NewTrainStepper(be, c, 1)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := s.Model.Params()[0]
		before := p.Value.Float32s()
		for range 2 {
			if err := s.Step(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		after := p.Value.Float32s()
		if slices.Equal(before, after) {
			t.Errorf("%s: the first parameter did not change", name)
		}
		s.Release()
	}
	if PeakRSSMiB() <= 0 {
		t.Error("no peak resident memory")
	}
}
