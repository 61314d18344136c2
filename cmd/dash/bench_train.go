package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/dash-go/dash/dash"
)

// trainOpts are the train sweep's command-line options.
type trainOpts struct {
	list, fresh, asJSON    bool
	torchFile, torchScript string
	python                 string
}

// benchTrain runs the whole-training-step sweep (dash bench --sweeps train).
func benchTrain(ctx context.Context, device string, cfg dash.TrainBenchConfig, o trainOpts, stdout, stderr io.Writer) error {
	list, fresh, asJSON, torchFile := o.list, o.fresh, o.asJSON, o.torchFile
	cases, err := dash.SelectTrainCases(cfg.Cases)
	if err != nil {
		return fmt.Errorf("--cases: %w", err)
	}
	if list {
		for _, c := range cases {
			fmt.Fprintln(stdout, c.Name)
		}
		return nil
	}
	var torch map[string]map[string]any
	if torchFile != "" {
		if torch, err = readTorchResults(torchFile); err != nil {
			return err
		}
	}
	var results []dash.TrainResult
	emit := func(r dash.TrainResult) {
		results = append(results, r)
		if asJSON {
			_ = json.NewEncoder(stdout).Encode(r)
		} else {
			fmt.Fprintf(stderr, "  %-40s %9.1f samples/s %9.1f ms/step  peak %7.0f MiB\n", r.Name, r.SamplesPerSec, r.MsPerStep, r.PeakRSSMiB)
		}
	}
	if fresh {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("--fresh: %w", err)
		}
		for _, c := range cases {
			args := []string{"bench", "--sweeps", dash.SweepTrain, "--cases", "=" + c.Name, "--fresh=false", "--json",
				"--reps", strconv.Itoa(cfg.Reps), "--warmup", strconv.Itoa(max(cfg.Warmup, 0)), "--min-seconds", strconv.FormatFloat(cfg.MinSeconds, 'g', -1, 64)}
			if device != "" {
				args = append(args, "--device", device)
			}
			cmd := exec.CommandContext(ctx, exe, args...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, stderr
			cmd.Env = append(os.Environ(), "DASH_CPUPROFILE=")
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("train bench case %s (fresh process): %w", c.Name, err)
			}
			var r dash.TrainResult
			if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &r); err != nil {
				return fmt.Errorf("train bench case %s: reading its result: %w", c.Name, err)
			}
			emit(r)
			if o.torchScript != "" {
				t, err := runTorchCase(ctx, o, cfg, c.Name, stderr)
				if err != nil {
					return err
				}
				if torch == nil {
					torch = map[string]map[string]any{}
				}
				torch[c.Name] = t
				if asJSON {
					_ = json.NewEncoder(stdout).Encode(t)
				} else {
					tsps, _ := t["samples_per_sec"].(float64)
					fmt.Fprintf(stderr, "  %-40s %9.1f samples/s (PyTorch)\n", c.Name, tsps)
				}
			}
		}
	} else {
		be, reason, err := openBackend(device)
		if err != nil {
			return err
		}
		defer be.Close()
		fmt.Fprintf(stderr, "backend: %s (%s)\n", be.Name(), reason)
		if err := dash.BenchTrain(ctx, be, cfg, emit); err != nil {
			return err
		}
	}
	if asJSON {
		return nil
	}
	return writeTrainTable(stdout, results, torch)
}

// runTorchCase runs one case of bench/torch/train.py (in its own process)
// and returns its JSON result.
func runTorchCase(ctx context.Context, o trainOpts, cfg dash.TrainBenchConfig, name string, stderr io.Writer) (map[string]any, error) {
	cmd := exec.CommandContext(ctx, o.python, o.torchScript, "--fresh", "0", "--json", "--cases", "="+name,
		"--reps", strconv.Itoa(cfg.Reps), "--warmup", strconv.Itoa(max(cfg.Warmup, 0)), "--min-seconds", strconv.FormatFloat(cfg.MinSeconds, 'g', -1, 64))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("--torch-script %s, case %s: %w", o.torchScript, name, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		return nil, fmt.Errorf("--torch-script %s, case %s: reading its result: %w", o.torchScript, name, err)
	}
	return m, nil
}

// readTorchResults reads bench/torch/train.py's JSON lines by case name.
func readTorchResults(path string) (map[string]map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--torch: %w", err)
	}
	defer f.Close()
	out := map[string]map[string]any{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return nil, fmt.Errorf("--torch %s line %d: %w", path, n, err)
		}
		name, _ := m["case"].(string)
		if name == "" {
			return nil, fmt.Errorf("--torch %s line %d: no \"case\" field", path, n)
		}
		out[name] = m
	}
	return out, sc.Err()
}

func writeTrainTable(w io.Writer, rs []dash.TrainResult, torch map[string]map[string]any) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if torch == nil {
		fmt.Fprintln(tw, "case\tours samples/s\tms/step\tpeak MiB\tCPU/wall\t")
		for _, r := range rs {
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.0f\t%.2f\t\n", r.Name, r.SamplesPerSec, r.MsPerStep, r.PeakRSSMiB, r.CPUPerWall)
		}
		return tw.Flush()
	}
	fmt.Fprintln(tw, "case\tours samples/s\tPyTorch samples/s\ttime ratio ours/PyTorch\tours peak MiB\tPyTorch peak MiB\tours CPU/wall\tPyTorch CPU/wall\t")
	for _, r := range rs {
		t, ok := torch[r.Name]
		if !ok {
			fmt.Fprintf(tw, "%s\t%.1f\t-\t-\t%.0f\t-\t\n", r.Name, r.SamplesPerSec, r.PeakRSSMiB)
			continue
		}
		tsps, _ := t["samples_per_sec"].(float64)
		tmem, _ := t["peak_rss_mib"].(float64)
		ratio := 0.0
		if r.SamplesPerSec > 0 {
			ratio = tsps / r.SamplesPerSec
		}
		tbusy, _ := t["cpu_per_wall"].(float64)
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.2f\t%.0f\t%.0f\t%.2f\t%.2f\t\n", r.Name, r.SamplesPerSec, tsps, ratio, r.PeakRSSMiB, tmem, r.CPUPerWall, tbusy)
	}
	return tw.Flush()
}
