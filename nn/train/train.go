// Package train runs training: epochs over a datasets.Loader with one or
// more optimisers, learning-rate schedules, gradient clipping, a hook after
// every backward pass (DASH rescales α's gradient there), evaluation on the
// validation split after every epoch, best-model selection on validation
// only (the test split is scored once, with the selected weights), early
// stopping, progress lines, and checkpoints that let an interrupted run
// (Ctrl-C: context cancellation) resume and reproduce the uninterrupted
// run's losses exactly on the CPU backend.
package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"time"

	"github.com/dash-go/dash/autograd"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/nn"
	"github.com/dash-go/dash/nn/metrics"
	"github.com/dash-go/dash/nn/optim"
	"github.com/dash-go/dash/tensor"
)

// Losses lists the loss names Config.Loss accepts.
var Losses = []string{"cross_entropy", "bce_logits", "mse", "relative_l2"}

// Config configures Fit.
type Config struct {
	// Model is trained in place.
	Model   nn.Layer
	Backend tensor.Backend
	// Split holds Train (required), Val (may be empty: no model selection)
	// and Test (may be nil). Split.Norm decodes dense outputs for the
	// relative-L2 metric.
	Split *datasets.Split
	// Task supplies Loss and Metric defaults (may be nil when both are set).
	Task *datasets.Task
	// Loss: "cross_entropy", "bce_logits", "mse" or "relative_l2".
	Loss string
	// LossFunc, if set, computes the loss of the training steps instead of
	// Loss (e.g. DASH's Darcy loss on de-normalised outputs, summed over
	// the batch); validation and test still report Loss and Metric.
	LossFunc func(out *autograd.Var, labels, y *tensor.Tensor) (*autograd.Var, error)
	// PosWeight weights positives in bce_logits (0 means 1).
	PosWeight float32
	// Metric for validation and test (see metrics.Names); "" means the
	// task's, or the loss for regression.
	Metric string

	Epochs    int
	BatchSize int
	// EvalBatchSize for validation and test (0: BatchSize).
	EvalBatchSize int
	// StepsPerEpoch caps the steps of an epoch (0: the whole training set);
	// Fraction, if set, uses that share of an epoch's batches instead.
	StepsPerEpoch int
	Fraction      float64
	// DropLast drops the incomplete final batch.
	DropLast bool
	// Seed drives the shuffling (epoch e uses a permutation from (Seed, e)).
	Seed int64

	// Optimizers are stepped in order after every backward pass.
	Optimizers []optim.Optimizer
	// Schedules: nil (constant), one for all optimisers, or one per optimiser.
	Schedules []optim.Schedule
	// ClipNorm > 0 clips the global gradient norm of all optimised
	// parameters (on the device) after AfterBackward.
	ClipNorm float32
	// ClipExclude lists parameters left out of the ClipNorm clipping:
	// neither counted in the norm nor scaled (e.g. α, whose gradient the
	// search already rescales to a fixed norm).
	ClipExclude []*autograd.Var

	// AfterBackward runs after each backward pass, before clipping and the
	// optimiser steps (global step count, 0-based).
	AfterBackward func(step int)
	// OnEpochEnd runs after each epoch's evaluation; an error stops training.
	OnEpochEnd func(EpochStats) error

	// Patience > 0 stops after that many epochs without a validation
	// improvement.
	Patience int
	// NoRestoreBest keeps the final weights instead of restoring the best
	// validation weights at the end.
	NoRestoreBest bool

	// CheckpointPath, if set, is written atomically after every epoch and
	// when the context is cancelled (".zst" suffix: zstd-compressed).
	CheckpointPath string
	// Resume continues from CheckpointPath if that file exists.
	Resume bool

	// Log receives one line per epoch (nil: no structured log).
	Log *slog.Logger
	// Progress receives human-readable progress lines (nil: none).
	Progress io.Writer
	// LogEvery steps a progress line is written (0: 50).
	LogEvery int
}

// EpochStats summarises an epoch.
type EpochStats struct {
	Epoch         int            `json:"epoch"` // 1-based
	TrainLoss     float64        `json:"train_loss"`
	Val           metrics.Result `json:"val"`
	ValLoss       float64        `json:"val_loss"`
	Seconds       float64        `json:"seconds"`
	SamplesPerSec float64        `json:"samples_per_sec"`
	Best          bool           `json:"best"`
}

// Result is the outcome of Fit.
type Result struct {
	// Losses are the training losses of every step (including steps before a
	// resume).
	Losses    []float64
	Epochs    []EpochStats
	BestEpoch int // 1-based; 0 without validation
	BestVal   metrics.Result
	// Test is scored with the selected weights (zero without a test split).
	Test     metrics.Result
	TestLoss float64
	// Stopped says why training ended early ("early stopping",
	// "cancelled", or "" for a full run).
	Stopped string
}

// Eval is an evaluation's loss and metric.
type Eval struct {
	Loss   float64
	Metric metrics.Result
}

func (c *Config) validate() error {
	if c.Model == nil {
		return errors.New("train: no model")
	}
	if c.Backend == nil {
		return errors.New("train: no backend")
	}
	if c.Split == nil || c.Split.Train == nil || c.Split.Train.N == 0 {
		return errors.New("train: no training data")
	}
	if c.Loss == "" && c.Task != nil {
		c.Loss = c.Task.Loss
	}
	if c.Metric == "" && c.Task != nil {
		c.Metric = c.Task.Metric
	}
	if c.PosWeight == 0 && c.Task != nil && c.Loss == c.Task.Loss {
		c.PosWeight = float32(c.Task.PosWeight)
	}
	if pw := float64(c.PosWeight); math.IsNaN(pw) || math.IsInf(pw, 0) || pw < 0 {
		return fmt.Errorf("train: positive weight %v, want a finite value > 0 (0: 1)", c.PosWeight)
	}
	switch c.Loss {
	case "cross_entropy", "bce_logits", "mse", "relative_l2":
	case "":
		return fmt.Errorf("train: no loss (want one of %v)", Losses)
	default:
		return fmt.Errorf("train: unknown loss %q (want one of %v)", c.Loss, Losses)
	}
	if c.Metric == "" {
		switch c.Loss {
		case "cross_entropy":
			c.Metric = "error"
		case "bce_logits":
			c.Metric = "map"
		default:
			c.Metric = c.Loss
		}
	}
	if _, err := metrics.New(c.Metric); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if c.Epochs <= 0 {
		return fmt.Errorf("train: %d epochs, want > 0", c.Epochs)
	}
	if c.BatchSize <= 0 {
		return fmt.Errorf("train: batch size %d, want > 0", c.BatchSize)
	}
	if c.EvalBatchSize <= 0 {
		c.EvalBatchSize = c.BatchSize
	}
	if len(c.Optimizers) == 0 {
		return errors.New("train: no optimiser")
	}
	if n := len(c.Schedules); n > 1 && n != len(c.Optimizers) {
		return fmt.Errorf("train: %d schedules for %d optimisers", n, len(c.Optimizers))
	}
	if c.Fraction < 0 || c.Fraction > 1 || c.StepsPerEpoch < 0 {
		return fmt.Errorf("train: fraction %v / steps per epoch %d out of range", c.Fraction, c.StepsPerEpoch)
	}
	if c.Resume && c.CheckpointPath == "" {
		return errors.New("train: resume needs a checkpoint path")
	}
	if c.LogEvery <= 0 {
		c.LogEvery = 50
	}
	tr := c.Split.Train
	if c.Loss == "cross_entropy" && tr.Labels == nil {
		return errors.New("train: cross_entropy needs class labels, the dataset has none")
	}
	if c.Loss != "cross_entropy" && tr.Y == nil {
		return fmt.Errorf("train: %s needs Y targets, the dataset has none", c.Loss)
	}
	if b, ok := c.Model.(nn.Backbone); ok {
		if err := nn.CheckInput(b, tr.XShape); err != nil {
			return fmt.Errorf("train: dataset: %w", err)
		}
	}
	return nil
}

func (c *Config) schedule(i int) optim.Schedule {
	switch len(c.Schedules) {
	case 0:
		return optim.Constant{}
	case 1:
		return c.Schedules[0]
	}
	return c.Schedules[i]
}

// batchTensors uploads a batch: inputs, int32 labels (class tasks) and Y.
func batchTensors(be tensor.Backend, b *datasets.Batch) (x, labels, y *tensor.Tensor) {
	x = tensor.FromFloat32(be, b.X, b.XShape...)
	if b.Labels != nil {
		labels = tensor.FromInt32(be, b.Labels, b.N)
	}
	if b.Y != nil {
		y = tensor.FromFloat32(be, b.Y, b.YShape...)
	}
	return x, labels, y
}

// Loss computes the named loss of the model output against a batch's
// targets (labels for cross_entropy, y otherwise; y is reshaped to the
// output's shape when the sizes agree).
func Loss(name string, out *autograd.Var, labels, y *tensor.Tensor, posWeight float32) (*autograd.Var, error) {
	if name == "cross_entropy" {
		if labels == nil {
			return nil, errors.New("train: cross_entropy needs class labels")
		}
		if out.Value.Rank() != 2 {
			return nil, fmt.Errorf("train: cross_entropy needs [N, classes] outputs, model gives %v", out.Value.Shape())
		}
		return autograd.CrossEntropy(out, labels), nil
	}
	if y == nil {
		return nil, fmt.Errorf("train: %s needs Y targets", name)
	}
	if y.Numel() != out.Value.Numel() {
		return nil, fmt.Errorf("train: model output %v does not match targets %v", out.Value.Shape(), y.Shape())
	}
	yr := y.Reshape(out.Value.Shape()...)
	switch name {
	case "bce_logits":
		if posWeight == 0 {
			posWeight = 1
		}
		return autograd.BCEWithLogits(out, yr, posWeight), nil
	case "mse":
		return autograd.MSE(out, yr), nil
	case "relative_l2":
		return autograd.RelativeL2(out, yr), nil
	}
	return nil, fmt.Errorf("train: unknown loss %q (want one of %v)", name, Losses)
}

// Evaluate scores the model on data in evaluation mode, computing the loss
// (sample-weighted mean) and the metric over the whole set. Dense outputs
// and targets are decoded with norm (if it has Y statistics) for the metric.
func Evaluate(ctx context.Context, be tensor.Backend, model nn.Layer, data *datasets.Data, loss, metric string, posWeight float32, norm *datasets.Normalizer, batch int) (Eval, error) {
	model.SetTraining(false)
	defer model.SetTraining(true)
	acc, err := metrics.New(metric)
	if err != nil {
		return Eval{}, fmt.Errorf("train: %w", err)
	}
	ld, err := datasets.NewLoader(data, datasets.LoaderOptions{BatchSize: batch})
	if err != nil {
		return Eval{}, fmt.Errorf("train: evaluation: %w", err)
	}
	it := ld.Epoch(ctx, 0)
	defer it.Close()
	var lossSum float64
	n := 0
	for {
		b, ok := it.Next()
		if !ok {
			break
		}
		var ferr error
		nn.NoGrad(model, func() {
			x, labels, y := batchTensors(be, b)
			defer release(x, labels, y)
			out := model.Forward(autograd.Const(x))
			l, err := Loss(loss, out, labels, y, posWeight)
			if err != nil {
				autograd.Release(out)
				ferr = err
				return
			}
			lossSum += float64(l.Value.Item()) * float64(b.N)
			o := out.Value.Float32s()
			autograd.Release(l)
			var tg []float32
			if b.Y != nil {
				tg = append([]float32(nil), b.Y...)
				if metrics.Decoded(metric) {
					if err := norm.DecodeY(o); err != nil {
						ferr = fmt.Errorf("train: decoding outputs: %w", err)
						return
					}
					if err := norm.DecodeY(tg); err != nil {
						ferr = fmt.Errorf("train: decoding targets: %w", err)
						return
					}
				}
			}
			ferr = acc.Add(o, b.N, b.Labels, tg)
		})
		if ferr != nil {
			return Eval{}, ferr
		}
		n += b.N
	}
	if err := it.Err(); err != nil {
		return Eval{}, err
	}
	if n == 0 {
		return Eval{}, errors.New("train: evaluation set is empty")
	}
	return Eval{Loss: lossSum / float64(n), Metric: acc.Result()}, nil
}

func release(ts ...*tensor.Tensor) {
	for _, t := range ts {
		if t != nil {
			t.Release()
		}
	}
}

// Resume is Fit with cfg.Resume set: it continues from cfg.CheckpointPath
// when that file exists (and starts afresh otherwise).
func Resume(ctx context.Context, cfg Config) (*Result, error) {
	cfg.Resume = true
	return Fit(ctx, cfg)
}

// Fit trains cfg.Model. When ctx is cancelled it finishes the current step,
// writes the checkpoint (if CheckpointPath is set) and returns the partial
// result with an error wrapping the context's.
func Fit(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &runner{cfg: &cfg, res: &Result{}, bestScore: math.Inf(1)}
	defer r.releaseBest()
	if cfg.Resume {
		if _, err := os.Stat(cfg.CheckpointPath); err == nil {
			if err := r.load(cfg.CheckpointPath); err != nil {
				return nil, err
			}
		} else if !os.IsNotExist(err) {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	return r.run(ctx)
}

// runner holds the state of a run (all of it checkpointed).
type runner struct {
	cfg        *Config
	res        *Result
	epoch      int // completed epochs
	step       int // steps done in the current epoch
	globalStep int
	bestScore  float64
	bad        int // epochs without improvement
	best       []*tensor.Tensor
	partial    []float64 // losses of the current epoch so far (on resume)
	epochStart time.Time
}

func (r *runner) releaseBest() {
	for _, b := range r.best {
		b.Release()
	}
	r.best = nil
}

func (r *runner) params() []*autograd.Var {
	var ps []*autograd.Var
	for _, o := range r.cfg.Optimizers {
		ps = append(ps, o.Params()...)
	}
	return ps
}

func (r *runner) stepsPerEpoch(ld *datasets.Loader) int {
	n := ld.Len()
	if r.cfg.Fraction > 0 && r.cfg.Fraction < 1 {
		n = max(1, int(math.Ceil(float64(n)*r.cfg.Fraction)))
	}
	if r.cfg.StepsPerEpoch > 0 {
		n = min(n, r.cfg.StepsPerEpoch)
	}
	return n
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	cfg := r.cfg
	ld, err := datasets.NewLoader(cfg.Split.Train, datasets.LoaderOptions{BatchSize: cfg.BatchSize, Shuffle: true, Seed: cfg.Seed, DropLast: cfg.DropLast})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	steps := r.stepsPerEpoch(ld)
	hasVal := cfg.Split.Val != nil && cfg.Split.Val.N > 0
	params := r.params()
	for r.epoch < cfg.Epochs {
		stats, err := r.trainEpoch(ctx, ld, steps, params)
		if err != nil {
			if ctx.Err() != nil {
				r.res.Stopped = "cancelled"
				if cfg.CheckpointPath != "" {
					if serr := r.save(cfg.CheckpointPath); serr != nil {
						return r.res, errors.Join(err, serr)
					}
					r.logf("interrupted at epoch %d step %d; checkpoint saved to %s", r.epoch+1, r.step, cfg.CheckpointPath)
				}
			}
			return r.res, err
		}
		if hasVal {
			ev, err := Evaluate(ctx, cfg.Backend, cfg.Model, cfg.Split.Val, cfg.Loss, cfg.Metric, cfg.PosWeight, cfg.Split.Norm, cfg.EvalBatchSize)
			if err != nil {
				if ctx.Err() != nil {
					return r.res, r.interruptedInValidation(ctx, err)
				}
				return r.res, fmt.Errorf("train: validation: %w", err)
			}
			stats.Val, stats.ValLoss = ev.Metric, ev.Loss
			if s := ev.Metric.Score; !math.IsNaN(s) && s < r.bestScore {
				r.bestScore, r.bad = s, 0
				stats.Best = true
				r.res.BestEpoch, r.res.BestVal = stats.Epoch, ev.Metric
				r.snapshotBest()
			} else {
				r.bad++
			}
		}
		r.res.Epochs = append(r.res.Epochs, stats)
		r.epoch++
		r.step = 0
		r.logEpoch(stats, steps)
		if cfg.OnEpochEnd != nil {
			if err := cfg.OnEpochEnd(stats); err != nil {
				return r.res, fmt.Errorf("train: epoch-end hook: %w", err)
			}
		}
		stop := hasVal && cfg.Patience > 0 && r.bad >= cfg.Patience
		if stop {
			r.res.Stopped = "early stopping"
		}
		if cfg.CheckpointPath != "" {
			if err := r.save(cfg.CheckpointPath); err != nil {
				return r.res, err
			}
		}
		if stop {
			r.logf("early stopping after %d epochs without improvement", r.bad)
			break
		}
	}
	if hasVal && !cfg.NoRestoreBest && r.best != nil {
		for i, v := range nn.StateVars(cfg.Model) {
			v.Value.CopyFrom(r.best[i])
		}
	}
	if cfg.Split.Test != nil && cfg.Split.Test.N > 0 {
		ev, err := Evaluate(ctx, cfg.Backend, cfg.Model, cfg.Split.Test, cfg.Loss, cfg.Metric, cfg.PosWeight, cfg.Split.Norm, cfg.EvalBatchSize)
		if err != nil {
			return r.res, fmt.Errorf("train: test: %w", err)
		}
		r.res.Test, r.res.TestLoss = ev.Metric, ev.Loss
		r.logf("test %s %.6g (loss %.6g, %d samples)", ev.Metric.Name, ev.Metric.Value, ev.Loss, ev.Metric.N)
	}
	return r.res, nil
}

// interruptedInValidation handles a cancellation during the validation
// pass: the epoch's steps are done, so the checkpoint records step = steps
// of the unfinished epoch and a resume re-runs only the validation.
func (r *runner) interruptedInValidation(ctx context.Context, err error) error {
	r.res.Stopped = "cancelled"
	if path := r.cfg.CheckpointPath; path != "" {
		if serr := r.save(path); serr != nil {
			return errors.Join(err, serr)
		}
		r.logf("interrupted during the validation of epoch %d; checkpoint saved to %s", r.epoch+1, path)
	}
	return fmt.Errorf("train: stopped during validation: %w", context.Cause(ctx))
}

func (r *runner) snapshotBest() {
	vars := nn.StateVars(r.cfg.Model)
	if r.best == nil {
		for _, v := range vars {
			r.best = append(r.best, v.Value.Clone())
		}
		return
	}
	for i, v := range vars {
		r.best[i].CopyFrom(v.Value)
	}
}

// trainEpoch runs the steps of the current epoch from r.step on. On
// cancellation it returns the context's error with r.step at the number of
// completed steps and their losses recorded.
func (r *runner) trainEpoch(ctx context.Context, ld *datasets.Loader, steps int, params []*autograd.Var) (EpochStats, error) {
	cfg := r.cfg
	cfg.Model.SetTraining(true)
	// the loader must not stop on its own: the step boundary is ours
	it := ld.Epoch(context.WithoutCancel(ctx), r.epoch)
	defer it.Close()
	for range r.step { // resume inside an epoch: skip the steps already done
		if _, ok := it.Next(); !ok {
			return EpochStats{}, fmt.Errorf("train: checkpoint is at step %d of epoch %d, but the loader has fewer batches", r.step, r.epoch+1)
		}
	}
	start := time.Now()
	startStep := r.step
	samples := 0
	clip := params
	if len(cfg.ClipExclude) > 0 {
		clip = nil
		for _, p := range params {
			if !slices.Contains(cfg.ClipExclude, p) {
				clip = append(clip, p)
			}
		}
	}
	var losses []*tensor.Tensor
	flush := func() {
		if len(losses) == 0 {
			return
		}
		parts := make([]*tensor.Tensor, len(losses))
		for i, l := range losses {
			parts[i] = l.Reshape(1)
		}
		all := tensor.Concat(0, parts...)
		for _, v := range all.Float32s() {
			r.partial = append(r.partial, float64(v))
		}
		all.Release()
		release(losses...)
		losses = losses[:0]
	}
	defer flush()
	for r.step < steps {
		if err := ctx.Err(); err != nil {
			flush()
			r.res.Losses = append(r.res.Losses, r.partial...)
			r.partial = nil
			return EpochStats{}, fmt.Errorf("train: stopped: %w", err)
		}
		b, ok := it.Next()
		if !ok {
			break
		}
		factorPos := float64(r.epoch) + float64(r.step)/float64(steps)
		for i, o := range cfg.Optimizers {
			o.SetLRFactor(cfg.schedule(i).Factor(factorPos))
		}
		x, labels, y := batchTensors(cfg.Backend, b)
		out := cfg.Model.Forward(autograd.Const(x))
		var loss *autograd.Var
		var err error
		if cfg.LossFunc != nil {
			loss, err = cfg.LossFunc(out, labels, y)
		} else {
			loss, err = Loss(cfg.Loss, out, labels, y, cfg.PosWeight)
		}
		if err != nil {
			autograd.Release(out)
			release(x, labels, y)
			return EpochStats{}, err
		}
		autograd.Backward(loss)
		if cfg.AfterBackward != nil {
			cfg.AfterBackward(r.globalStep)
		}
		if cfg.ClipNorm > 0 {
			optim.ClipGradNorm(clip, cfg.ClipNorm)
		}
		for _, o := range cfg.Optimizers {
			o.Step()
			o.ZeroGrad()
		}
		losses = append(losses, loss.Value.Clone())
		autograd.Release(loss)
		release(x, labels, y)
		r.step++
		r.globalStep++
		samples += b.N
		if cfg.Progress != nil && (r.step%cfg.LogEvery == 0 || r.step == steps) {
			el := time.Since(start)
			done := r.step - startStep
			eta := time.Duration(float64(el) / float64(done) * float64(steps-r.step))
			last := losses[len(losses)-1].Item()
			fmt.Fprintf(cfg.Progress, "epoch %d/%d step %d/%d loss %.4f %.0f samples/s ETA %s\n", r.epoch+1, cfg.Epochs, r.step, steps,
				last, float64(samples)/el.Seconds(), eta.Round(time.Second))
		}
	}
	flush()
	el := time.Since(start)
	epochLosses := r.partial
	r.partial = nil
	r.res.Losses = append(r.res.Losses, epochLosses...)
	mean := 0.0
	for _, l := range epochLosses {
		mean += l
	}
	if len(epochLosses) > 0 {
		mean /= float64(len(epochLosses))
	}
	return EpochStats{Epoch: r.epoch + 1, TrainLoss: mean, Seconds: el.Seconds(), SamplesPerSec: float64(samples) / max(el.Seconds(), 1e-9)}, nil
}

func (r *runner) logEpoch(s EpochStats, steps int) {
	cfg := r.cfg
	left := time.Duration(s.Seconds * float64(cfg.Epochs-s.Epoch) * float64(time.Second))
	if cfg.Log != nil {
		args := []any{"epoch", s.Epoch, "of", cfg.Epochs, "loss", s.TrainLoss, "samples_per_sec", math.Round(s.SamplesPerSec), "eta", left.Round(time.Second).String()}
		if s.Val.N > 0 {
			args = append(args, "val_"+s.Val.Name, s.Val.Value, "val_loss", s.ValLoss, "best", s.Best)
		}
		cfg.Log.Info("epoch", args...)
	}
	if cfg.Progress != nil {
		val := ""
		if s.Val.N > 0 {
			mark := ""
			if s.Best {
				mark = " *"
			}
			val = fmt.Sprintf(" val %s %.5g (loss %.4f)%s", s.Val.Name, s.Val.Value, s.ValLoss, mark)
		}
		fmt.Fprintf(cfg.Progress, "epoch %d/%d loss %.4f%s %.0f samples/s %.1fs ETA %s\n", s.Epoch, cfg.Epochs, s.TrainLoss, val, s.SamplesPerSec, s.Seconds, left.Round(time.Second))
	}
}

func (r *runner) logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if r.cfg.Log != nil {
		r.cfg.Log.Info(msg)
	}
	if r.cfg.Progress != nil {
		fmt.Fprintln(r.cfg.Progress, msg)
	}
}
