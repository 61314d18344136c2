package main

import (
	"flag"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/nn"
	"github.com/dash-go/dash/nn/metrics"
	"github.com/dash-go/dash/nn/train"
)

// objectiveFlags are --loss, --metric and --pos-weight.
type objectiveFlags struct {
	loss, metric string
	posWeight    float64
	posWeightSet bool
}

func addObjectiveFlags(fs *flag.FlagSet, o *objectiveFlags) {
	fs.StringVar(&o.loss, "loss", "", "training loss: cross_entropy (class targets), bce_logits (multi-label), relative_l2 or mse (dense) (default: the task's; for --data inferred from the targets)")
	fs.StringVar(&o.metric, "metric", "", "validation and test metric: error, accuracy, macro_f1 (class); map, auroc, macro_f1, fnr (multi-label); relative_l2, mse, mae, mae8 (dense) (default: the task's; for --data error, map or relative_l2)")
	fs.Func("pos-weight", "weight of the positive term of the bce_logits loss, > 0 (default: the task's, e.g. 4 for dna-upstream, 10 for audio-tags; else 1)", func(s string) error {
		var v float64
		if _, err := fmt.Sscan(s, &v); err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		o.posWeight, o.posWeightSet = v, true
		return nil
	})
}

// apply returns the task with the chosen loss, metric and positive weight,
// or an error naming the flag, the problem and the allowed values.
func (o *objectiveFlags) apply(t *datasets.Task) (*datasets.Task, error) {
	if o.loss == "" && o.metric == "" && !o.posWeightSet {
		return t, nil
	}
	c := *t
	kind := t.Kind
	what := fmt.Sprintf("task %s has %s targets", t.Name, kind)
	if o.loss != "" {
		l := strings.ToLower(strings.TrimSpace(o.loss))
		if !slices.Contains(train.Losses, l) {
			return nil, fmt.Errorf("--loss %q: unknown loss (known: %s)", o.loss, strings.Join(train.Losses, ", "))
		}
		if ok := datasets.AllowedLosses(kind); !slices.Contains(ok, l) {
			return nil, fmt.Errorf("--loss %s does not fit: %s; allowed for them: %s", l, what, strings.Join(ok, ", "))
		}
		if l != t.Loss {
			c.PosWeight = 0 // the task's weight belongs to its own loss
		}
		c.Loss = l
	}
	if o.metric != "" {
		m, err := metrics.Canonical(strings.TrimSpace(o.metric))
		if err != nil {
			return nil, fmt.Errorf("--metric %q: unknown metric (known: %s)", o.metric, strings.Join(metrics.Names(), ", "))
		}
		if ok := datasets.AllowedMetrics(kind); !slices.Contains(ok, m) {
			return nil, fmt.Errorf("--metric %s does not fit: %s; allowed for them: %s", m, what, strings.Join(ok, ", "))
		}
		c.Metric = m
	}
	if o.posWeightSet {
		switch pw := o.posWeight; {
		case math.IsNaN(pw) || math.IsInf(pw, 0) || pw <= 0:
			return nil, fmt.Errorf("--pos-weight %v: want a finite number > 0 (1 weighs positives and negatives alike)", pw)
		case c.Loss != "bce_logits":
			return nil, fmt.Errorf("--pos-weight %g: only the bce_logits loss of multi-label targets has a positive weight; %s and trains with %s", pw, what, c.Loss)
		}
		c.PosWeight = o.posWeight
	}
	if err := datasets.CheckObjective(c.Kind, c.Loss, c.Metric, c.PosWeight); err != nil {
		return nil, fmt.Errorf("--loss/--metric/--pos-weight: %w", err)
	}
	return &c, nil
}

// backboneFits reports whether a backbone can take a task's inputs and
// produce its targets, with an error naming the flag and the backbones
// that would.
func backboneFits(flagName, bb string, t *datasets.Task) error {
	if !slices.Contains(nn.BackboneNames(), bb) {
		return fmt.Errorf("%s %q: unknown backbone (known: %s)", flagName, bb, strings.Join(nn.BackboneNames(), ", "))
	}
	var ok []string
	dense := t.Kind == datasets.DenseField
	switch {
	case t.Dims == 1 && dense:
		ok = []string{"resnet1d", "resnet1d-dense"}
	case t.Dims == 1:
		ok = []string{"resnet1d", "resnet1d-causal", "tcn"}
	case t.Dims == 2 && dense:
		ok = []string{"wrn", "wrn-dense"}
	case t.Dims == 2:
		ok = []string{"wrn", "convnext"}
	}
	if !slices.Contains(ok, bb) {
		return fmt.Errorf("%s %s does not fit task %s (%d-D inputs %v, %s targets); backbones that do: %s",
			flagName, bb, t.Name, t.Dims, t.InShape, t.Kind, strings.Join(ok, ", "))
	}
	return nil
}
