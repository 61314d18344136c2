package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/nn"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
	"github.com/dash-go/dash/vk"
)

// intList is a comma-separated list of positive integers flag.
type intList []int

func (l *intList) String() string {
	s := make([]string, len(*l))
	for i, v := range *l {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ",")
}

func (l *intList) Set(v string) error {
	*l = nil
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return fmt.Errorf("%q is not a positive integer", f)
		}
		*l = append(*l, n)
	}
	if len(*l) == 0 {
		return errors.New("empty list")
	}
	return nil
}

// openBackend picks and opens the compute backend for a --device value.
func openBackend(spec string) (tensor.Backend, string, error) {
	ch, reason, err := vk.Choose(spec)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", deviceSource(spec), err)
	}
	if !ch.Vulkan {
		return cpu.New(), reason, nil
	}
	be, err := vk.New(vk.Options{Device: ch.Device, Validate: os.Getenv("DASH_VK_VALIDATE") == "1", Profile: os.Getenv("DASH_PROFILE") == "1"})
	if err != nil {
		if ch.Explicit {
			return nil, "", fmt.Errorf("%s (%s): %w", deviceSource(spec), ch, err)
		}
		return cpu.New(), reason + "; opening it failed (" + err.Error() + "), using the CPU backend", nil
	}
	return be, reason, nil
}

type runFlags struct {
	task, data, device, budget, out, kind string
	kernels, dilations                    intList
	seed                                  uint64
	resume                                bool
	classes                               int
	random, seeds, parallel               int
	sizes                                 dash.BudgetOverrides // --train-limit, --search-epochs, --retrain-epochs, --hpo-schedule
	backbone, retrainBackbone             string
	objective                             objectiveFlags // objective.go: --loss, --metric, --pos-weight
	search                                dash.SearchOptions
	nats                                  *natsFlags // worker.go
}

func parseRunFlags(cmd string, args []string, stderr io.Writer) (*runFlags, error) {
	f := &runFlags{}
	fs := flag.NewFlagSet("dash "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.task, "task", "mnist", "built-in task (see 'dash data list')")
	fs.StringVar(&f.data, "data", "", "your own data: a .npz file (arrays X, y) or a directory with X.npy and y.npy; overrides --task")
	fs.StringVar(&f.kind, "target", "", "with --data: target kind class|multilabel|dense (default: inferred from y)")
	fs.IntVar(&f.classes, "classes", 0, "with --data: number of classes (default: max label + 1)")
	fs.StringVar(&f.device, "device", "", "compute backend: cpu, vulkan or vulkan:N (default: $DASH_DEVICE, else the best GPU, else cpu)")
	fs.Var(&f.kernels, "kernels", "searched kernel sizes, e.g. 3,5,7,9 (default: the task's)")
	fs.Var(&f.dilations, "dilations", "searched dilations, e.g. 1,3,7,15 (default: the task's)")
	fs.StringVar(&f.budget, "budget", "demo", "demo (minutes on a laptop CPU), paper (the reference's epochs and grids) or smoke (seconds: an end-to-end check, not a result)")
	fs.IntVar(&f.sizes.TrainLimit, "train-limit", 0, "training samples the budget uses (default: the budget's, e.g. 4000 for 2-D tasks at the demo budget)")
	fs.IntVar(&f.sizes.SearchEpochs, "search-epochs", 0, "search epochs (default: the budget's)")
	fs.IntVar(&f.sizes.RetrainEpochs, "retrain-epochs", 0, "retraining epochs of every network (default: the budget's); the learning-rate milestones move in proportion")
	fs.StringVar(&f.sizes.HPOSchedule, "hpo-schedule", "", "learning-rate schedule of each hyperparameter trial: retrain (the retraining schedule compressed to the trial, the default) or constant")
	fs.Uint64Var(&f.seed, "seed", 0, "random seed (weights, α, data order, validation split)")
	fs.StringVar(&f.out, "out", "", "run directory (default: runs/<task>-<time>; required for hpo, retrain, eval)")
	fs.BoolVar(&f.resume, "resume", false, "continue the run in --out (default: the newest runs/<task>-*) from its last completed stage")
	fs.IntVar(&f.random, "random", -1, "random architectures (uniform (k, d) per layer) trained as controls, each with its own hyperparameter stage (default: the budget's)")
	fs.IntVar(&f.parallel, "parallel", 0, "networks (searched, baseline, random) trained at once after the search (default: 2 on a CPU backend with 2+ threads, else 1; each network's result is the same either way, peak memory grows)")
	fs.IntVar(&f.seeds, "seeds", 1, "repeat search and retraining over seeds --seed … --seed+N-1 (runs in <out>/seed-<s>, summary.md over them); the data split (validation split, subset) is drawn once, with --seed, and shared by all N")
	fs.StringVar(&f.backbone, "backbone", "", "backbone instead of the task's: "+strings.Join(nn.BackboneNames(), ", "))
	addObjectiveFlags(fs, &f.objective)
	fs.StringVar(&f.retrainBackbone, "retrain-backbone", "", "backbone for the discrete networks only (hyperparameters, retraining, eval), e.g. resnet1d-causal (default: the searched one)")
	fs.Float64Var(&f.search.Warmup, "alpha-warmup", 0, "share of the search steps that train only the weights before α moves (default 0.25; negative: none)")
	fs.Float64Var(&f.search.LRScale, "alpha-lr-scale", 0, "extra factor on the step-scaled α learning rate (default 10 with SGD, 1 with the TCN's Adam)")
	fs.Float64Var(&f.search.Penalty, "alpha-penalty", 0, "size-penalty coefficient added to α's normalised gradient (default: none for point tasks, 1e-5·10k for dense ones, as the reference; negative: none)")
	fs.StringVar(&f.search.TapLR, "tap-lr", "", "search: each candidate kernel's learning rate: shared (one rate, the reference; the default) or equal (scaled by (k_min/k)^dims)")
	fs.BoolVar(&f.search.NoScale, "alpha-no-scale", false, "keep the reference's α learning rate whatever the number of search steps")
	fs.StringVar(&f.search.AlphaClip, "alpha-clip", "", "search: which gradients the clip to norm 1 covers: joint (weights and α, the reference; the default) or weights (α's rescaled gradient left out)")
	fs.BoolVar(&f.search.Softmax, "alpha-softmax", false, "mix the candidates with softmax(α) instead of Gumbel-softmax samples during the search")
	f.nats = addNATSFlags(fs) // worker.go: --nats, --workers, credentials and TLS
	fs.BoolVar(&f.search.KaimingInit, "kaiming-init", false, "initialise the searched candidate kernels Kaiming-uniform instead of the reference's N(0, 0.01)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dash %s [flags]\n\nExamples:\n  dash %s --task mnist\n  dash %s --data ./mine.npz --kernels 3,5,7 --dilations 1,2,4\n\nFlags:\n", cmd, cmd, cmd)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("dash %s: unexpected argument %q", cmd, fs.Arg(0))
	}
	return f, nil
}

func loadTask(ctx context.Context, f *runFlags, progress io.Writer) (*datasets.Task, *datasets.Split, error) {
	limit := 0
	if f.data != "" {
		task, split, err := datasets.LoadFiles(f.data, datasets.FileOptions{Kind: f.kind, Classes: f.classes})
		if err != nil {
			return nil, nil, fmt.Errorf("--data: %w", err)
		}
		if task, err = f.objective.apply(task); err != nil { // objective.go
			return nil, nil, err
		}
		return task, split, nil
	}
	task, err := datasets.Lookup(f.task)
	if err != nil {
		return nil, nil, fmt.Errorf("--task: %w", err)
	}
	if task, err = f.objective.apply(task); err != nil { // before loading: a bad flag fails at once
		return nil, nil, err
	}
	if task.Present != nil {
		if ok, why := task.Present(); !ok && !task.Synthetic {
			return nil, nil, fmt.Errorf("--task %s: data not available: %s", task.Name, why)
		}
	}
	if task.Synthetic {
		// generate only what the budget trains on (the cache serves a
		// smaller request from a larger set generated earlier)
		if b, err := dash.Budgets(f.budget, task); err == nil && b.Override(f.sizes) == nil && b.TrainLimit > 0 {
			limit = b.TrainLimit + b.TrainLimit/9 + 1 // + the validation share
		}
	}
	split, err := task.Load(ctx, datasets.LoadOptions{Seed: int64(f.seed), Progress: progress, Limit: limit})
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", task.Name, err)
	}
	return task, split, nil
}

func newestRun(task string) (string, error) {
	m, _ := filepath.Glob(filepath.Join("runs", task+"-*"))
	if len(m) == 0 {
		return "", fmt.Errorf("--resume: no earlier run of %s under runs/; give --out", task)
	}
	sort.Strings(m)
	return m[len(m)-1], nil
}

func cmdRun(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	f, err := parseRunFlags(cmd, args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := checkRunFlags(cmd, f); err != nil { // guard.go
		return err
	}
	be, reason, err := openBackend(f.device)
	if err != nil {
		return err
	}
	defer be.Close()
	logger.Info("backend", "name", be.Name(), "why", reason)
	task, split, err := loadTask(ctx, f, stderr)
	if err != nil {
		return err
	}
	if f.backbone != "" { // before the budget: the TCN has its own epochs
		if err := backboneFits("--backbone", f.backbone, task); err != nil { // objective.go
			return err
		}
		t := *task
		t.Backbone = f.backbone
		task = &t
	}
	budget, err := dash.Budgets(f.budget, task)
	if err != nil {
		return fmt.Errorf("--budget: %w", err)
	}
	if err := budget.Override(f.sizes); err != nil {
		return err
	}
	if f.random >= 0 {
		budget.Random = f.random
	}
	if f.seeds < 1 {
		return fmt.Errorf("--seeds %d: want at least 1", f.seeds)
	}
	if f.parallel < 0 {
		return fmt.Errorf("--parallel %d: want 0 (automatic) or more", f.parallel)
	}
	if f.retrainBackbone != "" {
		if err := backboneFits("--retrain-backbone", f.retrainBackbone, task); err != nil {
			return err
		}
		budget.RetrainBackbone = f.retrainBackbone
	}
	if f.out == "" {
		switch {
		case f.resume:
			if f.out, err = newestRun(task.Name); err != nil {
				return err
			}
		case cmd == "run" || cmd == "search":
			f.out = filepath.Join("runs", task.Name+"-"+time.Now().Format("20060102-150405"))
		default:
			return fmt.Errorf("dash %s: give the run directory with --out", cmd)
		}
	}
	cfg := dash.Config{Task: task, Split: split, Backend: be, Kernels: f.kernels, Dilations: f.dilations,
		Budget: budget, Seed: f.seed, OutDir: f.out, Resume: f.resume || cmd != "run", Progress: stderr, Log: logger,
		Search: f.search, Parallel: f.parallel}
	if done, err := prepareRunDir(cmd, &cfg, stdout, logger); err != nil || done { // guard.go
		return err
	}
	stopNATS, err := f.nats.attach(ctx, cmd, f, &cfg, stderr, logger) // worker.go: trials on workers
	if err != nil {
		return err
	}
	defer stopNATS()
	logger.Info("task", "name", task.Name, "input", fmt.Sprint(task.InShape), "train", split.Train.N, "val", split.Val.N, "test", split.Test.N, "budget", budget.Name, "out", f.out)
	switch cmd {
	case "run":
		sum, err := dash.RunSeeds(ctx, cfg, f.seeds)
		if err != nil {
			return err
		}
		if f.seeds == 1 {
			return printSummary(stdout, f.out)
		}
		fmt.Fprintf(stdout, "\n%s\nrun directory: %s (summary.md, seed-*/report.md)\n", sum.Markdown(), f.out)
		return nil
	case "search":
		a, err := dash.Search(ctx, cfg)
		if err != nil {
			return err
		}
		if err := dash.WriteJSON(filepath.Join(f.out, "architecture.json"), a); err != nil {
			return err
		}
		for _, l := range a.Layers {
			fmt.Fprintf(stdout, "%-32s k=%-3d d=%d\n", l.Name, l.Kernel, l.Dilation)
		}
		return nil
	case "hpo":
		var a dash.Architecture
		if err := dash.ReadJSON(filepath.Join(f.out, "architecture.json"), &a); err != nil {
			return fmt.Errorf("--out %s: %w (run 'dash search' first)", f.out, err)
		}
		hp, err := dash.HPO(ctx, cfg, &a)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "lr %g dropout %g weight decay %g momentum %g\n", hp.LR, hp.Dropout, hp.WeightDecay, hp.Momentum)
		return dash.WriteJSON(filepath.Join(f.out, "hparams.json"), hp)
	case "retrain", "eval":
		var a dash.Architecture
		if err := dash.ReadJSON(filepath.Join(f.out, "architecture.json"), &a); err != nil {
			return fmt.Errorf("--out %s: %w", f.out, err)
		}
		var hp dash.HParams
		if err := dash.ReadJSON(filepath.Join(f.out, "hparams.json"), &hp); err != nil {
			return fmt.Errorf("--out %s: %w (run 'dash hpo' first)", f.out, err)
		}
		if cmd == "eval" {
			r, err := dash.Evaluate(ctx, cfg, &a, hp, filepath.Join(f.out, "weights.safetensors"))
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "test %s = %.4g on %d samples\n", r.Metric, r.Value, r.N)
			return nil
		}
		r, err := dash.Retrain(ctx, cfg, &a, hp, "dash")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "test %s = %.4g (best validation %.4g)\n", r.Test.Metric, r.Test.Value, r.BestVal)
		return nil
	}
	return nil
}

func printSummary(w io.Writer, dir string) error {
	var a dash.Architecture
	var m dash.Metrics
	if err := dash.ReadJSON(filepath.Join(dir, "architecture.json"), &a); err != nil {
		return err
	}
	if err := dash.ReadJSON(filepath.Join(dir, "metrics.json"), &m); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nDASH on %s (%s budget, %s)\n\n", m.Task, m.Budget, m.Device)
	fmt.Fprintf(w, "%-32s %-10s %s\n", "layer", "default", "searched (k, d)")
	for _, l := range a.Layers {
		fmt.Fprintf(w, "%-32s (%d, %d)%-4s (%d, %d)\n", l.Name, l.Default[0], l.Default[1], "", l.Kernel, l.Dilation)
	}
	name := m.Test.Metric
	if name == "error" {
		fmt.Fprintf(w, "\ntest accuracy: DASH %.2f%%   baseline (default kernels) %.2f%%\n", 100*(1-m.Test.Value), 100*(1-m.Baseline.Value))
	} else {
		fmt.Fprintf(w, "\ntest %s: DASH %.4g   baseline (default kernels) %.4g\n", name, m.Test.Value, m.Baseline.Value)
	}
	for _, n := range m.Networks {
		if n.Kind == "random" {
			fmt.Fprintf(w, "  %-12s test %s %.4g\n", n.Label, name, n.Test.Value)
		}
	}
	if c := m.Controls; c != nil {
		fmt.Fprintf(w, "\n%s\n", c.Verdict)
	}
	if a := m.Alpha; a != nil {
		fmt.Fprintf(w, "α: %d of %d layers have max softmax(α) ≥ 3× uniform (median %.2f×)\n", a.Decided, len(a.Layers), a.MedianOverUnif)
	}
	nets, sum := m.NetworkTimes()
	at := ""
	if m.NetworksAtOnce > 1 {
		at = fmt.Sprintf(", %d at a time (%.0fs summed over the networks)", m.NetworksAtOnce, sum)
	}
	fmt.Fprintf(w, "time: search %.0fs, hyperparameters + retraining of %d networks %.0fs%s (total %.0fs)\nrun directory: %s (report.md)\n",
		m.SearchSeconds, len(m.Networks), nets, at, m.SearchSeconds+nets, dir)
	return nil
}

// cmdSummary aggregates finished runs in <out>/seed-*/.
func cmdSummary(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dash summary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory holding seed-*/ run directories (e.g. from 'dash run --seeds N')")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *out == "" {
		return errors.New("dash summary: give the directory with --out")
	}
	sum, err := dash.Summarize(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\nwritten: %s\n", sum.Markdown(), filepath.Join(*out, "summary.md"))
	return nil
}
