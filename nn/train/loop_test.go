package train

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/nn/optim"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

func TestProgressAndSelection(t *testing.T) {
	be := cpu.Default()
	var prog, logs bytes.Buffer
	cfg := toyConfig(t, be, "")
	cfg.Progress = &prog
	cfg.Log = slog.New(slog.NewTextHandler(&logs, nil))
	cfg.LogEvery = 3
	var ends []int
	cfg.OnEpochEnd = func(s EpochStats) error { ends = append(ends, s.Epoch); return nil }
	res, err := Fit(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"epoch 1/3 step 3/7 loss", "samples/s ETA", "epoch 3/3 loss", "val error", "test error"} {
		if !strings.Contains(prog.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, prog.String())
		}
	}
	for _, want := range []string{"msg=epoch epoch=1 of=3 loss=", "val_error=", "samples_per_sec="} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if len(ends) != 3 {
		t.Errorf("epoch-end hook ran for %v", ends)
	}
	// the final weights are the best-on-validation ones
	ev, err := Evaluate(context.Background(), be, cfg.Model, cfg.Split.Val, "cross_entropy", "error", 0, nil, 50)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Metric.Value != res.BestVal.Value || res.BestEpoch == 0 {
		t.Errorf("restored weights score %v on validation, best was %v (epoch %d)", ev.Metric.Value, res.BestVal.Value, res.BestEpoch)
	}
	// the hook's error stops training
	cfg2 := toyConfig(t, be, "")
	cfg2.OnEpochEnd = func(EpochStats) error { return errors.New("enough") }
	if _, err := Fit(context.Background(), cfg2); err == nil || !strings.Contains(err.Error(), "epoch-end hook: enough") {
		t.Errorf("hook error: %v", err)
	}
}

func TestEarlyStopping(t *testing.T) {
	be := cpu.Default()
	cfg := toyConfig(t, be, "")
	cfg.Epochs = 10
	cfg.Patience = 2
	m := cfg.Model
	frozen, err := optim.NewSGD(&optim.SGDGroup{Params: m.Params(), SGDParams: tensor.SGDParams{LR: 0}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Optimizers = []optim.Optimizer{frozen}
	cfg.Schedules = nil
	res, err := Fit(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// with lr 0 the validation score never improves after epoch 1
	if res.Stopped != "early stopping" || len(res.Epochs) != 3 || res.BestEpoch != 1 {
		t.Errorf("stopped %q after %d epochs, best %d", res.Stopped, len(res.Epochs), res.BestEpoch)
	}
}

func TestRegressionLoss(t *testing.T) {
	be := cpu.Default()
	// dense targets: y = x (identity), relative-L2 loss and metric
	d := toyData(64, 5)
	d.Y, d.YShape, d.Labels = append([]float32(nil), d.X...), []int{1, 12}, nil
	for _, loss := range []string{"mse", "relative_l2"} {
		lin := toyLinear(t, be)
		sgd, _ := optim.NewSGD(&optim.SGDGroup{Params: lin.Params(), SGDParams: tensor.SGDParams{LR: 0.05, Momentum: 0.9}})
		res, err := Fit(context.Background(), Config{Model: lin, Backend: be, Split: &datasets.Split{Train: d, Val: d}, Loss: loss,
			Epochs: 5, BatchSize: 16, Optimizers: []optim.Optimizer{sgd}})
		if err != nil {
			t.Fatal(err)
		}
		if res.BestVal.Name != loss || !(res.Losses[len(res.Losses)-1] < res.Losses[0]) {
			t.Errorf("%s: metric %s, losses %v", loss, res.BestVal.Name, res.Losses)
		}
	}
}

func TestResumeChecks(t *testing.T) {
	be := cpu.Default()
	ckpt := t.TempDir() + "/run.safetensors"
	cfg := toyConfig(t, be, ckpt)
	cfg.Epochs = 1
	if _, err := Resume(context.Background(), cfg); err != nil { // no checkpoint yet: starts afresh
		t.Fatal(err)
	}
	cfg2 := toyConfig(t, be, ckpt)
	cfg2.Seed = 12
	if _, err := Resume(context.Background(), cfg2); err == nil || !strings.Contains(err.Error(), "was written with shuffle seed 11, this run has shuffle seed 12") {
		t.Errorf("seed mismatch: %v", err)
	}
}
