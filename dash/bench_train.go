package dash

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/nn"
	"github.com/dash-go/dash/nn/optim"
	"github.com/dash-go/dash/nn/train"
	"github.com/dash-go/dash/tensor"
)

// SweepTrain is the whole-training-step sweep of Bench's command line
// (BenchTrain): samples per second of full steps (forward, loss, backward,
// optimiser) of every backbone at the pipeline's shapes, and of each
// search step. bench/torch/train.py times the same cases in PyTorch.
const SweepTrain = "train"

// TrainCase is one whole-step benchmark: a backbone at the shapes one of the
// pipeline's stages trains it with. The same table is in
// bench/torch/train.py (keep them in step).
type TrainCase struct {
	Name     string `json:"case"`
	Task     string `json:"task"`     // the task whose shapes are used
	Backbone string `json:"backbone"` // resnet1d, wrn, wrn-dense, tcn
	Budget   string `json:"budget"`   // demo or paper
	// Kernels is "default" (the backbone's), "searched" (SearchedKernels)
	// or "search" (the search step: aggregated convs over the task's K×D,
	// Fourier, weights and α updated, gradients clipped).
	Kernels string `json:"kernels"`
	Width   int    `json:"width"` // WRN k, ResNet1D m, TCN channels
	Batch   int    `json:"batch"`
	InShape []int  `json:"in_shape"`
	Outputs int    `json:"outputs"`
	Loss    string `json:"loss"`
	// Layers are the (k, d) of every searchable conv, forward order (for
	// "search": the candidate kernel sizes and dilations instead).
	Layers    [][2]int `json:"layers,omitempty"`
	KernelSet []int    `json:"kernel_set,omitempty"`
	Dilations []int    `json:"dilation_set,omitempty"`
}

// searchedKD is a fixed "searched" architecture per backbone: for each
// searchable conv in forward order the (k, d) a DASH search picks from the
// task's space, mixing large dilations (as DASH finds on MNIST) with small
// ones. It is what the retraining stage trains after a search; the
// numbers stand for a typical search result and are the same in
// bench/torch/train.py.
var searchedKD = map[string][][2]int{
	// 9 convs, K {3,5,7,9} × D {1,3,7,15,31,63,127} on length 784
	"resnet1d": {{9, 15}, {7, 31}, {5, 63}, {9, 7}, {7, 15}, {3, 127}, {9, 31}, {5, 3}, {7, 1}},
	// 13 convs, K {3,5,7,9} × D {1,3,7,15}, receptive field ≤ 28
	"wrn": {{5, 3}, {3, 7}, {7, 1}, {9, 3}, {3, 1}, {5, 1}, {7, 3}, {3, 3}, {5, 3}, {9, 1}, {3, 7}, {7, 1}, {3, 1}},
	// 13 convs, K {3,5,7,9} × D {1,3,7,15} on 85×85
	"wrn-dense": {{5, 7}, {3, 15}, {7, 3}, {9, 7}, {3, 1}, {5, 3}, {7, 7}, {3, 15}, {5, 1}, {9, 3}, {3, 7}, {7, 1}, {5, 15}},
}

// TrainCases lists the whole-step cases: for the MNIST-1D (ResNet1D),
// MNIST-2D (WRN-16-k) and Darcy (WRN-16-k dense) tasks, demo and paper
// budgets (dash.Budgets: width and batch), default and searched kernels,
// and the search step; plus the TCN (not used by a built-in task) at its
// defaults on the MNIST-1D shape.
func TrainCases() []TrainCase {
	var out []TrainCase
	for _, tn := range []string{"mnist", "mnist-2d", "darcy"} {
		task, err := datasets.Lookup(tn)
		if err != nil {
			continue
		}
		bb := task.Backbone
		outs := task.Classes
		if task.Kind == datasets.DenseField {
			bb, outs = "wrn-dense", task.OutShape[0]
		}
		for _, bn := range []string{"demo", "paper"} {
			b, err := Budgets(bn, task)
			if err != nil {
				continue
			}
			batch := b.BatchSize
			if batch == 0 {
				batch = task.BatchSize
			}
			width, swidth := b.Width, b.SearchWidth
			if bb == "resnet1d" {
				if width == 0 {
					width = nn.DefaultResNet1DBase(outs)
				}
				if swidth == 0 {
					swidth = nn.DefaultResNet1DBase(outs)
				}
			} else {
				width, swidth = max(width, 1), max(swidth, 1)
				if b.Width == 0 {
					width = 4
				}
			}
			base := TrainCase{Task: tn, Backbone: bb, Budget: bn, Batch: batch, InShape: slices.Clone(task.InShape), Outputs: outs, Loss: task.Loss}
			d := base
			d.Kernels, d.Width = "default", width
			s := base
			s.Kernels, s.Width, s.Layers = "searched", width, searchedKD[bb]
			q := base
			q.Kernels, q.Width, q.KernelSet, q.Dilations = "search", swidth, task.Kernels, task.Dilations
			for _, c := range []TrainCase{d, s, q} {
				c.Name = fmt.Sprintf("%s-%s-%s-w%d-b%d", c.Backbone, c.Budget, c.Kernels, c.Width, c.Batch)
				// a paper case identical to the demo one (Darcy's search step) is listed once
				if !slices.ContainsFunc(out, func(o TrainCase) bool {
					return o.Backbone == c.Backbone && o.Kernels == c.Kernels && o.Width == c.Width && o.Batch == c.Batch
				}) {
					out = append(out, c)
				}
			}
		}
	}
	tcn := TrainCase{Task: "mnist", Backbone: "tcn", Budget: "default", Kernels: "default", Width: 100, Batch: 32,
		InShape: []int{1, 784}, Outputs: 10, Loss: "cross_entropy"}
	tcn.Name = fmt.Sprintf("tcn-default-default-w%d-b%d", tcn.Width, tcn.Batch)
	return append(out, tcn)
}

// TrainResult is the measurement of one TrainCase.
type TrainResult struct {
	TrainCase
	SamplesPerSec float64 `json:"samples_per_sec"` // batch / median step time
	MsPerStep     float64 `json:"ms_per_step"`     // median
	MinMsPerStep  float64 `json:"min_ms_per_step"`
	Steps         int     `json:"steps"`
	// PeakRSSMiB is the process's peak resident memory (VmHWM) after the
	// steps; meaningful per case when each case runs in a fresh process.
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// CPUPerWall is the process's CPU time (user + system) over the wall
	// time of the timed steps: 2 means both cores busy throughout.
	CPUPerWall float64 `json:"cpu_per_wall"`
	Device     string  `json:"device"`
	Impl       string  `json:"impl"` // "dash"
	Threads    int     `json:"threads"`
}

// TrainBenchConfig configures BenchTrain.
type TrainBenchConfig struct {
	// Cases selects cases by name (substring match; all when empty).
	Cases []string
	// Warmup untimed steps (0: 2; negative: none) and at least Reps timed
	// steps (5), more until MinSeconds (3 s) of timed steps have run.
	Warmup, Reps int
	MinSeconds   float64
	Seed         uint64
}

// SelectTrainCases returns the cases whose names contain one of the
// patterns, or equal it when it starts with "=" (all cases when there are
// none); an unmatched pattern is an error naming it.
func SelectTrainCases(patterns []string) ([]TrainCase, error) {
	all := TrainCases()
	if len(patterns) == 0 {
		return all, nil
	}
	var out []TrainCase
	for _, p := range patterns {
		found := false
		exact, isExact := strings.CutPrefix(p, "=")
		for _, c := range all {
			if c.Name == exact || (!isExact && strings.Contains(c.Name, p)) {
				found = true
				if !slices.ContainsFunc(out, func(o TrainCase) bool { return o.Name == c.Name }) {
					out = append(out, c)
				}
			}
		}
		if !found {
			var names []string
			for _, c := range all {
				names = append(names, c.Name)
			}
			return nil, fmt.Errorf("no train bench case matches %q (cases: %s)", p, strings.Join(names, ", "))
		}
	}
	return out, nil
}

// BenchTrain times whole training steps of the selected cases on be and
// calls emit with each result.
func BenchTrain(ctx context.Context, be tensor.Backend, cfg TrainBenchConfig, emit func(TrainResult)) error {
	switch {
	case cfg.Warmup < 0:
		cfg.Warmup = 0
	case cfg.Warmup == 0:
		cfg.Warmup = 2
	}
	if cfg.Reps <= 0 {
		cfg.Reps = 5
	}
	if cfg.MinSeconds <= 0 {
		cfg.MinSeconds = 3
	}
	cases, err := SelectTrainCases(cfg.Cases)
	if err != nil {
		return err
	}
	for _, c := range cases {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := benchTrainCase(ctx, be, c, cfg)
		if err != nil {
			return fmt.Errorf("train bench %s: %w", c.Name, err)
		}
		emit(r)
	}
	return nil
}

// TrainStepper runs whole training steps of one case (exported for the
// profiling test and the Vulkan dispatch count test).
type TrainStepper struct {
	Case  TrainCase
	Model nn.Backbone
	be    tensor.Backend
	opts  []optim.Optimizer
	clip  []*autograd.Var
	after func()
	xs    []float32
	ys    []float32
	lab   []int32
	rel   []func()
}

// NewTrainStepper builds the case's network, optimisers and a fixed random
// batch.
func NewTrainStepper(be tensor.Backend, c TrainCase, seed uint64) (*TrainStepper, error) {
	task, err := datasets.Lookup(c.Task)
	if err != nil {
		return nil, err
	}
	s := &TrainStepper{Case: c, be: be}
	var aggs []*AggConv
	var factory nn.ConvFactory
	switch c.Kernels {
	case "default":
	case "searched":
		i := 0
		factory = func(spec nn.ConvSpec) (nn.Layer, error) {
			if i >= len(c.Layers) {
				return nil, fmt.Errorf("searched architecture has %d layers, backbone has more", len(c.Layers))
			}
			spec.Kernel, spec.Dilation = c.Layers[i][0], c.Layers[i][1]
			i++
			return nn.NewConv(spec)
		}
	case "search":
		factory = func(spec nn.ConvSpec) (nn.Layer, error) {
			depthwise := spec.In == spec.Out && max(spec.Groups, 1) == 1
			ac, err := NewAggConv(AggConvConfig{
				Name: spec.Name, Dims: spec.Dims, In: spec.In, Out: spec.Out,
				Kernels: c.KernelSet, Dilations: c.Dilations, Stride: spec.Stride,
				Depthwise: depthwise, Strategy: Fourier, Mixing: GumbelSoftmax,
				Seed: nn.DeriveSeed(seed, spec.Name), Backend: be,
			})
			if err != nil {
				return nil, err
			}
			aggs = append(aggs, ac)
			return ac, nil
		}
	default:
		return nil, fmt.Errorf("unknown kernels %q", c.Kernels)
	}
	m, err := nn.Build(nn.Config{Name: c.Backbone, InShape: c.InShape, Outputs: c.Outputs, Width: c.Width, Seed: seed, Backend: be, Factory: factory})
	if err != nil {
		return nil, err
	}
	s.Model = m
	s.rel = append(s.rel, func() { nn.Release(m) })
	wopt, err := optim.NewSGD(&optim.SGDGroup{Params: m.Params(), SGDParams: tensor.SGDParams{LR: 0.01, Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4}})
	if err != nil {
		return nil, err
	}
	s.opts = append(s.opts, wopt)
	s.rel = append(s.rel, wopt.Release)
	if c.Kernels == "search" {
		var alphas []*autograd.Var
		for _, a := range aggs {
			alphas = append(alphas, a.ArchParams()...)
		}
		aopt, err := optim.NewSGD(&optim.SGDGroup{Params: alphas, SGDParams: tensor.SGDParams{LR: 0.05, Momentum: 0.9, Nesterov: true}})
		if err != nil {
			return nil, err
		}
		s.opts = append(s.opts, aopt)
		s.rel = append(s.rel, aopt.Release)
		s.clip = append(m.Params(), alphas...)
		pen := make([]*tensor.Tensor, len(aggs))
		for i, a := range aggs {
			var v []float32
			for _, cd := range a.Candidates() {
				v = append(v, 1e-5*float32(cd.ReceptiveField()))
			}
			pen[i] = tensor.FromFloat32(be, v, len(v))
		}
		s.rel = append(s.rel, func() {
			for _, p := range pen {
				p.Release()
			}
		})
		gs := gradScale(task)
		s.after = func() { rescaleAlphaGrads(alphas, pen, gs) } // as Search's AfterBackward
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	s.xs = make([]float32, c.Batch*tensor.Numel(c.InShape))
	for i := range s.xs {
		s.xs[i] = float32(rng.NormFloat64())
	}
	if c.Loss == "cross_entropy" {
		s.lab = make([]int32, c.Batch)
		for i := range s.lab {
			s.lab[i] = int32(rng.IntN(c.Outputs))
		}
	} else {
		s.ys = make([]float32, c.Batch*c.Outputs*tensor.Numel(c.InShape[1:]))
		for i := range s.ys {
			s.ys[i] = float32(rng.NormFloat64())
		}
	}
	m.SetTraining(true)
	return s, nil
}

// Step runs one training step as nn/train does: upload the batch,
// forward, loss, backward, (search: α-gradient rescale and clipping to
// norm 1), optimiser steps, release; it waits for the device.
func (s *TrainStepper) Step() error {
	be, c := s.be, s.Case
	x := tensor.FromFloat32(be, s.xs, append([]int{c.Batch}, c.InShape...)...)
	var labels, y *tensor.Tensor
	if s.lab != nil {
		labels = tensor.FromInt32(be, s.lab, c.Batch)
	}
	if s.ys != nil {
		y = tensor.FromFloat32(be, s.ys, c.Batch, len(s.ys)/c.Batch)
	}
	out := s.Model.Forward(autograd.Const(x))
	loss, err := train.Loss(c.Loss, out, labels, y, 1)
	if err != nil {
		autograd.Release(out)
		return err
	}
	autograd.Backward(loss)
	if s.after != nil {
		s.after()
	}
	if s.clip != nil {
		optim.ClipGradNorm(s.clip, 1)
	}
	for _, o := range s.opts {
		o.Step()
		o.ZeroGrad()
	}
	autograd.Release(loss)
	for _, t := range []*tensor.Tensor{x, labels, y} {
		if t != nil {
			t.Release()
		}
	}
	return be.Sync()
}

// Release frees the model and optimiser state.
func (s *TrainStepper) Release() {
	for i := len(s.rel) - 1; i >= 0; i-- {
		s.rel[i]()
	}
	s.rel = nil
}

func benchTrainCase(ctx context.Context, be tensor.Backend, c TrainCase, cfg TrainBenchConfig) (TrainResult, error) {
	s, err := NewTrainStepper(be, c, cfg.Seed+1)
	if err != nil {
		return TrainResult{}, err
	}
	defer s.Release()
	for range cfg.Warmup {
		if err := s.Step(); err != nil {
			return TrainResult{}, err
		}
	}
	var times []float64
	start := time.Now()
	cpu0 := cpuSeconds()
	for len(times) < cfg.Reps || time.Since(start).Seconds() < cfg.MinSeconds {
		if err := ctx.Err(); err != nil {
			return TrainResult{}, err
		}
		t := time.Now()
		if err := s.Step(); err != nil {
			return TrainResult{}, err
		}
		times = append(times, time.Since(t).Seconds())
		if len(times) >= 50 {
			break
		}
	}
	busy := (cpuSeconds() - cpu0) / time.Since(start).Seconds()
	sort.Float64s(times)
	med := times[len(times)/2]
	if len(times)%2 == 0 {
		med = (times[len(times)/2-1] + times[len(times)/2]) / 2
	}
	return TrainResult{TrainCase: c, SamplesPerSec: float64(c.Batch) / med, MsPerStep: med * 1e3, MinMsPerStep: times[0] * 1e3,
		Steps: len(times), PeakRSSMiB: PeakRSSMiB(), CPUPerWall: busy, Device: be.Name(), Impl: "dash", Threads: runtime.GOMAXPROCS(0)}, nil
}

// PeakRSSMiB returns the process's peak resident set size (VmHWM from
// /proc/self/status) in MiB, or 0 where that file does not exist.
func PeakRSSMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fs := strings.Fields(v)
			if len(fs) > 0 {
				kb, err := strconv.ParseFloat(fs[0], 64)
				if err == nil {
					return kb / 1024
				}
			}
		}
	}
	return 0
}
