package datasets

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
)

// PermSeed fixes the pixel permutation of the permuted-MNIST tasks (the same
// permutation for mnist-perm and fashion-perm, on every machine).
const PermSeed = 20221128

// Permutation returns the fixed pixel permutation of length n used by the
// "-perm" tasks: output pixel j is input pixel Permutation(n)[j].
func Permutation(n int) []int {
	return rand.New(rand.NewPCG(PermSeed, uint64(n))).Perm(n)
}

// DASH defaults (dash-method.md).
var (
	kernelsDefault   = []int{3, 5, 7, 9}
	dilationsDefault = []int{1, 3, 7, 15}
	dilationsMNIST1D = []int{1, 3, 7, 15, 31, 63, 127}
)

func init() {
	type idxTask struct {
		name, desc string
		fashion    bool
		twoD, perm bool
	}
	for _, it := range []idxTask{
		{"mnist", "MNIST as a sequence of 784 pixels (DASH's 1D MNIST task)", false, false, false},
		{"mnist-perm", "MNIST, pixels in a fixed seeded permutation, as a 784 sequence", false, false, true},
		{"mnist-2d", "MNIST as 1×28×28 images", false, true, false},
		{"fashion-2d", "Fashion-MNIST as 1×28×28 images", true, true, false},
		{"fashion-perm", "Fashion-MNIST, pixels in a fixed seeded permutation, as a 784 sequence", true, false, true},
	} {
		t := &Task{
			Name: it.name, Description: it.desc,
			Kind: ClassIndex, Classes: 10,
			Loss: "cross_entropy", Metric: "error",
			TrainSize: 60000, TestSize: 10000,
		}
		if it.fashion {
			t.Source = "Debian " + FashionPackage + " (" + FashionDir + ")"
			t.Licence = "MIT"
		} else {
			t.Source = "Go module " + GoMNISTModule + "@" + GoMNISTVersion
			t.Licence = "CC BY-SA 3.0"
		}
		switch {
		case it.twoD:
			t.Family, t.StandsFor = "vision 2-D point", "a 2-D point task (CIFAR-100 family, 1 channel, 10 classes)"
		case it.perm && it.fashion:
			t.Family, t.StandsFor = "vision as a 1-D sequence", "a harder permuted MNIST (1×784)"
		case it.perm:
			t.Family, t.StandsFor = "vision as a 1-D sequence", "DASH's permuted MNIST (1×784)"
		default:
			t.Family, t.StandsFor = "vision as a 1-D sequence", "DASH's sequential MNIST (1×784), the real data"
		}
		if it.twoD {
			// 2-D point task: WRN backbone with the CIFAR-100 defaults.
			t.Dims, t.InShape = 2, []int{1, 28, 28}
			t.Kernels, t.Dilations = slices.Clone(kernelsDefault), slices.Clone(dilationsDefault)
			t.BatchSize, t.Backbone = 64, "wrn"
		} else {
			t.Dims, t.InShape = 1, []int{1, 784}
			t.Kernels, t.Dilations = slices.Clone(kernelsDefault), slices.Clone(dilationsMNIST1D)
			t.BatchSize, t.Backbone = 256, "resnet1d"
		}
		dirFn := MNISTDir
		if it.fashion {
			dirFn = FashionMNISTDir
		}
		shape := slices.Clone(t.InShape)
		perm := it.perm
		name := it.name
		t.Present = func() (bool, string) {
			d, err := dirFn()
			if err != nil {
				return false, err.Error()
			}
			return true, d
		}
		t.Load = func(ctx context.Context, o LoadOptions) (*Split, error) {
			d, err := dirFn()
			if err != nil {
				return nil, fmt.Errorf("loading %s: %w", name, err)
			}
			return loadIDXTask(ctx, d, shape, perm, o)
		}
		mustRegister(t)
	}
	mustRegister(darcyTask("darcy", DarcyResolution421))
	mustRegister(darcyTask("darcy-direct85", DarcyDirect85))
}

// loadIDXTask builds the split of an MNIST-layout task: validation carved
// from the 60k training images, global mean/std from the training split.
func loadIDXTask(ctx context.Context, dir string, shape []int, perm bool, o LoadOptions) (*Split, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tr, te, err := loadIDXDir(dir)
	if err != nil {
		return nil, err
	}
	var p []int
	if perm {
		p = Permutation(tr.rows * tr.cols)
	}
	pool := tr.toData(slices.Clone(shape), p)
	test := te.toData(slices.Clone(shape), p)
	train, val := splitTrain(pool, o)
	sp := &Split{Train: train, Val: val, Test: limitTest(test, o)}
	sp.Norm = Stats(sp.Train, false, false)
	if !o.Raw {
		if err := sp.Apply(); err != nil {
			return nil, err
		}
	}
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "loaded %s: train %d, val %d, test %d\n", dir, sp.Train.N, sp.Val.N, sp.Test.N)
	}
	return sp, nil
}

// exists reports whether path names an existing file.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
