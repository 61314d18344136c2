//go:build benchdriver

package dash

// Benchmark drivers: long measurements run by hand, not tests. They build
// only with -tags benchdriver, so a plain `go test` (and CI) never compiles
// them into a skip; CI vets them with the tag so they keep compiling.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dash-go/dash/tensor/cpu"
)

// TestBenchFull runs the full benchmark on the CPU backend when DASH_BENCH
// is set (DASH_BENCH=all, or a comma-separated list of sweeps), printing
// the table and the JSON lines and writing bench.png to DASH_BENCH_OUT (the
// current directory by default). DASH_BENCH_STRATEGIES, _KD, _REPS,
// _MAXSTEP and _DEPTHWISE narrow or change the configuration:
//
//	DASH_BENCH=all go test -tags benchdriver ./dash -run TestBenchFull -v -timeout 2h
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
//	DASH_BENCH_CRITERIA=5 go test -tags benchdriver ./dash -run TestBenchCriteria -v -timeout 1h
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
