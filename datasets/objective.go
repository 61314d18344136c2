package datasets

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Losses and metrics each target kind can take (canonical names; nn/train
// and nn/metrics accept them, and their tests check that they do).
var (
	kindLosses = map[TargetKind][]string{
		ClassIndex: {"cross_entropy"},
		MultiLabel: {"bce_logits"},
		DenseField: {"relative_l2", "mse"},
	}
	kindMetrics = map[TargetKind][]string{
		ClassIndex: {"error", "accuracy", "macro_f1"},
		MultiLabel: {"map", "auroc", "macro_f1", "fnr"},
		DenseField: {"relative_l2", "mse", "mae", "mae8"},
	}
)

// AllowedLosses lists the losses a target kind can be trained with, the
// default (what users' data gets when --loss is not given) first.
func AllowedLosses(k TargetKind) []string { return slices.Clone(kindLosses[k]) }

// AllowedMetrics lists the metrics a target kind can be scored with, the
// default first.
func AllowedMetrics(k TargetKind) []string { return slices.Clone(kindMetrics[k]) }

// CheckObjective reports whether a loss, metric and BCE positive weight
// fit a target kind, with an error naming the bad choice and the allowed
// values. posWeight 0 means "not set".
func CheckObjective(k TargetKind, loss, metric string, posWeight float64) error {
	ls, ms := kindLosses[k], kindMetrics[k]
	if ls == nil {
		return fmt.Errorf("datasets: unknown target kind %v", k)
	}
	if !slices.Contains(ls, loss) {
		return fmt.Errorf("datasets: loss %q does not fit %s targets (allowed: %s)", loss, k, strings.Join(ls, ", "))
	}
	if !slices.Contains(ms, metric) {
		return fmt.Errorf("datasets: metric %q does not fit %s targets (allowed: %s)", metric, k, strings.Join(ms, ", "))
	}
	switch {
	case math.IsNaN(posWeight) || math.IsInf(posWeight, 0) || posWeight < 0:
		return fmt.Errorf("datasets: positive weight %v: want a finite value > 0", posWeight)
	case posWeight != 0 && loss != "bce_logits":
		return fmt.Errorf("datasets: a positive weight (%g) only applies to the bce_logits loss of multi-label targets, not to %s", posWeight, loss)
	}
	return nil
}
