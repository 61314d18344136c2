package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dash-go/dash/dist"
	"github.com/sbinet/npyio/npz"
	"gonum.org/v1/gonum/mat"
)

// proc is a dash process whose stderr lines are kept and watched.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	subs []func(string)
	done chan error
}

func startDash(t *testing.T, name, dir string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, cmd: exec.Command(dashBinary(t), args...), done: make(chan error, 1)}
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), "DASH_DEVICE=cpu")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr, p.cmd.Stdout = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	pw.Close()
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			l := sc.Text()
			p.mu.Lock()
			p.out.WriteString(l + "\n")
			subs := append([]func(string){}, p.subs...)
			p.mu.Unlock()
			for _, f := range subs {
				f(l)
			}
		}
	}()
	go func() {
		err := p.cmd.Wait()
		<-lines
		p.done <- err
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
		}
	})
	return p
}

// watch calls f on every later line.
func (p *proc) watch(f func(string)) {
	p.mu.Lock()
	p.subs = append(p.subs, f)
	p.mu.Unlock()
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// wait waits for the process to exit (within limit) and returns its error.
func (p *proc) wait(limit time.Duration) error {
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		return fmt.Errorf("%s still running after %v", p.name, limit)
	}
}

// stop ends a worker with SIGTERM (what Kubernetes sends).
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(30 * time.Second); err != nil && !strings.Contains(err.Error(), "signal") {
		p.t.Logf("%s: %v", p.name, err)
	}
}

var trialDone = regexp.MustCompile(`msg="trial done" trial=(\S+) worker=(\S+) train_seconds=\S+ attempt=(\d+)`)

// TestDistributedRun runs the smoke-budget pipeline locally and through
// NATS JetStream with two worker processes: once with a worker killed
// (SIGKILL) in the middle of a trial, once with the coordinator killed and
// restarted. Both must end with the local run's architecture, choices and
// metrics, bit for bit (CPU backend), and the weights file byte for byte.
func TestDistributedRun(t *testing.T) {
	dashBinary(t) // built once, before the clocks of the runs start
	dir := t.TempDir()
	srv, err := dist.StartEmbedded(filepath.Join(dir, "jetstream"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	common := []string{"--task", "mnist", "--budget", "smoke", "--seed", "3", "--device", "cpu"}
	natsArgs := []string{"--nats", srv.URL, "--nats-ack-wait", "4s"}
	local := startDash(t, "local run", dir, append([]string{"run", "--out", "local"}, common...)...)
	if err := local.wait(10 * time.Minute); err != nil {
		t.Fatalf("local run: %v\n%s", err, local.output())
	}
	workers := func(t *testing.T, tag string) []*proc {
		var ws []*proc
		for i := 1; i <= 2; i++ {
			id := fmt.Sprintf("%s-w%d", tag, i)
			ws = append(ws, startDash(t, id, dir, append([]string{"worker", "--device", "cpu", "--id", id, "--dir", filepath.Join(dir, id)}, natsArgs...)...))
		}
		return ws
	}

	t.Run("worker-killed", func(t *testing.T) {
		ws := workers(t, "kill")
		// SIGKILL whichever worker starts retraining the searched network, 300 ms in
		var once sync.Once
		killed := make(chan string, 1)
		for _, w := range ws {
			w.watch(func(l string) {
				if strings.Contains(l, "msg=training") && strings.Contains(l, "stage=retrain network=dash") {
					once.Do(func() {
						time.Sleep(300 * time.Millisecond)
						_ = w.cmd.Process.Signal(syscall.SIGKILL)
						killed <- w.name
					})
				}
			})
		}
		co := startDash(t, "coordinator", dir, append(append([]string{"run", "--out", "killw"}, common...), natsArgs...)...)
		err := co.wait(10 * time.Minute)
		for _, w := range ws {
			w.stop()
		}
		if err != nil {
			t.Fatalf("distributed run: %v\n%s", err, co.output())
		}
		var victim string
		select {
		case victim = <-killed:
		default:
			t.Fatalf("no worker retrained the searched network\n%s", co.output())
		}
		// the killed worker never stored the trial; the other one did, on a redelivery
		found := false
		for _, m := range trialDone.FindAllStringSubmatch(co.output(), -1) {
			if strings.Contains(m[1], ".retrain.dash.") {
				found = true
				if m[2] == victim || m[3] == "1" {
					t.Errorf("retraining of the searched network stored by %s on attempt %s; want the surviving worker on a redelivery (killed: %s)", m[2], m[3], victim)
				}
			}
		}
		if !found {
			t.Fatalf("no result for the retraining of the searched network\n%s", co.output())
		}
		compareRuns(t, filepath.Join(dir, "local"), filepath.Join(dir, "killw"))
	})

	t.Run("coordinator-restarted", func(t *testing.T) {
		ws := workers(t, "restart")
		args := append(append([]string{"run", "--out", "restart"}, common...), natsArgs...)
		co := startDash(t, "coordinator", dir, args...)
		var once sync.Once
		co.watch(func(l string) {
			if strings.Contains(l, `msg="hpo trial" network=baseline`) {
				once.Do(func() { _ = co.cmd.Process.Signal(syscall.SIGKILL) })
			}
		})
		if err := co.wait(10 * time.Minute); err == nil {
			t.Fatalf("the coordinator finished before it was killed\n%s", co.output())
		}
		co2 := startDash(t, "coordinator (restarted)", dir, append(args, "--resume")...)
		err := co2.wait(10 * time.Minute)
		for _, w := range ws {
			w.stop()
		}
		if err != nil {
			t.Fatalf("restarted coordinator: %v\n%s", err, co2.output())
		}
		// no trial trained twice: the restarted coordinator took the
		// finished ones from the result bucket
		stored := map[string]int{}
		re := regexp.MustCompile(`msg="trial stored" trial=(\S+)`)
		for _, w := range ws {
			for _, m := range re.FindAllStringSubmatch(w.output(), -1) {
				stored[m[1]]++
			}
		}
		for id, n := range stored {
			if n > 1 {
				t.Errorf("trial %s trained %d times", id, n)
			}
		}
		compareRuns(t, filepath.Join(dir, "local"), filepath.Join(dir, "restart"))
	})
}

// compareRuns compares two run directories: every JSON result without
// times, and the weights byte for byte.
func compareRuns(t *testing.T, a, b string) {
	t.Helper()
	for _, f := range []string{"architecture.json", "hparams.json", "hparams-baseline.json", "hparams-random-1.json", "hparams-random-2.json", "metrics.json", "model.json", "fingerprint.json"} {
		ja, jb := readStripped(t, filepath.Join(a, f)), readStripped(t, filepath.Join(b, f))
		if !reflect.DeepEqual(ja, jb) {
			ba, _ := json.MarshalIndent(ja, "", " ")
			bb, _ := json.MarshalIndent(jb, "", " ")
			t.Errorf("%s differs from the local run's:\nlocal:\n%.3000s\ndistributed:\n%.3000s", f, ba, bb)
		}
	}
	wa, err := os.ReadFile(filepath.Join(a, "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	wb, err := os.ReadFile(filepath.Join(b, "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wa, wb) {
		t.Errorf("weights.safetensors differs from the local run's (%d vs %d bytes)", len(wa), len(wb))
	}
	if _, err := os.Stat(filepath.Join(b, "report.md")); err != nil {
		t.Errorf("report.md: %v", err)
	}
}

// readStripped reads a JSON file without its time fields ("seconds",
// "*_seconds") and its scheduling ("networks_at_once": the local run
// trains two networks at a time, the workers decide for themselves).
func readStripped(t *testing.T, path string) any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var strip func(any) any
	strip = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			m := map[string]any{}
			for k, e := range x {
				if k == "seconds" || strings.HasSuffix(k, "_seconds") || k == "networks_at_once" { // time and scheduling
					continue
				}
				m[k] = strip(e)
			}
			return m
		case []any:
			for i := range x {
				x[i] = strip(x[i])
			}
		}
		return v
	}
	return strip(v)
}

// The command line's distributed-run errors name the problem.
func TestCLIDistErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"worker-no-url", []string{"worker"}, []string{"--nats nats://host:4222"}},
		{"worker-unreachable", []string{"worker", "--nats", "nats://127.0.0.1:1", "--device", "cpu"}, []string{"NATS server unreachable at nats://127.0.0.1:1", "-js"}},
		{"run-unreachable", []string{"run", "--task", "mnist", "--budget", "smoke", "--device", "cpu", "--nats", "nats://127.0.0.1:1", "--out", "o"}, []string{"NATS server unreachable at nats://127.0.0.1:1"}},
		{"worker-creds-missing", []string{"worker", "--nats", "nats://127.0.0.1:1", "--device", "cpu", "--nats-creds", "none.creds"}, []string{"--nats-creds", "none.creds"}},
		{"worker-devices-bad", []string{"run", "--task", "mnist", "--budget", "smoke", "--device", "cpu", "--workers", "1", "--worker-devices", "cpu,gpu7", "--out", "d"}, []string{"--worker-devices", "gpu7"}},
		{"search-nats", []string{"search", "--task", "mnist", "--budget", "smoke", "--device", "cpu", "--nats", "nats://127.0.0.1:1", "--out", "s"}, []string{"--nats and --workers are for 'dash run'"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := runDash(t, dir, c.args...)
			if err == nil {
				t.Fatalf("dash %v succeeded:\n%s", c.args, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "panic") {
				t.Errorf("panic:\n%s", out)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "o")); err == nil {
		t.Error("a run that could not reach its server left a run directory")
	}
}

// dash run --workers 2 (embedded server, local worker processes) on a
// user's file, which reaches the workers through the object store: the
// same run directory as the local run.
func TestCLIRunWorkersOnUsersFile(t *testing.T) {
	dir := t.TempDir()
	const n, l = 240, 64
	x := make([]float64, n*l)
	y := make([]int64, n)
	for i := 0; i < n; i++ {
		y[i] = int64(i % 3)
		for j := 0; j < l; j++ {
			x[i*l+j] = float64((j*(int(y[i])+1))%7)/7 + float64((i*31+j*17)%11)/50
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
	common := []string{"run", "--data", path, "--budget", "smoke", "--kernels", "3,5", "--dilations", "1,2", "--seed", "5", "--device", "cpu"}
	if out, err := runDash(t, dir, append(common, "--out", "local")...); err != nil {
		t.Fatalf("local run: %v\n%s", err, out)
	}
	out, err := runDash(t, dir, append(common, "--workers", "2", "--out", "workers")...)
	if err != nil {
		t.Fatalf("dash run --workers 2: %v\n%s", err, out)
	}
	for _, w := range []string{"embedded NATS server", "local workers", `msg="trial done"`, "worker=local-"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	compareRuns(t, filepath.Join(dir, "local"), filepath.Join(dir, "workers"))
}
