// Package tinyrun makes seconds-long DASH runs on generated data for the
// tests of what reads run directories (dash.Load, dash predict, dash
// export): the whole pipeline (search, hyperparameters, retraining) with
// the smoke budget and no random controls, on a few dozen seeded samples.
package tinyrun

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/tensor"
)

// Options describes a tiny run.
type Options struct {
	// Backbone: "resnet1d", "resnet1d-causal", "tcn", "wrn" (a dense Kind
	// turns it into the dense WRN).
	Backbone string
	// RetrainBackbone, when set, replaces the backbone of the retrained
	// network (dash.Budget.RetrainBackbone).
	RetrainBackbone string
	Kind            datasets.TargetKind
	// InShape is the per-sample input shape, channels first.
	InShape []int
	// Classes (class and multi-label tasks; default 3).
	Classes int
	// N samples (default 64): 60% train, 20% validation, 20% test.
	N int
	// Pointwise selects per-element normalisation statistics.
	Pointwise bool
	Kernels   []int // default 3,5
	Dilations []int // default 1,2,4
	Seed      uint64
}

// Run is a finished tiny run.
type Run struct {
	Dir     string
	Task    *datasets.Task
	Split   *datasets.Split // normalised, as the run trained on it
	RawTest []float32       // the test inputs before normalisation
	Metrics *dash.Metrics
}

// Data generates seeded inputs of the given per-sample shape: values
// 3·N(0,1) + 1.5, so that a normaliser has something to undo.
func Data(seed uint64, n int, shape []int) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x7157))
	x := make([]float32, n*tensor.Numel(shape))
	for i := range x {
		x[i] = float32(3*r.NormFloat64() + 1.5)
	}
	return x
}

// Make runs the pipeline into dir.
func Make(ctx context.Context, dir string, be tensor.Backend, o Options) (*Run, error) {
	if o.N == 0 {
		o.N = 64
	}
	if o.Classes == 0 {
		o.Classes = 3
	}
	if len(o.Kernels) == 0 {
		o.Kernels = []int{3, 5}
	}
	if len(o.Dilations) == 0 {
		o.Dilations = []int{1, 2, 4}
	}
	if len(o.InShape) < 2 {
		return nil, fmt.Errorf("tinyrun: input shape %v, want [C,L] or [C,H,W]", o.InShape)
	}
	t := &datasets.Task{Name: "tiny-" + o.Backbone, Description: "generated test data", Source: "internal/tinyrun",
		Dims: len(o.InShape) - 1, InShape: slices.Clone(o.InShape), Kind: o.Kind, Backbone: o.Backbone,
		Kernels: o.Kernels, Dilations: o.Dilations, BatchSize: 16, Synthetic: true}
	ss := tensor.Numel(o.InShape)
	x := Data(o.Seed, o.N, o.InShape)
	all := &datasets.Data{X: x, XShape: slices.Clone(o.InShape), N: o.N}
	// targets that depend on the inputs, so that training moves the weights
	mean := func(i, lo, hi int) float64 {
		var s float64
		for _, v := range x[i*ss+lo : i*ss+hi] {
			s += float64(v)
		}
		return s / float64(hi-lo)
	}
	switch o.Kind {
	case datasets.ClassIndex:
		t.Classes, t.Loss, t.Metric = o.Classes, "cross_entropy", "error"
		all.Labels = make([]int32, o.N)
		for i := range o.N {
			all.Labels[i] = int32(math.Abs(mean(i, 0, ss/2)*4)) % int32(o.Classes)
		}
	case datasets.MultiLabel:
		t.Classes, t.Loss, t.Metric = o.Classes, "bce_logits", "map"
		all.Y, all.YShape = make([]float32, o.N*o.Classes), []int{o.Classes}
		for i := range o.N {
			for c := range o.Classes {
				if mean(i, c*ss/(o.Classes+1), (c+2)*ss/(o.Classes+1)) > 1.5 {
					all.Y[i*o.Classes+c] = 1
				}
			}
		}
	case datasets.DenseField:
		t.Loss, t.Metric = "relative_l2", "relative_l2"
		t.OutShape = append([]int{1}, o.InShape[1:]...)
		m := tensor.Numel(t.OutShape)
		all.Y, all.YShape = make([]float32, o.N*m), slices.Clone(t.OutShape)
		for i := range o.N {
			for j := range m {
				// a local average of the first channel, shifted and scaled
				a, b := x[i*ss+j], x[i*ss+(j+1)%m]
				all.Y[i*m+j] = 10 + 2*(a+b)
			}
		}
	}
	nTr, nVal := o.N*6/10, o.N*2/10
	idx := func(lo, hi int) []int {
		v := make([]int, hi-lo)
		for i := range v {
			v[i] = lo + i
		}
		return v
	}
	sp := &datasets.Split{Train: all.Subset(idx(0, nTr)), Val: all.Subset(idx(nTr, nTr+nVal)), Test: all.Subset(idx(nTr+nVal, o.N))}
	sp.Norm = datasets.Stats(sp.Train, o.Pointwise, o.Kind == datasets.DenseField)
	raw := slices.Clone(sp.Test.X)
	if err := sp.Apply(); err != nil {
		return nil, err
	}
	t.TrainSize, t.TestSize = sp.Train.N+sp.Val.N, sp.Test.N
	b, err := dash.Budgets("smoke", t)
	if err != nil {
		return nil, err
	}
	b.Random, b.BatchSize, b.RetrainBackbone = 0, 16, o.RetrainBackbone
	cfg := dash.Config{Task: t, Split: sp, Backend: be, Budget: b, Seed: o.Seed, OutDir: dir}
	m, err := dash.Run(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("tinyrun %s: %w", t.Name, err)
	}
	return &Run{Dir: dir, Task: t, Split: sp, RawTest: raw, Metrics: m}, nil
}
