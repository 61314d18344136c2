package dist

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dash-go/dash/dash"
	"github.com/dash-go/dash/datasets"
	"github.com/dash-go/dash/tensor"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrVersionMismatch is wrapped by Serve's error when a trial comes from a
// coordinator of another version.
var ErrVersionMismatch = errors.New("version mismatch")

// LoadFunc loads a run's data where the worker runs: a built-in task by
// name, or the user's file at path (downloaded and verified by the worker).
type LoadFunc func(ctx context.Context, d DataSpec, path string) (*datasets.Task, *datasets.Split, error)

// Worker pulls trials from the stream and trains them.
type Worker struct {
	C  *Conn
	ID string // names the worker in results and logs (default host-pid)
	// Dir holds the trials' directories and downloaded data.
	Dir  string
	Load LoadFunc
	// NewBackend opens a compute backend for each of Concurrency trial
	// slots.
	NewBackend  func() (tensor.Backend, error)
	Concurrency int
	Log         *slog.Logger
	Progress    io.Writer // training progress lines (nil: none)
	// Poll is how often the trial directory is checked for a new
	// checkpoint to upload (default 1 s).
	Poll time.Duration
	// Version overrides the package's Version (tests).
	Version string

	mu   sync.Mutex
	data map[string]*loaded

	// Done counts stored results, Resumed trials continued from a stored
	// checkpoint, Skipped duplicates whose result was already stored.
	Done, Resumed, Skipped atomic.Int64
	// checkpointed, if set, is called after a checkpoint upload (tests).
	checkpointed func(id, name string)
	// noFlush skips the checkpoint upload on a stop (tests: a worker that
	// dies leaves only its per-epoch checkpoints).
	noFlush bool
	// run replaces dash.RunTrial (the scheduling benchmark).
	run func(context.Context, dash.Config, *dash.Trial) (*dash.TrialResult, error)
}

type loaded struct {
	once  sync.Once
	task  *datasets.Task
	split *datasets.Split
	err   error
}

func (w *Worker) log() *slog.Logger {
	if w.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Log
}

func (w *Worker) version() string {
	if w.Version != "" {
		return w.Version
	}
	return Version
}

// Serve pulls and trains trials until ctx is cancelled (then it returns
// nil) or a trial from a coordinator of another version arrives (then it
// returns an error wrapping ErrVersionMismatch, having handed the trial
// back for other workers).
func (w *Worker) Serve(ctx context.Context) error {
	if w.ID == "" {
		h, _ := os.Hostname()
		w.ID = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
	if w.Dir == "" {
		return errors.New("dist: worker needs a work directory")
	}
	n := max(w.Concurrency, 1)
	cons, err := w.C.JS.Consumer(ctx, StreamName, ConsumerName)
	if err != nil {
		return fmt.Errorf("consumer %s: %w", ConsumerName, err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		be, err := w.NewBackend()
		if err != nil {
			cancel(err)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer be.Close()
			for ctx.Err() == nil {
				msg, err := cons.Next(jetstream.FetchMaxWait(2 * time.Second))
				if err != nil {
					if ctx.Err() == nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
						w.log().Warn("fetch", "err", err)
						sleep(ctx, time.Second)
					}
					continue
				}
				if err := w.process(ctx, msg, be); err != nil {
					cancel(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// process handles one message; an error stops the worker.
func (w *Worker) process(ctx context.Context, msg jetstream.Msg, be tensor.Backend) error {
	var attempt uint64
	if md, err := msg.Metadata(); err == nil {
		attempt = md.NumDelivered
	}
	if v := msg.Headers().Get(VersionHeader); v != w.version() {
		_ = msg.NakWithDelay(5 * time.Second)
		err := fmt.Errorf("%w: refusing trial %s: the coordinator is %q, this worker is %q; run workers built from the coordinator's version",
			ErrVersionMismatch, msg.Headers().Get(jetstream.MsgIDHeader), v, w.version())
		w.log().Error("refused trial", "err", err)
		return err
	}
	var j Job
	if err := json.Unmarshal(msg.Data(), &j); err != nil || j.Trial == nil || j.ID == "" {
		w.log().Error("malformed trial message, dropped", "err", err, "subject", msg.Subject())
		_ = msg.TermWithReason("malformed trial")
		return nil
	}
	log := w.log().With("trial", j.ID, "attempt", attempt)
	if _, err := w.C.Results.Get(ctx, j.ID); err == nil {
		w.Skipped.Add(1)
		log.Info("result already stored; duplicate acknowledged")
		return ackErr(msg.DoubleAck(ctx))
	}
	// heartbeat from here on: loading the data can take a while too
	hbCtx, hbStop := context.WithCancel(ctx)
	var hb sync.WaitGroup
	hb.Add(1)
	go func() {
		defer hb.Done()
		t := time.NewTicker(w.C.opts.ackWait() / 3)
		defer t.Stop()
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-t.C:
				if err := msg.InProgress(); err != nil {
					log.Warn("in-progress ack", "err", err)
				}
			}
		}
	}()
	defer func() { hbStop(); hb.Wait() }()

	task, split, err := w.loadData(ctx, j.Data)
	if err != nil {
		if ctx.Err() != nil {
			_ = msg.Nak()
			return nil
		}
		log.Error("load data; trial handed back", "err", err)
		_ = msg.NakWithDelay(10 * time.Second)
		return nil
	}
	dir := filepath.Join(w.Dir, "trials", j.ID)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("worker directory: %w", err)
	}
	defer os.RemoveAll(dir)
	resumed, err := w.restore(ctx, j.ID, dir)
	if err != nil {
		log.Warn("restore checkpoint; starting the trial from scratch", "err", err)
		_ = os.RemoveAll(dir)
		_ = os.MkdirAll(dir, 0o755)
	} else if resumed {
		w.Resumed.Add(1)
		log.Info("continuing from the stored checkpoint")
	}
	log.Info("training", "stage", j.Trial.Stage, "network", j.Trial.Network)

	syncCtx, syncStop := context.WithCancel(ctx)
	seen := map[string]time.Time{}
	var sw sync.WaitGroup
	sw.Add(1)
	go func() { defer sw.Done(); w.syncCheckpoints(syncCtx, j.ID, dir, seen, log) }()
	t0 := time.Now()
	cfg := dash.Config{Task: task, Split: split, Backend: be, OutDir: dir, Progress: w.Progress, Log: log}
	run := w.run
	if run == nil {
		run = dash.RunTrial
	}
	res, err := run(ctx, cfg, j.Trial)
	syncStop()
	sw.Wait()
	secs := time.Since(t0).Seconds()
	rec := &Result{ID: j.ID, Worker: w.ID, Version: w.version(), Seconds: secs, Attempt: attempt,
		Device: fmt.Sprintf("%s, GOMAXPROCS %d", be.Name(), runtime.GOMAXPROCS(0))}
	if err != nil {
		if ctx.Err() != nil {
			// stopped (SIGTERM): store the checkpoint written on the
			// interrupt, so that the next worker continues mid-epoch
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			if !w.noFlush {
				w.uploadChanged(uctx, j.ID, dir, seen, log)
			}
			cancel()
			log.Info("stopped; trial handed back", "err", err)
			_ = msg.Nak()
			return nil
		}
		rec.Err = err.Error()
		log.Error("trial failed", "err", err)
	} else {
		rec.Result = res
		for _, f := range res.Files {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				return fmt.Errorf("trial %s: %w", j.ID, err)
			}
			if _, err := w.C.Trials.PutBytes(ctx, fileObject(j.ID, f), b); err != nil {
				_ = msg.Nak()
				log.Error("upload result file; trial handed back", "file", f, "err", err)
				return nil
			}
		}
	}
	b, err := encodeResult(rec)
	if err != nil {
		return err
	}
	if _, err := w.C.Results.Put(ctx, j.ID, b); err != nil {
		_ = msg.Nak()
		log.Error("store result; trial handed back", "err", err)
		return nil
	}
	// acknowledged only now that the result is stored
	if err := msg.DoubleAck(ctx); err != nil {
		log.Warn("ack (the result is stored; a redelivery is skipped)", "err", err)
	}
	w.Done.Add(1)
	for _, name := range dash.TrialCheckpoints {
		_ = w.C.Trials.Delete(ctx, ckptObject(j.ID, name))
	}
	log.Info("trial stored", "seconds", fmt.Sprintf("%.3f", secs))
	return nil
}

// ackErr ignores a failed ack: it only means a redelivery, which finds the
// stored result and is skipped.
func ackErr(error) error { return nil }

// restore downloads the trial's stored checkpoints into dir.
func (w *Worker) restore(ctx context.Context, id, dir string) (bool, error) {
	found := false
	for _, name := range dash.TrialCheckpoints {
		b, err := w.C.Trials.GetBytes(ctx, ckptObject(id, name))
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		if err := dash.WriteFileAtomic(filepath.Join(dir, name), b); err != nil {
			return false, err
		}
		found = true
	}
	return found, nil
}

// syncCheckpoints uploads the trial's checkpoint files whenever they
// change. The files are read newest-written first (the checkpoint, then
// the α history written before it) and uploaded in the other order, so a
// stored checkpoint never has a shorter α history than it needs.
func (w *Worker) syncCheckpoints(ctx context.Context, id, dir string, seen map[string]time.Time, log *slog.Logger) {
	poll := w.Poll
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.uploadChanged(ctx, id, dir, seen, log)
	}
}

// uploadChanged uploads the checkpoint files changed since seen.
func (w *Worker) uploadChanged(ctx context.Context, id, dir string, seen map[string]time.Time, log *slog.Logger) {
	names := dash.TrialCheckpoints
	changed := false
	for _, n := range names {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil && !st.ModTime().Equal(seen[n]) {
			changed = true
		}
	}
	if !changed {
		return
	}
	data := make([][]byte, len(names))
	mod := make([]time.Time, len(names))
	for i := len(names) - 1; i >= 0; i-- {
		p := filepath.Join(dir, names[i])
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		data[i], mod[i] = b, st.ModTime()
	}
	for i, n := range names {
		if data[i] == nil {
			continue
		}
		if _, err := w.C.Trials.PutBytes(context.WithoutCancel(ctx), ckptObject(id, n), data[i]); err != nil {
			log.Warn("upload checkpoint", "file", n, "err", err)
			return
		}
		seen[n] = mod[i]
		if w.checkpointed != nil {
			w.checkpointed(id, n)
		}
	}
}

// loadData loads a run's data once per worker.
func (w *Worker) loadData(ctx context.Context, d DataSpec) (*datasets.Task, *datasets.Split, error) {
	w.mu.Lock()
	if w.data == nil {
		w.data = map[string]*loaded{}
	}
	l := w.data[d.key()]
	if l == nil {
		l = &loaded{}
		w.data[d.key()] = l
	}
	w.mu.Unlock()
	l.once.Do(func() {
		path := ""
		if d.File != "" {
			path, l.err = w.fetchData(ctx, d)
			if l.err != nil {
				return
			}
		}
		l.task, l.split, l.err = w.Load(ctx, d, path)
	})
	if l.err != nil {
		w.mu.Lock()
		delete(w.data, d.key()) // try again on the next trial
		w.mu.Unlock()
	}
	return l.task, l.split, l.err
}

// fetchData downloads a user's data file and verifies its SHA-256.
func (w *Worker) fetchData(ctx context.Context, d DataSpec) (string, error) {
	path := filepath.Join(w.Dir, "data", filepath.FromSlash(d.File))
	if b, err := os.ReadFile(path); err == nil && sha256Hex(b) == d.FileSHA256 {
		return path, nil
	}
	b, err := w.C.Data.GetBytes(ctx, d.File)
	if err != nil {
		return "", fmt.Errorf("fetch data %s from the %s object store: %w", d.File, DataStore, err)
	}
	if got := sha256Hex(b); got != d.FileSHA256 {
		return "", fmt.Errorf("data %s: SHA-256 %s, the coordinator's file has %s: corrupt transfer or store", d.File, got, d.FileSHA256)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	if err := dash.WriteFileAtomic(path, b); err != nil {
		return "", err
	}
	return path, nil
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func jsonMarshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode trial: %w", err)
	}
	return b, nil
}
