package datasets

import (
	"context"
	"fmt"
	"io"

	"github.com/dash-go/dash/datasets/darcy"
)

// DarcyOptions controls GenerateDarcy (see package darcy): resolution
// (darcy.Resolution421, the faithful default, or darcy.Direct85, faster and
// labelled as such), sizes, seed, cache directory and workers.
type DarcyOptions = darcy.Options

// DarcySeed is the seed of the built-in darcy tasks' generated data. The
// data is fixed (like a downloaded data set); LoadOptions.Seed only drives the
// validation carve.
const DarcySeed = 0

// The two Darcy resolutions, re-exported for callers of GenerateDarcy.
const (
	// DarcyResolution421 solves on 421×421 and keeps every 5th node (the
	// faithful recipe, default).
	DarcyResolution421 = darcy.Resolution421
	// DarcyDirect85 solves directly on 85×85: faster, an approximation of
	// the benchmark data.
	DarcyDirect85 = darcy.Direct85
)

// GenerateDarcy generates (or reads from the cache) the Darcy-flow train and
// test sets, writing progress lines (samples done, rate, ETA) to progress.
// It backs `dash data darcy`.
func GenerateDarcy(ctx context.Context, opts DarcyOptions, progress io.Writer) (*darcy.Result, error) {
	r, err := darcy.Generate(ctx, opts, progress)
	if err != nil {
		return nil, fmt.Errorf("generating Darcy flow: %w", err)
	}
	return r, nil
}

func darcyTask(name string, res darcy.Resolution) *Task {
	t := &Task{
		Name:        name,
		Dims:        2,
		InShape:     []int{3, darcy.OutSize, darcy.OutSize},
		Kind:        DenseField,
		OutShape:    []int{1, darcy.OutSize, darcy.OutSize},
		Loss:        "relative_l2",
		Metric:      "relative_l2",
		Kernels:     []int{3, 5, 7, 9},
		Dilations:   []int{1, 3, 7, 15},
		BatchSize:   10,
		Backbone:    "wrn-dense",
		Synthetic:   true,
		TrainSize:   darcy.DefaultTrain,
		TestSize:    darcy.DefaultTest,
		Description: "Darcy flow −∇·(a∇u)=1: inputs [a, x, y] 3×85×85, output u 1×85×85; solved on 421×421, every 5th node kept (the NAS-Bench-360 recipe)",
		Source:      "Darcy-flow recipe (FNO, NAS-Bench-360): 421² solves subsampled to 85²",
		Family:      "PDE 2-D dense",
		StandsFor:   "NAS-Bench-360 Darcy Flow (the same recipe, regenerated here)",
		Licence:     "generated (our solver)",
	}
	if res == darcy.Direct85 {
		t.Description = "FASTER APPROXIMATION, not the benchmark data: Darcy flow solved directly on 85×85; inputs [a, x, y] 3×85×85, output u 1×85×85"
		t.Source = "Darcy-flow recipe solved directly on 85² (faster approximation)"
		t.StandsFor = "NAS-Bench-360 Darcy Flow (a faster, lower-fidelity approximation)"
	}
	t.Present = func() (bool, string) {
		dir, err := darcy.DefaultCacheDir()
		if err != nil {
			return true, "generated on first use (no cache directory: " + err.Error() + ")"
		}
		p := darcy.CachePath(dir, res, darcy.Train, darcy.DefaultTrain, DarcySeed)
		if exists(p) && exists(darcy.CachePath(dir, res, darcy.Test, darcy.DefaultTest, DarcySeed)) {
			return true, "cached: " + p
		}
		return true, "not generated yet: generated on first use (or ahead with `dash data darcy`), cached under " + dir
	}
	t.Load = func(ctx context.Context, o LoadOptions) (*Split, error) {
		sp, err := LoadDarcy(ctx, res, o)
		if err != nil {
			return nil, fmt.Errorf("loading %s: %w", name, err)
		}
		return sp, nil
	}
	return t
}

// LoadDarcy builds the Darcy split at the given resolution: Limit (or 1000)
// training-pool samples and TestLimit (or 100) test samples with seed
// DarcySeed, inputs [a, x, y] and outputs u, pointwise mean/std from the
// training split for a and u (the coordinate channels are left as they are).
func LoadDarcy(ctx context.Context, res darcy.Resolution, o LoadOptions) (*Split, error) {
	nTrain, nTest := darcy.DefaultTrain, darcy.DefaultTest
	if o.Limit > 0 {
		nTrain = o.Limit
	}
	if o.TestLimit > 0 {
		nTest = o.TestLimit
	}
	r, err := GenerateDarcy(ctx, DarcyOptions{Resolution: res, NTrain: nTrain, NTest: nTest, Seed: DarcySeed, CacheDir: o.CacheDir}, o.Progress)
	if err != nil {
		return nil, err
	}
	pool := darcyData(r.Train)
	test := darcyData(r.Test)
	return generatedSplit(pool, test, o, true, true)
}

// darcyData lays a generated set out as [a, x, y] → u samples. Channel 1 is
// the row coordinate and channel 2 the column coordinate, both in [0,1].
func darcyData(s *darcy.Set) *Data {
	o := s.S
	m := o * o
	d := &Data{X: make([]float32, s.N*3*m), XShape: []int{3, o, o}, Y: make([]float32, s.N*m), YShape: []int{1, o, o}, N: s.N}
	for i := 0; i < s.N; i++ {
		x := d.X[i*3*m : (i+1)*3*m]
		copy(x[:m], s.A[i*m:(i+1)*m])
		for r := 0; r < o; r++ {
			for c := 0; c < o; c++ {
				x[m+r*o+c] = float32(r) / float32(o-1)
				x[2*m+r*o+c] = float32(c) / float32(o-1)
			}
		}
	}
	copy(d.Y, s.U)
	return d
}
