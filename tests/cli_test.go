package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sbinet/npyio/npz"

	"github.com/dash-go/dash/dash"
	"gonum.org/v1/gonum/mat"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// dashBinary builds cmd/dash once per test run.
func dashBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dash-cli")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "dash")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/dash").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building cmd/dash: %v", buildErr)
	}
	return binPath
}

func runDash(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(dashBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DASH_DEVICE=cpu")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestCLIHelpAndLists(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"help"}, []string{"dash run", "dash bench", "dash devices", "--resume", "Examples"}},
		{[]string{"data", "list"}, []string{"mnist", "mnist-perm", "mnist-2d", "fashion-2d", "darcy"}},
		{[]string{"devices"}, []string{"A run would use: cpu"}},
		{[]string{"run", "--help"}, []string{"-task", "-data", "-device", "-kernels", "-dilations", "-budget", "-seed", "-out", "-resume", "-random", "-seeds", "-backbone", "-alpha-warmup"}},
		{[]string{"bench", "--help"}, []string{"-json", "-device"}},
	}
	for _, c := range cases {
		out, err := runDash(t, dir, c.args...)
		if err != nil {
			t.Fatalf("dash %v: %v\n%s", c.args, err, out)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("dash %v output lacks %q:\n%s", c.args, w, out)
			}
		}
	}
}

func TestCLIBadInputNamesTheProblem(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--task", "nope"}, "nope"},
		{[]string{"run", "--budget", "huge"}, "huge"},
		{[]string{"run", "--kernels", "3,-1"}, "-1"},
		{[]string{"run", "--dilations", "x"}, "x"},
		{[]string{"run", "--device", "tpu"}, "tpu"},
		{[]string{"run", "--data", filepath.Join(dir, "missing.npz")}, "missing.npz"},
		{[]string{"hpo"}, "--out"},
		{[]string{"run", "--seeds", "0"}, "--seeds"},
		{[]string{"summary"}, "--out"},
		{[]string{"summary", "--out", dir}, "seed-*"},
		{[]string{"run", "--backbone", "vgg"}, "vgg"},
		{[]string{"run", "--budget", "smoke", "--retrain-epochs", "-2"}, "--retrain-epochs -2"},
		{[]string{"run", "--budget", "smoke", "--train-limit", "5"}, "--train-limit 5: below one batch"},
		{[]string{"run", "--budget", "smoke", "--hpo-schedule", "linear"}, `--hpo-schedule "linear"`},
		{[]string{"frobnicate"}, "frobnicate"},
	}
	for _, c := range cases {
		out, err := runDash(t, dir, c.args...)
		if err == nil {
			t.Errorf("dash %v succeeded, want an error", c.args)
			continue
		}
		if !strings.Contains(out, c.want) {
			t.Errorf("dash %v error does not name %q:\n%s", c.args, c.want, out)
		}
		if strings.Contains(out, "panic") || strings.Contains(out, "goroutine") {
			t.Errorf("dash %v panicked:\n%s", c.args, out)
		}
	}
}

// A user's own .npz (1-D, 3 classes) goes through the whole pipeline.
func TestCLIRunOnUsersFile(t *testing.T) {
	dir := t.TempDir()
	const n, l = 240, 64
	x := make([]float64, n*l)
	y := make([]int64, n)
	for i := 0; i < n; i++ {
		y[i] = int64(i % 3)
		for j := 0; j < l; j++ {
			// class-dependent frequency, so the task is learnable
			v := float64((j*(int(y[i])+1))%7) / 7
			x[i*l+j] = v + float64((i*31+j*17)%11)/50
		}
	}
	path := filepath.Join(dir, "mine.npz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := npz.NewWriter(f)
	if err := w.Write("X", mat.NewDense(n, l, x)); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("y", y); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := runDash(t, dir, "run", "--data", path, "--budget", "smoke", "--kernels", "3,5", "--dilations", "1,2", "--out", filepath.Join(dir, "run"),
		"--train-limit", "160", "--retrain-epochs", "2", "--hpo-schedule", "constant")
	if err != nil {
		t.Fatalf("dash run --data: %v\n%s", err, out)
	}
	for _, w := range []string{"test accuracy: DASH", "random-1", "beat", "α:"} {
		if !strings.Contains(out, w) {
			t.Fatalf("summary lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "0000000") {
		t.Errorf("output prints a widened float32:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "run", "report.md")); err != nil {
		t.Fatal(err)
	}
	// --train-limit, --retrain-epochs and --hpo-schedule reach the run
	var fp struct {
		Budget dash.Budget `json:"budget"`
	}
	var m struct {
		Curve []dash.EpochStat `json:"retrain_curve"`
	}
	if err := dash.ReadJSON(filepath.Join(dir, "run", dash.FingerprintFile), &fp); err != nil {
		t.Fatal(err)
	}
	if err := dash.ReadJSON(filepath.Join(dir, "run", "metrics.json"), &m); err != nil {
		t.Fatal(err)
	}
	if fp.Budget.TrainLimit != 160 || fp.Budget.RetrainEpochs != 2 || len(m.Curve) != 2 || fp.Budget.HPOSchedule != dash.HPOScheduleConstant {
		t.Fatalf("budget %+v, %d retraining epochs; want train_limit 160, 2 epochs and hpo_schedule constant", fp.Budget, len(m.Curve))
	}
}
