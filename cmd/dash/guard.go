package main

// Checks on the run directory and the flags that protect users from
// silently wrong outcomes (issue 12): reusing a run directory with other
// settings, overwriting a finished run, resuming a run that does not exist,
// retraining a finished run without effect, stale temporary files.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/nn/checkpoint"
)

// deviceSource names where a device spec came from, for error messages:
// the flag, or the DASH_DEVICE environment variable when the flag is empty.
func deviceSource(spec string) string {
	if strings.TrimSpace(spec) != "" {
		return "--device " + spec
	}
	if env := os.Getenv("DASH_DEVICE"); env != "" {
		return fmt.Sprintf("DASH_DEVICE=%s (environment variable)", env)
	}
	return "device choice"
}

// runMarkers are files whose presence means a directory holds a run.
var runMarkers = []string{"state.json", dash.FingerprintFile, "architecture.json", "search.ckpt"}

// holdsRun reports whether dir holds (part of) a run, and which marker.
func holdsRun(dir string) (bool, string) {
	for _, m := range runMarkers {
		if _, err := os.Stat(filepath.Join(dir, m)); err == nil {
			return true, m
		}
	}
	return false, ""
}

// runStatus describes a run directory for messages: finished or not.
func runStatus(dir string) string {
	var st struct {
		Done bool `json:"done"`
	}
	if err := dash.ReadJSON(filepath.Join(dir, "state.json"), &st); err == nil && st.Done {
		return "a finished run"
	}
	return "an unfinished run"
}

// checkRunFlags validates flags before any data is loaded.
func checkRunFlags(cmd string, f *runFlags) error {
	if f.classes != 0 {
		if f.data == "" {
			return fmt.Errorf("--classes %d: only applies to your own data (--data); built-in tasks fix their classes", f.classes)
		}
		switch {
		case f.classes < 0:
			return fmt.Errorf("--classes %d: the number of classes cannot be negative; give at least 2, or leave it out to use the largest label + 1", f.classes)
		case f.classes == 1:
			return errors.New("--classes 1: a classifier needs at least 2 classes")
		case f.classes > datasets.MaxClasses:
			return fmt.Errorf("--classes %d: above the supported maximum of %d classes (the classifier head, its gradients and every batch's logits grow with the class count)", f.classes, datasets.MaxClasses)
		}
	}
	if f.out == "" {
		return nil
	}
	st, err := os.Stat(f.out)
	exists := err == nil
	if exists && !st.IsDir() {
		return fmt.Errorf("--out %s: not a directory", f.out)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("--out %s: %w", f.out, err)
	}
	switch {
	case cmd == "run" && !f.resume:
		if ok, marker := holdsRun(f.out); ok {
			return fmt.Errorf("--out %s already holds %s (%s); nothing was overwritten: continue it with --resume, or give a new --out", f.out, runStatus(f.out), marker)
		}
	case f.resume || cmd == "hpo" || cmd == "retrain" || cmd == "eval":
		what := "--out"
		if f.resume {
			what = "--resume --out"
		}
		if !exists {
			return fmt.Errorf("%s %s: the run directory does not exist (nothing to continue; start a run with 'dash run --out %s')", what, f.out, f.out)
		}
		if ok, _ := holdsRun(f.out); !ok && cmd != "search" {
			return fmt.Errorf("%s %s: the directory holds no run (no %s)", what, f.out, strings.Join(runMarkers, ", "))
		}
	}
	return nil
}

// removeStaleTemps deletes temporary files that an interrupted atomic write
// left in a run directory (and its per-seed subdirectories).
func removeStaleTemps(dir string, log *slog.Logger) {
	for _, pat := range []string{filepath.Join(dir, ".*.tmp*"), filepath.Join(dir, "seed-*", ".*.tmp*")} {
		m, _ := filepath.Glob(pat)
		for _, p := range m {
			if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
				continue
			}
			if err := os.Remove(p); err == nil {
				log.Info("removed a temporary file left by an interrupted run", "path", p)
			}
		}
	}
}

// prepareRunDir runs once the run directory and the configuration are
// known: it removes stale temporary files, takes the searched kernels and
// dilations from the run's fingerprint when the flags do not give them,
// validates architecture.json and hparams.json before any training, and
// for 'retrain' on a finished retraining either restarts it (hparams.json
// changed) or says that there is nothing to do (done = true).
func prepareRunDir(cmd string, cfg *dash.Config, stdout io.Writer, log *slog.Logger) (done bool, err error) {
	dir := cfg.OutDir
	if _, err := os.Stat(dir); err == nil {
		removeStaleTemps(dir, log)
	}
	if !cfg.Resume {
		return false, nil
	}
	if fp, err := dash.ReadFingerprint(dir); err == nil {
		if len(cfg.Kernels) == 0 {
			cfg.Kernels = fp.Kernels
		}
		if len(cfg.Dilations) == 0 {
			cfg.Dilations = fp.Dilations
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	kernels, dilations := cfg.Kernels, cfg.Dilations
	if len(kernels) == 0 {
		kernels = cfg.Task.Kernels
	}
	if len(dilations) == 0 {
		dilations = cfg.Task.Dilations
	}
	if cmd == "run" || cmd == "search" {
		return false, nil
	}
	archPath := filepath.Join(dir, "architecture.json")
	b, err := os.ReadFile(archPath)
	if err != nil {
		return false, fmt.Errorf("--out %s: %w (run 'dash search' first)", dir, err)
	}
	a, err := dash.ParseArchitecture(b)
	if err != nil {
		return false, fmt.Errorf("%s: %w", archPath, err)
	}
	if err := dash.ValidateArchitecture(a, kernels, dilations); err != nil {
		return false, fmt.Errorf("%s: %w", archPath, err)
	}
	if err := dash.CheckArchitecture(*cfg, a); err != nil {
		if errors.Is(err, dash.ErrRunMismatch) {
			return false, err
		}
		return false, fmt.Errorf("%s: %w", archPath, err)
	}
	if cmd == "hpo" {
		return false, nil
	}
	hpPath := filepath.Join(dir, "hparams.json")
	b, err = os.ReadFile(hpPath)
	if err != nil {
		return false, fmt.Errorf("--out %s: %w (run 'dash hpo' first)", dir, err)
	}
	hp, err := dash.ParseHParams(b)
	if err != nil {
		return false, fmt.Errorf("%s: %w", hpPath, err)
	}
	if cmd == "retrain" {
		return retrainFinished(cfg, a, hp, stdout, log)
	}
	return false, nil
}

// retrainRecordFile records what the last 'dash retrain' trained with
// (hyperparameters and (k, d) per layer), to tell a changed hparams.json or
// architecture.json from an unchanged one.
const retrainRecordFile = "retrain-inputs.json"

type retrainRecord struct {
	LR          float32  `json:"lr"`
	Dropout     float32  `json:"dropout"`
	WeightDecay float32  `json:"weight_decay"`
	Momentum    float32  `json:"momentum"`
	Layers      [][2]int `json:"layers"`
}

func recordOf(a *dash.Architecture, hp *dash.HParams) retrainRecord {
	r := retrainRecord{LR: hp.LR, Dropout: hp.Dropout, WeightDecay: hp.WeightDecay, Momentum: hp.Momentum}
	for _, l := range a.Layers {
		r.Layers = append(r.Layers, [2]int{l.Kernel, l.Dilation})
	}
	return r
}

// lastRetrain returns what the finished retraining used: the record of the
// last 'dash retrain', else the searched network of metrics.json.
func lastRetrain(dir string) (retrainRecord, bool) {
	var r retrainRecord
	if err := dash.ReadJSON(filepath.Join(dir, retrainRecordFile), &r); err == nil {
		return r, true
	}
	var m dash.Metrics
	if err := dash.ReadJSON(filepath.Join(dir, "metrics.json"), &m); err == nil {
		for _, n := range m.Networks {
			if n.Label == "dash" && n.HParams.LR != 0 {
				h := n.HParams
				return retrainRecord{LR: h.LR, Dropout: h.Dropout, WeightDecay: h.WeightDecay, Momentum: h.Momentum, Layers: n.Layers}, true
			}
		}
	}
	return r, false
}

// retrainFinished handles 'dash retrain' on a run whose retraining
// checkpoint already holds every epoch: with hparams.json or
// architecture.json changed since, it retrains afresh (keeping the old
// checkpoint as dash.ckpt.prev); otherwise it says there is nothing to do
// and how to force it (done = true). When the retraining goes ahead, what
// it trains with is recorded.
func retrainFinished(cfg *dash.Config, a *dash.Architecture, hp *dash.HParams, stdout io.Writer, log *slog.Logger) (bool, error) {
	dir := cfg.OutDir
	now := recordOf(a, hp)
	record := func() error { return dash.WriteJSON(filepath.Join(dir, retrainRecordFile), now) }
	ckpt := filepath.Join(dir, "dash.ckpt")
	if _, err := os.Stat(ckpt); err != nil {
		return false, record() // nothing retrained yet
	}
	f, err := checkpoint.Read(ckpt)
	if err != nil {
		return false, fmt.Errorf("retrain: %w; delete it to retrain from scratch", err)
	}
	epoch, _ := strconv.Atoi(f.Metadata["train.epoch"])
	if epoch < cfg.Budget.RetrainEpochs {
		return false, record() // interrupted: resume it
	}
	changed := ""
	if old, ok := lastRetrain(dir); ok {
		switch {
		case old.LR != now.LR || old.Dropout != now.Dropout || old.WeightDecay != now.WeightDecay || old.Momentum != now.Momentum:
			changed = fmt.Sprintf("hparams.json (lr %g, dropout %g, weight decay %g, momentum %g) differs from the retrained network's (lr %g, dropout %g, weight decay %g, momentum %g)",
				now.LR, now.Dropout, now.WeightDecay, now.Momentum, old.LR, old.Dropout, old.WeightDecay, old.Momentum)
		case len(old.Layers) > 0 && !slices.Equal(old.Layers, now.Layers):
			changed = fmt.Sprintf("architecture.json (k, d) %v differs from the retrained network's %v", now.Layers, old.Layers)
		}
	}
	if changed != "" {
		prev := ckpt + ".prev"
		if err := os.Rename(ckpt, prev); err != nil {
			return false, fmt.Errorf("retrain: %w", err)
		}
		log.Warn(changed+": retraining afresh", "previous_checkpoint", prev)
		return false, record()
	}
	fmt.Fprintf(stdout, "dash retrain: %s is already retrained with these hyperparameters and architecture (%s holds all %d epochs); nothing to do.\n"+
		"To retrain afresh, edit %s or architecture.json, or delete %s.\n", dir, ckpt, epoch, filepath.Join(dir, "hparams.json"), ckpt)
	return true, nil
}
