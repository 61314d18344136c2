package train

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/dash-go/dash/nn"
	"github.com/dash-go/dash/nn/checkpoint"
	"github.com/dash-go/dash/tensor"
)

// Checkpoint layout written by Fit (safetensors, see package checkpoint):
//
//	<param or buffer name>     model state (as nn.SaveCheckpoint)
//	@opt<i>.<kind>.<param>     state of optimiser i (momentum, exp_avg, ...)
//	@best.<name>               the best-on-validation model state so far
//	__metadata__:
//	  format        "dash-train/1"
//	  counter:<n>   layer counters (dropout steps)
//	  train.epoch, train.step, train.global_step   position (completed
//	                epochs, steps into the current epoch); the schedules are
//	                pure functions of it
//	  train.seed    the shuffle seed (a resume must use the same)
//	  train.best_score, train.best_epoch, train.bad_epochs
//	  train.losses  JSON list of every step's loss so far
//	  train.epochs  JSON list of EpochStats
//	  opt<i>.*      optimiser metadata (type, Adam step)
const format = "dash-train/1"

func (r *runner) save(path string) error {
	cfg := r.cfg
	ts, meta, err := nn.ModelState(cfg.Model)
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	f := &checkpoint.File{Tensors: ts, Metadata: meta}
	for i, o := range cfg.Optimizers {
		p := fmt.Sprintf("%sopt%d.", nn.ExtraPrefix, i)
		ots, om := o.StateDict(p)
		for k, v := range ots {
			f.Tensors[k] = v
		}
		for k, v := range om {
			f.Metadata[k] = v
		}
	}
	if r.best != nil {
		for i, v := range nn.StateVars(cfg.Model) {
			f.Tensors[nn.ExtraPrefix+"best."+v.Name] = checkpoint.F32(r.best[i].Float32s(), r.best[i].Shape()...)
		}
	}
	losses, err := json.Marshal(r.res.Losses)
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	epochs, err := json.Marshal(r.res.Epochs)
	if err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	m := f.Metadata
	m["format"] = format
	m["train.epoch"] = strconv.Itoa(r.epoch)
	m["train.step"] = strconv.Itoa(r.step)
	m["train.global_step"] = strconv.Itoa(r.globalStep)
	m["train.seed"] = strconv.FormatInt(cfg.Seed, 10)
	m["train.best_score"] = strconv.FormatFloat(r.bestScore, 'g', -1, 64)
	m["train.best_epoch"] = strconv.Itoa(r.res.BestEpoch)
	m["train.bad_epochs"] = strconv.Itoa(r.bad)
	m["train.losses"] = string(losses)
	m["train.epochs"] = string(epochs)
	if err := checkpoint.Write(path, f, checkpoint.Options{Zstd: len(path) > 4 && path[len(path)-4:] == ".zst"}); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

func (r *runner) load(path string) error {
	cfg := r.cfg
	f, err := checkpoint.Read(path)
	if err != nil {
		return fmt.Errorf("train: resume: %w; delete %s to restart this stage from scratch", err, path)
	}
	if !f.Checksummed {
		return fmt.Errorf("train: resume: %s: %w: it has no %s entry (damaged, or written by an older version: delete it to restart this stage)", path, checkpoint.ErrChecksum, checkpoint.ChecksumKey)
	}
	m := f.Metadata
	if m["format"] != format {
		return fmt.Errorf("train: resume: %s is not a training checkpoint (format %q, want %q)", path, m["format"], format)
	}
	if s := m["train.seed"]; s != strconv.FormatInt(cfg.Seed, 10) {
		return fmt.Errorf("train: resume: %s was written with shuffle seed %s, this run has shuffle seed %d (derived from the run's --seed: resume with the same --seed, or delete the checkpoint)", path, s, cfg.Seed)
	}
	if err := nn.LoadModelState(cfg.Model, f); err != nil {
		return fmt.Errorf("train: resume from %s: %w", path, err)
	}
	for i, o := range cfg.Optimizers {
		if err := o.LoadStateDict(fmt.Sprintf("%sopt%d.", nn.ExtraPrefix, i), f.Tensors, m); err != nil {
			return fmt.Errorf("train: resume from %s: optimiser %d: %w", path, i, err)
		}
	}
	ints := map[string]*int{"train.epoch": &r.epoch, "train.step": &r.step, "train.global_step": &r.globalStep,
		"train.best_epoch": &r.res.BestEpoch, "train.bad_epochs": &r.bad}
	for k, p := range ints {
		v, err := strconv.Atoi(m[k])
		if err != nil {
			return fmt.Errorf("train: resume: bad %s %q in %s", k, m[k], path)
		}
		if v < 0 {
			return fmt.Errorf("train: resume: negative %s %d in %s", k, v, path)
		}
		*p = v
	}
	if r.bestScore, err = strconv.ParseFloat(m["train.best_score"], 64); err != nil {
		return fmt.Errorf("train: resume: bad best score %q in %s", m["train.best_score"], path)
	}
	if err := json.Unmarshal([]byte(m["train.losses"]), &r.res.Losses); err != nil {
		return fmt.Errorf("train: resume: losses in %s: %w", path, err)
	}
	if err := json.Unmarshal([]byte(m["train.epochs"]), &r.res.Epochs); err != nil {
		return fmt.Errorf("train: resume: epochs in %s: %w", path, err)
	}
	if r.step > len(r.res.Losses) {
		return fmt.Errorf("train: resume: %s is at step %d but records %d losses", path, r.step, len(r.res.Losses))
	}
	// the current epoch's losses so far go back to the partial list so that
	// the epoch's mean covers all of its steps
	cut := len(r.res.Losses) - r.step
	r.partial = append([]float64(nil), r.res.Losses[cut:]...)
	r.res.Losses = r.res.Losses[:cut]
	for _, e := range r.res.Epochs {
		if e.Epoch == r.res.BestEpoch {
			r.res.BestVal = e.Val
		}
	}
	if !math.IsInf(r.bestScore, 1) {
		for _, v := range nn.StateVars(cfg.Model) {
			t, ok := f.Tensors[nn.ExtraPrefix+"best."+v.Name]
			if !ok {
				return fmt.Errorf("train: resume: %s lacks the best weights for %q", path, v.Name)
			}
			if t.DType != "F32" || !tensor.SameShape(t.Shape, v.Value.Shape()) {
				return fmt.Errorf("train: resume: %s: best weights for %q are %s %v, the model wants F32 %v", path, v.Name, t.DType, t.Shape, v.Value.Shape())
			}
			r.best = append(r.best, tensor.FromFloat32(cfg.Backend, t.F32, t.Shape...))
		}
	}
	return nil
}
