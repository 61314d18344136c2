// Package onnxrt_test checks 'dash export' with a real ONNX runtime: tiny
// runs of a 1-D, a causal 1-D, a 2-D, a dense and a TCN network are
// exported, run by onnxruntime-node (compare.js, Node.js) on fixed inputs
// and compared with 'dash predict' on the same inputs; Debian's
// python3-onnx checker must accept every file.
//
// Setup (CI does it): apt-get install nodejs npm python3-onnx, then
//
//	cd tests/onnx && ONNXRUNTIME_NODE_INSTALL=skip npm ci
//
// Without node_modules or python3-onnx the tests skip, unless
// DASH_REQUIRE_ONNX=1 makes that a failure.
package onnxrt_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/internal/testenv"
	"github.com/dash-go/dash/internal/tinyrun"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
)

// tolerance is the largest |onnxruntime − dash predict| allowed, relative
// to the output's scale (max |value|).
const tolerance = 1e-4

const python = "/usr/bin/python3"

// tools skips (or, with DASH_REQUIRE_ONNX=1, fails) without Node.js,
// onnxruntime-node or python3-onnx.
func tools(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node (apt-get install nodejs)")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "onnxruntime-node", "package.json")); err != nil {
		missing = append(missing, "onnxruntime-node (cd tests/onnx && ONNXRUNTIME_NODE_INSTALL=skip npm ci)")
	}
	if err := exec.Command(python, "-c", "import onnx.checker").Run(); err != nil {
		missing = append(missing, "python3-onnx (apt-get install python3-onnx)")
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("DASH_REQUIRE_ONNX") == "1" {
		t.Fatalf("DASH_REQUIRE_ONNX=1 but missing: %s", strings.Join(missing, "; "))
	}
	testenv.Skip(t, "missing %s", strings.Join(missing, "; "))
}

// dashBinary builds cmd/dash once per test binary.
func dashBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(binDir, "dash")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	out, err := exec.Command("go", "build", "-o", bin, "github.com/dash-go/dash/cmd/dash").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/dash: %v\n%s", err, out)
	}
	return bin
}

var binDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "dash-onnx-bin")
	if err != nil {
		panic(err)
	}
	binDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// cliRun makes a tiny run through 'dash run --data' on a generated .npz
// (a 1-D classification task, ResNet1D).
func cliRun(t *testing.T, bin, dir string) []int {
	shape := []int{2, 40}
	n := 64
	x := tinyrun.Data(11, n, shape)
	y := make([]int32, n)
	for i := range y {
		var s float32
		for _, v := range x[i*80 : i*80+20] {
			s += v
		}
		if s/20 > 1.5 {
			y[i]++
		}
		if x[i*80+40] > 1.5 {
			y[i]++
		}
	}
	data := filepath.Join(t.TempDir(), "mine.npz")
	if err := datasets.WriteNPZ(data, datasets.NPYArray{Name: "X", Shape: append([]int{n}, shape...), F32: x},
		datasets.NPYArray{Name: "y", Shape: []int{n}, I32: y}); err != nil {
		t.Fatal(err)
	}
	run(t, bin, "run", "--budget", "smoke", "--random", "0", "--device", "cpu", "--data", data,
		"--kernels", "3,5", "--dilations", "1,2,4", "--out", dir)
	return shape
}

type result struct {
	Output   string  `json:"output"`
	Shape    []int   `json:"shape"`
	MaxDiff  float64 `json:"max_abs_diff"`
	Scale    float64 `json:"scale"`
	Relative float64 `json:"relative"`
	OK       bool    `json:"ok"`
	Error    string  `json:"error"`
}

// TestONNXRuntimeMatchesPredict is the comparison.
func TestONNXRuntimeMatchesPredict(t *testing.T) {
	tools(t)
	bin := dashBinary(t)
	cases := []struct {
		name string
		o    *tinyrun.Options // nil: made with 'dash run --data'
		fold bool
	}{
		{"1d-resnet1d-cli", nil, false},
		{"1d-resnet1d-cli-folded-bn", nil, true},
		{"1d-causal-multilabel", &tinyrun.Options{Backbone: "resnet1d-causal", Kind: datasets.MultiLabel, InShape: []int{1, 48}, Seed: 2}, false},
		{"1d-tcn", &tinyrun.Options{Backbone: "tcn", Kind: datasets.ClassIndex, InShape: []int{1, 32}, N: 48, Seed: 3}, false},
		{"2d-wrn", &tinyrun.Options{Backbone: "wrn", Kind: datasets.ClassIndex, InShape: []int{1, 8, 8}, N: 40, Seed: 4}, false},
		{"2d-dense-wrn", &tinyrun.Options{Backbone: "wrn", Kind: datasets.DenseField, InShape: []int{1, 10, 10}, N: 40, Pointwise: true, Seed: 5}, true},
	}
	be := cpu.New()
	defer be.Close()
	cliDir := ""
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			work := t.TempDir()
			dir := filepath.Join(work, "run")
			var shape []int
			switch {
			case c.o == nil && cliDir != "":
				dir, shape = cliDir, []int{2, 40}
			case c.o == nil:
				shape = cliRun(t, bin, dir)
				cliDir = filepath.Join(binDir, "cli-run")
				if err := os.Rename(dir, cliDir); err != nil {
					t.Fatal(err)
				}
				dir = cliDir
			default:
				if _, err := tinyrun.Make(context.Background(), dir, be, *c.o); err != nil {
					t.Fatal(err)
				}
				shape = c.o.InShape
			}
			// fixed inputs, 7 samples (predicted in batches of 3)
			in := filepath.Join(work, "inputs.npy")
			x := tinyrun.Data(99, 7, shape)
			if err := os.WriteFile(in, datasets.EncodeNPY(x, append([]int{7}, shape...)), 0o644); err != nil {
				t.Fatal(err)
			}
			pred := filepath.Join(work, "predict.npy")
			t.Log(strings.TrimSpace(run(t, bin, "predict", "--out", dir, "--data", in, "--to", pred, "--batch", "3", "--device", "cpu")))
			model := filepath.Join(work, "model.onnx")
			args := []string{"export", "--out", dir, "--onnx", model}
			if c.fold {
				args = append(args, "--fold-bn")
			}
			t.Log(strings.TrimSpace(run(t, bin, args...)))

			// the logits too, from the Go API
			m, err := dash.Load(dir, be)
			if err != nil {
				t.Fatal(err)
			}
			p, err := m.Predict(dash.Array{Shape: append([]int{7}, shape...), Data: x})
			m.Close()
			if err != nil {
				t.Fatal(err)
			}
			first := map[string]string{"class": "probabilities", "multilabel": "scores", "dense": "field"}[p.Kind]
			pairs := []string{first + "=" + pred}
			if p.Kind != "dense" {
				lg := filepath.Join(work, "logits.npy")
				if err := os.WriteFile(lg, datasets.EncodeNPY(p.Logits, p.Shape), 0o644); err != nil {
					t.Fatal(err)
				}
				pairs = append(pairs, "logits="+lg)
			}
			cmd := exec.Command("node", append([]string{"compare.js", model, in}, append(pairs, "--tol", "1e-4")...)...)
			out, err := cmd.CombinedOutput()
			var seen []string
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				var r result
				if json.Unmarshal(sc.Bytes(), &r) != nil {
					continue
				}
				seen = append(seen, r.Output)
				t.Logf("onnxruntime vs dash: %s %v max |diff| %.3g, scale %.3g, relative %.3g", r.Output, r.Shape, r.MaxDiff, r.Scale, r.Relative)
				if r.Error != "" || !r.OK || r.Relative > tolerance || !slices.Equal(r.Shape, p.Shape) {
					t.Errorf("%s: %+v", r.Output, r)
				}
			}
			if err != nil || len(seen) != len(pairs) {
				t.Fatalf("compare.js: %v\n%s", err, out)
			}
			if tensor.Numel(p.Shape) != len(p.Values) {
				t.Fatalf("prediction shape %v, %d values", p.Shape, len(p.Values))
			}

			// Debian's ONNX checker (with shape inference) accepts the file
			chk := `import onnx, sys
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
print("onnx.checker: ok, opset", m.opset_import[0].version, "ir", m.ir_version, "nodes", len(m.graph.node))`
			t.Log(strings.TrimSpace(run(t, python, "-c", chk, model)))
		})
	}
}

// TestPredictCLIBadInput: 'dash predict' and 'dash export' refuse bad
// inputs with messages naming the problem and exit status 1.
func TestPredictCLIBadInput(t *testing.T) {
	bin := dashBinary(t)
	be := cpu.New()
	defer be.Close()
	work := t.TempDir()
	dir := filepath.Join(work, "run")
	if _, err := tinyrun.Make(context.Background(), dir, be, tinyrun.Options{Backbone: "resnet1d", Kind: datasets.ClassIndex, InShape: []int{2, 16}, N: 32, Seed: 8}); err != nil {
		t.Fatal(err)
	}
	file := func(name string, b []byte) string {
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := file("good.npy", datasets.EncodeNPY(tinyrun.Data(1, 3, []int{2, 16}), []int{3, 2, 16}))
	wrong := file("wrong.npy", datasets.EncodeNPY(tinyrun.Data(1, 3, []int{2, 15}), []int{3, 2, 15}))
	img := file("img.npy", datasets.EncodeNPY(tinyrun.Data(1, 3, []int{1, 4, 8}), []int{3, 1, 4, 8}))
	// a .npy of complex64 values: a dtype the network cannot take
	cplx := datasets.EncodeNPY(make([]float32, 6), []int{3, 2})
	cplx = bytes.Replace(cplx, []byte("'<f4'"), []byte("'<c8'"), 1)
	cplxPath := file("complex.npy", cplx)
	unretrained := filepath.Join(work, "unretrained")
	if err := os.MkdirAll(unretrained, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{dash.ArchitectureFile, dash.ModelFile, "hparams.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		file(filepath.Join("unretrained", f), b)
	}
	corrupt := filepath.Join(work, "corrupt")
	if err := os.MkdirAll(corrupt, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{dash.ArchitectureFile, dash.ModelFile, dash.WeightsFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == dash.WeightsFile {
			b[len(b)-3] ^= 1
		}
		file(filepath.Join("corrupt", f), b)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong length", []string{"predict", "--out", dir, "--data", wrong}, "want [N 2 16]"},
		{"2-D input to a 1-D run", []string{"predict", "--out", dir, "--data", img}, "want [N 2 16]"},
		{"dtype", []string{"predict", "--out", dir, "--data", cplxPath}, "unsupported dtype"},
		{"missing data", []string{"predict", "--out", dir, "--data", filepath.Join(work, "none.npy")}, "not found"},
		{"not retrained", []string{"predict", "--out", unretrained, "--data", good}, "not retrained yet"},
		{"corrupt weights", []string{"predict", "--out", corrupt, "--data", good}, "corrupt"},
		{"export not retrained", []string{"export", "--out", unretrained}, "not retrained yet"},
		{"export corrupt weights", []string{"export", "--out", corrupt}, "corrupt"},
		{"output name", []string{"predict", "--out", dir, "--data", good, "--to", filepath.Join(work, "p.csv")}, "want a .npy or .npz"},
		{"no --out", []string{"predict", "--data", good}, "give the run directory with --out"},
	} {
		cmd := exec.Command(bin, c.args...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("%s: exit %v, want status 1\n%s", c.name, err, out)
			continue
		}
		if !strings.Contains(string(out), c.want) || strings.Contains(string(out), "panic") {
			t.Errorf("%s: output lacks %q:\n%s", c.name, c.want, out)
		}
	}
	// the good input works, .npz output holds the probabilities, logits and labels
	npz := filepath.Join(work, "p.npz")
	run(t, bin, "predict", "--out", dir, "--data", good, "--to", npz, "--device", "cpu")
	zr, err := zip.OpenReader(npz)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, []string{"probabilities.npy", "logits.npy", "labels.npy"}) {
		t.Errorf("%s holds %v", npz, names)
	}
}
