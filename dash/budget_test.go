package dash

import (
	"slices"
	"strings"
	"testing"
)

func TestBudgetOverride(t *testing.T) {
	demo := Budget{Name: "demo", TrainLimit: 4000, BatchSize: 32, SearchEpochs: 3, RetrainEpochs: 3, Milestones: []int{2}}
	paper := Budget{Name: "paper", BatchSize: 64, SearchEpochs: 100, RetrainEpochs: 200, Milestones: []int{60, 120, 160}}
	cases := []struct {
		name    string
		b       Budget
		o       BudgetOverrides
		want    Budget
		wantErr string
	}{
		{"nothing", demo, BudgetOverrides{}, demo, ""},
		{"sizes", demo, BudgetOverrides{TrainLimit: 12000, SearchEpochs: 5, RetrainEpochs: 6},
			Budget{Name: "demo", TrainLimit: 12000, BatchSize: 32, SearchEpochs: 5, RetrainEpochs: 6, Milestones: []int{4}}, ""},
		{"one epoch drops the milestone", demo, BudgetOverrides{RetrainEpochs: 1},
			Budget{Name: "demo", TrainLimit: 4000, BatchSize: 32, SearchEpochs: 3, RetrainEpochs: 1}, ""},
		{"two epochs", demo, BudgetOverrides{RetrainEpochs: 2},
			Budget{Name: "demo", TrainLimit: 4000, BatchSize: 32, SearchEpochs: 3, RetrainEpochs: 2, Milestones: []int{1}}, ""},
		{"paper to 20 epochs", paper, BudgetOverrides{RetrainEpochs: 20},
			Budget{Name: "paper", BatchSize: 64, SearchEpochs: 100, RetrainEpochs: 20, Milestones: []int{6, 12, 16}}, ""},
		{"paper to 3 epochs merges milestones", paper, BudgetOverrides{RetrainEpochs: 3},
			Budget{Name: "paper", BatchSize: 64, SearchEpochs: 100, RetrainEpochs: 3, Milestones: []int{1, 2}}, ""},
		{"constant trial schedule", demo, BudgetOverrides{HPOSchedule: HPOScheduleConstant},
			Budget{Name: "demo", TrainLimit: 4000, BatchSize: 32, SearchEpochs: 3, RetrainEpochs: 3, Milestones: []int{2}, HPOSchedule: HPOScheduleConstant}, ""},
		{"unknown trial schedule", demo, BudgetOverrides{HPOSchedule: "cosine"}, Budget{}, `--hpo-schedule "cosine": want retrain or constant`},
		{"negative", demo, BudgetOverrides{SearchEpochs: -1}, Budget{}, "--search-epochs -1"},
		{"below a batch", demo, BudgetOverrides{TrainLimit: 31}, Budget{}, "--train-limit 31: below one batch (32 samples)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.b
			b.Milestones = slices.Clone(c.b.Milestones)
			err := b.Override(c.o)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.TrainLimit != c.want.TrainLimit || b.SearchEpochs != c.want.SearchEpochs || b.RetrainEpochs != c.want.RetrainEpochs || !slices.Equal(b.Milestones, c.want.Milestones) || b.HPOSchedule != c.want.HPOSchedule {
				t.Fatalf("got %+v, want %+v", b, c.want)
			}
		})
	}
}
