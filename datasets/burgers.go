package datasets

import (
	"context"
	"fmt"

	"github.com/dash-go/dash/datasets/burgers"
	"github.com/dash-go/dash/datasets/internal/gencache"
)

// BurgersSeed is the seed of the built-in burgers task's generated data;
// LoadOptions.Seed only drives the validation carve.
const BurgersSeed = 0

// Sizes of the burgers task (FNO: 1000 training and 100 test samples).
const (
	BurgersTrain = 1000
	BurgersTest  = 100
)

// burgersVersion is bumped whenever the generated data changes.
const burgersVersion = 1

func init() {
	mustRegister(&Task{
		Name: "burgers",
		Description: fmt.Sprintf("1-D viscous Burgers u_t = νu_xx − (u²/2)_x, ν = %g, periodic: inputs [u0, x] 2×%d, output u(t=1) 1×%d (FNO recipe, pseudo-spectral ETDRK4 solve on %d points)",
			burgers.Nu, burgers.Points, burgers.Points, burgers.Points),
		Source:    "Burgers recipe of FNO (Li et al. 2021): u0 ~ N(0, 625(−Δ+25I)^−2), solved on 1024 points",
		Family:    "PDE 1-D dense",
		StandsFor: "FNO's 1-D Burgers benchmark (a PDE family task; not in NAS-Bench-360)",
		Licence:   "generated (our solver)",
		Dims:      1,
		InShape:   []int{2, burgers.Points},
		Kind:      DenseField,
		OutShape:  []int{1, burgers.Points},
		Loss:      "relative_l2",
		Metric:    "relative_l2",
		Kernels:   []int{3, 7, 11, 15, 19},
		Dilations: []int{1, 3, 7, 15},
		BatchSize: 20,
		// A 1-D dense backbone (ResNet1D without pooling, per-position
		// linear head), as "wrn-dense" is for 2-D.
		Backbone:  "resnet1d-dense",
		Synthetic: true,
		TrainSize: BurgersTrain,
		TestSize:  BurgersTest,
		Present:   func() (bool, string) { return generatedPresent(burgersKey("train", BurgersTrain)) },
		Load: func(ctx context.Context, o LoadOptions) (*Split, error) {
			sp, err := LoadBurgers(ctx, o)
			if err != nil {
				return nil, fmt.Errorf("loading burgers: %w", err)
			}
			return sp, nil
		},
	})
}

func burgersKey(stream string, n int) gencache.Key {
	return gencache.Key{Task: "burgers", Stream: stream, N: n, Seed: BurgersSeed, Version: burgersVersion, RecordSize: 2 * 4 * burgers.Points}
}

// generatedPresent is the Present function of a generated task whose full
// training set has key k.
func generatedPresent(k gencache.Key) (bool, string) {
	dir, err := gencache.DefaultDir()
	if err != nil {
		return true, "generated on first use (no cache directory: " + err.Error() + ")"
	}
	if exists(k.Path(dir)) {
		return true, "cached: " + k.Path(dir)
	}
	return true, "not generated yet: generated on first use, cached under " + dir
}

// cacheOptions maps LoadOptions to the generator cache's options.
func cacheOptions(o LoadOptions) gencache.Options {
	return gencache.Options{Dir: o.CacheDir, Progress: o.Progress}
}

// LoadBurgers generates (or reads from the cache) the burgers split: Limit
// (or 1000) training-pool samples and TestLimit (or 100) test samples with
// seed BurgersSeed. Inputs are [u0, x] with x_j = j/1024, the target is
// u(t=1); u0 and u(1) are normalised pointwise with training statistics
// (the coordinate channel is left as it is), and Norm.DecodeY recovers
// physical u for the relative L2 metric.
func LoadBurgers(ctx context.Context, o LoadOptions) (*Split, error) {
	nTrain, nTest := BurgersTrain, BurgersTest
	if o.Limit > 0 {
		nTrain = o.Limit
	}
	if o.TestLimit > 0 {
		nTest = o.TestLimit
	}
	var sets [2]*Data
	for s, n := range []int{nTrain, nTest} {
		stream := []string{"train", "test"}[s]
		k := burgersKey(stream, n)
		p, _, err := gencache.Load(ctx, k, cacheOptions(o), func(i int, rec []byte) error {
			u0, u1, err := burgers.Sample(BurgersSeed, s, i)
			if err != nil {
				return err
			}
			f := make([]float32, 2*burgers.Points)
			for j := range u0 {
				f[j] = float32(u0[j])
				f[burgers.Points+j] = float32(u1[j])
			}
			gencache.PutFloat32s(rec, f)
			return nil
		})
		if err != nil {
			return nil, err
		}
		sets[s] = burgersData(p, n)
	}
	return generatedSplit(sets[0], sets[1], o, true, true)
}

// burgersData lays out n cached records (u0 then u1, float32) as
// [u0, x] → u1 samples.
func burgersData(p []byte, n int) *Data {
	m := burgers.Points
	d := &Data{X: make([]float32, n*2*m), XShape: []int{2, m}, Y: make([]float32, n*m), YShape: []int{1, m}, N: n}
	rec := make([]float32, 2*m)
	for i := 0; i < n; i++ {
		gencache.Float32s(rec, p[i*8*m:(i+1)*8*m])
		x := d.X[i*2*m : (i+1)*2*m]
		copy(x[:m], rec[:m])
		for j := 0; j < m; j++ {
			x[m+j] = float32(j) / float32(m)
		}
		copy(d.Y[i*m:(i+1)*m], rec[m:])
	}
	return d
}
