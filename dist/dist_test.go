package dist

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/tensor"
	"github.com/dash-go/dash/tensor/cpu"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sbinet/npyio/npz"
	"gonum.org/v1/gonum/mat"
)

// fixture is an embedded server, a connection, a user's data file in the
// data store and the matching local configuration.
type fixture struct {
	srv  *Embedded
	c    *Conn
	path string
	data DataSpec
	cfg  dash.Config
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	srv, err := StartEmbedded(filepath.Join(dir, "js"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	if !strings.HasPrefix(srv.URL, "nats://127.0.0.1:") {
		t.Fatalf("embedded server at %s, want 127.0.0.1 only", srv.URL)
	}
	c, err := Connect(context.Background(), Options{URL: srv.URL, AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	f := &fixture{srv: srv, c: c, path: writeNPZ(t, dir)}
	name, sum, err := UploadData(context.Background(), c, f.path)
	if err != nil {
		t.Fatal(err)
	}
	f.data = DataSpec{File: name, FileSHA256: sum, Budget: "smoke"}
	task, split, err := datasets.LoadFiles(f.path, datasets.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := dash.Budgets("smoke", task)
	if err != nil {
		t.Fatal(err)
	}
	f.cfg = dash.Config{Task: task, Split: split, Backend: cpu.New(), Budget: b, Seed: 3, OutDir: filepath.Join(dir, "run"),
		Kernels: []int{3, 5}, Dilations: []int{1, 2}}
	return f
}

// writeNPZ writes a small learnable 3-class 1-D task.
func writeNPZ(t testing.TB, dir string) string {
	t.Helper()
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
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := npz.NewWriter(fh)
	if err := w.Write("X", mat.NewDense(n, l, x)); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("y", y); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	return path
}

func (f *fixture) worker(t testing.TB, id string) *Worker {
	return &Worker{C: f.c, ID: id, Dir: t.TempDir(), Log: slog.New(slog.DiscardHandler),
		NewBackend: func() (tensor.Backend, error) { return cpu.New(), nil },
		Load: func(ctx context.Context, d DataSpec, path string) (*datasets.Task, *datasets.Split, error) {
			return datasets.LoadFiles(path, datasets.FileOptions{Kind: d.Target, Classes: d.Classes})
		},
		Poll: 20 * time.Millisecond}
}

func (f *fixture) coordinator() *Coordinator {
	return &Coordinator{C: f.c, RunName: RunID(f.cfg.OutDir), Data: f.data}
}

// trial is the retraining of the searched network (default kernels here)
// for the given epochs, as dash would describe it.
func (f *fixture) trial(t testing.TB, epochs int) *dash.Trial {
	cfg := f.cfg
	cfg.Budget.BatchSize = 32
	return &dash.Trial{Stage: "retrain", Network: "dash", HP: dash.HParams{LR: 0.05, WeightDecay: 5e-4, Momentum: 0.9},
		Epochs: epochs, Fraction: 1, WithTest: true, Label: "dash", Budget: cfg.Budget, Seed: cfg.Seed,
		Kernels: cfg.Kernels, Dilations: cfg.Dilations, Data: dash.NewFingerprint(&cfg).Data}
}

// serve runs w until the returned stop is called.
func serve(w *Worker) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Serve(ctx) }()
	return func() error { cancel(); return <-done }
}

func noSeconds(c []dash.EpochStat) []dash.EpochStat {
	out := append([]dash.EpochStat(nil), c...)
	for i := range out {
		out[i].Seconds = 0
	}
	return out
}

// A worker that dies after a trial's first epoch leaves that epoch's
// checkpoint in the object store, one that is stopped (SIGTERM) mid-epoch
// also the checkpoint written on the interrupt; the worker that gets the
// trial next continues from it, and the result (metrics, curve, weights)
// is the uninterrupted one.
func TestWorkerResumesFromStoredCheckpoint(t *testing.T) {
	for _, c := range []struct {
		name  string
		flush bool
	}{{"died-after-epoch-1", false}, {"stopped-mid-epoch-2", true}} {
		t.Run(c.name, func(t *testing.T) { testResume(t, c.flush) })
	}
}

func testResume(t *testing.T, flush bool) {
	f := newFixture(t)
	tr := f.trial(t, 3)
	ctx := context.Background()

	refCfg := f.cfg
	refCfg.OutDir = t.TempDir()
	ref, err := dash.RunTrial(ctx, refCfg, tr)
	if err != nil {
		t.Fatal(err)
	}
	refWeights, err := os.ReadFile(filepath.Join(refCfg.OutDir, "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}

	co := f.coordinator()
	if err := co.Prefetch(ctx, f.cfg, []*dash.Trial{tr}); err != nil {
		t.Fatal(err)
	}
	// the first worker "dies" once its first epoch's checkpoint is stored
	w1 := f.worker(t, "w1")
	w1.noFlush = !flush
	ctx1, kill := context.WithCancel(ctx)
	w1.checkpointed = func(id, name string) {
		if name == "trial.ckpt" {
			kill()
		}
	}
	if err := w1.Serve(ctx1); err != nil {
		t.Fatal(err)
	}
	if w1.Done.Load() != 0 {
		t.Fatal("the first worker finished the trial; it should have died after one epoch")
	}
	w2 := f.worker(t, "w2")
	stop := serve(w2)
	if err := os.MkdirAll(f.cfg.OutDir, 0o755); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	got, err := co.Run(rctx, f.cfg, tr)
	if serr := stop(); serr != nil {
		t.Error(serr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if w2.Resumed.Load() != 1 {
		t.Errorf("second worker resumed %d trials from a stored checkpoint, want 1", w2.Resumed.Load())
	}
	if got.Test != ref.Test || got.BestVal != ref.BestVal || !reflect.DeepEqual(noSeconds(got.Curve), noSeconds(ref.Curve)) {
		t.Errorf("resumed trial differs from the uninterrupted one:\n got %+v %v %+v\nwant %+v %v %+v", got.Test, got.BestVal, got.Curve, ref.Test, ref.BestVal, ref.Curve)
	}
	w, err := os.ReadFile(filepath.Join(f.cfg.OutDir, "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w, refWeights) {
		t.Error("weights of the resumed trial differ from the uninterrupted trial's")
	}
	// the stored checkpoint is removed once the result is stored
	id := TrialID(co.RunName, tr)
	if _, err := f.c.Trials.GetInfo(ctx, ckptObject(id, "trial.ckpt")); !errors.Is(err, jetstream.ErrObjectNotFound) {
		t.Errorf("checkpoint of a finished trial still stored (err %v)", err)
	}
}

// A worker of another version refuses the trial with a clear error and
// hands it back; a duplicate of a trial is trained once; the coordinator's
// second Run of a finished trial comes from the bucket.
func TestVersionMismatchAndDuplicates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tr := f.trial(t, 1)
	co := f.coordinator()
	if err := co.Prefetch(ctx, f.cfg, []*dash.Trial{tr, tr}); err != nil {
		t.Fatal(err)
	}
	// a duplicate that escaped deduplication (another message ID)
	j, body, err := co.job(tr)
	if err != nil {
		t.Fatal(err)
	}
	msg := nats.NewMsg(subject(co.RunName))
	msg.Data = body
	msg.Header.Set(VersionHeader, Version)
	msg.Header.Set(jetstream.MsgIDHeader, j.ID+"-again")
	if _, err := f.c.JS.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}

	old := f.worker(t, "old")
	old.Version = "dash-dist/0 0123456789ab"
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = old.Serve(octx)
	if !errors.Is(err, ErrVersionMismatch) {
		t.Fatalf("worker of another version: got %v, want ErrVersionMismatch", err)
	}
	for _, want := range []string{"refusing trial", Version, old.Version} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not name %q", err, want)
		}
	}

	w := f.worker(t, "w")
	stop := serve(w)
	if err := os.MkdirAll(f.cfg.OutDir, 0o755); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer rcancel()
	if _, err := co.Run(rctx, f.cfg, tr); err != nil {
		t.Fatal(err)
	}
	// wait until the duplicate is consumed too
	for i := 0; i < 200; i++ {
		if n, _ := co.Pending(ctx); n == 0 && w.Skipped.Load() == 1 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if w.Done.Load() != 1 || w.Skipped.Load() != 1 {
		t.Errorf("trained %d, skipped %d; want the trial trained once and its duplicate skipped", w.Done.Load(), w.Skipped.Load())
	}
	keys, err := co.ResultKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0] != j.ID {
		t.Errorf("result keys %v (%v), want [%s]", keys, err, j.ID)
	}
	// a restarted coordinator gets the result from the bucket without publishing
	co2 := f.coordinator()
	if _, err := co2.Run(rctx, f.cfg, tr); err != nil {
		t.Fatal(err)
	}
	if co2.Published != 0 || co2.Cached != 1 {
		t.Errorf("restarted coordinator published %d, found %d in the bucket; want 0 and 1", co2.Published, co2.Cached)
	}
}

func TestConnectUnreachable(t *testing.T) {
	_, err := Connect(context.Background(), Options{URL: "nats://127.0.0.1:1", ConnectTimeout: time.Second})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "nats://127.0.0.1:1") {
		t.Fatalf("got %v, want an unreachable error naming the URL", err)
	}
	if _, err := Connect(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "--nats") {
		t.Errorf("no URL: got %v", err)
	}
	if _, err := Connect(context.Background(), Options{URL: "nats://127.0.0.1:1", Creds: "/nonexistent.creds"}); err == nil || !strings.Contains(err.Error(), "--nats-creds") {
		t.Errorf("missing credentials file: got %v", err)
	}
	if _, err := Connect(context.Background(), Options{URL: "nats://127.0.0.1:1", TLSCert: "c.pem"}); err == nil || !strings.Contains(err.Error(), "--nats-tls-key") {
		t.Errorf("certificate without key: got %v", err)
	}
}

// A user's file reaches the worker through the object store with its
// checksum verified; a directory is refused for a distributed run.
func TestUserDataChecksum(t *testing.T) {
	f := newFixture(t)
	w := f.worker(t, "w")
	ctx := context.Background()
	p, err := w.fetchData(ctx, f.data)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(f.path)
	b, _ := os.ReadFile(p)
	if !bytes.Equal(a, b) {
		t.Fatal("downloaded data differs from the uploaded file")
	}
	bad := f.data
	bad.FileSHA256 = strings.Repeat("0", 64)
	if _, err := f.worker(t, "w2").fetchData(ctx, bad); err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("wrong checksum: got %v, want a SHA-256 error", err)
	}
	if _, _, err := UploadData(ctx, f.c, t.TempDir()); err == nil || !strings.Contains(err.Error(), ".npz") {
		t.Errorf("directory: got %v", err)
	}
	// the worker refuses a trial whose data differs from the coordinator's
	tr := f.trial(t, 1)
	tr.Data = strings.Repeat("f", 64)
	cfg := f.cfg
	cfg.OutDir = t.TempDir()
	if _, err := dash.RunTrial(ctx, cfg, tr); err == nil || !strings.Contains(err.Error(), "differs from the coordinator") {
		t.Errorf("other data: got %v", err)
	}
}

// A failure stored in the bucket is reported to the coordinator that
// waited for it, and tried again by the next coordinator.
func TestStoredFailureRetried(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tr := f.trial(t, 1)
	co := f.coordinator()
	id := TrialID(co.RunName, tr)
	b, err := encodeResult(&Result{ID: id, Err: "disk full", Worker: "w0"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Results.Put(ctx, id, b); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(f.cfg.OutDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// a coordinator that finds the failure while it waits reports it …
	if r, err := co.wait(ctx, id); err != nil || r.Err != "disk full" {
		t.Fatalf("wait on a stored failure: %+v, %v", r, err)
	}
	// … a new one tries the trial again
	w := f.worker(t, "w")
	stop := serve(w)
	defer stop()
	r, err := f.coordinator().Run(ctx, f.cfg, tr)
	if err != nil {
		t.Fatalf("retry of a stored failure: %v", err)
	}
	if r.Test.N == 0 || w.Done.Load() != 1 {
		t.Errorf("retried trial: test on %d samples, %d trained; want a real result", r.Test.N, w.Done.Load())
	}
}

// A worker with --concurrency 2 trains two trials at once, each on its own
// backend, with the results of one-at-a-time training.
func TestWorkerConcurrency(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, b := f.trial(t, 1), f.trial(t, 1)
	a.Label, a.Network, a.WithTest = "hpo", "baseline", false
	*b = *a
	b.HP.LR = 0.01
	var want []*dash.TrialResult
	for _, tr := range []*dash.Trial{a, b} {
		cfg := f.cfg
		cfg.OutDir = t.TempDir()
		r, err := dash.RunTrial(ctx, cfg, tr)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, r)
	}
	co := f.coordinator()
	if err := co.Prefetch(ctx, f.cfg, []*dash.Trial{a, b}); err != nil {
		t.Fatal(err)
	}
	w := f.worker(t, "w")
	w.Concurrency = 2
	stop := serve(w)
	defer stop()
	for i, tr := range []*dash.Trial{a, b} {
		got, err := co.Run(ctx, f.cfg, tr)
		if err != nil {
			t.Fatal(err)
		}
		if got.BestVal != want[i].BestVal || !reflect.DeepEqual(noSeconds(got.Curve), noSeconds(want[i].Curve)) {
			t.Errorf("trial %d: got %v %+v, want %v %+v", i, got.BestVal, got.Curve, want[i].BestVal, want[i].Curve)
		}
	}
}

// The search continues from its stored checkpoint and α history too: the
// architecture, α history included, is the uninterrupted search's.
func TestSearchResumesFromStoredCheckpoint(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tr := f.trial(t, 1)
	*tr = dash.Trial{Stage: "search", Budget: tr.Budget, Seed: tr.Seed, Kernels: tr.Kernels, Dilations: tr.Dilations, Data: tr.Data}
	tr.Budget.SearchEpochs = 3
	refCfg := f.cfg
	refCfg.OutDir = t.TempDir()
	ref, err := dash.RunTrial(ctx, refCfg, tr)
	if err != nil {
		t.Fatal(err)
	}
	co := f.coordinator()
	if err := co.Prefetch(ctx, f.cfg, []*dash.Trial{tr}); err != nil {
		t.Fatal(err)
	}
	w1 := f.worker(t, "w1")
	w1.noFlush = true
	ctx1, kill := context.WithCancel(ctx)
	w1.checkpointed = func(id, name string) {
		if name == "search.ckpt" {
			kill()
		}
	}
	if err := w1.Serve(ctx1); err != nil {
		t.Fatal(err)
	}
	if w1.Done.Load() != 0 {
		t.Fatal("the first worker finished the search; it should have died after one epoch")
	}
	w2 := f.worker(t, "w2")
	stop := serve(w2)
	got, err := co.Run(ctx, f.cfg, tr)
	if serr := stop(); serr != nil {
		t.Error(serr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if w2.Resumed.Load() != 1 {
		t.Errorf("second worker resumed %d trials from a stored checkpoint, want 1", w2.Resumed.Load())
	}
	if len(got.Arch.History) != 3 || !reflect.DeepEqual(got.Arch, ref.Arch) {
		t.Errorf("resumed search differs from the uninterrupted one (%d α-history epochs):\n got %+v\nwant %+v", len(got.Arch.History), got.Arch.Layers, ref.Arch.Layers)
	}
}
