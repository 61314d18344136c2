package tests

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The bad inputs of issue 12, one row each, run as a user would: the exit
// code, a message naming the problem, and never a panic or goroutine dump.

// npyBytes builds a .npy stream by hand (so that headers can lie).
func npyBytes(descr, shape string, data []byte) []byte {
	hdr := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }"
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	b.WriteString(hdr)
	b.Write(data)
	return b.Bytes()
}

// classData is n learnable 1-D samples of length l with labels (the class
// shifts the first five values); labels may be overridden.
func classData(n, l int, seed uint64, labels []int64) (x, y []byte) {
	r := rand.New(rand.NewPCG(seed, 3))
	if labels == nil {
		labels = make([]int64, n)
		for i := range labels {
			labels[i] = int64(r.IntN(3))
		}
	}
	xs := make([]byte, 0, 4*n*l)
	ys := make([]byte, 0, 8*n)
	for i := 0; i < n; i++ {
		for j := 0; j < l; j++ {
			v := r.NormFloat64()
			if j < 5 {
				v += float64(min(labels[i], 5))
			}
			xs = binary.LittleEndian.AppendUint32(xs, math.Float32bits(float32(v)))
		}
		ys = binary.LittleEndian.AppendUint64(ys, uint64(labels[i]))
	}
	return npyBytes("<f4", fmt.Sprintf("(%d, 1, %d)", n, l), xs), npyBytes("<i8", fmt.Sprintf("(%d,)", n), ys)
}

func writeZip(t *testing.T, path string, entries map[string][]byte) {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for _, name := range []string{"X.npy", "y.npy"} {
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(entries[name])
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeClassNPZ(t *testing.T, path string, n int, seed uint64, labels []int64) {
	x, y := classData(n, 50, seed, labels)
	writeZip(t, path, map[string][]byte{"X.npy": x, "y.npy": y})
}

var (
	badOnce sync.Once
	badDir  string // data files and a finished smoke run ("finished")
	badErr  error
)

// badFixtures writes the data files once and makes one finished smoke run
// that the run-directory rows copy.
func badFixtures(t *testing.T) string {
	t.Helper()
	bin := dashBinary(t)
	badOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dash-badinput")
		if err != nil {
			badErr = err
			return
		}
		badDir = dir
		writeClassNPZ(t, filepath.Join(dir, "good.npz"), 400, 1, nil)
		writeClassNPZ(t, filepath.Join(dir, "other.npz"), 400, 2, nil) // same shape, other data
		writeClassNPZ(t, filepath.Join(dir, "three.npz"), 3, 3, nil)
		writeClassNPZ(t, filepath.Join(dir, "n150.npz"), 150, 4, nil)
		writeClassNPZ(t, filepath.Join(dir, "big.npz"), 3000, 7, nil)
		lab := make([]int64, 40)
		for i := range lab {
			lab[i] = int64(i % 2)
		}
		lab[3] = 1e9
		writeClassNPZ(t, filepath.Join(dir, "label1e9.npz"), 40, 5, lab)
		_, y3 := classData(3, 50, 6, nil)
		for name, shape := range map[string]string{
			"ovf-2^62": fmt.Sprintf("(3, 1, %d)", int64(1)<<62),
			"ovf-wrap": fmt.Sprintf("(%d, 1, %d)", int64(1)<<32, int64(1)<<32),
			"ovf-8GiB": "(65536, 32768)",
		} {
			d := filepath.Join(dir, name)
			os.Mkdir(d, 0o755)
			os.WriteFile(filepath.Join(d, "X.npy"), npyBytes("<f4", shape, make([]byte, 64)), 0o644)
			os.WriteFile(filepath.Join(d, "y.npy"), y3, 0o644)
		}
		os.WriteFile(filepath.Join(dir, "afile"), nil, 0o644)
		cmd := exec.Command(bin, "run", "--data", "good.npz", "--budget", "smoke", "--out", "finished")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "DASH_DEVICE=cpu")
		if out, err := cmd.CombinedOutput(); err != nil {
			badErr = fmt.Errorf("making the finished run: %v\n%s", err, out)
		}
	})
	if badErr != nil {
		t.Fatal(badErr)
	}
	return badDir
}

// copyDir copies a run directory (flat, plus nothing deeper).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
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
}

func editJSON(t *testing.T, path string, f func(m map[string]any)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, _ = json.Marshal(m)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string, fromEnd int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-fromEnd] ^= 0x04
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

var dumpRE = regexp.MustCompile(`panic:|goroutine \d+ \[|fatal error:|runtime\.|SIGSEGV`)

type badCase struct {
	name  string
	setup func(t *testing.T, dir string) // prepares files in the row's own directory
	args  []string
	env   []string // extra environment (KEY=VALUE; KEY= unsets)
	code  int      // expected exit code
	want  []string // substrings of stdout+stderr
	check func(t *testing.T, dir, stdout, stderr string)
}

func runBad(t *testing.T, dir string, c badCase) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(dashBinary(t), c.args...)
	cmd.Dir = dir
	env := []string{"DASH_DEVICE=cpu"}
	env = append(env, c.env...)
	cmd.Env = mergeEnv(os.Environ(), env)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, o.String(), e.String()
}

// mergeEnv overrides base with extra ("KEY=" removes KEY).
func mergeEnv(base, extra []string) []string {
	drop := map[string]bool{}
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	var out []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	for _, kv := range extra {
		if !strings.HasSuffix(kv, "=") {
			out = append(out, kv)
		}
	}
	return out
}

func withFinished(t *testing.T, dir string) {
	copyDir(t, filepath.Join(badFixtures(t), "finished"), filepath.Join(dir, "run"))
}

func TestBadInputTable(t *testing.T) {
	fx := badFixtures(t)
	data := func(name string) string { return filepath.Join(fx, name) }
	smoke := []string{"--budget", "smoke"}
	args := func(a ...string) []string { return a }
	cases := []badCase{
		// crafted .npy headers
		{name: "npy-dims-overflow", args: args("run", "--data", data("ovf-2^62"), "--out", "o"), code: 1, want: []string{"X.npy", "implausible shape [3 1 4611686018427387904]"}},
		{name: "npy-dims-wrap-to-zero", args: args("run", "--data", data("ovf-wrap"), "--out", "o"), code: 1, want: []string{"X.npy", "implausible shape [4294967296 1 4294967296]"}},
		{name: "npy-claims-more-than-present", args: args("run", "--data", data("ovf-8GiB"), "--out", "o"), code: 1, want: []string{"X.npy", "truncated file", "only 64 bytes present"}},
		// class count
		{name: "label-1e9", args: append(args("run", "--data", data("label1e9.npz"), "--out", "o"), smoke...), code: 1, want: []string{"label 1000000000 of sample 3", "at most 100000"}},
		{name: "classes-1e9", args: append(args("run", "--data", data("good.npz"), "--classes", "1000000000", "--out", "o"), smoke...), code: 1, want: []string{"--classes 1000000000", "maximum of 100000"}},
		{name: "classes-negative", args: append(args("run", "--data", data("good.npz"), "--classes", "-5", "--out", "o"), smoke...), code: 1, want: []string{"--classes -5", "cannot be negative"},
			check: func(t *testing.T, _, o, e string) {
				if strings.Contains(e, "class(es) found") {
					t.Error("old message")
				}
			}},
		// too little data
		{name: "three-samples", args: append(args("run", "--data", data("three.npz"), "--out", "o"), smoke...), code: 1, want: []string{"too little data", "training split has 1 sample"}},
		{name: "150-samples-demo-budget", args: args("run", "--data", data("n150.npz"), "--budget", "demo", "--random", "0", "--out", "o"), code: 0,
			want: []string{"fewer than the demo budget's batch size 128: adapting the batch size to 108", "step 1/1"}},
		// kernel reach
		{name: "kernels-1001", args: append(args("run", "--data", data("good.npz"), "--kernels", "1001", "--out", "o"), smoke...), code: 1, want: []string{"kernel size 1001 in --kernels is larger than the input length 50"}},
		{name: "kernels-51", args: append(args("run", "--data", data("good.npz"), "--kernels", "3,51", "--out", "o"), smoke...), code: 1, want: []string{"kernel size 51 in --kernels"}},
		{name: "dilations-100", args: append(args("run", "--data", data("good.npz"), "--dilations", "1,100", "--out", "o"), smoke...), code: 1, want: []string{"dilation 100 in --dilations is not below the input length 50"}},
		// retrain on a finished run
		{name: "retrain-finished", setup: withFinished, args: append(args("retrain", "--data", data("good.npz"), "--out", "run"), smoke...), code: 0,
			want: []string{"already retrained", "To retrain afresh"}},
		{name: "retrain-after-editing-hparams", setup: func(t *testing.T, dir string) {
			withFinished(t, dir)
			editJSON(t, filepath.Join(dir, "run", "hparams.json"), func(m map[string]any) { m["lr"] = 0.05 })
		}, args: append(args("retrain", "--data", data("good.npz"), "--out", "run"), smoke...), code: 0,
			want: []string{"differs from the retrained network's", "retraining afresh", "epoch 1/1 step"}},
		// run directories tied to their data
		{name: "resume-other-data", setup: withFinished, args: append(args("run", "--resume", "--data", data("other.npz"), "--out", "run"), smoke...), code: 1,
			want: []string{"made with different settings", "data (SHA-256"}},
		{name: "eval-other-data", setup: withFinished, args: append(args("eval", "--data", data("other.npz"), "--out", "run"), smoke...), code: 1,
			want: []string{"made with different settings", "data (SHA-256"}},
		{name: "architecture-unknown-layer", setup: func(t *testing.T, dir string) {
			withFinished(t, dir)
			editJSON(t, filepath.Join(dir, "run", "architecture.json"), func(m map[string]any) {
				m["layers"].([]any)[0].(map[string]any)["name"] = "block9.convX"
			})
		}, args: append(args("retrain", "--data", data("good.npz"), "--out", "run"), smoke...), code: 1, want: []string{"architecture.json", `"block9.convX" match no layer`}},
		{name: "architecture-kd-outside-candidates", setup: func(t *testing.T, dir string) {
			withFinished(t, dir)
			editJSON(t, filepath.Join(dir, "run", "architecture.json"), func(m map[string]any) {
				m["layers"].([]any)[0].(map[string]any)["k"] = 4
			})
		}, args: append(args("retrain", "--data", data("good.npz"), "--out", "run"), smoke...), code: 1, want: []string{"architecture.json", "(4, ", "outside the searched candidates"}},
		// corrupt files
		{name: "weights-bit-flip", setup: func(t *testing.T, dir string) {
			withFinished(t, dir)
			flipByte(t, filepath.Join(dir, "run", "weights.safetensors"), 3)
		}, args: append(args("eval", "--data", data("good.npz"), "--out", "run"), smoke...), code: 1, want: []string{"weights.safetensors", "corrupt file"}},
		{name: "checkpoint-bit-flip", setup: func(t *testing.T, dir string) {
			withFinished(t, dir)
			flipByte(t, filepath.Join(dir, "run", "search.ckpt"), 3)
			editJSON(t, filepath.Join(dir, "run", "state.json"), func(m map[string]any) { m["stages"], m["done"] = map[string]any{}, false })
		}, args: append(args("run", "--resume", "--data", data("good.npz"), "--out", "run"), smoke...), code: 1, want: []string{"search.ckpt", "corrupt file", "delete"}},
		// Darcy cache
		{name: "darcy-cache-unwritable", args: args("data", "darcy", "--train", "2", "--test", "1", "--direct85"), env: []string{"DASH_CACHE=" + filepath.Join(fx, "afile", "cache")}, code: 1,
			want: []string{"cache directory", "cannot be created", "DASH_CACHE"}},
		// weak messages
		{name: "DASH_DEVICE-bogus", args: append(args("run", "--data", data("good.npz"), "--out", "o"), smoke...), env: []string{"DASH_DEVICE=bogus"}, code: 1,
			want: []string{"DASH_DEVICE=bogus (environment variable)"},
			check: func(t *testing.T, _, o, e string) {
				if strings.Contains(e, "--device:") {
					t.Error("blames --device")
				}
			}},
		{name: "HOME-unset", args: append(args("run", "--task", "mnist", "--out", "o"), smoke...),
			env: []string{"HOME=", "GOPATH=", "GOMODCACHE=", "DASH_MNIST_DIR=", "PATH=", "XDG_CACHE_HOME="}, code: 1,
			want: []string{"MNIST files not found", "$HOME is not set", "DASH_MNIST_DIR"},
			check: func(t *testing.T, _, o, e string) {
				if strings.Contains(e, "( )") || strings.Contains(e, "looked in )") {
					t.Error("empty list of places")
				}
			}},
		{name: "resume-other-seed", setup: withFinished, args: append(args("run", "--resume", "--seed", "5", "--data", data("good.npz"), "--out", "run"), smoke...), code: 1,
			want: []string{"--seed: the run has 0, this command has 5"}},
		{name: "run-out-finished-without-resume", setup: withFinished, args: append(args("run", "--data", data("good.npz"), "--out", "run"), smoke...), code: 1,
			want: []string{"--out run already holds a finished run", "nothing was overwritten", "--resume"},
			check: func(t *testing.T, dir, o, e string) {
				a, _ := os.ReadFile(filepath.Join(dir, "run", "metrics.json"))
				b, _ := os.ReadFile(filepath.Join(badFixtures(t), "finished", "metrics.json"))
				if !bytes.Equal(a, b) {
					t.Error("metrics.json changed")
				}
			}},
		{name: "resume-out-missing", args: append(args("run", "--resume", "--data", data("good.npz"), "--out", "nope"), smoke...), code: 1,
			want: []string{"--resume --out nope", "does not exist"}},
		{name: "help-lists-smoke", args: args("run", "--help"), code: 0, want: []string{"smoke (seconds"}},
		{name: "stale-temp-files", setup: func(t *testing.T, dir string) {
			withFinished(t, dir)
			os.WriteFile(filepath.Join(dir, "run", ".dash.ckpt.tmp-123"), []byte("partial"), 0o644)
			os.WriteFile(filepath.Join(dir, "run", ".state.json.tmp456"), []byte("partial"), 0o644)
		}, args: append(args("run", "--resume", "--data", data("good.npz"), "--out", "run"), smoke...), code: 0,
			want: []string{"removed a temporary file", ".dash.ckpt.tmp-123"},
			check: func(t *testing.T, dir, o, e string) {
				if m, _ := filepath.Glob(filepath.Join(dir, "run", ".*.tmp*")); len(m) > 0 {
					t.Errorf("left: %v", m)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.setup != nil {
				c.setup(t, dir)
			}
			code, o, e := runBad(t, dir, c)
			all := o + e
			if code != c.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, o, e)
			}
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", w, o, e)
				}
			}
			if dumpRE.MatchString(e) {
				t.Errorf("stderr has a panic or goroutine dump:\n%s", e)
			}
			if c.code != 0 && !strings.Contains(e, "dash: ") {
				t.Errorf("no error line on stderr:\n%s", e)
			}
			if c.check != nil {
				c.check(t, dir, o, e)
			}
		})
	}
}

// An interrupt during the hyperparameter stage takes effect there (exit
// 130, "interrupted"), not at the next stage, and --resume then finishes.
// (The validation pass itself is covered by nn/train's
// TestInterruptDuringValidation.)
func TestBadInputInterruptDuringHPO(t *testing.T) {
	fx := badFixtures(t)
	dir := t.TempDir()
	cmd := exec.Command(dashBinary(t), "run", "--data", filepath.Join(fx, "big.npz"), "--budget", "demo", "--random", "0", "--out", "run")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DASH_DEVICE=cpu")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		if !sent && strings.Contains(line, "hpo trial") {
			cmd.Process.Signal(syscall.SIGINT)
			sent = true
		}
	}
	io.Copy(io.Discard, stderr)
	err = cmd.Wait()
	if !sent {
		t.Fatalf("no \"hpo trial\" line: the run never reached its hyperparameter stage:\n%s", log.String())
	}
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130\n%s", err, log.String())
	}
	out := log.String()
	if !strings.Contains(out, "interrupted") || dumpRE.MatchString(out) {
		t.Fatalf("stderr:\n%s", out)
	}
	var st struct {
		Stages map[string]bool `json:"stages"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "run", "state.json"))
	json.Unmarshal(b, &st)
	if st.Stages["hpo/dash"] {
		t.Errorf("the hyperparameter stage was recorded complete after the interrupt: %v", st.Stages)
	}
	start := time.Now()
	res := exec.Command(dashBinary(t), "run", "--resume", "--data", filepath.Join(fx, "big.npz"), "--budget", "demo", "--random", "0", "--out", "run")
	res.Dir, res.Env = dir, cmd.Env
	if o, err := res.CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, o)
	}
	t.Logf("resume took %v", time.Since(start).Round(time.Millisecond))
}
