package dash

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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

// TestBenchFull runs the full benchmark on the CPU backend when DASH_BENCH
// is set (DASH_BENCH=all, or a comma-separated list of sweeps), printing
// the table and the JSON lines and writing bench.png to DASH_BENCH_OUT (the
// current directory by default). DASH_BENCH_STRATEGIES, _KD, _REPS,
// _MAXSTEP and _DEPTHWISE narrow or change the configuration:
//
//	DASH_BENCH=all go test ./dash -run TestBenchFull -v -timeout 2h
func TestBenchFull(t *testing.T) {
	sel := os.Getenv("DASH_BENCH")
	if sel == "" {
		t.Skip("set DASH_BENCH=all (or kd1d,kd2d,length,reference) to run the benchmark")
	}
	cfg := BenchConfig{}
	if sel != "all" {
		cfg.Sweeps = strings.Split(sel, ",")
	}
	if s := os.Getenv("DASH_BENCH_STRATEGIES"); s != "" {
		for _, n := range strings.Split(s, ",") {
			st, err := ParseStrategy(n)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Strategies = append(cfg.Strategies, st)
		}
	}
	if v := os.Getenv("DASH_BENCH_MAXSTEP"); v != "" {
		if _, err := fmt.Sscan(v, &cfg.MaxStepSeconds); err != nil {
			t.Fatal(err)
		}
	}
	if v := os.Getenv("DASH_BENCH_KD"); v != "" {
		for _, f := range strings.Split(v, ",") {
			var n int
			if _, err := fmt.Sscan(f, &n); err != nil {
				t.Fatal(err)
			}
			cfg.KD = append(cfg.KD, n)
		}
	}
	if v := os.Getenv("DASH_BENCH_REPS"); v != "" {
		if _, err := fmt.Sscan(v, &cfg.Reps); err != nil {
			t.Fatal(err)
		}
	}
	if os.Getenv("DASH_BENCH_DEPTHWISE") != "" {
		cfg.Depthwise = true
	}
	var got []BenchResult
	err := Bench(context.Background(), cpu.Default(), cfg, func(r BenchResult) {
		got = append(got, r)
		b, _ := json.Marshal(r)
		t.Log(string(b))
	})
	if err != nil {
		t.Fatal(err)
	}
	var tab bytes.Buffer
	if err := WriteBenchTable(&tab, got); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + tab.String())
	out := os.Getenv("DASH_BENCH_OUT")
	if out == "" {
		out = "."
	}
	if err := WriteBenchPlot(filepath.Join(out, "bench.png"), got); err != nil {
		t.Fatal(err)
	}
}

// TestBenchCriteria measures the acceptance numbers on the CPU
// backend when DASH_BENCH_CRITERIA is set: the Fourier search step at
// B32 C64 L1000 for |K| = |D| = 1, 5, 7 and for the reference K×D case,
// and mixed results at |K| = |D| = 5 and on the reference case. The
// configurations are interleaved over DASH_BENCH_CRITERIA rounds (one
// step each after a warm-up) so that a busy machine affects them alike;
// the minimum over rounds is reported with the median.
//
//	DASH_BENCH_CRITERIA=5 go test ./dash -run TestBenchCriteria -v -timeout 1h
func TestBenchCriteria(t *testing.T) {
	v := os.Getenv("DASH_BENCH_CRITERIA")
	if v == "" {
		t.Skip("set DASH_BENCH_CRITERIA=<rounds> to measure the acceptance numbers")
	}
	var rounds int
	if _, err := fmt.Sscan(v, &rounds); err != nil || rounds < 1 {
		t.Fatalf("DASH_BENCH_CRITERIA=%q: want a number of rounds", v)
	}
	cfg := BenchConfig{Reps: 1, Warmup: 0}
	cfg.defaults()
	cfg.Warmup = 0
	type item struct {
		name string
		c    benchCase
		s    Strategy
		ms   []float64
	}
	kd := func(n int) benchCase { return benchCase{SweepKD1D, 1, 1000, BenchKernels[:n], BenchDilations[:n]} }
	ref := benchCase{SweepReference, 1, 1000, ReferenceKernels, ReferenceDilations}
	items := []*item{
		{name: "fourier |K|=|D|=1", c: kd(1), s: Fourier},
		{name: "fourier |K|=|D|=5", c: kd(5), s: Fourier},
		{name: "fourier |K|=|D|=7", c: kd(7), s: Fourier},
		{name: "mixed-results |K|=|D|=5", c: kd(5), s: MixedResults},
		{name: "fourier K5xD4 (torch case)", c: ref, s: Fourier},
		{name: "mixed-results K5xD4 (torch case)", c: ref, s: MixedResults},
	}
	be := cpu.Default()
	for r := -1; r < rounds; r++ { // round -1 warms up
		for _, it := range items {
			ms, _, _, err := benchOne(context.Background(), be, cfg, it.c, it.s)
			if err != nil {
				t.Fatal(err)
			}
			if r >= 0 {
				it.ms = append(it.ms, ms)
			}
		}
	}
	stat := map[string][2]float64{}
	for _, it := range items {
		s := slices.Clone(it.ms)
		slices.Sort(s)
		stat[it.name] = [2]float64{s[0], s[len(s)/2]}
		t.Logf("%-34s min %8.1f ms  median %8.1f ms  (%s)", it.name, s[0], s[len(s)/2], be.Name())
	}
	ratio := func(a, b string) string {
		return fmt.Sprintf("%.2f (min) / %.2f (median)", stat[a][0]/stat[b][0], stat[a][1]/stat[b][1])
	}
	t.Logf("mixed-results / fourier at |K|=|D|=5: %s", ratio("mixed-results |K|=|D|=5", "fourier |K|=|D|=5"))
	t.Logf("fourier growth |K||D| 1 → 49:        %s", ratio("fourier |K|=|D|=7", "fourier |K|=|D|=1"))
	t.Logf("mixed-results / fourier, K5xD4:       %s", ratio("mixed-results K5xD4 (torch case)", "fourier K5xD4 (torch case)"))
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
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skipf("no %s to list bench/torch/train.py's cases", py)
	}
	cmd := exec.Command(py, "-c", "import torch")
	if cmd.Run() != nil {
		t.Skip("PyTorch is not installed: bench/torch/train.py cannot run here")
	}
	out, err := exec.Command(py, filepath.Join("..", "bench", "torch", "train.py"), "--list").Output()
	if err != nil {
		t.Fatalf("bench/torch/train.py --list: %v", err)
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
