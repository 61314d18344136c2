// Package metrics computes evaluation metrics over a whole evaluation set:
// predictions are accumulated batch by batch (Accumulator) and the metric is
// computed once at the end, never averaged per batch.
package metrics

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Argmax returns the index of the first maximum of each row of a [n, c] matrix.
func Argmax(scores []float32, c int) []int32 {
	n := len(scores) / c
	out := make([]int32, n)
	for i := range n {
		row := scores[i*c : (i+1)*c]
		best := 0
		for j := 1; j < c; j++ {
			if row[j] > row[best] {
				best = j
			}
		}
		out[i] = int32(best)
	}
	return out
}

// Accuracy is the share of pred equal to labels (NaN for no samples).
func Accuracy(pred, labels []int32) float64 {
	if len(labels) == 0 {
		return math.NaN()
	}
	ok := 0
	for i, l := range labels {
		if pred[i] == l {
			ok++
		}
	}
	return float64(ok) / float64(len(labels))
}

// MacroF1 is the unweighted mean of the per-class F1 = 2TP/(2TP+FP+FN)
// over the classes that occur in labels or predictions (scikit-learn's
// f1_score(average="macro")).
func MacroF1(pred, labels []int32, classes int) float64 {
	tp := make([]int, classes)
	fp := make([]int, classes)
	fn := make([]int, classes)
	for i, l := range labels {
		p := pred[i]
		if p == l {
			tp[l]++
		} else {
			fp[p]++
			fn[l]++
		}
	}
	sum, n := 0.0, 0
	for c := range classes {
		d := 2*tp[c] + fp[c] + fn[c]
		if d == 0 {
			continue
		}
		sum += float64(2*tp[c]) / float64(d)
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// column extracts label j of an [n, L] matrix.
func column(m []float32, L, j int) []float32 {
	n := len(m) / L
	out := make([]float32, n)
	for i := range n {
		out[i] = m[i*L+j]
	}
	return out
}

// AUROC is the area under the ROC curve of scores against binary targets
// (> 0.5 is positive), with ties counted as half (the Mann–Whitney
// statistic). NaN when either class is absent.
func AUROC(scores, targets []float32) float64 {
	n := len(scores)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var pos, rankSum float64
	for i := 0; i < n; {
		j := i
		for j < n && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // average 1-based rank of the tie group
		for k := i; k < j; k++ {
			if targets[idx[k]] > 0.5 {
				pos++
				rankSum += mid
			}
		}
		i = j
	}
	neg := float64(n) - pos
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// AveragePrecision is Σ_k (R_k − R_{k−1})·P_k over decreasing score
// thresholds (ties form one threshold), as scikit-learn's
// average_precision_score. NaN when there is no positive.
func AveragePrecision(scores, targets []float32) float64 {
	n := len(scores)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	var P float64
	for _, t := range targets {
		if t > 0.5 {
			P++
		}
	}
	if P == 0 {
		return math.NaN()
	}
	var tp, fp, ap, prevR float64
	for i := 0; i < n; {
		j := i
		for j < n && scores[idx[j]] == scores[idx[i]] {
			if targets[idx[j]] > 0.5 {
				tp++
			} else {
				fp++
			}
			j++
		}
		r := tp / P
		ap += (r - prevR) * tp / (tp + fp)
		prevR = r
		i = j
	}
	return ap
}

// meanOverLabels averages f over the L label columns, skipping NaN.
func meanOverLabels(scores, targets []float32, L int, f func(s, t []float32) float64) float64 {
	sum, n := 0.0, 0
	for j := range L {
		v := f(column(scores, L, j), column(targets, L, j))
		if !math.IsNaN(v) {
			sum += v
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// MeanAUROC averages AUROC over the labels of [n, L] scores and targets
// (labels with a single class are skipped).
func MeanAUROC(scores, targets []float32, L int) float64 {
	return meanOverLabels(scores, targets, L, AUROC)
}

// MeanAP averages AveragePrecision over labels (labels without positives
// are skipped).
func MeanAP(scores, targets []float32, L int) float64 {
	return meanOverLabels(scores, targets, L, AveragePrecision)
}

// RelativeL2 is the mean over samples of ‖pred_i − target_i‖₂ / ‖target_i‖₂,
// each sample holding size values.
func RelativeL2(pred, target []float32, size int) float64 {
	n := len(pred) / size
	if n == 0 {
		return math.NaN()
	}
	sum := 0.0
	for i := range n {
		var num, den float64
		for k := i * size; k < (i+1)*size; k++ {
			d := float64(pred[k]) - float64(target[k])
			num += d * d
			den += float64(target[k]) * float64(target[k])
		}
		sum += math.Sqrt(num) / math.Sqrt(den)
	}
	return sum / float64(n)
}

// MAE is the mean absolute error.
func MAE(pred, target []float32) float64 {
	if len(pred) == 0 {
		return math.NaN()
	}
	s := 0.0
	for i := range pred {
		s += math.Abs(float64(pred[i]) - float64(target[i]))
	}
	return s / float64(len(pred))
}

// DistanceCutoff is the contact cutoff of the PSICOV-style metric mae8:
// pairs whose true distance is below it (8 Å) are scored.
const DistanceCutoff = 8

// MAEBelow is the mean absolute error over the elements whose target is
// below cutoff (NaN when there is none). With cutoff DistanceCutoff on
// de-normalised distance maps it is the PSICOV metric "MAE on pairs closer
// than 8 Å" (mae8). It is computed over the whole evaluation set: every
// close pair of every map counts once, so maps with many close pairs weigh
// more (a mean of per-map or per-batch means would not).
func MAEBelow(pred, target []float32, cutoff float64) float64 {
	s, n := 0.0, 0
	for i, t := range target {
		if float64(t) < cutoff {
			s += math.Abs(float64(pred[i]) - float64(t))
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// MultiLabelMacroF1 is the unweighted mean over labels of
// F1 = 2TP/(2TP+FP+FN) for [n, L] logits (a label is predicted when its
// logit is > 0, i.e. sigmoid > 0.5) against 0/1 targets; labels that never
// occur and are never predicted are skipped (scikit-learn's
// f1_score(average="macro") on the thresholded predictions).
func MultiLabelMacroF1(logits, targets []float32, L int) float64 {
	sum, n := 0.0, 0
	for j := range L {
		var tp, fp, fn int
		for i := j; i < len(logits); i += L {
			p, t := logits[i] > 0, targets[i] > 0.5
			switch {
			case p && t:
				tp++
			case p:
				fp++
			case t:
				fn++
			}
		}
		if d := 2*tp + fp + fn; d > 0 {
			sum += float64(2*tp) / float64(d)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// MSE is the mean squared error.
func MSE(pred, target []float32) float64 {
	if len(pred) == 0 {
		return math.NaN()
	}
	s := 0.0
	for i := range pred {
		d := float64(pred[i]) - float64(target[i])
		s += d * d
	}
	return s / float64(len(pred))
}

// FalseNegativeRate is FN/(FN+TP) for logits (positive when > 0) against
// binary targets; NaN without positives.
func FalseNegativeRate(logits, targets []float32) float64 {
	var tp, fn float64
	for i, t := range targets {
		if t > 0.5 {
			if logits[i] > 0 {
				tp++
			} else {
				fn++
			}
		}
	}
	if tp+fn == 0 {
		return math.NaN()
	}
	return fn / (tp + fn)
}

// Result is a metric value over an evaluation set.
type Result struct {
	Name  string  // canonical metric name
	Value float64 // the metric as usually reported (e.g. error, macro F1)
	// Score is the value to minimise for model selection (error, 1−F1,
	// 1−AUROC, 1−mAP, relative L2, ...).
	Score float64
	N     int // samples
}

// Names lists the metrics New accepts.
func Names() []string {
	return []string{"accuracy", "error", "macro_f1", "auroc", "map", "relative_l2", "mae", "mae8", "mse", "fnr"}
}

// canonical maps accepted spellings to the metric names.
var canonical = map[string]string{
	"accuracy": "accuracy", "acc": "accuracy",
	"error": "error", "err": "error", "error_rate": "error",
	"macro_f1": "macro_f1", "f1": "macro_f1", "1-f1": "macro_f1", "1-macro_f1": "macro_f1",
	"auroc": "auroc", "1-auroc": "auroc", "mean_auroc": "auroc", "auc": "auroc",
	"map": "map", "1-map": "map", "mean_ap": "map",
	"relative_l2": "relative_l2", "rel_l2": "relative_l2", "l2": "relative_l2",
	"mae": "mae", "mse": "mse",
	"mae8": "mae8", "mae_8": "mae8", "mae@8": "mae8",
	"fnr": "fnr", "false_negative_rate": "fnr",
}

// Accumulator collects a whole evaluation set's outputs and targets.
type Accumulator struct {
	Metric  string
	outSize int
	outputs []float32
	labels  []int32
	targets []float32
	n       int
}

// Canonical returns the canonical name of a metric (e.g. "f1" →
// "macro_f1", "1-auroc" → "auroc"), or an error listing the known names.
func Canonical(metric string) (string, error) {
	c, ok := canonical[strings.ToLower(metric)]
	if !ok {
		return "", fmt.Errorf("metrics: unknown metric %q (known: %s)", metric, strings.Join(Names(), ", "))
	}
	return c, nil
}

// Decoded reports whether a metric is computed on de-normalised outputs
// and targets (dense regression metrics in physical units).
func Decoded(metric string) bool {
	switch c, _ := Canonical(metric); c {
	case "relative_l2", "mae", "mae8", "mse":
		return true
	}
	return false
}

// New returns an accumulator for the named metric.
func New(metric string) (*Accumulator, error) {
	c, err := Canonical(metric)
	if err != nil {
		return nil, err
	}
	return &Accumulator{Metric: c}, nil
}

// Add appends a batch: outputs holds n·outSize values (logits, scores or
// predictions); labels (class tasks) or targets (multi-label / dense) hold
// the batch's targets.
func (a *Accumulator) Add(outputs []float32, n int, labels []int32, targets []float32) error {
	if n == 0 {
		return nil
	}
	if len(outputs)%n != 0 {
		return fmt.Errorf("metrics: %d outputs for %d samples", len(outputs), n)
	}
	s := len(outputs) / n
	if a.outSize != 0 && s != a.outSize {
		return fmt.Errorf("metrics: batch with %d outputs per sample after %d", s, a.outSize)
	}
	a.outSize = s
	switch {
	case a.Metric == "macro_f1" && labels == nil && targets != nil:
		// multi-label F1: 0/1 targets shaped like the logits
		if len(targets) != len(outputs) {
			return fmt.Errorf("metrics: multi-label macro_f1 needs targets shaped like the outputs: %d targets for %d outputs", len(targets), len(outputs))
		}
		if len(a.labels) > 0 {
			return fmt.Errorf("metrics: macro_f1: a multi-label batch after class-label batches")
		}
		a.targets = append(a.targets, targets...)
	case a.Metric == "accuracy" || a.Metric == "error" || a.Metric == "macro_f1":
		if len(a.targets) > 0 {
			return fmt.Errorf("metrics: macro_f1: a class-label batch after multi-label batches")
		}
		if len(labels) != n {
			return fmt.Errorf("metrics: %s needs %d class labels, have %d", a.Metric, n, len(labels))
		}
		a.labels = append(a.labels, labels...)
	default:
		if len(targets) != len(outputs) {
			return fmt.Errorf("metrics: %s needs targets shaped like the outputs: %d targets for %d outputs", a.Metric, len(targets), len(outputs))
		}
		a.targets = append(a.targets, targets...)
	}
	a.outputs = append(a.outputs, outputs...)
	a.n += n
	return nil
}

// HigherIsBetter reports whether a larger value of the metric (Result.Value)
// is better: accuracy, macro F1, AUROC and mAP. Scores are lower-better for
// every metric.
func HigherIsBetter(metric string) bool {
	switch metric {
	case "accuracy", "macro_f1", "auroc", "map":
		return true
	}
	return false
}

// Result computes the metric over everything added.
func (a *Accumulator) Result() Result {
	r := Result{Name: a.Metric, N: a.n}
	if a.n == 0 {
		r.Value, r.Score = math.NaN(), math.NaN()
		return r
	}
	switch a.Metric {
	case "accuracy", "error":
		acc := Accuracy(Argmax(a.outputs, a.outSize), a.labels)
		r.Value, r.Score = acc, 1-acc
		if a.Metric == "error" {
			r.Value = 1 - acc
		}
	case "macro_f1":
		var f float64
		if len(a.labels) == 0 {
			f = MultiLabelMacroF1(a.outputs, a.targets, a.outSize)
		} else {
			f = MacroF1(Argmax(a.outputs, a.outSize), a.labels, a.outSize)
		}
		r.Value, r.Score = f, 1-f
	case "auroc":
		v := MeanAUROC(a.outputs, a.targets, a.outSize)
		r.Value, r.Score = v, 1-v
	case "map":
		v := MeanAP(a.outputs, a.targets, a.outSize)
		r.Value, r.Score = v, 1-v
	case "relative_l2":
		r.Value = RelativeL2(a.outputs, a.targets, a.outSize)
		r.Score = r.Value
	case "mae":
		r.Value = MAE(a.outputs, a.targets)
		r.Score = r.Value
	case "mae8":
		r.Value = MAEBelow(a.outputs, a.targets, DistanceCutoff)
		r.Score = r.Value
	case "mse":
		r.Value = MSE(a.outputs, a.targets)
		r.Score = r.Value
	case "fnr":
		r.Value = FalseNegativeRate(a.outputs, a.targets)
		r.Score = r.Value
	}
	return r
}

// Reset forgets everything added.
func (a *Accumulator) Reset() {
	a.outputs, a.labels, a.targets, a.n, a.outSize = a.outputs[:0], a.labels[:0], a.targets[:0], 0, 0
}
