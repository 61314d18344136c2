package dash_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/internal/testdevice"
	"github.com/dash-go/dash/internal/tinyrun"
	"github.com/dash-go/dash/nn/metrics"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// Tiny runs shared by the tests of this file (each takes well under a
// second with the smoke budget).
var tinyCases = map[string]tinyrun.Options{
	"resnet1d": {Backbone: "resnet1d", Kind: datasets.ClassIndex, InShape: []int{2, 40}, Seed: 1},
	"causal":   {Backbone: "resnet1d-causal", Kind: datasets.MultiLabel, InShape: []int{1, 48}, Seed: 2},
	"dense":    {Backbone: "wrn", Kind: datasets.DenseField, InShape: []int{1, 10, 10}, N: 40, Pointwise: true, Seed: 3},
}

var (
	runsMu sync.Mutex
	runs   = map[string]*tinyrun.Run{}
	runDir string
)

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "dash-model-test")
	if err != nil {
		panic(err)
	}
	runDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// tiny returns the finished tiny run of a case, making it on first use.
func tiny(t testing.TB, name string) *tinyrun.Run {
	t.Helper()
	runsMu.Lock()
	defer runsMu.Unlock()
	if r, ok := runs[name]; ok {
		return r
	}
	be := cpu.New()
	defer be.Close()
	r, err := tinyrun.Make(context.Background(), filepath.Join(runDir, name), be, tinyCases[name])
	if err != nil {
		t.Fatalf("tiny run %s: %v", name, err)
	}
	runs[name] = r
	return r
}

func load(t *testing.T, dir string, be tensor.Backend) *dash.Model {
	t.Helper()
	m, err := dash.Load(dir, be)
	if err != nil {
		t.Fatalf("Load(%s): %v", dir, err)
	}
	t.Cleanup(m.Close)
	return m
}

// TestPredictReproducesTestScore applies the loaded network to the raw test
// inputs and recomputes the run's test metric from the predictions: the
// same number as the retraining reported proves that Load rebuilt the
// retrained network, its weights and its normaliser exactly.
func TestPredictReproducesTestScore(t *testing.T) {
	for _, name := range []string{"resnet1d", "causal", "dense"} {
		t.Run(name, func(t *testing.T) {
			r := tiny(t, name)
			be := cpu.New()
			defer be.Close()
			m := load(t, r.Dir, be)
			test := r.Split.Test
			p, err := m.Predict(dash.Array{Shape: append([]int{test.N}, test.XShape...), Data: r.RawTest})
			if err != nil {
				t.Fatal(err)
			}
			acc, err := metrics.New(r.Task.Metric)
			if err != nil {
				t.Fatal(err)
			}
			var targets []float32
			outs := p.Logits
			if test.Y != nil {
				targets = append([]float32(nil), test.Y...)
			}
			if p.Kind == "dense" {
				// the metric is on physical units: decoded outputs and targets
				outs = p.Values
				if err := r.Split.Norm.DecodeY(targets); err != nil {
					t.Fatal(err)
				}
			}
			if err := acc.Add(outs, test.N, test.Labels, targets); err != nil {
				t.Fatal(err)
			}
			got, want := acc.Result().Value, r.Metrics.Test.Value
			t.Logf("%s: test %s from Predict %.6g, from the run %.6g", name, r.Task.Metric, got, want)
			if math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
				t.Errorf("test %s from Predict = %.8g, the run reported %.8g", r.Task.Metric, got, want)
			}
			if n := len(p.Values); n != tensor.Numel(p.Shape) || n != len(p.Logits) {
				t.Errorf("prediction shape %v with %d values and %d logits", p.Shape, n, len(p.Logits))
			}
		})
	}
}

// TestPredictForms checks the task forms: probabilities that sum to 1 with
// argmax labels, sigmoid scores with 0/1 labels, fields in target units.
func TestPredictForms(t *testing.T) {
	be := cpu.New()
	defer be.Close()
	for _, name := range []string{"resnet1d", "causal", "dense"} {
		r := tiny(t, name)
		m := load(t, r.Dir, be)
		n := r.Split.Test.N
		p, err := m.Predict(dash.Array{Shape: append([]int{n}, m.InputShape()...), Data: r.RawTest})
		if err != nil {
			t.Fatal(err)
		}
		c := tensor.Numel(p.Shape[1:])
		switch name {
		case "resnet1d":
			for i := range n {
				var s float64
				best := 0
				for j := range c {
					s += float64(p.Values[i*c+j])
					if p.Logits[i*c+j] > p.Logits[i*c+best] {
						best = j
					}
				}
				if math.Abs(s-1) > 1e-5 || p.Labels[i] != int32(best) {
					t.Fatalf("sample %d: probabilities sum to %v, label %d, argmax %d", i, s, p.Labels[i], best)
				}
			}
		case "causal":
			for i, v := range p.Values {
				want := 1 / (1 + math.Exp(-float64(p.Logits[i])))
				if math.Abs(float64(v)-want) > 1e-6 || (v >= 0.5) != (p.Labels[i] == 1) {
					t.Fatalf("score %d = %v (label %d), want sigmoid %v", i, v, p.Labels[i], want)
				}
			}
		case "dense":
			dec := append([]float32(nil), p.Logits...)
			if err := r.Split.Norm.DecodeY(dec); err != nil {
				t.Fatal(err)
			}
			for i := range dec {
				if dec[i] != p.Values[i] {
					t.Fatalf("field value %d = %v, want the decoded output %v", i, p.Values[i], dec[i])
				}
			}
			if p.Labels != nil {
				t.Errorf("dense prediction has labels")
			}
		}
	}
}

// TestPredictBatching: the output does not depend on how the samples are
// batched (evaluation-mode batch norm), and [N, L] is taken for a
// one-channel 1-D run.
func TestPredictBatching(t *testing.T) {
	r := tiny(t, "causal")
	be := cpu.New()
	defer be.Close()
	m := load(t, r.Dir, be)
	n := r.Split.Test.N
	x := dash.Array{Shape: append([]int{n}, m.InputShape()...), Data: r.RawTest}
	var outs [][]float32
	for _, bs := range []int{1, 3, 1000} {
		m.BatchSize = bs
		p, err := m.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, p.Logits)
	}
	m.BatchSize = 5
	p, err := m.Predict(dash.Array{Shape: []int{n, m.InputShape()[1]}, Data: r.RawTest})
	if err != nil {
		t.Fatalf("[N, L] input for a one-channel run: %v", err)
	}
	outs = append(outs, p.Logits)
	for k := 1; k < len(outs); k++ {
		for i := range outs[0] {
			if d := math.Abs(float64(outs[k][i] - outs[0][i])); d > 1e-5 {
				t.Fatalf("variant %d: logit %d differs by %g from batch size 1", k, i, d)
			}
		}
	}
}

// TestPredictBadInput: shapes that do not match the run and non-finite
// values are errors naming the expected shape or the value.
func TestPredictBadInput(t *testing.T) {
	r := tiny(t, "resnet1d")
	be := cpu.New()
	defer be.Close()
	m := load(t, r.Dir, be)
	good := make([]float32, 3*2*40)
	nan := append([]float32(nil), good...)
	nan[100] = float32(math.NaN())
	for _, c := range []struct {
		name string
		x    dash.Array
		want string
	}{
		{"wrong length", dash.Array{Shape: []int{3, 2, 39}, Data: good[:3*2*39]}, "want [N 2 40]"},
		{"wrong channels", dash.Array{Shape: []int{3, 1, 80}, Data: good}, "want [N 2 40]"},
		{"2-D input to a 1-D run", dash.Array{Shape: []int{3, 2, 4, 10}, Data: good}, "want [N 2 40]"},
		{"missing sample axis", dash.Array{Shape: []int{2, 40}, Data: good[:80]}, "want [N 2 40]"},
		{"no samples", dash.Array{Shape: []int{0, 2, 40}}, "holds no samples"},
		{"data shorter than shape", dash.Array{Shape: []int{4, 2, 40}, Data: good}, "has 240 values, want 320"},
		{"NaN", dash.Array{Shape: []int{3, 2, 40}, Data: nan}, "sample 1"},
	} {
		_, err := m.Predict(c.x)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestInputScaleWarning: inputs in other units (×255) are flagged, inputs
// like the training data are not.
func TestInputScaleWarning(t *testing.T) {
	for _, name := range []string{"resnet1d", "dense"} {
		r := tiny(t, name)
		be := cpu.New()
		m := load(t, r.Dir, be)
		x := dash.Array{Shape: append([]int{r.Split.Test.N}, m.InputShape()...), Data: r.RawTest}
		if w := m.InputScaleWarning(x); w != "" {
			t.Errorf("%s: warning for inputs like the training data: %s", name, w)
		}
		big := make([]float32, len(r.RawTest))
		for i, v := range r.RawTest {
			big[i] = 255 * v
		}
		if w := m.InputScaleWarning(dash.Array{Shape: x.Shape, Data: big}); !strings.Contains(w, "look unlike") {
			t.Errorf("%s: no warning for inputs ×255: %q", name, w)
		}
		be.Close()
	}
}

// copyRun copies the files of a run directory (not subdirectories).
func copyRun(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	es, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestLoadErrors: a run that is not retrained, corrupt or truncated
// weights, weights of another network, a missing model.json for a task
// that is not built in and a directory that is no run are clear errors.
func TestLoadErrors(t *testing.T) {
	r := tiny(t, "resnet1d")
	be := cpu.New()
	defer be.Close()
	w := func(dir string) string { return filepath.Join(dir, dash.WeightsFile) }
	cases := []struct {
		name  string
		setup func(dir string) error
		want  []string
		is    error
	}{
		{"not retrained", func(dir string) error { return os.Remove(w(dir)) },
			[]string{"not retrained yet", "dash retrain --out"}, dash.ErrNotRetrained},
		{"corrupt weights", func(dir string) error {
			b, err := os.ReadFile(w(dir))
			if err != nil {
				return err
			}
			b[len(b)-7] ^= 0x40 // one bit of a weight
			return os.WriteFile(w(dir), b, 0o644)
		}, []string{"weights of", dash.WeightsFile, "corrupt"}, nil},
		{"truncated weights", func(dir string) error {
			b, err := os.ReadFile(w(dir))
			if err != nil {
				return err
			}
			return os.WriteFile(w(dir), b[:len(b)/2], 0o644)
		}, []string{"weights of", dash.WeightsFile}, nil},
		{"weights of another network", func(dir string) error {
			b, err := os.ReadFile(w(tiny(t, "causal").Dir))
			if err != nil {
				return err
			}
			return os.WriteFile(w(dir), b, 0o644)
		}, []string{"does not match the model"}, nil},
		{"no model.json, task not built in", func(dir string) error { return os.Remove(filepath.Join(dir, dash.ModelFile)) },
			[]string{dash.ModelFile, "not built in"}, nil},
		{"not a run directory", func(dir string) error { return os.Remove(filepath.Join(dir, dash.ArchitectureFile)) },
			[]string{"not a run directory"}, nil},
		{"architecture of another network", func(dir string) error {
			p := filepath.Join(dir, dash.ArchitectureFile)
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, bytes.ReplaceAll(b, []byte(`"block0.conv1"`), []byte(`"block7.conv1"`)), 0o644)
		}, []string{dash.ArchitectureFile, "block7.conv1"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyRun(t, r.Dir)
			if err := c.setup(dir); err != nil {
				t.Fatal(err)
			}
			m, err := dash.Load(dir, be)
			if err == nil {
				m.Close()
				t.Fatal("Load succeeded")
			}
			t.Logf("error: %v", err)
			for _, s := range c.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v is not %v", err, c.is)
			}
		})
	}
	if _, err := dash.Load(filepath.Join(t.TempDir(), "nothing"), be); err == nil || !strings.Contains(err.Error(), "run directory") {
		t.Errorf("missing directory: %v", err)
	}
}

// TestPredictVulkanMatchesCPU: the same run predicts the same on Vulkan.
func TestPredictVulkanMatchesCPU(t *testing.T) {
	vk := testdevice.Vulkan(t)
	be := cpu.New()
	defer be.Close()
	for _, name := range []string{"causal", "dense"} {
		r := tiny(t, name)
		x := dash.Array{Shape: append([]int{r.Split.Test.N}, r.Task.InShape...), Data: r.RawTest}
		pc, err := load(t, r.Dir, be).Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		mv := load(t, r.Dir, vk)
		mv.BatchSize = 3
		pv, err := mv.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		var scale, diff float64
		for i := range pc.Values {
			scale = math.Max(scale, math.Abs(float64(pc.Values[i])))
			diff = math.Max(diff, math.Abs(float64(pc.Values[i]-pv.Values[i])))
		}
		t.Logf("%s: max |Vulkan − CPU| = %.3g (output scale %.3g)", name, diff, scale)
		if diff > 1e-4*math.Max(scale, 1e-3) {
			t.Errorf("%s: Vulkan differs from CPU by %g (scale %g)", name, diff, scale)
		}
	}
}

// BenchmarkPredict measures Predict (normalisation, batched forward
// passes, softmax) on 256 samples of the tiny 1-D run.
func BenchmarkPredict(b *testing.B) {
	r := tiny(b, "resnet1d")
	be := cpu.New()
	defer be.Close()
	m, err := dash.Load(r.Dir, be)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	n := 256
	x := dash.Array{Shape: append([]int{n}, m.InputShape()...), Data: tinyrun.Data(5, n, m.InputShape())}
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Predict(x); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}
