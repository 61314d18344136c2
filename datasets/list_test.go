package datasets

import (
	"strings"
	"testing"
)

// TestTasksDescribed checks that every registered task says what it is,
// where its data comes from and under which licence (`dash data list`),
// and has a loss and a metric its target kind can take.
func TestTasksDescribed(t *testing.T) {
	for _, task := range Tasks() {
		t.Run(task.Name, func(t *testing.T) {
			for field, v := range map[string]string{"Family": task.Family, "Licence": task.Licence, "Source": task.Source, "Description": task.Description} {
				if strings.TrimSpace(v) == "" {
					t.Errorf("task %s has no %s", task.Name, field)
				}
			}
			if task.TrainSize <= 0 || task.TestSize <= 0 {
				t.Errorf("task %s: sizes %d/%d", task.Name, task.TrainSize, task.TestSize)
			}
			if err := CheckObjective(task.Kind, task.Loss, task.Metric, task.PosWeight); err != nil {
				t.Errorf("task %s: %v", task.Name, err)
			}
			status, msg := DataStatus(task)
			if status == "MISSING" && msg == "" {
				t.Errorf("task %s: data missing without saying why", task.Name)
			}
		})
	}
}
