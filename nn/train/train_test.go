package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/nn"
	"github.com/dash-go/dash/nn/optim"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// toyData is a 3-class problem on 1×12 sequences: the class is where a bump sits.
func toyData(n int, seed uint64) *datasets.Data {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := &datasets.Data{XShape: []int{1, 12}, N: n, X: make([]float32, n*12), Labels: make([]int32, n)}
	for i := range n {
		c := rng.IntN(3)
		d.Labels[i] = int32(c)
		for j := range 12 {
			d.X[i*12+j] = float32(rng.NormFloat64() * 0.3)
		}
		d.X[i*12+2+4*c] += 2
	}
	return d
}

// toyModel is a small conv net with batch norm and dropout (exercising
// buffers and counters).
func toyModel(t *testing.T, be tensor.Backend, seed uint64) nn.Layer {
	t.Helper()
	c1, err := nn.NewConv(nn.ConvSpec{Name: "conv1", Dims: 1, In: 1, Out: 6, Kernel: 3, Dilation: 1, Stride: 1, Bias: true, Seed: seed, Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	bn, _ := nn.NewBatchNorm(be, "bn1", 6)
	drop, _ := nn.NewDropout(seed, "drop", 0.2)
	pool, _ := nn.NewMaxPool(1, 2, 2, 0)
	lin, _ := nn.NewLinear(be, seed, "head", 36, 3, true)
	return nn.NewSequential(c1, bn, nn.ReLU(), drop, pool, nn.Flatten(), lin)
}

func toyOptimizers(t *testing.T, m nn.Layer) []optim.Optimizer {
	t.Helper()
	ps := m.Params()
	sgd, err := optim.NewSGD(&optim.SGDGroup{Params: ps[:len(ps)-2], SGDParams: tensor.SGDParams{LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4}})
	if err != nil {
		t.Fatal(err)
	}
	adam, err := optim.NewAdam(&optim.AdamGroup{Params: ps[len(ps)-2:], LR: 1e-2, WeightDecay: 1e-4, Decoupled: true})
	if err != nil {
		t.Fatal(err)
	}
	return []optim.Optimizer{sgd, adam}
}

func toyConfig(t *testing.T, be tensor.Backend, ckpt string) Config {
	m := toyModel(t, be, 7)
	return Config{
		Model: m, Backend: be,
		Split:  &datasets.Split{Train: toyData(200, 1), Val: toyData(60, 2), Test: toyData(60, 3)},
		Loss:   "cross_entropy",
		Epochs: 3, BatchSize: 32, Seed: 11,
		Optimizers:     toyOptimizers(t, m),
		Schedules:      []optim.Schedule{optim.Warmup{Epochs: 1, Start: 0.1, Then: optim.Cosine{Epochs: 3}}, optim.StepLR{Milestones: []int{2}, Gamma: 0.2}},
		ClipNorm:       5,
		CheckpointPath: ckpt,
	}
}

func TestResumeReproducesLosses(t *testing.T) {
	be := cpu.Default()
	dir := t.TempDir()
	full, err := Fit(context.Background(), toyConfig(t, be, filepath.Join(dir, "a.safetensors")))
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Losses) != 3*7 {
		t.Fatalf("%d losses, want 21", len(full.Losses))
	}
	if full.Losses[len(full.Losses)-1] >= full.Losses[0] {
		t.Errorf("loss did not decrease: %v", full.Losses)
	}
	for _, stopAt := range []int{9, 14} { // mid-epoch 2, and exactly at the end of epoch 2
		ckpt := filepath.Join(dir, "b.safetensors.zst")
		os.Remove(ckpt)
		ctx, cancel := context.WithCancel(context.Background())
		cfg := toyConfig(t, be, ckpt)
		cfg.AfterBackward = func(step int) {
			if step == stopAt-1 {
				cancel()
			}
		}
		part, err := Fit(ctx, cfg)
		cancel()
		if !errors.Is(err, context.Canceled) || part.Stopped != "cancelled" {
			t.Fatalf("interrupted run: err %v, stopped %q", err, part.Stopped)
		}
		if !slices.Equal(part.Losses, full.Losses[:len(part.Losses)]) {
			t.Fatalf("interrupted losses %v differ from %v", part.Losses, full.Losses)
		}
		// a fresh process: new model (different init seed, overwritten by the
		// checkpoint) and optimisers
		cfg2 := toyConfig(t, be, ckpt)
		cfg2.Model = toyModel(t, be, 99)
		cfg2.Optimizers = toyOptimizers(t, cfg2.Model)
		res, err := Resume(context.Background(), cfg2)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Losses, full.Losses) {
			t.Fatalf("stop at %d: resumed losses\n%v\nwant\n%v", stopAt, res.Losses, full.Losses)
		}
		if res.Test != full.Test || res.BestEpoch != full.BestEpoch {
			t.Errorf("resumed test %+v best %d, want %+v best %d", res.Test, res.BestEpoch, full.Test, full.BestEpoch)
		}
		for i, e := range res.Epochs {
			if e.TrainLoss != full.Epochs[i].TrainLoss || e.Val != full.Epochs[i].Val {
				t.Errorf("epoch %d: %+v vs %+v", i+1, e, full.Epochs[i])
			}
		}
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	be := cpu.Default()
	dir := t.TempDir()
	m := toyModel(t, be, 3)
	opts := toyOptimizers(t, m)
	// take a few steps so that momentum, Adam moments, BN statistics and the
	// dropout counter are non-trivial
	x := tensor.RandNormal(be, 5, 0, 1, 8, 1, 12)
	labels := tensor.FromInt32(be, []int32{0, 1, 2, 0, 1, 2, 0, 1}, 8)
	for range 3 {
		loss := autograd.CrossEntropy(m.Forward(autograd.Const(x)), labels)
		autograd.Backward(loss)
		for _, o := range opts {
			o.Step()
			o.ZeroGrad()
		}
		autograd.Release(loss)
	}
	for _, name := range []string{"m.safetensors", "m.safetensors.zst"} {
		path := filepath.Join(dir, name)
		if err := nn.SaveCheckpoint(path, m, opts[0], map[string]string{"task": "toy"}); err != nil {
			t.Fatal(err)
		}
		m2 := toyModel(t, be, 4)
		o2 := toyOptimizers(t, m2)
		meta, err := nn.LoadCheckpoint(path, m2, o2[0])
		if err != nil {
			t.Fatal(err)
		}
		if meta["task"] != "toy" || meta["counter:drop.step"] != "3" {
			t.Errorf("metadata %v", meta)
		}
		a, b := nn.StateVars(m), nn.StateVars(m2)
		for i := range a {
			if a[i].Name != b[i].Name || !slices.Equal(a[i].Value.Float32s(), b[i].Value.Float32s()) {
				t.Fatalf("%s differs after the round trip", a[i].Name)
			}
		}
		// re-saving the loaded state gives the same bytes
		path2 := filepath.Join(dir, "again-"+name)
		if err := nn.SaveCheckpoint(path2, m2, o2[0], map[string]string{"task": "toy"}); err != nil {
			t.Fatal(err)
		}
		b1, _ := os.ReadFile(path)
		b2, _ := os.ReadFile(path2)
		if !bytes.Equal(b1, b2) {
			t.Errorf("%s: re-saved checkpoint differs", name)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	// a checkpoint of another architecture is rejected with the names
	other, _ := nn.NewLinear(be, 1, "head", 36, 4, true)
	_, err := nn.LoadCheckpoint(filepath.Join(dir, "m.safetensors"), nn.NewSequential(other), nil)
	if err == nil || !strings.Contains(err.Error(), `"head.weight" is F32 [3 36] in the checkpoint, the model wants F32 [4 36]`) ||
		!strings.Contains(err.Error(), `unexpected "conv1.weight"`) {
		t.Errorf("mismatch error: %v", err)
	}
}

func TestBadTrainConfig(t *testing.T) {
	be := cpu.Default()
	wrn, err := nn.Build(nn.Config{Name: "wrn", InShape: []int{3, 32, 32}, Outputs: 10, Width: 1, Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	base := func() Config {
		sgd, _ := optim.NewSGD(&optim.SGDGroup{Params: wrn.Params(), SGDParams: tensor.SGDParams{LR: 0.1}})
		return Config{Model: wrn, Backend: be, Split: &datasets.Split{Train: toyData(10, 1)}, Loss: "cross_entropy", Epochs: 1, BatchSize: 4, Optimizers: []optim.Optimizer{sgd}}
	}
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) {}, "train: dataset: nn: input shape [1 12] does not fit the backbone: want 3 axes [3 32 32]"},
		{func(c *Config) { c.Loss = "hinge" }, `unknown loss "hinge"`},
		{func(c *Config) { c.Metric = "bleu" }, `unknown metric "bleu"`},
		{func(c *Config) { c.Epochs = 0 }, "0 epochs"},
		{func(c *Config) { c.Loss = "mse" }, "mse needs Y targets"},
	} {
		c := base()
		tc.mod(&c)
		_, err := Fit(context.Background(), c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

// toyLinear maps [N,1,12] to [N,1,12] per position (a 1×1 conv).
func toyLinear(t *testing.T, be tensor.Backend) nn.Layer {
	c, err := nn.NewConv(nn.ConvSpec{Name: "c", Dims: 1, In: 1, Out: 1, Kernel: 3, Dilation: 1, Stride: 1, Bias: true, Seed: 1, Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// gradRecorder records the gradient norm of its parameters at every Step.
type gradRecorder struct {
	optim.Optimizer
	norms []float32
}

func (g *gradRecorder) Step() {
	if n := optim.GradNorm(g.Params()); n != nil {
		g.norms = append(g.norms, n.Float32s()[0])
		n.Release()
	}
	g.Optimizer.Step()
}

// TestClipExclude checks that ClipExclude keeps parameters out of the
// gradient clipping: the others are clipped to ClipNorm, the excluded ones
// keep their gradient.
func TestClipExclude(t *testing.T) {
	be := cpu.Default()
	for _, exclude := range []bool{false, true} {
		cfg := toyConfig(t, be, "")
		cfg.Epochs, cfg.ClipNorm = 1, 1e-3
		body, head := &gradRecorder{Optimizer: cfg.Optimizers[0]}, &gradRecorder{Optimizer: cfg.Optimizers[1]}
		cfg.Optimizers = []optim.Optimizer{body, head}
		if exclude {
			cfg.ClipExclude = head.Params()
		}
		if _, err := Fit(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		if len(body.norms) == 0 || len(head.norms) != len(body.norms) {
			t.Fatalf("recorded %d / %d steps", len(body.norms), len(head.norms))
		}
		for i := range body.norms {
			b, h := body.norms[i], head.norms[i]
			if exclude {
				if b > 1.001e-3 || h < 1e-2 {
					t.Fatalf("step %d with the head excluded: body grad norm %g (want ≤ 1e-3), head %g (want unclipped, > 1e-2)", i, b, h)
				}
			} else if math.Hypot(float64(b), float64(h)) > 1.001e-3 {
				t.Fatalf("step %d: joint grad norm %g, want ≤ 1e-3", i, math.Hypot(float64(b), float64(h)))
			}
		}
	}
}
