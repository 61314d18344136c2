package main

import (
	"strings"
	"testing"

	"github.com/dash-go/dash/datasets"
)

func TestObjectiveFlags(t *testing.T) {
	ml := &datasets.Task{Name: "ml", Dims: 1, InShape: []int{4, 100}, Kind: datasets.MultiLabel, Classes: 5, Loss: "bce_logits", Metric: "auroc", PosWeight: 4}
	dense := &datasets.Task{Name: "d", Dims: 1, InShape: []int{1, 64}, Kind: datasets.DenseField, OutShape: []int{1, 64}, Loss: "relative_l2", Metric: "relative_l2"}
	for _, tc := range []struct {
		name               string
		task               *datasets.Task
		o                  objectiveFlags
		loss, metric, errs string
		pw                 float64
	}{
		{"none", ml, objectiveFlags{}, "bce_logits", "auroc", "", 4},
		{"metric alias", ml, objectiveFlags{metric: "1-mAP"}, "bce_logits", "map", "", 4},
		{"pos weight", ml, objectiveFlags{posWeight: 10, posWeightSet: true}, "bce_logits", "auroc", "", 10},
		{"mse", dense, objectiveFlags{loss: "MSE", metric: "mae8"}, "mse", "mae8", "", 0},
		{"zero pos weight", ml, objectiveFlags{posWeight: 0, posWeightSet: true}, "", "", "--pos-weight 0", 0},
		{"dense pos weight", dense, objectiveFlags{posWeight: 2, posWeightSet: true}, "", "", "--pos-weight 2", 0},
		{"dense ce", dense, objectiveFlags{loss: "cross_entropy"}, "", "", "--loss cross_entropy does not fit: task d has dense targets; allowed for them: relative_l2, mse", 0},
		{"multilabel mae", ml, objectiveFlags{metric: "mae"}, "", "", "--metric mae does not fit", 0},
		{"unknown loss", ml, objectiveFlags{loss: "hinge"}, "", "", `--loss "hinge": unknown loss (known: cross_entropy, bce_logits, mse, relative_l2)`, 0},
	} {
		got, err := tc.o.apply(tc.task)
		if tc.errs != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errs) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.errs)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.Loss != tc.loss || got.Metric != tc.metric || got.PosWeight != tc.pw {
			t.Errorf("%s: %s/%s/%g, want %s/%s/%g", tc.name, got.Loss, got.Metric, got.PosWeight, tc.loss, tc.metric, tc.pw)
		}
		if got != tc.task && tc.task.Metric == got.Metric && tc.task.Loss == got.Loss && tc.task.PosWeight == got.PosWeight && tc.name != "none" && tc.name != "metric alias" {
			t.Errorf("%s: copied the task for nothing", tc.name)
		}
	}
	if ml.Metric != "auroc" || ml.PosWeight != 4 || dense.Loss != "relative_l2" {
		t.Error("apply changed the registered task")
	}
}

func TestBackboneFits(t *testing.T) {
	tasks := map[string]*datasets.Task{
		"1d-point": {Name: "a", Dims: 1, InShape: []int{1, 784}, Kind: datasets.ClassIndex},
		"1d-dense": {Name: "b", Dims: 1, InShape: []int{1, 1024}, Kind: datasets.DenseField},
		"2d-point": {Name: "c", Dims: 2, InShape: []int{3, 32, 32}, Kind: datasets.MultiLabel},
		"2d-dense": {Name: "d", Dims: 2, InShape: []int{3, 85, 85}, Kind: datasets.DenseField},
	}
	fits := map[string][]string{
		"1d-point": {"resnet1d", "resnet1d-causal", "tcn"},
		"1d-dense": {"resnet1d", "resnet1d-dense"},
		"2d-point": {"wrn", "convnext"},
		"2d-dense": {"wrn", "wrn-dense"},
	}
	for k, task := range tasks {
		for _, bb := range []string{"convnext", "resnet1d", "resnet1d-causal", "resnet1d-dense", "tcn", "wrn", "wrn-dense"} {
			err := backboneFits("--backbone", bb, task)
			want := false
			for _, f := range fits[k] {
				want = want || f == bb
			}
			if (err == nil) != want {
				t.Errorf("%s on %s: %v", bb, k, err)
			}
		}
	}
	if err := backboneFits("--retrain-backbone", "lstm", tasks["1d-point"]); err == nil || !strings.Contains(err.Error(), "--retrain-backbone") {
		t.Errorf("unknown backbone: %v", err)
	}
}
