package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/dash-go/dash/dash"
)

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dash bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg dash.BenchConfig
	device := fs.String("device", "", "compute backend: cpu, vulkan or vulkan:N")
	asJSON := fs.Bool("json", false, "print one JSON object per measurement instead of a table")
	png := fs.String("plot", "dash-bench.png", "write the PNG plot here (empty: no plot)")
	sweeps := fs.String("sweeps", "", "comma-separated sweeps: kd1d, kd2d, length, reference (default: all)")
	strategies := fs.String("strategies", "", "comma-separated strategies: mixed-results, mixed-weights, fourier (default: all)")
	fs.IntVar(&cfg.Batch, "batch", 32, "batch size")
	fs.IntVar(&cfg.Channels, "channels", 64, "channels (in = out)")
	fs.IntVar(&cfg.Length, "length", 1000, "1-D input length of the |K|=|D| sweep and the reference case")
	fs.IntVar(&cfg.Size2D, "size2d", 32, "2-D input side of the |K|=|D| sweep")
	fs.IntVar(&cfg.MaxKD, "max-kd", 7, "largest |K| = |D|")
	fs.IntVar(&cfg.Reps, "reps", 3, "timed steps per measurement (median reported)")
	fs.Float64Var(&cfg.MaxStepSeconds, "max-step-seconds", 120, "skip (with a note) measurements estimated to take longer per step; negative: never")
	fs.BoolVar(&cfg.Depthwise, "depthwise", false, "depthwise aggregated convs")
	var tcfg dash.TrainBenchConfig
	cases := fs.String("cases", "", "train sweep: comma-separated case names or substrings (default: all; --list shows them)")
	list := fs.Bool("list", false, "train sweep: list the cases and exit")
	fresh := fs.Bool("fresh", true, "train sweep: run every case in a fresh process, so its peak memory is its own")
	torchFile := fs.String("torch", "", "train sweep: JSON lines of bench/torch/train.py to compare with (adds PyTorch and ratio columns)")
	torchScript := fs.String("torch-script", "", "train sweep: run this bench/torch/train.py right after each of our cases (same sitting, case by case) and compare")
	python := fs.String("python", "/usr/bin/python3", "train sweep: the Python with PyTorch that runs --torch-script")
	fs.IntVar(&tcfg.Warmup, "warmup", 2, "train sweep: untimed steps per case")
	fs.Float64Var(&tcfg.MinSeconds, "min-seconds", 3, "train sweep: time at least this long per case (and at least --reps steps)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dash bench [flags]\n\nWith --sweeps train: samples/s and peak memory of whole training steps of every\nbackbone at the pipeline's shapes (see bench/torch/train.py for PyTorch's).\nOtherwise: times one DASH search step (forward + backward, α included) of one aggregated conv\nfor the three strategies (mixed results, mixed weights, Fourier) as |K| = |D| grows\n(1-D and 2-D), as the length grows, and for the reference K5×D4 case.\n\nExamples:\n  dash bench\n  dash bench --sweeps reference --json\n  dash bench --device vulkan --sweeps kd1d --max-kd 5\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *sweeps != "" {
		cfg.Sweeps = strings.Split(*sweeps, ",")
	}
	if slices.Contains(cfg.Sweeps, dash.SweepTrain) {
		if len(cfg.Sweeps) != 1 {
			return fmt.Errorf("--sweeps: %q runs alone (whole training steps), not with %v", dash.SweepTrain, cfg.Sweeps)
		}
		tcfg.Reps = cfg.Reps
		if tcfg.Warmup == 0 {
			tcfg.Warmup = -1 // --warmup 0: none
		}
		if *cases != "" {
			tcfg.Cases = strings.Split(*cases, ",")
		}
		return benchTrain(ctx, *device, tcfg, trainOpts{list: *list, fresh: *fresh, asJSON: *asJSON, torchFile: *torchFile, torchScript: *torchScript, python: *python}, stdout, stderr)
	}
	if *strategies != "" {
		for _, s := range strings.Split(*strategies, ",") {
			st, err := dash.ParseStrategy(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("--strategies: %w", err)
			}
			cfg.Strategies = append(cfg.Strategies, st)
		}
	}
	be, reason, err := openBackend(*device)
	if err != nil {
		return err
	}
	defer be.Close()
	fmt.Fprintf(stderr, "backend: %s (%s)\n", be.Name(), reason)
	var results []dash.BenchResult
	enc := json.NewEncoder(stdout)
	err = dash.Bench(ctx, be, cfg, func(r dash.BenchResult) {
		results = append(results, r)
		if *asJSON {
			_ = enc.Encode(r)
		} else {
			note := ""
			if r.Skipped {
				note = "skipped: " + r.Note
			}
			fmt.Fprintf(stderr, "  %-10s %-14s dims=%d |K|=%d |D|=%d L=%-5d %10.1f ms %s\n", r.Case, r.Strategy, r.Dims, r.K, r.D, r.Length, r.MsPerStep, note)
		}
	})
	if err != nil {
		return err
	}
	if !*asJSON {
		if err := dash.WriteBenchTable(stdout, results); err != nil {
			return err
		}
	}
	if *png != "" {
		if err := dash.WriteBenchPlot(*png, results); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "plot: %s\n", *png)
	}
	return nil
}
