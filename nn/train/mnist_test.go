package train

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/nn"
	"github.com/dash-go/dash/nn/optim"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// mnistCNN is a compact CNN: conv3×3(16)-ReLU-maxpool2-conv3×3(32)-ReLU-maxpool2-linear.
func mnistCNN(t testing.TB, be tensor.Backend, seed uint64) nn.Layer {
	c1, err := nn.NewConv(nn.ConvSpec{Name: "conv1", Dims: 2, In: 1, Out: 16, Kernel: 3, Dilation: 1, Stride: 1, Bias: true, Seed: seed, Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := nn.NewConv(nn.ConvSpec{Name: "conv2", Dims: 2, In: 16, Out: 32, Kernel: 3, Dilation: 1, Stride: 1, Bias: true, Seed: seed, Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	p1, _ := nn.NewMaxPool(2, 2, 2, 0)
	p2, _ := nn.NewMaxPool(2, 2, 2, 0)
	lin, err := nn.NewLinear(be, seed, "head", 32*7*7, 10, true)
	if err != nil {
		t.Fatal(err)
	}
	return nn.NewSequential(c1, nn.ReLU(), p1, c2, nn.ReLU(), p2, nn.Flatten(), lin)
}

// TestMNIST trains the compact CNN on real MNIST (GoMNIST) on the CPU
// backend and requires ≥ 98% test accuracy.
func TestMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("MNIST training skipped in -short mode")
	}
	task, err := datasets.Lookup("mnist-2d")
	if err != nil {
		t.Fatal(err)
	}
	if ok, where := task.Present(); !ok {
		if os.Getenv("DASH_REQUIRE_MNIST") != "" {
			t.Fatalf("MNIST not available: %s", where)
		}
		t.Skipf("MNIST not available: %s", where)
	}
	split, err := task.Load(context.Background(), datasets.LoadOptions{Seed: 1, ValFraction: 1.0 / 12})
	if err != nil {
		t.Fatal(err)
	}
	be := cpu.Default()
	model := mnistCNN(t, be, 1)
	adam, err := optim.NewAdam(&optim.AdamGroup{Params: model.Params(), LR: 2e-3})
	if err != nil {
		t.Fatal(err)
	}
	defer adam.Release()
	start := time.Now()
	res, err := Fit(context.Background(), Config{
		Model: model, Backend: be, Split: split, Task: task,
		Epochs: 2, BatchSize: 128, EvalBatchSize: 500, Seed: 1,
		Optimizers: []optim.Optimizer{adam},
		Schedules:  []optim.Schedule{optim.Cosine{Epochs: 2, MinFactor: 0.05}},
		Progress:   testWriter{t}, LogEvery: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	acc := 1 - res.Test.Value
	t.Logf("MNIST: test accuracy %.4f (error %.4f) after %d steps in %s; best val epoch %d (%s %.4f)",
		acc, res.Test.Value, len(res.Losses), time.Since(start).Round(time.Second), res.BestEpoch, res.BestVal.Name, res.BestVal.Value)
	if res.Test.N != 10000 {
		t.Errorf("test set of %d samples, want 10000", res.Test.N)
	}
	if acc < 0.98 {
		t.Errorf("test accuracy %.4f < 0.98", acc)
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}
