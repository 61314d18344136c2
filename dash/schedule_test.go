package dash

import (
	"context"
	"math"
	"strings"
	"testing"
)

// TestLRSchedule: a hyperparameter trial follows the retraining schedule
// compressed to its length (HPOSchedule "retrain", the default), or none
// ("constant"); retraining follows the milestones as they are.
func TestLRSchedule(t *testing.T) {
	demo := Budget{Name: "demo", HPOEpochs: 1, RetrainEpochs: 3, Milestones: []int{2}, Gamma: 0.2, HPOSchedule: HPOScheduleRetrain}
	six := demo
	six.RetrainEpochs, six.Milestones = 6, []int{4}
	paper := Budget{Name: "paper", HPOEpochs: 20, RetrainEpochs: 200, Milestones: []int{60, 120, 160}, Gamma: 0.2}
	constant := demo
	constant.HPOSchedule = HPOScheduleConstant
	noSteps := demo
	noSteps.Milestones = nil
	bad := demo
	bad.HPOSchedule = "cosine"
	badNoSteps := bad
	badNoSteps.Milestones = nil
	cases := []struct {
		name    string
		b       Budget
		stage   string
		epochs  int
		at      []float64 // positions in the training's epochs
		want    []float64 // learning-rate factors there; nil: no schedule
		wantErr string
	}{
		{"demo retraining", demo, "retrain", 3, []float64{0, 1.99, 2, 2.9}, []float64{1, 1, 0.2, 0.2}, ""},
		{"demo trial: ×0.2 after 2/3 of its steps", demo, "hpo", 1, []float64{0, 0.66, 0.67, 0.99}, []float64{1, 1, 0.2, 0.2}, ""},
		{"proxy as the trial", demo, "proxy", 1, []float64{0.5, 0.7}, []float64{1, 0.2}, ""},
		{"6 retraining epochs, step after 4", six, "hpo", 1, []float64{0.66, 0.67}, []float64{1, 0.2}, ""},
		{"paper: empty means retrain", paper, "hpo", 20, []float64{5.9, 6, 12, 16.5}, []float64{1, 0.2, 0.04, 0.008}, ""},
		{"constant", constant, "hpo", 1, nil, nil, ""},
		{"constant leaves retraining alone", constant, "retrain", 3, []float64{2}, []float64{0.2}, ""},
		{"no milestones", noSteps, "hpo", 1, nil, nil, ""},
		{"unknown schedule", bad, "hpo", 1, nil, nil, `hpo_schedule "cosine"`},
		{"unknown schedule, no milestones", badNoSteps, "retrain", 3, nil, nil, `hpo_schedule "cosine"`},
		{"unknown stage", demo, "search", 1, nil, nil, `unknown stage "search"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := c.b.lrSchedule(c.stage, c.epochs)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.want == nil {
				if s != nil {
					t.Fatalf("schedule %+v, want none", s)
				}
				return
			}
			if len(s) != 1 {
				t.Fatalf("%d schedules, want 1", len(s))
			}
			for i, e := range c.at {
				if got := s[0].Factor(e); math.Abs(got-c.want[i]) > 1e-6*c.want[i] { // Gamma is a float32
					t.Errorf("factor at %v: %v, want %v", e, got, c.want[i])
				}
			}
		})
	}
}

// TestHPOTrialFollowsSchedule: the schedule reaches the trial's training.
// The same trial under "retrain" and "constant" starts from the same
// weights and batches and differs only in its learning rate after 2/3 of
// the steps, so the training loss of its last step, and with it the
// epoch's mean, differs; the trial is also repeatable.
func TestHPOTrialFollowsSchedule(t *testing.T) {
	val := func(sched string) float64 {
		cfg := toyConfig(t, 192, 1) // 6 steps of 32: the last two at the decayed rate
		cfg.Budget.RetrainEpochs, cfg.Budget.Milestones = 3, []int{2}
		cfg.Budget.HPOEpochs, cfg.Budget.HPOFraction, cfg.Budget.HPOSchedule = 1, 1, sched
		if err := cfg.defaults(); err != nil {
			t.Fatal(err)
		}
		r, err := fit(context.Background(), cfg, "hpo", nil, HParams{LR: 0.1, Momentum: 0.9, WeightDecay: 5e-4}, 1, 1, false, "hpo", "")
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Curve) != 1 {
			t.Fatalf("%d epochs, want 1", len(r.Curve))
		}
		return r.Curve[0].Loss
	}
	a, b, c := val(HPOScheduleRetrain), val(HPOScheduleRetrain), val(HPOScheduleConstant)
	if a != b {
		t.Fatalf("the same trial gave training loss %v then %v", a, b)
	}
	if a == c {
		t.Fatalf("training loss %v with and without the decayed rate: the schedule did not reach the trial", a)
	}
}
