package tests

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/internal/testenv"
	"github.com/dash-go/dash/tensor/cpu"
)

// smokeLimits caps the data each task's smoke run loads (or generates):
// the training pool (validation carved from it) and the test split. Darcy
// solves each sample on a 421² grid (seconds each), so it gets fewer.
func smokeLimits(name string) (pool, test int) {
	if name == "darcy" {
		return 12, 4
	}
	return 24, 16
}

// TestEveryTaskSmoke runs the whole pipeline — search, each network's
// hyperparameter stage, retraining of the searched network, the baseline
// and one random architecture, the report — on every registered task (the
// Go equivalent of `dash run --task T --budget smoke` with the data cut to
// a few dozen samples), and checks that it ends with a finite test metric
// of the task's kind and writes its report. Tasks whose data is missing
// fail under DASH_REQUIRE_DATA=1 (CI), naming the data and the package.
func TestEveryTaskSmoke(t *testing.T) {
	tasks := datasets.Tasks()
	if len(tasks) == 0 {
		t.Fatal("no registered tasks")
	}
	for _, task := range tasks {
		t.Run(task.Name, func(t *testing.T) {
			if task.Present != nil && !task.Synthetic {
				if ok, why := task.Present(); !ok {
					if os.Getenv("DASH_REQUIRE_DATA") != "" {
						t.Fatalf("task %s: data missing: %s (DASH_REQUIRE_DATA is set)", task.Name, why)
					}
					testenv.Skip(t, "task %s: data missing: %s", task.Name, why)
				}
			}
			t0 := time.Now()
			pool, test := smokeLimits(task.Name)
			split, err := task.Load(context.Background(), datasets.LoadOptions{Seed: 1, Limit: pool, TestLimit: test})
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			load := time.Since(t0)
			b, err := dash.Budgets("smoke", task)
			if err != nil {
				t.Fatal(err)
			}
			b.Random, b.LRs = 1, b.LRs[:1]
			b.Width, b.SearchWidth, b.BatchSize = 1, 1, 8
			dir := filepath.Join(t.TempDir(), "run")
			cfg := dash.Config{Task: task, Split: split, Backend: cpu.Default(), Budget: b, Seed: 1, OutDir: dir}
			m, err := dash.Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("dash run --task %s --budget smoke: %v", task.Name, err)
			}
			if m.Test.Metric != task.Metric {
				t.Errorf("test metric %q, want the task's %q", m.Test.Metric, task.Metric)
			}
			if len(m.Networks) != 3 {
				t.Errorf("%d networks, want searched, baseline and 1 random", len(m.Networks))
			}
			for _, n := range m.Networks {
				if v := n.Test.Value; math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("%s: test %s = %v, not finite", n.Label, n.Test.Metric, v)
				}
			}
			for _, f := range []string{"report.md", "metrics.json", "architecture.json", "weights.safetensors", "model.json"} {
				if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
					t.Errorf("the run wrote no %s (%v)", f, err)
				}
			}
			if task.Kind == datasets.MultiLabel {
				// eval's test loss is the run's: BCE with the task's pos_weight
				var arch dash.Architecture
				var hp dash.HParams
				if err := dash.ReadJSON(filepath.Join(dir, "architecture.json"), &arch); err != nil {
					t.Fatal(err)
				}
				if err := dash.ReadJSON(filepath.Join(dir, "hparams.json"), &hp); err != nil {
					t.Fatal(err)
				}
				e, err := dash.Evaluate(context.Background(), cfg, &arch, hp, filepath.Join(dir, "weights.safetensors"))
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(e.Loss-m.Test.Loss) > 1e-6*math.Abs(m.Test.Loss) || e.Value != m.Test.Value {
					t.Errorf("eval of the saved weights: loss %v, %s %v; the run reported loss %v, %v (pos_weight %v)",
						e.Loss, e.Metric, e.Value, m.Test.Loss, m.Test.Value, task.PosWeight)
				}
			}
			rep, _ := os.ReadFile(filepath.Join(dir, "report.md"))
			if !strings.Contains(string(rep), task.Name) {
				t.Errorf("report.md does not name the task")
			}
			t.Logf("%s: test %s %.4g (baseline %.4g), load %.1fs, run %.1fs", task.Name, m.Test.Metric, m.Test.Value, m.Baseline.Value,
				load.Seconds(), time.Since(t0).Seconds()-load.Seconds())
		})
	}
}

// npyF4 encodes float32 values as a .npy array of the given shape.
func npyF4(shape string, v []float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return npyBytes("<f4", shape, b)
}

// TestCLIObjectiveFlags runs `dash run --data` with --loss, --metric and
// --pos-weight on users' multi-label and 1-D dense data, and checks that
// the run scores with the chosen metric; wrong choices fail naming the
// flag and the allowed values.
func TestCLIObjectiveFlags(t *testing.T) {
	dir := t.TempDir()
	const n, l, labels = 64, 32, 3
	r := rand.New(rand.NewPCG(5, 9))
	x := make([]float32, n*l)
	ml := make([]float32, n*labels)
	dense := make([]float32, n*l)
	for i := range n {
		for j := range l {
			x[i*l+j] = float32(r.NormFloat64())
		}
		for c := range labels {
			if x[i*l+4*c]+x[i*l+4*c+1] > 0 {
				ml[i*labels+c] = 1
			}
		}
		for j := range l {
			dense[i*l+j] = 5 + x[i*l+j] + 0.5*x[i*l+(j+1)%l]
		}
	}
	xs := npyF4(fmt.Sprintf("(%d, 1, %d)", n, l), x)
	mlPath, densePath := filepath.Join(dir, "ml.npz"), filepath.Join(dir, "dense.npz")
	writeZip(t, mlPath, map[string][]byte{"X.npy": xs, "y.npy": npyF4(fmt.Sprintf("(%d, %d)", n, labels), ml)})
	writeZip(t, densePath, map[string][]byte{"X.npy": xs, "y.npy": npyF4(fmt.Sprintf("(%d, %d)", n, l), dense)})
	classPath := filepath.Join(dir, "class.npz")
	writeClassNPZ(t, classPath, 64, 3, nil)
	for _, tc := range []struct {
		name   string
		args   []string
		metric string // metrics.json test metric; "" = must fail
		errs   []string
	}{
		{"multilabel defaults", []string{"--data", mlPath}, "map", nil},
		{"multilabel auroc pos-weight", []string{"--data", mlPath, "--metric", "1-auroc", "--pos-weight", "4"}, "auroc", nil},
		{"multilabel f1", []string{"--data", mlPath, "--metric", "f1"}, "macro_f1", nil},
		{"dense defaults", []string{"--data", densePath}, "relative_l2", nil},
		{"dense mse", []string{"--data", densePath, "--loss", "mse", "--metric", "mae"}, "mae", nil},
		{"class macro f1", []string{"--data", classPath, "--metric", "macro_f1"}, "macro_f1", nil},
		{"class mse", []string{"--data", classPath, "--loss", "mse"}, "", []string{"--loss mse", "class", "cross_entropy"}},
		{"dense auroc", []string{"--data", densePath, "--metric", "auroc"}, "", []string{"--metric auroc", "dense", "relative_l2, mse, mae, mae8"}},
		{"dense pos-weight", []string{"--data", densePath, "--pos-weight", "4"}, "", []string{"--pos-weight", "bce_logits"}},
		{"unknown metric", []string{"--data", mlPath, "--metric", "bleu"}, "", []string{"--metric", "bleu", "mae8"}},
		{"negative pos-weight", []string{"--data", mlPath, "--pos-weight", "-2"}, "", []string{"--pos-weight -2", "> 0"}},
		{"built-in task", []string{"--task", "mnist", "--metric", "mae8"}, "", []string{"--metric mae8", "task mnist", "error, accuracy, macro_f1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			args := append([]string{"run", "--budget", "smoke", "--random", "0", "--kernels", "3,5", "--dilations", "1,2", "--out", out}, tc.args...)
			msg, err := runDash(t, dir, args...)
			if tc.metric == "" {
				if err == nil {
					t.Fatalf("dash %v succeeded", args)
				}
				for _, w := range tc.errs {
					if !strings.Contains(msg, w) {
						t.Errorf("error lacks %q:\n%s", w, msg)
					}
				}
				if strings.Contains(msg, "panic") {
					t.Errorf("panic:\n%s", msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("dash %v: %v\n%s", args, err, msg)
			}
			var m dash.Metrics
			if err := dash.ReadJSON(filepath.Join(out, "metrics.json"), &m); err != nil {
				t.Fatal(err)
			}
			if m.Test.Metric != tc.metric || math.IsNaN(m.Test.Value) || math.IsInf(m.Test.Value, 0) {
				t.Errorf("test %s = %v, want a finite %s", m.Test.Metric, m.Test.Value, tc.metric)
			}
		})
	}
}
